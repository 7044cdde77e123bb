import { availableParallelism } from 'node:os';
import { DatasetError } from '../errors.js';
import type { RgbImage } from '../image.js';
import { decodeRun, probeVideo, type FfmpegPaths, type VideoProbe } from './ffmpeg.js';
import { readMp4VideoTrack } from './mp4.js';
import { DecodeWorkerPool } from './worker_pool.js';
import { FrameCache } from './frame_cache.js';

export interface VideoDecoderOptions extends FfmpegPaths {
  /** Frame cache budget in bytes (default 512 MiB; 0 disables caching). */
  readonly cacheBytes?: number;
  /** Share a cache between decoders. */
  readonly cache?: FrameCache;
  /** ffmpeg processes running at once (default: max(4, CPUs) — start-up latency dominates small runs). */
  readonly concurrency?: number;
  /**
   * Requested frames closer than this many frames are decoded by one process, since decoding
   * through a short gap costs less than starting ffmpeg again. Default: from the frame size,
   * ~20 frames at 640x480, up to 256 for tiny frames.
   */
  readonly maxGap?: number;
  /** Extra frames decoded (and cached) after every run (default 0; sequential readers get adaptive readahead anyway). */
  readonly readahead?: number;
  /**
   * Worker threads that drive the ffmpeg processes (default 0: this thread). Use 1–2 when the
   * consumer runs long synchronous work on the main thread between batches.
   */
  readonly workers?: number;
  /**
   * Scale every frame to this size inside ffmpeg (bicubic). Off by default: the seed hands
   * full-size frames to the processor, whose own resize is the reference. Turn it on for
   * large videos when throughput matters more than bit-identical pixels: smaller frames make
   * whole-episode decoding and caching possible. The cache is per decoder, so sizes never mix.
   */
  readonly resize?: { readonly width: number; readonly height: number };
  /** Cap of the adaptive readahead for in-order readers (default min(64 MiB, cache/4)). */
  readonly readaheadBytes?: number;
  /** `-threads` for each ffmpeg process (default: ffmpeg's choice). */
  readonly threads?: number;
  /** A span hint (e.g. the episode) is decoded whole when it holds at most this many bytes (default 48 MiB). */
  readonly spanBytes?: number;
}

/** What the caller knows about the request: the frame range it belongs to (an episode in a v3.0 file). */
export interface DecodeHint {
  readonly span?: readonly [number, number];
  /** Override of `spanBytes` for this request (a caller that knows the whole span will be read soon). */
  readonly spanBytes?: number;
}

/** LeRobot's default `tolerance_s` (lerobot/datasets/lerobot_dataset.py, LeRobotDataset.__init__). */
export const DEFAULT_TOLERANCE_S = 1e-4;

/** Counters for benchmarks and tests. */
export interface DecoderStats {
  processes: number;
  framesDecoded: number;
}

/**
 * Decodes video frames by timestamp with LeRobot's selection rule and a shared LRU cache.
 * Requests for the same file are merged into runs: one ffmpeg process per run, never one per frame.
 */
export class VideoDecoder {
  readonly cache: FrameCache;
  readonly stats: DecoderStats = { processes: 0, framesDecoded: 0 };
  private readonly probes = new Map<string, Promise<VideoProbe>>();
  private readonly inflight = new Map<string, Promise<RgbImage>>();
  private readonly concurrency: number;
  private readonly maxGap: number | undefined;
  private readonly readahead: number;
  private readonly spanBytes: number;
  private readonly readaheadBytes: number;
  private readonly sequential = new Map<string, { end: number; ahead: number }>();
  private readonly pool: DecodeWorkerPool | null;
  private running = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly opts: VideoDecoderOptions = {}) {
    this.cache = opts.cache ?? new FrameCache(opts.cacheBytes ?? 512 * 1024 * 1024);
    this.concurrency = Math.max(1, opts.concurrency ?? Math.max(4, availableParallelism()));
    this.maxGap = opts.maxGap;
    this.readahead = opts.readahead ?? 0;
    this.spanBytes = opts.spanBytes ?? 48 * 1024 * 1024;
    this.pool = opts.workers ? new DecodeWorkerPool(opts.workers) : null;
    this.readaheadBytes = opts.readaheadBytes ?? Math.min(64 * 1024 * 1024, this.cache.maxBytes / 4);
  }

  /**
   * Frame times and size: read from the MP4 `moov` box in-process when possible (no process
   * start), else from ffprobe (other containers, truncated files — whose error it reports).
   */
  probe(file: string): Promise<VideoProbe> {
    let p = this.probes.get(file);
    if (!p) {
      p = readMp4VideoTrack(file).then((t) => {
        if (!t) return probeVideo(file, this.opts);
        const n = t.frameTimes.length;
        const fps = n > 1 ? (n - 1) / (t.frameTimes[n - 1]! - t.frameTimes[0]!) : 0;
        return {
          file, codec: t.codec, width: t.width, height: t.height, pixFmt: '', fps,
          startTime: t.frameTimes[0]!, duration: t.frameTimes[n - 1]! - t.frameTimes[0]! + (fps ? 1 / fps : 0), frameTimes: t.frameTimes,
        };
      });
      p.catch(() => this.probes.delete(file));
      this.probes.set(file, p);
    }
    return p;
  }

  /**
   * Nearest frame to `ts` (seconds, absolute in the file); throws when it is farther than
   * `toleranceS` — the check LeRobot's `decode_video_frames_torchvision` asserts.
   */
  static frameIndexAt(probe: VideoProbe, ts: number, toleranceS: number, context = ''): number {
    const t = probe.frameTimes;
    let lo = 0, hi = t.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid]! < ts) lo = mid + 1;
      else hi = mid;
    }
    let best = lo;
    if (lo > 0 && Math.abs(t[lo - 1]! - ts) <= Math.abs(t[lo]! - ts)) best = lo - 1;
    const d = Math.abs(t[best]! - ts);
    if (!(d < toleranceS)) { // LeRobot: assert min_ < tolerance_s
      throw new DatasetError(
        `no frame within tolerance ${toleranceS}s of timestamp ${ts.toFixed(6)}s${context}; ` +
          `nearest frame ${best} is at ${t[best]!.toFixed(6)}s, the video holds ${t.length} frames ` +
          `from ${t[0]!.toFixed(6)}s to ${t[t.length - 1]!.toFixed(6)}s`,
        { file: probe.file, field: 'timestamp' },
      );
    }
    return best;
  }

  /** Frames of `file` at absolute timestamps (seconds), in request order. */
  async decodeAt(file: string, timestamps: readonly number[], toleranceS = DEFAULT_TOLERANCE_S, context = ''): Promise<RgbImage[]> {
    const probe = await this.probe(file);
    const idx = timestamps.map((ts) => VideoDecoder.frameIndexAt(probe, ts, toleranceS, context));
    return this.decodeIndices(file, idx);
  }

  /** Frames of `file` by frame number (presentation order), in request order. */
  async decodeIndices(file: string, indices: readonly number[], hint: DecodeHint = {}): Promise<RgbImage[]> {
    const probe = await this.probe(file);
    const wanted = new Map<number, Promise<RgbImage>>();
    const missing: number[] = [];
    const seen = new Set<number>();
    for (const i of indices) {
      if (seen.has(i)) continue;
      seen.add(i);
      if (i < 0 || i >= probe.frameTimes.length) {
        throw new DatasetError(`frame ${i} is outside the video (${probe.frameTimes.length} frames)`, { file });
      }
      const key = FrameCache.key(file, i);
      const hit = this.cache.get(key);
      if (hit) wanted.set(i, Promise.resolve(hit));
      else {
        const fl = this.inflight.get(key);
        if (fl) wanted.set(i, fl);
        else missing.push(i);
      }
    }
    missing.sort((a, b) => a - b);
    // Small spans (an episode of small frames) are decoded whole on first touch: one process
    // then serves every later random access from the cache.
    if (missing.length > 0 && hint.span) {
      const [lo, hi] = hint.span;
      const bytes = (hi - lo + 1) * this.outSize(probe).bytes;
      const budget = hint.spanBytes !== undefined ? Math.min(hint.spanBytes, this.cache.maxBytes / 2) : Math.min(this.spanBytes, this.cache.maxBytes / 4);
      if (bytes <= budget && missing[0]! >= lo && missing[missing.length - 1]! <= hi) {
        const have = new Set(missing);
        for (let f = lo; f <= hi; f++) {
          const key = FrameCache.key(file, f);
          if (!have.has(f) && !this.cache.has(key) && !this.inflight.has(key)) missing.push(f);
        }
        missing.sort((a, b) => a - b);
      }
    }
    // Split into runs: a gap larger than maxGap frames costs less as a new seek than as decoding through.
    // ~60 ms to start ffmpeg vs ~1 ms per 100k pixels decoded.
    const maxGap = this.maxGap ?? Math.round(Math.min(256, Math.max(4, 60 / ((probe.width * probe.height) / 1e5))));
    let start = 0;
    for (let k = 1; k <= missing.length; k++) {
      if (k === missing.length || missing[k]! - missing[k - 1]! > maxGap) {
        const run = missing.slice(start, k);
        const ps = this.startRun(probe, run, maxGap);
        run.forEach((f, j) => wanted.set(f, ps[j]!));
        start = k;
      }
    }
    return Promise.all(indices.map((i) => wanted.get(i)!));
  }

  /**
   * Extra frames to decode after a run: none for random access; for a reader that keeps asking
   * for the frames right after the last run (in-order epochs, clips), a window that doubles
   * each time (as OS readahead does), capped by `readaheadBytes`.
   */
  private readaheadFor(probe: VideoProbe, first: number, maxGap: number): number {
    const st = this.sequential.get(probe.file);
    const cap = Math.floor(this.readaheadBytes / this.outSize(probe).bytes);
    if (st && first > st.end && first - st.end <= maxGap + 1) {
      st.ahead = Math.min(cap, Math.max(8, st.ahead * 2));
      return Math.max(st.ahead, this.readahead);
    }
    this.sequential.set(probe.file, { end: -1, ahead: 0 });
    return this.readahead;
  }

  private startRun(probe: VideoProbe, frames: number[], maxGap: number): Promise<RgbImage>[] {
    const first = frames[0]!;
    const last = frames[frames.length - 1]!;
    const ahead = this.readaheadFor(probe, first, maxGap);
    const decodeList = [...frames];
    for (let f = last + 1; f <= Math.min(probe.frameTimes.length - 1, last + ahead); f++) {
      const key = FrameCache.key(probe.file, f);
      if (this.cache.has(key) || this.inflight.has(key)) break;
      decodeList.push(f);
    }
    const st = this.sequential.get(probe.file);
    if (st) st.end = Math.max(st.end, decodeList[decodeList.length - 1]!);
    const contiguous = decodeList[decodeList.length - 1]! - first + 1 === decodeList.length;
    // Seek halfway between the previous frame and the first wanted one, so accurate seeking keeps exactly it.
    const seek = first === 0 ? 0 : (probe.frameTimes[first - 1]! + probe.frameTimes[first]!) / 2 - probe.startTime;
    const out = this.outSize(probe);
    // One promise per frame, settled as soon as ffmpeg hands that frame over, so a consumer
    // gets the start of a long run while the rest is still decoding.
    const settle: { resolve: (img: RgbImage) => void; reject: (e: unknown) => void; done: boolean }[] = [];
    const perFrame = decodeList.map(
      () => new Promise<RgbImage>((resolve, reject) => settle.push({ resolve, reject, done: false })),
    );
    decodeList.forEach((f, j) => {
      perFrame[j]!.catch(() => {}); // awaited by callers; a run nobody waits for must not be "unhandled"
      this.inflight.set(FrameCache.key(probe.file, f), perFrame[j]!);
    });
    const onFrame = (j: number, data: Uint8Array): void => {
      const f = decodeList[j];
      if (f === undefined) return;
      const img: RgbImage = { width: out.width, height: out.height, channels: 3, data };
      this.cache.set(FrameCache.key(probe.file, f), img);
      this.inflight.delete(FrameCache.key(probe.file, f));
      settle[j]!.done = true;
      settle[j]!.resolve(img);
    };
    void this.acquire().then(async () => {
      try {
        this.stats.processes++;
        const raw = await decodeRun({
          file: probe.file,
          width: out.width,
          height: out.height,
          ...(this.opts.resize ? { scale: out } : {}),
          seek: Math.max(0, seek),
          select: contiguous ? null : decodeList.map((f) => f - first),
          count: decodeList.length,
          ...(this.opts.threads !== undefined ? { threads: this.opts.threads } : {}),
          ...(this.opts.ffmpeg ? { ffmpeg: this.opts.ffmpeg } : {}),
        }, this.pool?.run, onFrame);
        this.stats.framesDecoded += raw.length;
      } catch (e) {
        // Frames already delivered stay valid; the rest of the run fails with the run's error.
        for (const s of settle) if (!s.done) s.reject(e);
      } finally {
        for (const f of decodeList) {
          const key = FrameCache.key(probe.file, f);
          if (this.inflight.get(key) && !this.cache.has(key)) this.inflight.delete(key);
        }
        this.release();
      }
    });
    return perFrame.slice(0, frames.length);
  }

  /** Size of the frames this decoder returns for a video (its own, or `resize`). */
  outSize(probe: VideoProbe): { width: number; height: number; bytes: number } {
    const r = this.opts.resize;
    const width = r?.width ?? probe.width, height = r?.height ?? probe.height;
    return { width, height, bytes: width * height * 3 };
  }

  /** Stops the worker threads, if any (they never keep the process alive either way). */
  async close(): Promise<void> {
    await this.pool?.close();
  }

  private acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((res) => this.waiters.push(() => { this.running++; res(); }));
  }

  private release(): void {
    this.running--;
    const w = this.waiters.shift();
    if (w) w();
  }
}
