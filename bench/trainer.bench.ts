// @vlreward/trainer benchmarks: end-to-end training throughput (synthetic LeRobot mp4s →
// decode → processor → Qwen3-VL train step on ONNX Runtime CPU) for the tiny and the
// mid config, LoRA and full, and the share of loop time a step waited for data — with
// the prefetching loader and without it (prefetch 0), so the overlap is measured.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticDataset } from '../packages/dataset/src/index.js';
import { midQwen3VLConfig, parseQwen3VLConfig, randomQwen3VLWeights, tinyQwen3VLConfig } from '../packages/model/src/index.js';
import { Qwen3VLProcessor } from '../packages/processor/src/index.js';
import { AlohaRewardDataset } from '../packages/dataset/src/index.js';
import { RewardModelSession, alohaSource, processorEncode, train } from '../packages/trainer/src/index.js';
import type { BenchResult } from './types.js';

const PROCESSOR = join(import.meta.dirname, '..', '..', 'shared', 'models', 'qwen3vl-processor');
const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

export async function run(): Promise<BenchResult[]> {
  const work = mkdtempSync(join(tmpdir(), 'bench-trainer-'));
  const out: BenchResult[] = [];
  try {
    const root = join(work, 'ds');
    await writeSyntheticDataset({ root, episodes: 8, frames: 24, codec: 'h264', size: 64, numClasses: 3, seed: 1 });
    const proc = await Qwen3VLProcessor.fromPretrained(PROCESSOR, { minPixels: 64 * 64, maxPixels: 64 * 64 });
    const cases = [
      { name: 'tiny', cfg: tinyQwen3VLConfig(), mode: 'lora' as const, steps: 40, prefetch: [4, 0] },
      { name: 'tiny', cfg: tinyQwen3VLConfig(), mode: 'lora' as const, steps: 40, prefetch: [4, 0], warm: true },
      { name: 'tiny', cfg: tinyQwen3VLConfig(), mode: 'full' as const, steps: 20, prefetch: [4] },
      { name: 'mid', cfg: midQwen3VLConfig(), mode: 'lora' as const, steps: 8, prefetch: [4] },
    ];
    for (const c of cases) {
      const weights = randomQwen3VLWeights(parseQwen3VLConfig(c.cfg), 0);
      for (const prefetch of c.prefetch) {
        // A fresh dataset object: a cold frame cache, as a first epoch sees it.
        const ds = await AlohaRewardDataset.open(root);
        // warm: every frame decoded into the frame cache first (a later epoch), so only encode overlaps.
        if ('warm' in c) await ds.getMany(Array.from({ length: ds.length }, (_, i) => i));
        const t0 = performance.now();
        const session = await RewardModelSession.create({ config: c.cfg, weights, mode: c.mode, numClasses: 3, seed: 0 });
        const buildS = (performance.now() - t0) / 1000;
        const r = await train({
          session,
          source: alohaSource(ds),
          encode: processorEncode(proc),
          config: { mode: c.mode, lr: 1e-3, batchSize: 2, maxSteps: c.steps, valFraction: 0, prefetch, ckptDir: join(work, 'ck'), logDir: join(work, 'logs') },
          progress: null,
        });
        await session.dispose();
        const tag = `${c.name} ${c.mode}${'warm' in c ? ' warm-cache' : ''}${prefetch === 0 ? ' no-prefetch' : ''}`;
        const note = `batch 2, ${c.steps} steps, 3 cameras 64×64 → 4 tokens each, ${'warm' in c ? 'frames already decoded' : 'cold frame cache (first epoch)'}, ORT CPU`;
        out.push({ name: `train ${tag}: samples/s`, value: round(r.samplesPerSecond), unit: 'samples/s', note });
        out.push({ name: `train ${tag}: data wait share`, value: round(100 * r.dataWaitShare, 1), unit: '% of loop time', note: prefetch === 0 ? 'decode + encode in series with the step' : `prefetch ${prefetch} batches` });
        if (prefetch !== 0) out.push({ name: `train ${tag}: build artifacts + session`, value: round(buildS), unit: 's' });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}
