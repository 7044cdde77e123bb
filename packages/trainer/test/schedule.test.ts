import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, learningRate, resolveConfig, totalOptimizerSteps } from '@vlreward/trainer';

const base = { lr: 1e-3, totalSteps: 100, warmupSteps: 10, minLrRatio: 0.1 };

describe('learningRate', () => {
  it('warms up linearly from lr/warmup to lr', () => {
    const o = { ...base, schedule: 'cosine' as const };
    expect(learningRate(0, o)).toBeCloseTo(1e-4, 12);
    expect(learningRate(4, o)).toBeCloseTo(5e-4, 12);
    expect(learningRate(9, o)).toBeCloseTo(1e-3, 12);
  });
  it('cosine decays from lr to minLr at the last step, half-way at the middle', () => {
    const o = { ...base, schedule: 'cosine' as const };
    expect(learningRate(10, o)).toBeCloseTo(1e-3, 12);
    expect(learningRate(99, o)).toBeCloseTo(1e-4, 12);
    // progress 0.5 ⇒ coefficient 0.5 ⇒ midway between lr and minLr
    const mid = 10 + (100 - 10 - 1) / 2;
    expect(learningRate(mid, o)).toBeCloseTo(5.5e-4, 12);
    for (let s = 11; s < 100; s++) expect(learningRate(s, o)).toBeLessThanOrEqual(learningRate(s - 1, o));
  });
  it('linear decays by equal amounts', () => {
    const o = { ...base, schedule: 'linear' as const };
    const d1 = learningRate(20, o) - learningRate(21, o);
    const d2 = learningRate(70, o) - learningRate(71, o);
    expect(d1).toBeCloseTo(d2, 12);
    expect(learningRate(99, o)).toBeCloseTo(1e-4, 12);
  });
  it('constant stays at lr after warmup (the seed)', () => {
    const o = { ...base, warmupSteps: 0, schedule: 'constant' as const };
    expect(learningRate(0, o)).toBe(1e-3);
    expect(learningRate(99, o)).toBe(1e-3);
  });
});

describe('totalOptimizerSteps', () => {
  it('maxSteps takes priority over epochs', () => {
    expect(totalOptimizerSteps({ trainSamples: 1000, batchSize: 2, gradAccum: 1, epochs: 10, maxSteps: 50 })).toBe(50);
    expect(totalOptimizerSteps({ trainSamples: 10, batchSize: 2, gradAccum: 1, epochs: 10, maxSteps: 500 })).toBe(500);
  });
  it('epochs × ceil(samples / effective batch) without maxSteps', () => {
    expect(totalOptimizerSteps({ trainSamples: 11, batchSize: 2, gradAccum: 2, epochs: 3, maxSteps: null })).toBe(9);
    expect(totalOptimizerSteps({ trainSamples: 16, batchSize: 2, gradAccum: 1, epochs: 1, maxSteps: null, worldSize: 2 })).toBe(4);
  });
});

describe('resolveConfig', () => {
  it('has the seed defaults', () => {
    const c = resolveConfig();
    expect(c).toMatchObject({ lr: 1e-4, clipNorm: 1, batchSize: 2, epochs: 10, maxSteps: 50, maxTrainSamples: null, ckptDir: 'checkpoints/qwen3_reward', mode: 'lora' });
    expect(c).toEqual(DEFAULT_CONFIG);
  });
  it('ignores undefined overrides and fills early-stopping mode from the metric', () => {
    const c = resolveConfig({ lr: undefined, earlyStopping: { metric: 'loss', patience: 2 } as never });
    expect(c.lr).toBe(1e-4);
    expect(c.earlyStopping).toEqual({ metric: 'loss', patience: 2, mode: 'min', minDelta: 0 });
  });
  it('names the bad field', () => {
    expect(() => resolveConfig({ batchSize: 0 })).toThrow(/config\.batchSize: expected a positive integer, got 0/);
    expect(() => resolveConfig({ lr: Number.NaN })).toThrow(/config\.lr/);
    expect(() => resolveConfig({ device: 'tpu' })).toThrow(/config\.device: expected cpu \| cuda/);
    expect(() => resolveConfig({ schedule: 'step' as never })).toThrow(/config\.schedule/);
    expect(() => resolveConfig({ valFraction: 1 })).toThrow(/config\.valFraction/);
    expect(() => resolveConfig({ numClasses: 1 })).toThrow(/config\.numClasses/);
    expect(resolveConfig({ device: 'cuda:1' }).device).toBe('cuda:1');
  });
});
