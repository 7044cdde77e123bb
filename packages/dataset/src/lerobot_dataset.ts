import { join } from 'node:path';
import sharp from 'sharp';
import { columnTypeMismatch } from './column_types.js';
import { DatasetError, defaultWarningHandler, type WarningHandler } from './errors.js';
import type { RgbImage } from './image.js';
import { imageKeys, videoKeys } from './meta/info.js';
import { readMeta, type DatasetMeta, type EpisodeMeta } from './meta/meta.js';
import { readParquet, requireColumn, type ParquetTable } from './parquet.js';
import { DEFAULT_TOLERANCE_S, VideoDecoder, type VideoDecoderOptions } from './video/decoder.js';

export interface LeRobotDatasetOptions {
  /** Load only these episode indices (default: all). */
  readonly episodes?: readonly number[];
  /** LeRobot `delta_timestamps`: feature key → offsets in seconds (e.g. `[-0.1, 0]`). */
  readonly deltaTimestamps?: Readonly<Record<string, readonly number[]>>;
  /** Max distance between a requested timestamp and the decoded frame (LeRobot `tolerance_s`, 1e-4). */
  readonly toleranceS?: number;
  /** A decoder to share (and its frame cache), or options for a new one. */
  readonly decoder?: VideoDecoder | VideoDecoderOptions;
  /** Turn info.json totals that disagree with the files into errors instead of warnings. */
  readonly strict?: boolean;
  readonly onWarning?: WarningHandler;
}

/** A `delta_timestamps` clip of one camera: frames in offset order and LeRobot's `{key}_is_pad`. */
export interface FrameClip {
  readonly frames: readonly RgbImage[];
  readonly isPad: readonly boolean[];
  /** Timestamps within the episode that were decoded (after clamping to the episode). */
  readonly timestamps: readonly number[];
}

/** One dataset item (LeRobotDataset.__getitem__), with images as HWC uint8. */
export interface LeRobotItem {
  /** Position in this dataset (0..length-1). */
  readonly index: number;
  readonly episodeIndex: number;
  readonly frameIndex: number;
  readonly timestamp: number;
  readonly taskIndex: number;
  readonly task: string;
  /** Every parquet column of this row (INT64 as number, lists as number[]). Delta keys hold arrays over offsets. */
  readonly row: Readonly<Record<string, unknown>>;
  /** `{key}_is_pad` for tabular delta keys. */
  readonly rowIsPad: Readonly<Record<string, readonly boolean[]>>;
  /** Camera key → the frame at this row's timestamp. */
  readonly images: Readonly<Record<string, RgbImage>>;
  /** Camera key → clip, for camera keys listed in `deltaTimestamps`. */
  readonly clips: Readonly<Record<string, FrameClip>>;
}

interface EpisodeRange {
  readonly meta: EpisodeMeta;
  readonly start: number; // first position in this dataset
  readonly end: number; // exclusive
}

/** Reads a LeRobot dataset (v2.0, v2.1, v3.0) from a local root. */
export class LeRobotDataset {
  readonly decoder: VideoDecoder;
  readonly toleranceS: number;
  /** Video and inline-image feature keys, in info.json order. */
  readonly cameraKeys: readonly string[];
  readonly videoKeys: readonly string[];
  readonly imageKeys: readonly string[];
  readonly episodes: readonly EpisodeRange[];
  private readonly episodeOf: Int32Array;

  private constructor(
    readonly meta: DatasetMeta,
    /** Tabular columns over all loaded rows, in dataset order. */
    readonly columns: ReadonlyMap<string, readonly unknown[]>,
    episodes: EpisodeRange[],
    private readonly opts: LeRobotDatasetOptions,
  ) {
    this.decoder = opts.decoder instanceof VideoDecoder ? opts.decoder : new VideoDecoder(opts.decoder ?? {});
    this.toleranceS = opts.toleranceS ?? DEFAULT_TOLERANCE_S;
    this.videoKeys = videoKeys(meta.info);
    this.imageKeys = imageKeys(meta.info);
    this.cameraKeys = Object.keys(meta.info.features).filter((k) => this.videoKeys.includes(k) || this.imageKeys.includes(k));
    this.episodes = episodes;
    const n = episodes.length ? episodes[episodes.length - 1]!.end : 0;
    this.episodeOf = new Int32Array(n);
    episodes.forEach((e, k) => this.episodeOf.fill(k, e.start, e.end));
  }

  get root(): string {
    return this.meta.root;
  }
  get fps(): number {
    return this.meta.info.fps;
  }
  /** Number of frames (rows) loaded. */
  get length(): number {
    return this.episodeOf.length;
  }

  static async open(root: string, opts: LeRobotDatasetOptions = {}): Promise<LeRobotDataset> {
    const meta = await readMeta(root);
    const warn = opts.onWarning ?? defaultWarningHandler;
    const info = meta.info;
    const infoFile = info.file;
    const problem = (msg: string, field: string): void => {
      if (opts.strict) throw new DatasetError(msg, { file: infoFile, field });
      warn(`${infoFile}: field '${field}': ${msg}`);
    };
    // Totals in info.json: LeRobot itself never re-checks these, and real datasets get them
    // wrong after trimming (shared/data/apple_storage_v30_rerun), so they only warn unless strict.
    const allFrames = meta.episodes.reduce((s, e) => s + e.length, 0);
    if (info.totalEpisodes !== meta.episodes.length) problem(`says ${info.totalEpisodes} episodes but the episode metadata lists ${meta.episodes.length}`, 'total_episodes');
    if (info.totalFrames !== allFrames) problem(`says ${info.totalFrames} frames but the episodes hold ${allFrames}`, 'total_frames');
    if (info.totalTasks && info.totalTasks !== meta.tasks.size) problem(`says ${info.totalTasks} tasks but the task metadata lists ${meta.tasks.size}`, 'total_tasks');

    let selected = meta.episodes;
    if (opts.episodes) {
      const want = new Set(opts.episodes);
      selected = meta.episodes.filter((e) => want.has(e.episodeIndex));
      for (const ep of want) {
        if (!selected.some((e) => e.episodeIndex === ep)) {
          throw new DatasetError(`episode ${ep} is not in the dataset (episodes: ${meta.episodes.map((e) => e.episodeIndex).join(', ')})`, {
            field: 'episodes',
          });
        }
      }
    }

    // Read each data file once; v3.0 files hold many episodes.
    const tables = new Map<string, Promise<ParquetTable>>();
    for (const e of selected) {
      if (tables.has(e.dataPath)) continue;
      const t = readParquet(join(root, e.dataPath));
      t.catch(() => {}); // awaited in order below; a later file's failure must not go unhandled meanwhile
      tables.set(e.dataPath, t);
    }
    const expected = Object.entries(info.features).filter(([, f]) => f.dtype !== 'video').map(([k]) => k);
    const columns = new Map<string, unknown[]>();
    const ranges: EpisodeRange[] = [];
    let pos = 0;
    for (const e of selected) {
      const t = await tables.get(e.dataPath)!;
      for (const k of expected) {
        if (!t.columns.has(k)) {
          throw new DatasetError(`info.json declares feature '${k}' (${info.features[k]!.dtype}) but the parquet file has no such column (columns: ${t.names.join(', ')})`, {
            file: t.file,
            field: k,
          });
        }
        const mismatch = columnTypeMismatch(info.features[k]!, t.types.get(k)!);
        if (mismatch) throw new DatasetError(`wrong column type: ${mismatch}`, { file: t.file, field: k });
      }
      const epCol = requireColumn(t, 'episode_index');
      const rows: number[] = [];
      for (let r = 0; r < t.numRows; r++) if (epCol[r] === e.episodeIndex) rows.push(r);
      if (rows.length !== e.length) {
        throw new DatasetError(
          `episode ${e.episodeIndex}: the episode metadata says length ${e.length} but the data file has ${rows.length} rows for it`,
          { file: t.file, field: 'episode_index' },
        );
      }
      if (e.datasetFromIndex !== null && t.columns.has('index')) {
        const idx = t.columns.get('index')!;
        const first = idx[rows[0]!], last = idx[rows[rows.length - 1]!];
        if (first !== e.datasetFromIndex || (last as number) + 1 !== e.datasetToIndex) {
          throw new DatasetError(
            `episode ${e.episodeIndex}: meta says dataset_from_index..to_index ${e.datasetFromIndex}..${e.datasetToIndex} but the rows have index ${String(first)}..${String(last)}`,
            { file: t.file, field: 'index' },
          );
        }
      }
      for (const name of t.names) {
        let col = columns.get(name);
        if (!col) {
          if (pos > 0) throw new DatasetError(`column appears in some data files only`, { file: t.file, field: name });
          col = [];
          columns.set(name, col);
        }
        const src = t.columns.get(name)!;
        for (const r of rows) col.push(src[r]);
      }
      ranges.push({ meta: e, start: pos, end: pos + rows.length });
      pos += rows.length;
    }
    for (const [name, col] of columns) {
      if (col.length !== pos) throw new DatasetError(`column is missing from some data files`, { field: name });
    }
    if (!columns.has('timestamp')) throw new DatasetError('data has no timestamp column', { field: 'timestamp' });
    // LeRobot's check_timestamps_sync: consecutive timestamps 1/fps apart (warning only).
    const ts = columns.get('timestamp')! as number[];
    for (const r of ranges) {
      for (let i = r.start + 1; i < r.end; i++) {
        if (Math.abs(ts[i]! - ts[i - 1]! - 1 / info.fps) > Math.max(opts.toleranceS ?? DEFAULT_TOLERANCE_S, 1e-4) * 10) {
          warn(`${join(root, r.meta.dataPath)}: field 'timestamp': episode ${r.meta.episodeIndex} frame ${i - r.start} is ${(ts[i]! - ts[i - 1]!).toFixed(6)}s after the previous one, expected 1/fps = ${(1 / info.fps).toFixed(6)}s`);
          break;
        }
      }
    }
    return new LeRobotDataset(meta, columns, ranges, opts);
  }

  /** The episode range a dataset position belongs to. */
  episodeAt(index: number): EpisodeRange {
    this.checkIndex(index);
    return this.episodes[this.episodeOf[index]!]!;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`index ${index} is out of range for a dataset of ${this.length} frames (${this.root})`);
    }
  }

  /** Tabular values only (no decoding), with int64 as number. */
  getRow(index: number): Record<string, unknown> {
    this.checkIndex(index);
    const out: Record<string, unknown> = {};
    for (const [k, col] of this.columns) out[k] = col[index];
    return out;
  }

  taskOf(index: number): { taskIndex: number; task: string } {
    const ti = this.columns.get('task_index')?.[index];
    if (typeof ti === 'number') {
      const task = this.meta.tasks.get(ti);
      if (task === undefined) throw new DatasetError(`row ${index}: task_index ${ti} is not in the task metadata`, { field: 'task_index' });
      return { taskIndex: ti, task };
    }
    const ep = this.episodeAt(index).meta;
    return { taskIndex: -1, task: ep.tasks[0] ?? '' };
  }

  async getItem(index: number, opts: { cameras?: readonly string[] } = {}): Promise<LeRobotItem> {
    return (await this.getItems([index], opts))[0]!;
  }

  /**
   * Several items at once: video requests are grouped by file so each file is decoded by
   * as few ffmpeg runs as possible. `cameras` limits which camera keys are decoded;
   * `spanBytes` lets whole episodes up to that size (and half the cache) be decoded at once.
   */
  async getItems(indices: readonly number[], opts: { cameras?: readonly string[]; spanBytes?: number } = {}): Promise<LeRobotItem[]> {
    const cams = opts.cameras ?? this.cameraKeys;
    for (const c of cams) {
      if (!this.cameraKeys.includes(c)) {
        throw new DatasetError(`camera '${c}' is not a video or image feature of this dataset (cameras: ${this.cameraKeys.join(', ') || 'none'})`, {
          file: this.meta.info.file,
          field: `features.${c}`,
        });
      }
    }
    const delta = this.opts.deltaTimestamps ?? {};
    const fps = this.fps;
    const ts = this.columns.get('timestamp')! as number[];
    const requests = new Map<string, { ts: number[]; put: ((img: RgbImage) => void)[]; context: string[]; span: [number, number] }>();
    const pending: Promise<void>[] = [];
    const want = (file: string, t: number, context: string, put: (img: RgbImage) => void, span: [number, number]): void => {
      let r = requests.get(file);
      if (!r) requests.set(file, (r = { ts: [], put: [], context: [], span }));
      else r.span = [Math.min(r.span[0], span[0]), Math.max(r.span[1], span[1])];
      r.ts.push(t);
      r.put.push(put);
      r.context.push(context);
    };
    const items = indices.map((index) => {
      const ep = this.episodeAt(index);
      const { taskIndex, task } = this.taskOf(index);
      const row = this.getRow(index);
      const rowIsPad: Record<string, boolean[]> = {};
      const images: Record<string, RgbImage> = {};
      const clips: Record<string, FrameClip> = {};
      // LeRobot _get_query_indices: clamp to the episode, pad flags for the clamped ones.
      const query = (offsets: readonly number[]): { rows: number[]; isPad: boolean[] } => {
        const rows: number[] = [], isPad: boolean[] = [];
        for (const d of offsets) {
          const q = index + Math.round(d * fps);
          isPad.push(q < ep.start || q >= ep.end);
          rows.push(Math.min(ep.end - 1, Math.max(ep.start, q)));
        }
        return { rows, isPad };
      };
      for (const [key, offsets] of Object.entries(delta)) {
        if (this.cameraKeys.includes(key)) continue;
        const col = this.columns.get(key);
        if (!col) throw new DatasetError(`deltaTimestamps names '${key}', which is not a column of this dataset`, { field: key });
        const q = query(offsets);
        row[key] = q.rows.map((r) => col[r]);
        rowIsPad[key] = q.isPad;
      }
      const item: LeRobotItem = {
        index,
        episodeIndex: ep.meta.episodeIndex,
        frameIndex: Number(row.frame_index ?? index - ep.start),
        timestamp: ts[index]!,
        taskIndex,
        task,
        row,
        rowIsPad,
        images,
        clips,
      };
      for (const cam of cams) {
        const offsets = delta[cam];
        const rowsWanted = offsets ? query(offsets) : { rows: [index], isPad: [false] };
        const frames: RgbImage[] = new Array(rowsWanted.rows.length);
        rowsWanted.rows.forEach((r, j) => {
          const put = (img: RgbImage): void => {
            frames[j] = img;
            if (r === index) images[cam] = img;
          };
          if (this.videoKeys.includes(cam)) {
            const v = ep.meta.videos[cam]!;
            const context = ` (episode ${ep.meta.episodeIndex}, frame ${r - ep.start}, camera '${cam}')`;
            want(join(this.root, v.path), v.fromTimestamp + ts[r]!, context, put, [v.fromTimestamp + ts[ep.start]!, v.fromTimestamp + ts[ep.end - 1]!]);
          } else {
            pending.push(decodeInlineImage(this.columns.get(cam)?.[r], cam, r).then(put));
          }
        });
        if (offsets) clips[cam] = { frames, isPad: rowsWanted.isPad, timestamps: rowsWanted.rows.map((r) => ts[r]!) };
      }
      return item;
    });
    for (const [file, r] of requests) {
      pending.push(
        (async () => {
          const probe = await this.decoder.probe(file).catch((e: unknown) => {
            if (e instanceof DatasetError && /video file is missing/.test(e.message)) {
              throw new DatasetError(`video file is missing${r.context[0] ?? ''}`, { file });
            }
            throw e;
          });
          const idx = r.ts.map((t, j) => VideoDecoder.frameIndexAt(probe, t, this.toleranceS, r.context[j]));
          const near = (t: number): number => {
            try {
              return VideoDecoder.frameIndexAt(probe, t, Infinity);
            } catch {
              return 0;
            }
          };
          // The episode's frame range in the file (span in seconds → frames); errors surface per request above.
          const span: [number, number] = [near(r.span[0]), near(r.span[1])];
          const imgs = await this.decoder.decodeIndices(file, idx, { span, ...(opts.spanBytes !== undefined ? { spanBytes: opts.spanBytes } : {}) });
          imgs.forEach((img, j) => r.put[j]!(img));
        })(),
      );
    }
    await Promise.all(pending);
    // A clip without offset 0: the item's image is the clip's first frame (the seed takes [0] of [T,C,H,W]).
    for (const it of items) {
      for (const [cam, clip] of Object.entries(it.clips)) {
        if (!it.images[cam]) (it.images as Record<string, RgbImage>)[cam] = clip.frames[0]!;
      }
    }
    return items;
  }
}

/** Inline image features are `{bytes: PNG/JPEG, path}` structs in parquet (LeRobot `dtype: image`). */
async function decodeInlineImage(v: unknown, key: string, row: number): Promise<RgbImage> {
  const bytes = (v as { bytes?: unknown } | null)?.bytes;
  if (!(bytes instanceof Uint8Array)) throw new DatasetError(`row ${row}: expected an image struct {bytes, path}`, { field: key });
  try {
    const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels`);
    return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    throw new DatasetError(`row ${row}: cannot decode the inline image (${(e as Error).message})`, { field: key });
  }
}
