import { describe, expect, it } from 'vitest';
import { parseFlags } from '../src/command.js';
import { TRAIN_FLAGS, trainConfigFrom } from '../src/commands/train.js';
import { defaultProcessorDir, repoRoot } from '../src/env.js';

const parse = (argv: string[]) => parseFlags(argv, TRAIN_FLAGS).values;

describe('train flags and seed environment', () => {
  it('env values are defaults, flags win', () => {
    const c = trainConfigFrom(parse(['--lr', '2e-4', '--early-stopping', 'macroF1:3', '--augment', '--schedule', 'cosine', '--warmup', '5']), { LR: '1e-3', MAX_STEPS: '100', FINETUNE_MODE: 'full', CKPT_DIR: 'ck' }, '/w');
    expect(c).toMatchObject({ lr: 2e-4, maxSteps: 100, mode: 'full', ckptDir: '/w/ck', schedule: 'cosine', warmupSteps: 5 });
    expect(c.earlyStopping).toEqual({ metric: 'macroF1', patience: 3, mode: 'max', minDelta: 0 });
    expect(c.augment).toMatchObject({ hflip: 0.5 });
  });
  it('MODE=train MAX_STEPS=100 gives the seed defaults otherwise', () => {
    const c = trainConfigFrom(parse([]), { MODE: 'train', MAX_STEPS: '100' }, '/w');
    expect(c).toEqual({ maxSteps: 100 });
  });
  it('bad flags are usage errors naming the flag', () => {
    expect(() => trainConfigFrom(parse(['--batch-size', '0']), {})).toThrow(/--batch-size '0': expected an integer ≥ 1/);
    expect(() => trainConfigFrom(parse(['--mode', 'qlora']), {})).toThrow(/--mode 'qlora'/);
    expect(() => trainConfigFrom(parse(['--early-stopping', 'acc']), {})).toThrow(/--early-stopping 'acc'/);
    expect(() => trainConfigFrom(parse(['--device', 'tpu']), {})).toThrow(/--device 'tpu'/);
    expect(() => trainConfigFrom(parse([]), { BATCH_SIZE: 'x' })).toThrow(/BATCH_SIZE='x'/);
    expect(() => parse(['--nope'])).toThrow(/Unknown option '--nope'/);
  });
  it('finds the shared processor files relative to the repo', () => {
    expect(repoRoot()).toMatch(/main$|[^/]+$/);
    const dir = defaultProcessorDir();
    expect(dir).toMatch(/shared\/models\/qwen3vl-processor$/);
    expect(() => defaultProcessorDir('/nonexistent', { VLREWARD_PROCESSOR: '/also-not' })).not.toThrow(); // falls back to the shared copy
  });
});
