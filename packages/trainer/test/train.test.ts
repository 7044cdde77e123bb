import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstBatchIndices, NonFiniteLossError, parseJsonl, planSamples, train, type CheckpointPayload, type CheckpointStore } from '@vlreward/trainer';
import { LinearSession, colourSource, encodeFeatures } from './linear_session.js';

/** A directory-backed store (atomic rename), standing in until @vlreward/checkpoint is wired in. */
function dirStore(root: string): CheckpointStore & { saves: string[] } {
  const saves: string[] = [];
  return {
    saves,
    async save(tag, payload) {
      const dir = join(root, tag);
      const tmp = `${dir}.tmp`;
      mkdirSync(tmp, { recursive: true });
      writeFileSync(join(tmp, 'state.json'), JSON.stringify(payload));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      saves.push(`${tag}@${payload.trainer.step}`);
      return dir;
    },
    async loadLast() {
      const f = join(root, 'last', 'state.json');
      return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as CheckpointPayload) : null;
    },
  };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'train-'));
const base = { lr: 0.05, batchSize: 4, valFraction: 0.25, evalEvery: 10, seed: 3, prefetch: 2 };

describe('firstBatchIndices', () => {
  it('names the samples the loop reads first (the pipeline decodes them while the weights load)', async () => {
    const src = colourSource(8, 20, 4);
    const reads: number[][] = [];
    const recording = { ...src, get: (i: number) => (reads.push([i]), src.get(i)), getMany: async (idx: readonly number[]) => (reads.push([...idx]), Promise.all(idx.map((i) => src.get(i)))) };
    const config = { ...base, prefetch: 1, maxSteps: 1, evalEvery: 0, valFraction: 0.25, ckptDir: tmp() };
    await train({ session: new LinearSession(4, 10), source: recording, encode: encodeFeatures, config, progress: null });
    const want = firstBatchIndices(config, planSamples(config, src).trainIdx);
    expect(want).toHaveLength(4);
    expect(reads.flat().slice(0, 4)).toEqual(want);
  });
});

describe('train (linear model, real loop)', () => {
  it('learns the colour → bin mapping, evaluates by episode and logs', async () => {
    const dir = tmp();
    const src = colourSource(8, 20, 4);
    const r = await train({ session: new LinearSession(4, 10), source: src, encode: encodeFeatures, config: { ...base, maxSteps: 60, ckptDir: dir }, checkpoints: dirStore(dir), progress: null });
    expect(r.steps).toBe(60);
    expect(r.split.val).toHaveLength(2);
    expect(r.trainSamples).toBe(120);
    expect(r.valSamples).toBe(40);
    expect(r.losses[59]!).toBeLessThan(r.losses[0]! * 0.7);
    expect(r.evals.map((e) => e.step)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(r.final!.accuracy).toBeGreaterThan(0.6); // chance is 0.25
    const log = parseJsonl(readFileSync(join(dir, 'logs', 'metrics.jsonl'), 'utf8'));
    expect(log.filter((l) => l.event === 'step')).toHaveLength(60);
    expect(readdirSync(join(dir, 'logs')).some((f) => f.startsWith('events.out.tfevents'))).toBe(true);
    expect(r.checkpointDirs.best).toBe(join(dir, 'best'));
  });

  it('resume after an interruption reproduces the uninterrupted losses and metrics exactly', async () => {
    const src = colourSource(6, 16, 3);
    const cfg = { ...base, maxSteps: 40, evalEvery: 8, augment: { hflip: 0.5, brightness: 0.3, contrast: 0.2, saturation: 0.2, hue: 0.05, crop: 0.5, cropScale: [0.6, 1] as const, cropRatio: [0.75, 1.33] as const } };
    const a = tmp();
    const full = await train({ session: new LinearSession(3, 10), source: src, encode: encodeFeatures, config: { ...cfg, ckptDir: a }, checkpoints: dirStore(a), progress: null });

    const b = tmp();
    const ctl = new AbortController();
    const first = await train({
      session: new LinearSession(3, 10), source: src, encode: encodeFeatures, config: { ...cfg, ckptDir: b }, checkpoints: dirStore(b), progress: null, signal: ctl.signal,
      onStep: (s) => { if (s.step === 13) ctl.abort(); },
    });
    expect(first.interrupted).toBe(true);
    expect(first.steps).toBe(13);
    // A fresh process: new session object, state comes only from the checkpoint.
    const second = await train({ session: new LinearSession(3, 10), source: src, encode: encodeFeatures, config: { ...cfg, ckptDir: b }, checkpoints: dirStore(b), progress: null, resume: true });
    expect(second.resumedFrom).toBe(13);
    expect(second.losses).toEqual(full.losses);
    expect(second.evals).toEqual(full.evals);
    expect(second.final!.confusion).toEqual(full.final!.confusion);
  });

  it('resume refuses changed settings, naming them', async () => {
    const src = colourSource(4, 8, 2);
    const d = tmp();
    await train({ session: new LinearSession(2, 10), source: src, encode: encodeFeatures, config: { ...base, maxSteps: 5, ckptDir: d }, checkpoints: dirStore(d), progress: null });
    await expect(train({ session: new LinearSession(2, 10), source: src, encode: encodeFeatures, config: { ...base, maxSteps: 5, lr: 0.1, ckptDir: d }, checkpoints: dirStore(d), progress: null, resume: true })).rejects.toThrow(/cannot resume: lr was 0.05, now 0.1/);
  });

  it('gradient accumulation of k micro-batches of b equals one batch of k·b (same samples)', async () => {
    const src = colourSource(4, 8, 2);
    const one = await train({ session: new LinearSession(2, 10), source: src, encode: encodeFeatures, config: { ...base, batchSize: 4, maxSteps: 6, valFraction: 0, ckptDir: tmp() }, progress: null });
    const acc = await train({ session: new LinearSession(2, 10), source: src, encode: encodeFeatures, config: { ...base, batchSize: 2, gradAccum: 2, maxSteps: 6, valFraction: 0, ckptDir: tmp() }, progress: null });
    // The epoch order depends only on (seed, epoch), so two micro-batches of 2 are exactly one batch of 4.
    expect(acc.steps).toBe(6);
    acc.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i]!, 12));
    expect(acc.losses[5]).not.toBeCloseTo(acc.losses[0]!, 3);
  });

  it('early stopping stops after `patience` evaluations without improvement', async () => {
    const src = colourSource(6, 10, 3);
    const r = await train({
      session: new LinearSession(3, 10), source: src, encode: encodeFeatures, progress: null,
      config: { ...base, lr: 1e-9, maxSteps: 200, evalEvery: 5, earlyStopping: { metric: 'loss', patience: 2, mode: 'min', minDelta: 0.01 }, ckptDir: tmp() },
    });
    expect(r.stoppedEarly).toBe(true);
    expect(r.evals.map((e) => e.step)).toEqual([5, 10, 15]);
    expect(r.steps).toBe(15);
  });

  it('a NaN loss stops with a clear error and leaves the last checkpoint intact', async () => {
    const src = colourSource(4, 8, 2);
    const d = tmp();
    const store = dirStore(d);
    const session = new LinearSession(2, 10);
    const p = train({
      session, source: src, encode: encodeFeatures, checkpoints: store, progress: null, config: { ...base, maxSteps: 30, evalEvery: 5, ckptDir: d },
      onStep: (s) => { if (s.step === 7) session.poison = Number.NaN; },
    });
    await expect(p).rejects.toThrow(NonFiniteLossError);
    // The 8th step (steps count from 1, as the progress log does) is the poisoned one.
    await expect(p).rejects.toThrow(/step 8: loss NaN.*update was refused.*last checkpoint of this run, .*last, holds the finite state/);
    const last = await store.loadLast();
    expect(last!.trainer.step).toBe(5);
    expect(last!.trainer.losses.every(Number.isFinite)).toBe(true);
  });
});
