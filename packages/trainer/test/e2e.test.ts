// End to end on the embedded default: a synthetic LeRobot dataset (H.264 mp4, parquet,
// meta) → the tiny Qwen3-VL (real architecture and tokenizer) → train → checkpoint →
// reload → evaluate / predict. LoRA and full fine-tuning; resume after an interruption
// reproduces the uninterrupted run. Thresholds: chance is 1/3 (3 reward bins); we require
// validation accuracy ≥ 0.7 after reload. VLREWARD_SLOW=1 adds a longer AV1 v3.0 run.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticDataset } from '@vlreward/dataset';
import { hasShared, PROCESSOR_DIR } from '../../test-utils/src/index.js';
import { AlohaRewardDataset } from '@vlreward/dataset';
import { Qwen3VLProcessor } from '@vlreward/processor';
import { RewardModelSession, alohaSource, processorEncode, train, evaluateRewardModel, loadBaseModel, loadRewardModel, predictEpisode, predictSample, softmaxRows, trainRewardModel, writeTinyModel, type TrainRewardResult } from '@vlreward/trainer';

const PROCESSOR = PROCESSOR_DIR;
const work = mkdtempSync(join(tmpdir(), 'vlreward-e2e-'));
const root = join(work, 'dataset');
const model = join(work, 'tiny-qwen3vl');
const image = { minPixels: 64 * 64, maxPixels: 64 * 64 };
const base = { batchSize: 2, lr: 1e-3, maxSteps: 24, evalEvery: 12, valFraction: 0.34, seed: 0, prefetch: 4 };

let lora: TrainRewardResult;

beforeAll(async () => {
  await writeSyntheticDataset({ root, episodes: 6, frames: 12, codec: 'h264', size: 64, numClasses: 3, seed: 1 });
  await writeTinyModel(model, { processorDir: PROCESSOR, seed: 0 });
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!hasShared(PROCESSOR, 'Qwen3-VL processor files'))('end to end on the tiny Qwen3-VL', () => {
  it('LoRA: trains, checkpoints, reloads and scores the validation episodes above 0.7 accuracy', async () => {
    lora = await trainRewardModel({ root, model, ...image, config: { ...base, ckptDir: join(work, 'ck-lora') }, progress: null });
    expect(lora.steps).toBe(24);
    expect(lora.numClasses).toBe(3);
    expect(lora.losses.slice(-6).reduce((a, b) => a + b) / 6).toBeLessThan(lora.losses.slice(0, 6).reduce((a, b) => a + b) / 6);
    const ck = lora.checkpointDirs.best!;
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'classifier.safetensors', 'tokenizer.json', 'vlreward.json'])
      expect(existsSync(join(ck, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(ck, 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA', r: 16, lora_alpha: 32, lora_dropout: 0.05 });

    const m = await loadRewardModel(join(work, 'ck-lora'));
    try {
      const report = await evaluateRewardModel(m, root, { episodes: lora.split.val });
      console.log(`LoRA: ${lora.steps} steps, reloaded validation accuracy ${report.accuracy.toFixed(3)}`);
      expect(report.accuracy).toBeGreaterThanOrEqual(0.7);
      expect(report.accuracy).toBeCloseTo(lora.best!.value, 10); // the reloaded model is the best one, exactly
      const ep = lora.split.val[0]!;
      const curve = await predictEpisode(m, root, ep, { outDir: join(work, 'curves') });
      expect(curve.rows).toHaveLength(12);
      expect(existsSync(curve.files!.png)).toBe(true);
      const p = await predictSample(m, [], 'Task: x').catch((e: Error) => e);
      expect(p).toBeInstanceOf(Error); // no images: the processor names the problem
      const s = curve.rows[0]!;
      expect(s.probs.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    } finally {
      await m.dispose();
    }
  }, 180_000);

  it('full fine-tuning: every weight trains; reloaded accuracy ≥ 0.7', async () => {
    const r = await trainRewardModel({ root, model, ...image, config: { ...base, mode: 'full', lr: 5e-4, maxSteps: 16, evalEvery: 0, ckptDir: join(work, 'ck-full') }, progress: null });
    const ck = r.checkpointDirs.best!;
    expect(existsSync(join(ck, 'model.safetensors')) || existsSync(join(ck, 'model.safetensors.index.json'))).toBe(true);
    expect(existsSync(join(ck, 'adapter_config.json'))).toBe(false);
    const m = await loadRewardModel(ck);
    try {
      const report = await evaluateRewardModel(m, root, { episodes: r.split.val });
      console.log(`full fine-tuning: ${r.steps} steps, reloaded validation accuracy ${report.accuracy.toFixed(3)}`);
      expect(report.accuracy).toBeGreaterThanOrEqual(0.7);
    } finally {
      await m.dispose();
    }
  }, 240_000);

  it('resume after an interruption reproduces the uninterrupted losses and metrics', async () => {
    const ckptDir = join(work, 'ck-resume');
    const ctl = new AbortController();
    const first = await trainRewardModel({ root, model, ...image, config: { ...base, ckptDir }, progress: null, signal: ctl.signal, onStep: (s) => s.step === 9 && ctl.abort() });
    expect(first.interrupted).toBe(true);
    const second = await trainRewardModel({ root, model, ...image, config: { ...base, ckptDir }, progress: null, resume: true });
    expect(second.resumedFrom).toBe(9);
    second.losses.forEach((l, i) => expect(l).toBeCloseTo(lora.losses[i]!, 4));
    expect(second.evals.map((e) => e.accuracy)).toEqual(lora.evals.map((e) => e.accuracy));
  }, 180_000);

  it('class weights enter the loss as PyTorch weighted mean cross-entropy', async () => {
    const base = await loadBaseModel(model);
    const weights = [0.5, 1, 3];
    const session = await RewardModelSession.create({ config: base.configJson, weights: base.weights, mode: 'lora', numClasses: 3, classWeights: weights, graphs: ['eval'] });
    try {
      const proc = await Qwen3VLProcessor.fromPretrained(model, image);
      const ds = await AlohaRewardDataset.open(root);
      const samples = await ds.getMany([0, 5, 11]); // labels 0, 1, 2 (12 frames, 3 bins)
      const r = await session.evaluate(proc.encode(samples));
      const p = softmaxRows(r.logits, 3);
      let num = 0;
      let den = 0;
      samples.forEach((s, i) => {
        num += weights[s.label]! * -Math.log(p[i]![s.label]!);
        den += weights[s.label]!;
      });
      expect(new Set(samples.map((s) => s.label)).size).toBe(3);
      expect(r.loss).toBeCloseTo(num / den, 4);
    } finally {
      await session.dispose();
    }
  }, 60_000);

  it('bf16 on the CPU provider is refused with what to change', async () => {
    const base = await loadBaseModel(model);
    await expect(RewardModelSession.create({ config: base.configJson, weights: base.weights, mode: 'lora', numClasses: 3, precision: 'bf16' })).rejects.toThrow(
      /precision 'bf16' needs a GPU provider.*--precision fp32/,
    );
  });
});
