import { describe, expect, it } from 'vitest';
import { readSeedEnv } from '../src/env.js';

describe('readSeedEnv', () => {
  it('reads every seed variable', () => {
    const e = readSeedEnv(
      { MODE: 'train', QWEN3VL_MODEL: '/models/q', FINETUNE_MODE: 'full', NUM_CLASSES: '5', MAX_TRAIN_SAMPLES: '100', BATCH_SIZE: '4', LR: '3e-5', EPOCHS: '2', MAX_STEPS: '100', CKPT_DIR: 'ck/run1' },
      '/work/here',
      { mode: true },
    );
    expect(e).toEqual({ mode: 'train', model: '/models/q', finetuneMode: 'full', numClasses: 5, maxTrainSamples: 100, batchSize: 4, lr: 3e-5, epochs: 2, maxSteps: 100, ckptDir: '/work/here/ck/run1' });
  });
  it('returns nothing for an empty environment and treats empty strings as unset', () => {
    expect(readSeedEnv({}, '/')).toEqual({});
    expect(readSeedEnv({ LR: '', MAX_STEPS: ' ' }, '/')).toEqual({});
    expect(readSeedEnv({ MAX_TRAIN_SAMPLES: 'None' }, '/')).toEqual({});
  });
  it('keeps an absolute CKPT_DIR', () => {
    expect(readSeedEnv({ CKPT_DIR: '/abs/ck' }, '/x').ckptDir).toBe('/abs/ck');
  });
  it('names the variable and the expectation on bad values', () => {
    expect(() => readSeedEnv({ BATCH_SIZE: 'two' })).toThrow("BATCH_SIZE='two': expected a positive integer");
    expect(() => readSeedEnv({ MAX_STEPS: '0' })).toThrow(/MAX_STEPS='0'/);
    expect(() => readSeedEnv({ EPOCHS: '1.5' })).toThrow(/EPOCHS='1.5'/);
    expect(() => readSeedEnv({ LR: 'fast' })).toThrow(/LR='fast': expected a positive number/);
    expect(() => readSeedEnv({ LR: '-1' })).toThrow(/LR='-1'/);
    expect(() => readSeedEnv({ FINETUNE_MODE: 'ful' })).toThrow(/FINETUNE_MODE='ful': expected lora or full/);
    expect(() => readSeedEnv({ MODE: 'serve' }, '/', { mode: true })).toThrow(/MODE='serve': expected one of train/);
    expect(readSeedEnv({ MODE: 'test' })).toEqual({}); // MODE is only read where it routes
    expect(() => readSeedEnv({ NUM_CLASSES: '1' })).toThrow(/NUM_CLASSES='1'/);
  });
});
