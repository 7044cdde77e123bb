import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DataParallelSession, reduceGradients, shard, train } from '@vlreward/trainer';
import { LinearSession, colourSource, encodeFeatures } from './linear_session.js';

const factory = fileURLToPath(new URL('./dp_factory.ts', import.meta.url));

describe('shard / reduceGradients', () => {
  it('splits contiguously with sizes differing by at most one', () => {
    expect(shard([1, 2, 3, 4, 5], 2)).toEqual([[1, 2, 3], [4, 5]]);
    expect(shard([1], 2)).toEqual([[1], []]);
  });
  it('is the sample-weighted mean', () => {
    const g = reduceGradients([{ a: new Float32Array([1, 2]) }, { a: new Float32Array([3, 6]) }], [3, 1]);
    expect([...g.a!]).toEqual([1.5, 3]);
    expect(() => reduceGradients([{ a: new Float32Array(2) }, { b: new Float32Array(2) }], [1, 1])).toThrow(/worker 1 has no gradient 'a'/);
  });
});

describe('DataParallelSession (2 worker processes)', () => {
  it('trains exactly like one process on the same global batch', async () => {
    const src = colourSource(6, 12, 3);
    const cfg = { lr: 0.05, batchSize: 4, maxSteps: 12, evalEvery: 6, valFraction: 0.34, seed: 1, prefetch: 1 };
    const single = await train({ session: new LinearSession(3, 10), source: src, encode: encodeFeatures, config: { ...cfg, ckptDir: mkdtempSync(join(tmpdir(), 'dp-')) }, progress: null });
    const dp = await DataParallelSession.create({ world: 2, factory, options: { numClasses: 3, features: 10 } });
    try {
      expect(dp.world).toBe(2);
      const par = await train({ session: dp, source: src, encode: (s) => s, config: { ...cfg, ckptDir: mkdtempSync(join(tmpdir(), 'dp-')) }, progress: null });
      par.losses.forEach((l, i) => expect(l).toBeCloseTo(single.losses[i]!, 6));
      expect(par.evals.map((e) => e.accuracy)).toEqual(single.evals.map((e) => e.accuracy));
      expect(dp.commBytes).toBeGreaterThan(0);
      // replicas stay identical
      const s0 = (await dp.getTrainableState()) as { w: number[] };
      expect(s0.w.some((x) => x !== 0)).toBe(true);
    } finally {
      await dp.close();
    }
  });
  it('reports a worker factory that does not exist', async () => {
    await expect(DataParallelSession.create({ world: 1, factory: '/nonexistent/factory.js', options: {} })).rejects.toThrow(/worker 0/);
  });
});
