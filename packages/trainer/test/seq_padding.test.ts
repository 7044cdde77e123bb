// The trainer pads sequences up to a multiple of SEQ_PAD_MULTIPLE so that prompts of different
// tasks share one batch shape (one shape-specialized CPU session). Padding is masked and the
// head pools the last real token, so the logits must not move.
import { describe, expect, it } from 'vitest';
import { AlohaRewardDataset } from '@vlreward/dataset';
import { Qwen3VLProcessor } from '@vlreward/processor';
import { loadBaseModel, RewardModelSession, SEQ_PAD_MULTIPLE } from '@vlreward/trainer';
import { image, tinyRun } from './tiny_run.js';

const run = tinyRun('seqpad', { episodes: 2, frames: 2, seed: 4 });

describe('sequence padding', () => {
  it(`padding to a multiple of ${SEQ_PAD_MULTIPLE} leaves the logits unchanged and gives two tasks one shape`, async () => {
    const base = await loadBaseModel(run.model);
    const proc = await Qwen3VLProcessor.fromPretrained(run.model, image);
    const ds = await AlohaRewardDataset.open(run.root, { numClasses: 3 });
    const samples = await ds.getMany([0, ds.length - 1]);
    expect(new Set(samples.map((s) => s.text)).size).toBe(2);
    const s = await RewardModelSession.create({ config: base.configJson, weights: base.weights, mode: 'lora', numClasses: 3, graphs: ['infer'], optimizedCacheDir: null });
    try {
      for (const smp of samples) {
        const plain = proc.encode([smp]);
        const padded = proc.encode([smp], { padToMultipleOf: SEQ_PAD_MULTIPLE });
        expect(padded.seqLen).toBeGreaterThan(plain.seqLen);
        const a = (await s.infer(plain)).logits;
        const b = (await s.infer(padded)).logits;
        for (let k = 0; k < a.length; k++) expect(b[k]).toBeCloseTo(a[k]!, 5);
      }
      const lens = samples.map((smp) => proc.encode([smp], { padToMultipleOf: SEQ_PAD_MULTIPLE }).seqLen);
      expect(lens[0]).toBe(lens[1]);
    } finally {
      await s.dispose();
    }
  }, 120_000);
});
