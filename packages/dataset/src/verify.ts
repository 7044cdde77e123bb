// `verifyDataset`: reads every column of every data file and decodes every frame of every
// video, and checks them against the metadata — what the reader (which reads only what a
// sample needs) and `analyze` (metadata and labels only) cannot see: corrupted values in
// columns the model does not read, wrong column types, and videos that do not decode.

import { join } from 'node:path';
import { columnTypeMismatch, describeFeature, kindOfDtype, valueMismatch } from './column_types.js';
import { DatasetError } from './errors.js';
import { videoKeys, type FeatureSpec } from './meta/info.js';
import { readMeta, type DatasetMeta, type EpisodeMeta } from './meta/meta.js';
import { readParquet, type ParquetTable } from './parquet.js';
import { decodeRunArgs, frameBytes, runFrames } from './video/ffmpeg.js';
import { DEFAULT_TOLERANCE_S, VideoDecoder } from './video/decoder.js';

/** What kind of check found a problem. */
export type DatasetProblemKind =
  /** meta/ files unreadable, or info.json totals that disagree with the episode metadata. */
  | 'meta'
  /** A data or video file that is missing or cannot be read at all. */
  | 'file'
  /** A column missing, or of another type than info.json declares. */
  | 'type'
  /** A value of the wrong type or shape, null, NaN/±∞, or frame_index/index/timestamp out of sequence. */
  | 'value'
  /** Row counts per episode that disagree with the episode metadata. */
  | 'rows'
  /** An episode's min/max/mean/std/count that disagree with its episodes_stats. */
  | 'stats'
  /** Video frames that do not decode, or whose count or times disagree with the data. */
  | 'video';

/** One problem, located as precisely as the check allows. */
export interface DatasetProblem {
  readonly kind: DatasetProblemKind;
  readonly file: string;
  /** Column (feature key) or metadata field; null when the problem is the whole file. */
  readonly column: string | null;
  readonly episode: number | null;
  /** Row of the parquet file, or frame of the episode for video problems; null when not about one row. */
  readonly row: number | null;
  readonly message: string;
}

export interface VerifyOptions {
  /**
   * Relative tolerance of the episode stats check: a computed min/max/mean/std may differ from
   * the stored one by `statsTolerance × max(|min|, |max|)` of that dimension, plus 1e-6
   * (default 1e-4: stats are stored from float32 data; corruption moves them by far more).
   */
  readonly statsTolerance?: number;
  /** Timestamp → frame tolerance in seconds (LeRobot `tolerance_s`, default 1e-4). */
  readonly toleranceS?: number;
  /** Problems of one kind per file and column kept in full; the rest are counted in one more (default 20). */
  readonly maxPerColumn?: number;
  /** Decode the videos (default true). */
  readonly videos?: boolean;
  /** ffmpeg processes at once (default 2). */
  readonly concurrency?: number;
}

export interface VerifyReport {
  readonly root: string;
  /** True when no problem was found. */
  readonly ok: boolean;
  readonly dataFiles: number;
  readonly rows: number;
  readonly videoFiles: number;
  readonly decodedFrames: number;
  readonly problems: readonly DatasetProblem[];
}

/** Collects problems, keeping the first `max` per (kind, file, column) and counting the rest. */
class Problems {
  readonly list: DatasetProblem[] = [];
  private readonly counts = new Map<string, { first: DatasetProblem; n: number }>();
  constructor(private readonly max: number) {}
  add(p: DatasetProblem): void {
    const key = `${p.kind}\u0000${p.file}\u0000${p.column ?? ''}`;
    const c = this.counts.get(key);
    if (!c) this.counts.set(key, { first: p, n: 1 });
    else c.n++;
    if ((c?.n ?? 1) <= this.max) this.list.push(p);
  }
  done(): DatasetProblem[] {
    for (const { first, n } of this.counts.values()) {
      if (n > this.max) {
        this.list.push({ ...first, episode: null, row: null, message: `… ${n - this.max} more ${first.kind} problems in this ${first.column ? 'column' : 'file'} (${n} in all)` });
      }
    }
    return this.list;
  }
}

/** Flattens a stats entry (`[x]`, `[[x]]`, `[a, b, …]`) to numbers; null when it holds anything else. */
function flatNumbers(v: unknown): number[] | null {
  const out: number[] = [];
  const walk = (x: unknown): boolean => {
    if (typeof x === 'number') return out.push(x) > 0;
    if (Array.isArray(x)) return x.every(walk);
    return false;
  };
  return walk(v) ? out : null;
}

interface Moments { min: number[]; max: number[]; minRow: number[]; maxRow: number[]; mean: number[]; std: number[]; count: number }

/** min/max/mean/std per dimension of one episode's values (booleans as 0/1), in float64. */
function moments(values: readonly unknown[], rows: readonly number[]): Moments | null {
  const flat = values.map((v) => (typeof v === 'boolean' ? [v ? 1 : 0] : flatNumbers(v)));
  if (flat.length === 0 || flat.some((f) => f === null)) return null;
  const dim = flat[0]!.length;
  if (flat.some((f) => f!.length !== dim)) return null;
  const m: Moments = { min: Array(dim).fill(Infinity), max: Array(dim).fill(-Infinity), minRow: Array(dim).fill(-1), maxRow: Array(dim).fill(-1), mean: Array(dim).fill(0), std: Array(dim).fill(0), count: flat.length };
  flat.forEach((f, k) => {
    for (let i = 0; i < dim; i++) {
      const x = f![i]!;
      // NaN never wins a comparison, so it would hide; treat it as the extreme it is.
      if (x < m.min[i]! || Number.isNaN(x)) [m.min[i], m.minRow[i]] = [x, rows[k]!];
      if (x > m.max[i]! || Number.isNaN(x)) [m.max[i], m.maxRow[i]] = [x, rows[k]!];
      m.mean[i]! += x;
    }
  });
  for (let i = 0; i < dim; i++) m.mean[i]! /= flat.length;
  flat.forEach((f) => {
    for (let i = 0; i < dim; i++) m.std[i]! += (f![i]! - m.mean[i]!) ** 2;
  });
  for (let i = 0; i < dim; i++) m.std[i] = Math.sqrt(m.std[i]! / flat.length); // numpy std (ddof 0), as LeRobot
  return m;
}

/** Runs async jobs with bounded concurrency. */
async function pool(jobs: (() => Promise<void>)[], n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, async () => {
    while (next < jobs.length) await jobs[next++]!();
  }));
}

const fmt = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(7))) : String(x));

/** Rows of one episode in one data file, with their timestamps (for the video check). */
interface EpisodeRows { readonly file: string; readonly rows: number[]; readonly timestamps: number[] }

function checkDataFile(
  meta: DatasetMeta,
  t: ParquetTable,
  episodes: readonly EpisodeMeta[],
  opts: Required<Pick<VerifyOptions, 'statsTolerance'>>,
  problems: Problems,
  found: Map<number, EpisodeRows>,
): void {
  const info = meta.info;
  const file = t.file;
  const epCol = t.columns.get('episode_index');
  const episodeAtRow = (r: number): number | null => (typeof epCol?.[r] === 'number' ? (epCol[r] as number) : null);
  // Types and values of every declared column.
  const typed = new Set<string>();
  for (const [key, f] of Object.entries(info.features)) {
    if (f.dtype === 'video') continue;
    const type = t.types.get(key);
    if (!type) {
      problems.add({ kind: 'type', file, column: key, episode: null, row: null, message: `info.json declares ${describeFeature(f)} but the file has no such column (columns: ${t.names.join(', ')})` });
      continue;
    }
    const mismatch = columnTypeMismatch(f, type);
    if (mismatch) {
      problems.add({ kind: 'type', file, column: key, episode: null, row: null, message: mismatch });
      continue;
    }
    typed.add(key);
    const col = t.columns.get(key)!;
    for (let r = 0; r < t.numRows; r++) {
      const why = valueMismatch(f, col[r]);
      if (why) problems.add({ kind: 'value', file, column: key, episode: episodeAtRow(r), row: r, message: `value ${why}` });
    }
  }
  if (!epCol) return; // reported above as a missing column
  // Rows per episode, and rows of episodes this file should not hold.
  const mine = new Map(episodes.map((e) => [e.episodeIndex, e]));
  const rowsOf = new Map<number, number[]>();
  for (let r = 0; r < t.numRows; r++) {
    const e = episodeAtRow(r);
    if (e === null) continue;
    if (!mine.has(e)) {
      problems.add({ kind: 'rows', file, column: 'episode_index', episode: e, row: r, message: `row belongs to episode ${e}, which the episode metadata does not place in this file` });
      continue;
    }
    let rs = rowsOf.get(e);
    if (!rs) rowsOf.set(e, (rs = []));
    rs.push(r);
  }
  const ts = typed.has('timestamp') ? (t.columns.get('timestamp') as number[]) : null;
  const fi = typed.has('frame_index') ? (t.columns.get('frame_index') as number[]) : null;
  const ix = typed.has('index') ? (t.columns.get('index') as number[]) : null;
  for (const e of episodes) {
    const rows = rowsOf.get(e.episodeIndex) ?? [];
    if (rows.length !== e.length) {
      problems.add({ kind: 'rows', file, column: 'episode_index', episode: e.episodeIndex, row: null, message: `the episode metadata says length ${e.length} but the file has ${rows.length} rows for episode ${e.episodeIndex}` });
    }
    found.set(e.episodeIndex, { file, rows, timestamps: ts ? rows.map((r) => ts[r]!) : [] });
    rows.forEach((r, k) => {
      if (fi && fi[r] !== k) problems.add({ kind: 'value', file, column: 'frame_index', episode: e.episodeIndex, row: r, message: `frame_index is ${fi[r]}, expected ${k} (position in episode ${e.episodeIndex})` });
      if (ix && k > 0 && ix[r] !== ix[rows[k - 1]!]! + 1) problems.add({ kind: 'value', file, column: 'index', episode: e.episodeIndex, row: r, message: `index is ${ix[r]}, expected ${ix[rows[k - 1]!]! + 1} (one more than the previous row)` });
      // LeRobot's check_timestamps_sync: consecutive frames 1/fps apart.
      if (ts && k > 0 && Math.abs(ts[r]! - ts[rows[k - 1]!]! - 1 / info.fps) > 1e-3) {
        problems.add({ kind: 'value', file, column: 'timestamp', episode: e.episodeIndex, row: r, message: `timestamp ${fmt(ts[r]!)} is ${fmt(ts[r]! - ts[rows[k - 1]!]!)}s after the previous frame, expected 1/fps = ${fmt(1 / info.fps)}s` });
      }
    });
    if (ix && e.datasetFromIndex !== null && rows.length > 0 && ix[rows[0]!] !== e.datasetFromIndex) {
      problems.add({ kind: 'value', file, column: 'index', episode: e.episodeIndex, row: rows[0]!, message: `first index is ${ix[rows[0]!]} but the episode metadata says dataset_from_index ${e.datasetFromIndex}` });
    }
    checkStats(meta, t, e, rows, typed, opts.statsTolerance, problems);
  }
}

function checkStats(meta: DatasetMeta, t: ParquetTable, e: EpisodeMeta, rows: readonly number[], typed: ReadonlySet<string>, tol: number, problems: Problems): void {
  const stats = meta.episodesStats?.get(e.episodeIndex);
  if (!stats || rows.length === 0) return;
  const statsFile = meta.info.codebaseVersion === 'v3.0' ? join(meta.root, 'meta', 'episodes') : join(meta.root, 'meta', 'episodes_stats.jsonl');
  for (const [key, ref] of Object.entries(stats)) {
    const f: FeatureSpec | undefined = meta.info.features[key];
    if (!f || !typed.has(key) || (kindOfDtype(f.dtype) === null) || !ref || typeof ref !== 'object') continue;
    const col = t.columns.get(key)!;
    const m = moments(rows.map((r) => col[r]), rows);
    if (!m) continue; // value problems were reported above
    const r = ref as Record<string, unknown>;
    const count = flatNumbers(r.count)?.[0];
    if (count !== undefined && count !== m.count) {
      problems.add({ kind: 'stats', file: t.file, column: key, episode: e.episodeIndex, row: null, message: `episode ${e.episodeIndex} has ${m.count} rows but ${statsFile} says count ${count}` });
    }
    const refMin = flatNumbers(r.min), refMax = flatNumbers(r.max);
    for (const stat of ['min', 'max', 'mean', 'std'] as const) {
      const want = flatNumbers(r[stat]);
      if (!want) continue;
      if (want.length !== m[stat].length) {
        problems.add({ kind: 'stats', file: t.file, column: key, episode: e.episodeIndex, row: null, message: `${statsFile} has ${want.length} ${stat} values, the column has ${m[stat].length} dimensions` });
        continue;
      }
      for (let i = 0; i < want.length; i++) {
        const got = m[stat][i]!;
        const scale = Math.max(Math.abs(refMin?.[i] ?? 0), Math.abs(refMax?.[i] ?? 0), Math.abs(want[i]!));
        if (Math.abs(got - want[i]!) <= tol * scale + 1e-6) continue; // NaN fails this test, as it should
        // A computed extreme beyond the stored one is a value that should not be there: name its row.
        const beyond = Number.isNaN(got) || (stat === 'min' ? got < want[i]! : got > want[i]!);
        const row = beyond && stat === 'min' ? m.minRow[i]! : beyond && stat === 'max' ? m.maxRow[i]! : null;
        const dim = want.length > 1 ? `[${i}]` : '';
        problems.add({
          kind: 'stats', file: t.file, column: key, episode: e.episodeIndex, row,
          message: `episode ${e.episodeIndex} ${stat}${dim} is ${fmt(got)}${row !== null ? ` (row ${row})` : ''} but ${statsFile} says ${fmt(want[i]!)} (tolerance ${fmt(tol * scale + 1e-6)})`,
        });
      }
    }
  }
}

async function checkVideoFile(
  root: string,
  path: string,
  uses: readonly { episode: EpisodeMeta; key: string }[],
  found: ReadonlyMap<number, EpisodeRows>,
  decoder: VideoDecoder,
  toleranceS: number,
  problems: Problems,
): Promise<number> {
  const file = join(root, path);
  const column = uses[0]!.key;
  let probe;
  try {
    probe = await decoder.probe(file);
  } catch (e) {
    const why = e instanceof DatasetError ? e.message.replace(`${file}: `, '') : (e as Error).message;
    problems.add({ kind: 'file', file, column, episode: uses.length === 1 ? uses[0]!.episode.episodeIndex : null, row: null, message: `${why} (episodes ${uses.map((u) => u.episode.episodeIndex).join(', ')})` });
    return 0;
  }
  const n = probe.frameTimes.length;
  // Every frame, through ffmpeg as the reader decodes them; tiny output frames, since only the count matters here.
  const args = decodeRunArgs({ file, width: 16, height: 16, scale: { width: 16, height: 16 }, seek: 0, select: null, count: n + 1 });
  const r = await runFrames('ffmpeg', args, frameBytes(16, 16));
  const decoded = r.frames.length;
  const err = r.stderr.trim().split('\n').filter(Boolean);
  if (r.code !== 0 || err.length > 0) {
    problems.add({ kind: 'video', file, column, episode: null, row: decoded, message: `ffmpeg ${r.code !== 0 ? `failed (exit ${r.code})` : 'reported errors'} after ${decoded} frames: ${err.slice(-2).join(' ') || 'no message'}` });
  }
  if (decoded !== n) {
    problems.add({ kind: 'video', file, column, episode: null, row: null, message: `the container lists ${n} frames but ${decoded} decoded` });
  }
  const expected = uses.reduce((s, u) => s + u.episode.length, 0);
  if (decoded !== expected && uses.every((u) => u.episode.videos[u.key]!.toTimestamp === null)) {
    // v2.x: one file per episode, so the file holds exactly the episode's frames.
    problems.add({ kind: 'video', file, column, episode: uses.length === 1 ? uses[0]!.episode.episodeIndex : null, row: null, message: `${decoded} frames decoded but the episode metadata says length ${expected}` });
  }
  for (const { episode, key } of uses) {
    const rows = found.get(episode.episodeIndex);
    if (!rows) continue;
    const from = episode.videos[key]!.fromTimestamp;
    rows.timestamps.forEach((ts, k) => {
      let idx: number;
      try {
        idx = VideoDecoder.frameIndexAt(probe, from + ts, toleranceS);
      } catch (e) {
        problems.add({ kind: 'video', file, column: key, episode: episode.episodeIndex, row: k, message: (e as Error).message.replace(`${file}: field 'timestamp': `, '') });
        return;
      }
      if (idx >= decoded) {
        problems.add({ kind: 'video', file, column: key, episode: episode.episodeIndex, row: k, message: `frame ${idx} (timestamp ${fmt(from + ts)}s) did not decode: only ${decoded} frames did` });
      }
    });
  }
  return decoded;
}

/**
 * Checks a whole dataset: every column of every data file against info.json (type, shape,
 * NaN/±∞, nulls), row counts and frame_index/index/timestamp sequences against the episode
 * metadata, each episode's min/max/mean/std/count against its episodes_stats (where present),
 * and every frame of every video (decoded by ffmpeg; counts and timestamps against the data).
 * Never throws for problems with the dataset: they are returned, each naming file, column,
 * episode and row.
 */
export async function verifyDataset(root: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const problems = new Problems(opts.maxPerColumn ?? 20);
  const empty = { root, dataFiles: 0, rows: 0, videoFiles: 0, decodedFrames: 0 };
  let meta: DatasetMeta;
  try {
    meta = await readMeta(root);
  } catch (e) {
    if (!(e instanceof DatasetError)) throw e;
    const message = e.message.replace(`${e.file}: `, '').replace(`field '${e.field}': `, '');
    problems.add({ kind: 'meta', file: e.file ?? root, column: e.field ?? null, episode: null, row: null, message });
    const list = problems.done();
    return { ...empty, ok: false, problems: list };
  }
  const info = meta.info;
  const frames = meta.episodes.reduce((s, e) => s + e.length, 0);
  const total = (field: string, says: number, is: number, what: string): void => {
    if (says !== is) problems.add({ kind: 'meta', file: info.file, column: field, episode: null, row: null, message: `says ${says} ${what} but the episode metadata has ${is}` });
  };
  total('total_episodes', info.totalEpisodes, meta.episodes.length, 'episodes');
  total('total_frames', info.totalFrames, frames, 'frames');
  if (info.totalTasks) total('total_tasks', info.totalTasks, meta.tasks.size, 'tasks');

  const byFile = new Map<string, EpisodeMeta[]>();
  for (const e of meta.episodes) {
    let l = byFile.get(e.dataPath);
    if (!l) byFile.set(e.dataPath, (l = []));
    l.push(e);
  }
  const found = new Map<number, EpisodeRows>();
  let rows = 0;
  for (const [path, eps] of byFile) {
    let t: ParquetTable;
    try {
      t = await readParquet(join(root, path));
    } catch (e) {
      if (!(e instanceof DatasetError)) throw e;
      problems.add({ kind: 'file', file: join(root, path), column: e.field ?? null, episode: eps.length === 1 ? eps[0]!.episodeIndex : null, row: null, message: e.message.replace(`${e.file}: `, '') });
      continue;
    }
    rows += t.numRows;
    checkDataFile(meta, t, eps, { statsTolerance: opts.statsTolerance ?? 1e-4 }, problems, found);
  }

  let decodedFrames = 0;
  const videoFiles = new Map<string, { episode: EpisodeMeta; key: string }[]>();
  for (const key of videoKeys(info)) {
    for (const e of meta.episodes) {
      const v = e.videos[key];
      if (!v) continue;
      let l = videoFiles.get(v.path);
      if (!l) videoFiles.set(v.path, (l = []));
      l.push({ episode: e, key });
    }
  }
  if (opts.videos !== false) {
    const decoder = new VideoDecoder();
    const toleranceS = opts.toleranceS ?? DEFAULT_TOLERANCE_S;
    await pool(
      [...videoFiles].map(([path, uses]) => async () => {
        const n = await checkVideoFile(root, path, uses, found, decoder, toleranceS, problems);
        decodedFrames += n; // after the await: `x += await f()` would read x before other jobs add to it
      }),
      opts.concurrency ?? 2,
    );
    await decoder.close();
  }
  const list = problems.done();
  return { root, ok: list.length === 0, dataFiles: byFile.size, rows, videoFiles: opts.videos === false ? 0 : videoFiles.size, decodedFrames, problems: list };
}

/** One line per problem (`file: column 'c': episode e row r: message`) and a summary line. */
export function formatVerifyReport(r: VerifyReport): string {
  const L: string[] = [];
  for (const p of r.problems) {
    const where = [p.column !== null ? `column '${p.column}'` : null, p.episode !== null ? `episode ${p.episode}` : null, p.row !== null ? `${p.kind === 'video' ? 'frame' : 'row'} ${p.row}` : null]
      .filter(Boolean)
      .join(' ');
    L.push(`${p.kind.padEnd(5)}  ${p.file}: ${where ? `${where}: ` : ''}${p.message}`);
  }
  L.push(
    `${r.ok ? 'ok' : `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`}: ${r.root}: ${r.dataFiles} data files, ${r.rows} rows, ` +
      `${r.videoFiles} video files, ${r.decodedFrames} frames decoded`,
  );
  return L.join('\n');
}
