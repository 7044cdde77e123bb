// --gradient-checkpointing recomputes every decoder layer / vision block in the
// backward pass: the same training run (losses to fp32 rounding), built from graphs
// that keep fewer activations.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RewardModelSession, loadBaseModel, trainRewardModel } from '@vlreward/trainer';
import { hasShared, PROCESSOR_DIR } from '../../test-utils/src/index.js';
import { image, tinyRun } from './tiny_run.js';


describe.skipIf(!hasShared(PROCESSOR_DIR, 'Qwen3-VL processor files'))('gradient checkpointing', () => {
  const { work, root, model } = tinyRun('ckpting', { episodes: 4, frames: 6, seed: 2 });

  it('recomputes the decoder layers and vision blocks, and trains to the same losses', async () => {
    const base = await loadBaseModel(model);
    const s = await RewardModelSession.create({ config: base.configJson, weights: base.weights, mode: 'lora', numClasses: 3, checkpointing: true, graphs: ['train'] });
    expect(s.artifacts.manifest.checkpointing).toBe(true);
    expect(s.artifacts.graphs.train!.nodes.some((n) => n.name.includes('recompute'))).toBe(true);
    await s.dispose();
    const cfg = { batchSize: 2, lr: 1e-3, maxSteps: 4, evalEvery: 0, valFraction: 0.25, seed: 0, prefetch: 2 };
    const plain = await trainRewardModel({ root, model, ...image, config: { ...cfg, ckptDir: join(work, 'a') }, progress: null });
    const ckpt = await trainRewardModel({ root, model, ...image, config: { ...cfg, gradientCheckpointing: true, ckptDir: join(work, 'b') }, progress: null });
    ckpt.losses.forEach((l, i) => expect(Math.abs(l - plain.losses[i]!)).toBeLessThanOrEqual(1e-5 * Math.abs(plain.losses[i]!)));
  }, 180_000);
});
