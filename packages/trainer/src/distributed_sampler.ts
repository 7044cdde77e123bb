// Which samples each rank of a data-parallel run reads: the global batch of step k is
// the k-th slice of the epoch's shuffled order, and rank r takes its r-th contiguous
// piece, so `world` ranks × `batchSize` read exactly what one process with batch size
// `batchSize × world` reads (EpochSampler, same seed and epoch: one shuffle, in
// loader.ts). Contiguous pieces match DataParallelSession's shard().
//
// Tail rule: the last, incomplete global batch of each epoch is DROPPED
// (floor(n / (batchSize × world)) steps per epoch). Every rank then runs every step on
// exactly `batchSize` samples: no rank ever has an empty batch (which would still have
// to join the collectives), a plain 'mean' all-reduce is the exact global-batch mean,
// and no sample is read twice (wrapping would weight the first samples double). The
// cost is fewer than one global batch per epoch, a different subset every epoch since
// each epoch is reshuffled. A single process (EpochSampler, drop_last=False) reads
// that tail as one extra short step; every other step is identical.

import { EpochSampler, type PlannedBatch } from './loader.js';
import type { LoaderPosition } from './types.js';

export interface DistributedSamplerOptions {
  /** the training samples (dataset indices), as EpochSampler takes them. */
  readonly indices: readonly number[];
  /** samples per rank per step (the global batch is batchSize × world). */
  readonly batchSize: number;
  readonly world: number;
  readonly rank: number;
  readonly seed: number;
}

function validate(o: DistributedSamplerOptions): void {
  const { batchSize, world, rank } = o;
  if (!Number.isInteger(world) || world < 1) throw new RangeError(`distributed sampler: world must be an integer ≥ 1, got ${world}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= world) throw new RangeError(`distributed sampler: rank must be an integer in [0, ${world}), got ${rank}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`distributed sampler: batchSize must be an integer ≥ 1, got ${batchSize}`);
  if (o.indices.length < batchSize * world)
    throw new RangeError(`distributed sampler: ${o.indices.length} samples do not fill one global batch of ${batchSize} × ${world} ranks = ${batchSize * world}`);
}

/** The epoch's order: EpochSampler's own shuffle (a function of seed and epoch only). */
export function epochOrder(indices: readonly number[], seed: number, epoch: number): number[] {
  return new EpochSampler(indices, 1, seed).epochOrder(epoch);
}

/** Optimizer steps per epoch: full global batches only. */
export function stepsPerEpoch(numSamples: number, batchSize: number, world: number): number {
  return Math.floor(numSamples / (batchSize * world));
}

/** All ranks' samples of `step` in `epoch`, rank 0's first: what a single process with batch batchSize × world reads. */
export function globalBatch(o: DistributedSamplerOptions, epoch: number, step: number): number[] {
  validate(o);
  checkStep(o, step);
  const g = o.batchSize * o.world;
  return epochOrder(o.indices, o.seed, epoch).slice(step * g, (step + 1) * g);
}

/** This rank's samples of `step` in `epoch`. */
export function rankBatch(o: DistributedSamplerOptions, epoch: number, step: number): number[] {
  return globalBatch(o, epoch, step).slice(o.rank * o.batchSize, (o.rank + 1) * o.batchSize);
}

/** This rank's batches for the whole epoch, in step order (one shuffle). */
export function rankBatches(o: DistributedSamplerOptions, epoch: number): number[][] {
  validate(o);
  const order = epochOrder(o.indices, o.seed, epoch);
  const g = o.batchSize * o.world;
  const steps = stepsPerEpoch(o.indices.length, o.batchSize, o.world);
  return Array.from({ length: steps }, (_, k) => order.slice(k * g + o.rank * o.batchSize, k * g + (o.rank + 1) * o.batchSize));
}

/** The samples no rank reads in `epoch` (the dropped tail, fewer than one global batch). */
export function droppedTail(o: DistributedSamplerOptions, epoch: number): number[] {
  validate(o);
  const g = o.batchSize * o.world;
  return epochOrder(o.indices, o.seed, epoch).slice(stepsPerEpoch(o.indices.length, o.batchSize, o.world) * g);
}

function checkStep(o: DistributedSamplerOptions, step: number): void {
  const steps = stepsPerEpoch(o.indices.length, o.batchSize, o.world);
  if (!Number.isInteger(step) || step < 0 || step >= steps) throw new RangeError(`distributed sampler: step ${step} is outside the epoch's ${steps} steps`);
}

/**
 * The trainer's sampler for one rank: the global batch (batchSize × world) comes
 * from an EpochSampler over the whole training set, so the loader position stored
 * in checkpoints is global (epoch, cursor) and a run resumes with another world
 * size as long as batchSize × world stays the same. An incomplete global batch at
 * an epoch's end is dropped (the tail rule above) when world > 1; with world 1
 * this is exactly EpochSampler.
 */
export class RankSampler {
  private readonly global: EpochSampler;

  constructor(
    indices: readonly number[],
    private readonly batchSize: number,
    private readonly world: number,
    private readonly rank: number,
    seed: number,
    start?: LoaderPosition,
  ) {
    validate({ indices, batchSize, world, rank, seed });
    this.global = new EpochSampler(indices, batchSize * world, seed, start);
  }

  next(): PlannedBatch {
    let plan = this.global.next();
    if (this.world > 1 && plan.indices.length < this.batchSize * this.world) plan = this.global.next();
    if (this.world === 1) return plan;
    const from = this.rank * this.batchSize;
    // cursor of this rank's first sample: augmentation seeds follow the sample's position in the epoch.
    return { indices: plan.indices.slice(from, from + this.batchSize), epoch: plan.epoch, cursor: plan.cursor + from, after: plan.after };
  }
}
