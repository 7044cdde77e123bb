import type { AlohaRewardDataset, RewardSample } from './aloha_reward_dataset.js';
import { seededShuffle } from './split.js';

export interface RewardLoaderOptions {
  /** Samples per batch (the seed's BATCH_SIZE, default 2). */
  readonly batchSize?: number;
  /** Reshuffle every epoch with seed + epoch (default false). */
  readonly shuffle?: boolean;
  readonly seed?: number;
  readonly dropLast?: boolean;
  /** Batches decoded ahead of the consumer (default 4). Their frames are requested together. */
  readonly prefetch?: number;
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
    return this.opts.shuffle ? seededShuffle(ids, (this.opts.seed ?? 0) * 1_000_003 + epoch) : ids;
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
    // Windows of `ahead` batches: one getMany per window, the next window in flight meanwhile.
    const windows: number[][][] = [];
    for (let w = 0; w < batches.length; w += ahead) windows.push(batches.slice(w, w + ahead));
    const fetchWindow = (w: number[][]): Promise<RewardSample[][]> =>
      this.dataset.getMany(w.flat()).then((samples) => {
        const out: RewardSample[][] = [];
        let k = 0;
        for (const b of w) {
          out.push(samples.slice(k, k + b.length));
          k += b.length;
        }
        return out;
      });
    let next: Promise<RewardSample[][]> | null = windows.length ? fetchWindow(windows[0]!) : null;
    let settled = false;
    try {
      for (let w = 0; w < windows.length; w++) {
        const current = await next!;
        next = w + 1 < windows.length ? fetchWindow(windows[w + 1]!) : null;
        // A consumer that stops early must not leave a rejected prefetch unhandled.
        next?.catch(() => {});
        for (const b of current) yield b;
      }
      settled = true;
    } finally {
      if (!settled && next) await next.catch(() => {});
    }
  }
}
