import { describe, expect, it } from 'vitest';
import { droppedTail, epochOrder, globalBatch, rankBatch, rankBatches, stepsPerEpoch, type DistributedSamplerOptions } from '../src/distributed_sampler.js';
import { EpochSampler } from '../src/loader.js';

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** Every rank's batches of `epoch`, and the union per step in rank order. */
function allRanks(base: Omit<DistributedSamplerOptions, 'rank'>, epoch: number) {
  const perRank = range(base.world).map((rank) => rankBatches({ ...base, rank }, epoch));
  const union = perRank[0]!.map((_, k) => perRank.flatMap((b) => b[k]!));
  return { perRank, union };
}

describe('distributed sampler', () => {
  it('2 ranks × batch 1 read what 1 process × batch 2 reads, step by step, over several epochs', () => {
    const indices = range(7, 100); // odd: one sample per epoch is the dropped tail
    const single = new EpochSampler(indices, 2, 42);
    for (let epoch = 0; epoch < 3; epoch++) {
      const { union } = allRanks({ indices, batchSize: 1, world: 2, seed: 42 }, epoch);
      expect(union).toHaveLength(3);
      for (let k = 0; k < 3; k++) expect(union[k]).toEqual(single.next().indices);
      expect(single.next().indices).toEqual(droppedTail({ indices, batchSize: 1, world: 2, rank: 0, seed: 42 }, epoch)); // the single process's short last step
    }
  });

  it('4 ranks × batch 3 equal 1 process × batch 12; ranks take contiguous pieces in rank order', () => {
    const indices = range(50);
    const base = { indices, batchSize: 3, world: 4, seed: 7 };
    const single = new EpochSampler(indices, 12, 7);
    const { perRank, union } = allRanks(base, 0);
    expect(union).toHaveLength(4);
    for (let k = 0; k < 4; k++) {
      const want = single.next().indices;
      expect(union[k]).toEqual(want);
      expect(globalBatch({ ...base, rank: 2 }, 0, k)).toEqual(want);
      for (let r = 0; r < 4; r++) {
        expect(perRank[r]![k]).toEqual(want.slice(3 * r, 3 * r + 3));
        expect(rankBatch({ ...base, rank: r }, 0, k)).toEqual(perRank[r]![k]);
      }
    }
  });

  it('an epoch reads every sample at most once; what it skips is the tail, fewer than one global batch', () => {
    const indices = range(50);
    const base = { indices, batchSize: 3, world: 4, seed: 7 };
    for (const epoch of [0, 1]) {
      const read = allRanks(base, epoch).union.flat();
      const tail = droppedTail({ ...base, rank: 0 }, epoch);
      expect(new Set(read).size).toBe(read.length);
      expect(read).toHaveLength(48);
      expect(tail).toHaveLength(2);
      expect([...read, ...tail].sort((a, b) => a - b)).toEqual(indices);
    }
    expect(droppedTail({ ...base, rank: 0 }, 0)).not.toEqual(droppedTail({ ...base, rank: 0 }, 1));
  });

  it('is a function of (seed, epoch): the same arguments give the same batches, another epoch or seed others', () => {
    const o = { indices: range(40), batchSize: 2, world: 2, rank: 1, seed: 3 };
    expect(rankBatches(o, 5)).toEqual(rankBatches({ ...o, indices: [...o.indices] }, 5));
    expect(rankBatches(o, 5)).not.toEqual(rankBatches(o, 6));
    expect(rankBatches(o, 5)).not.toEqual(rankBatches({ ...o, seed: 4 }, 5));
    expect(epochOrder(o.indices, 3, 5)).toEqual(new EpochSampler(o.indices, 9, 3).epochOrder(5));
  });

  it('counts steps per epoch as full global batches', () => {
    expect(stepsPerEpoch(7, 1, 2)).toBe(3);
    expect(stepsPerEpoch(8, 2, 2)).toBe(2);
    expect(stepsPerEpoch(3, 2, 2)).toBe(0);
  });

  it('rejects what it cannot serve, saying why', () => {
    const o = { indices: range(10), batchSize: 2, world: 2, rank: 0, seed: 0 };
    expect(() => rankBatches({ ...o, rank: 2 }, 0)).toThrow('rank must be an integer in [0, 2), got 2');
    expect(() => rankBatches({ ...o, batchSize: 0 }, 0)).toThrow('batchSize must be an integer ≥ 1');
    expect(() => rankBatches({ ...o, world: 0 }, 0)).toThrow('world must be an integer ≥ 1');
    expect(() => rankBatches({ ...o, indices: range(3) }, 0)).toThrow('3 samples do not fill one global batch of 2 × 2 ranks = 4');
    expect(() => rankBatch(o, 0, 2)).toThrow("step 2 is outside the epoch's 2 steps");
  });
});
