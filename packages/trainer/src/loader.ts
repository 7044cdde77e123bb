// Batches for training: a seeded per-epoch shuffle whose position (epoch, cursor) is
// all a resumed run needs, and a prefetch queue that decodes, augments and encodes
// the next batches while the current step runs (ORT runs a step on its own threads,
// so the JS-side work and ffmpeg overlap with it).

import { augmentSample } from './augment.js';
import type { AugmentConfig } from './config.js';
import { Rng } from '@vlreward/graph';
import type { EncodeFn, LoaderPosition, RewardSample, SampleSource } from './types.js';

export interface PlannedBatch {
  readonly indices: readonly number[];
  readonly epoch: number;
  /** cursor of the first sample of this batch within its epoch order. */
  readonly cursor: number;
  /** position after this batch: where a resumed run starts if this batch was the last consumed. */
  readonly after: LoaderPosition;
}

/** Shuffled epochs over `indices` (PyTorch DataLoader(shuffle=True, drop_last=False) semantics). */
export class EpochSampler {
  private pos: LoaderPosition;
  private order: number[] = [];
  private orderEpoch = -1;

  constructor(
    private readonly indices: readonly number[],
    private readonly batchSize: number,
    private readonly seed: number,
    start: LoaderPosition = { epoch: 0, cursor: 0 },
  ) {
    if (indices.length === 0) throw new RangeError('EpochSampler: no training samples (the training split is empty)');
    if (start.cursor < 0 || start.cursor > indices.length)
      throw new RangeError(`EpochSampler: resume cursor ${start.cursor} is outside [0, ${indices.length}] (was the dataset changed?)`);
    this.pos = start;
  }

  /** The order of `epoch`: a function of (seed, epoch) only, so resume needs no stored permutation. */
  epochOrder(epoch: number): number[] {
    if (this.orderEpoch !== epoch) {
      this.order = Rng.fromSeed(this.seed, 1000 + epoch).shuffle([...this.indices]);
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  get position(): LoaderPosition {
    return this.pos;
  }

  next(): PlannedBatch {
    let { epoch, cursor } = this.pos;
    if (cursor >= this.indices.length) {
      epoch += 1;
      cursor = 0;
    }
    const order = this.epochOrder(epoch);
    const indices = order.slice(cursor, cursor + this.batchSize);
    const after = { epoch, cursor: cursor + indices.length };
    this.pos = after;
    return { indices, epoch, cursor, after };
  }
}

/** Samples by index, through getMany when the source has it. */
export function getSamples(source: SampleSource, indices: readonly number[]): Promise<RewardSample[]> {
  return source.getMany ? source.getMany(indices) : Promise.all(indices.map((i) => source.get(i)));
}

/**
 * The same source with its reads queued one after another. Prefetched batches then never
 * decode the same video span twice at once (the second read finds the first one's frames
 * in the decoder's cache), while augmentation and encoding still overlap the step.
 */
export function serialReads<S extends SampleSource>(source: S): S {
  let tail: Promise<unknown> = Promise.resolve();
  const queued = <T>(f: () => Promise<T>): Promise<T> => {
    const p = tail.then(f, f);
    tail = p.catch(() => undefined);
    return p;
  };
  return {
    ...source,
    length: source.length,
    episodeOf: (i: number) => source.episodeOf(i),
    get: (i: number) => queued(() => source.get(i)),
    getMany: (idx: readonly number[]) => queued(() => getSamples(source, idx)),
  };
}

export interface LoadedBatch<B> {
  readonly batch: B;
  readonly plan: PlannedBatch;
  readonly labels: readonly number[];
}

/** Loads one planned batch: samples → (augment) → encode. Augmentation is seeded per sample position. */
export async function loadBatch<B>(
  plan: PlannedBatch,
  source: SampleSource,
  encode: EncodeFn<B>,
  augment: AugmentConfig | null,
  seed: number,
): Promise<LoadedBatch<B>> {
  let samples: RewardSample[] = await getSamples(source, plan.indices);
  if (augment) {
    // One generator per (epoch, position): the same sample at the same point of the run
    // gets the same augmentation however batches are prefetched, resumed or sharded.
    samples = samples.map((s, k) => augmentSample(s, augment, Rng.fromSeed(seed, 0x40000000 + plan.epoch * 1_000_003 + plan.cursor + k)));
  }
  return { batch: await encode(samples), plan, labels: samples.map((s) => s.label) };
}

/** Keeps `depth` batches in flight ahead of the consumer and measures how long the consumer waited. */
export class Prefetcher<T> {
  private readonly queue: Promise<T>[] = [];
  /** seconds the consumer spent waiting in next(). */
  waitSeconds = 0;

  /** depth 0: produce on demand (no overlap), for comparisons. */
  constructor(
    private readonly produce: () => Promise<T>,
    private readonly depth: number,
  ) {
    this.fill();
  }

  private fill(): void {
    while (this.queue.length < this.depth) {
      const p = this.produce();
      p.catch(() => undefined); // surfaced by next(); avoids an unhandled rejection meanwhile
      this.queue.push(p);
    }
  }

  async next(): Promise<T> {
    const t0 = performance.now();
    const p = this.depth === 0 ? this.produce() : this.queue.shift()!;
    this.fill(); // start the replacement before waiting, so production stays `depth` ahead
    const v = await p;
    this.waitSeconds += (performance.now() - t0) / 1000;
    return v;
  }
}
