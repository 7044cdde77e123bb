import type { AlohaRewardDataset, RewardSample } from './aloha_reward_dataset.js';
import { seededShuffle } from './split.js';

export interface RewardLoaderOptions {
  /** Samples per batch (the seed's BATCH_SIZE, default 2). */
  readonly batchSize?: number;
  /** Reshuffle every epoch with seed + epoch (default false). */
  readonly shuffle?: boolean;
  readonly seed?: number;
  readonly dropLast?: boolean;
  /** Batches decoded ahead of the consumer (default 4). */
  readonly prefetch?: number;
  /**
   * With `shuffle`: shuffle episodes, take them `blockEpisodes` at a time and shuffle frames
   * only within each block. Batches then draw from a few episodes whose frames decode in long
   * runs and stay cached — for full-size videos whose episodes do not fit the cache whole.
   * Default: a full shuffle (every frame of the epoch in random order).
   */
  readonly blockEpisodes?: number;
}

/**
 * Batches samples and decodes ahead in the background: while the consumer works on batch b,
 * batches b+1..b+prefetch are being decoded by ffmpeg processes (which run in parallel with
 * the JS thread), requested together so each video file is read in as few runs as possible.
 *
 *   for await (const batch of loader) { ... }   // one epoch per iteration
 */
export class RewardDataLoader implements AsyncIterable<RewardSample[]> {
  readonly batchSize: number;
  private epoch = 0;
  constructor(readonly dataset: AlohaRewardDataset, private readonly opts: RewardLoaderOptions = {}) {
    this.batchSize = opts.batchSize ?? 2;
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1)) throw new RangeError(`batchSize must be a positive integer, got ${this.batchSize}`);
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.opts.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The epoch the next iteration uses for its shuffle (advances after each full iteration). */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  /** Sample order of one epoch. */
  order(epoch = this.epoch): number[] {
    const ids = Array.from({ length: this.dataset.length }, (_, i) => i);
    if (!this.opts.shuffle) return ids;
    const seed = (this.opts.seed ?? 0) * 1_000_003 + epoch;
    const k = this.opts.blockEpisodes;
    if (!k) return seededShuffle(ids, seed);
    const byEpisode = new Map<number, number[]>();
    for (const i of ids) {
      const ep = this.dataset.base.episodeAt(this.dataset.indices[i]!).meta.episodeIndex;
      let l = byEpisode.get(ep);
      if (!l) byEpisode.set(ep, (l = []));
      l.push(i);
    }
    const eps = seededShuffle([...byEpisode.keys()].sort((a, b) => a - b), seed);
    const out: number[] = [];
    for (let b = 0; b < eps.length; b += k) {
      const block = eps.slice(b, b + k).flatMap((e) => byEpisode.get(e)!);
      out.push(...seededShuffle(block, seed + b + 1));
    }
    return out;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<RewardSample[]> {
    const order = this.order(this.epoch);
    this.epoch++;
    const batches: number[][] = [];
    for (let s = 0; s < order.length; s += this.batchSize) {
      const b = order.slice(s, s + this.batchSize);
      if (b.length < this.batchSize && this.opts.dropLast) break;
      batches.push(b);
    }
    const ahead = Math.max(1, this.opts.prefetch ?? 4);
    // Up to `ahead` batches in flight at once keep the ffmpeg pool busy; the decoder merges
    // their requests for the same video file (in-flight frames are shared, not decoded twice).
    const inflight: Promise<RewardSample[]>[] = [];
    let next = 0;
    const fill = (): void => {
      while (inflight.length < ahead && next < batches.length) {
        // In order, or in episode blocks, every frame of an episode is read soon: let whole
        // episodes decode at once (up to half the frame cache).
        const p = this.dataset.getMany(batches[next++]!, !this.opts.shuffle || this.opts.blockEpisodes ? { spanBytes: Infinity } : {});
        p.catch(() => {}); // awaited in order below; a consumer that stops early must not see it as unhandled
        inflight.push(p);
      }
    };
    try {
      fill();
      while (inflight.length > 0) {
        const batch = await inflight.shift()!;
        fill();
        yield batch;
      }
    } finally {
      // Let decodes of abandoned batches finish (their ffmpeg processes) before returning.
      await Promise.allSettled(inflight);
    }
  }
}
