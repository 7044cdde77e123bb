import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { writeParquet, type ParquetColumn } from './parquet_write.js';
import { ALOHA_CAMERAS } from './cameras.js';
import { mulberry32 } from '@vlreward/graph';

export interface SyntheticDatasetOptions {
  readonly root: string;
  readonly version?: 'v2.1' | 'v3.0';
  readonly codec?: 'av1' | 'h264';
  /** Episodes (default 8). */
  readonly episodes?: number;
  /** Frames per episode (default 24). */
  readonly frames?: number;
  /** Camera feature keys (default the three ALOHA cameras). */
  readonly cameras?: readonly string[];
  /** Square frame side in pixels, or {width, height} (default 64; AV1 needs ≥ 64). */
  readonly size?: number | { readonly width: number; readonly height: number };
  /** Reward bins (default 3). */
  readonly numClasses?: number;
  readonly fps?: number;
  readonly seed?: number;
  /** Task strings; episode e gets task e % tasks.length. */
  readonly tasks?: readonly string[];
  /** Per-pixel noise amplitude (0..255, default 6). */
  readonly noise?: number;
}

export interface SyntheticDatasetSummary {
  readonly root: string;
  readonly version: 'v2.1' | 'v3.0';
  readonly codec: 'av1' | 'h264';
  readonly cameras: readonly string[];
  readonly numClasses: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly totalFrames: number;
  readonly tasks: readonly string[];
  /** Per episode: its task and the reward bin of every frame. */
  readonly episodes: readonly { readonly episodeIndex: number; readonly taskIndex: number; readonly labels: readonly number[] }[];
}

const STATE_DIM = 14; // ALOHA: 2 × (6 joints + gripper)
const DEFAULT_TASKS = ['Transfer the cube to the other arm.', 'Insert the peg into the socket.'];
// Clearly separated class colours (R, G, B); beyond 8 classes we walk the hue circle.
const PALETTE: readonly (readonly [number, number, number])[] = [
  [220, 40, 40], [40, 200, 60], [50, 80, 230], [230, 210, 40],
  [210, 50, 200], [40, 210, 210], [240, 140, 30], [235, 235, 235],
];

function classColour(k: number, n: number): [number, number, number] {
  if (n <= PALETTE.length) return [...PALETTE[k]!] as [number, number, number];
  const h = (k / n) * 6, x = 1 - Math.abs((h % 2) - 1);
  const rgb = h < 1 ? [1, x, 0] : h < 2 ? [x, 1, 0] : h < 3 ? [0, 1, x] : h < 4 ? [0, x, 1] : h < 5 ? [x, 0, 1] : [1, 0, x];
  return rgb.map((v) => Math.round(30 + 200 * v!)) as [number, number, number];
}

const rng = mulberry32;

/** Reward bin of frame t of an episode: progress through the bins, as a success detector would see. */
export function syntheticLabel(t: number, frames: number, numClasses: number): number {
  return Math.min(numClasses - 1, Math.floor((t * numClasses) / frames));
}

/**
 * One synthetic camera frame: a noisy tinted background and a big square whose colour is the
 * reward bin — learnable by a tiny vision model from any one camera.
 */
function renderFrame(w: number, h: number, cam: number, label: number, numClasses: number, tint: readonly number[], noise: number, r: () => number): Uint8Array {
  const img = new Uint8Array(w * h * 3);
  const base = 70 + 25 * cam;
  const side = Math.max(4, Math.round(0.5 * Math.min(w, h)));
  const x0 = Math.floor(r() * (w - side + 1)), y0 = Math.floor(r() * (h - side + 1));
  const col = classColour(label, numClasses);
  const bright = (r() - 0.5) * 30;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inSq = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side;
      const o = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = (inSq ? col[c]! + bright : base + tint[c]!) + (r() - 0.5) * 2 * noise;
        img[o + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
      }
    }
  }
  return img;
}

function encoderArgs(codec: 'av1' | 'h264'): string[] {
  // LeRobot's encode_video_frames: GOP 2, yuv420p; libsvtav1 for AV1 (crf 30), libx264 for H.264.
  return codec === 'av1'
    ? ['-c:v', 'libsvtav1', '-preset', '12', '-g', '2', '-crf', '30', '-pix_fmt', 'yuv420p']
    : ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '2', '-crf', '23', '-pix_fmt', 'yuv420p'];
}

function encode(file: string, w: number, h: number, fps: number, codec: 'av1' | 'h264', frames: Iterable<Uint8Array>): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-r', String(fps), '-i', 'pipe:0',
      ...encoderArgs(codec), '-an', file,
    ], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', (e) => reject(new Error(`cannot run ffmpeg (${e.message}); install ffmpeg`)));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg could not encode ${file} with ${codec}: ${err.trim().split('\n').filter((l) => !l.startsWith('Svt[info]')).slice(-3).join(' ')}`))));
    p.stdin.on('error', () => {}); // reported through 'close'
    const it = frames[Symbol.iterator]();
    const pump = (): void => {
      for (;;) {
        const n = it.next();
        if (n.done) {
          p.stdin.end();
          return;
        }
        if (!p.stdin.write(n.value)) {
          p.stdin.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

/** Runs async jobs with bounded concurrency. */
async function pool(jobs: (() => Promise<void>)[], n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, async () => {
    while (next < jobs.length) await jobs[next++]!();
  }));
}

interface Moments { min: number[]; max: number[]; sum: number[]; sq: number[]; count: number }
function moments(dim: number): Moments {
  return { min: Array(dim).fill(Infinity), max: Array(dim).fill(-Infinity), sum: Array(dim).fill(0), sq: Array(dim).fill(0), count: 0 };
}
function addSample(m: Moments, v: ArrayLike<number>): void {
  for (let i = 0; i < m.sum.length; i++) {
    const x = v[i]!;
    if (x < m.min[i]!) m.min[i] = x;
    if (x > m.max[i]!) m.max[i] = x;
    m.sum[i]! += x;
    m.sq[i]! += x * x;
  }
  m.count++;
}
function finish(m: Moments, nest = false): Record<string, unknown> {
  const mean = m.sum.map((s) => s / m.count);
  const std = m.sq.map((s, i) => Math.sqrt(Math.max(0, s / m.count - mean[i]! ** 2)));
  const wrap = (a: number[]): unknown => (nest ? a.map((x) => [[x]]) : a);
  return { min: wrap(m.min), max: wrap(m.max), mean: wrap(mean), std: wrap(std), count: [m.count] };
}

/**
 * Writes a small LeRobot dataset in genuine layout (info.json, tasks, episodes, stats,
 * parquet, one mp4 per camera) whose reward bins can be read off the images.
 */
export async function writeSyntheticDataset(o: SyntheticDatasetOptions): Promise<SyntheticDatasetSummary> {
  const version = o.version ?? 'v2.1';
  const codec = o.codec ?? 'av1';
  const nEp = o.episodes ?? 8;
  const F = o.frames ?? 24;
  const cameras = o.cameras ?? ALOHA_CAMERAS;
  const size = o.size ?? 64;
  const width = typeof size === 'number' ? size : size.width;
  const height = typeof size === 'number' ? size : size.height;
  const n = o.numClasses ?? 3;
  const fps = o.fps ?? 30;
  const seed = o.seed ?? 0;
  const tasks = o.tasks ?? DEFAULT_TASKS;
  const noise = o.noise ?? 6;
  if (!(nEp >= 1 && F >= 1 && n >= 1)) throw new RangeError(`writeSyntheticDataset: episodes, frames and numClasses must be ≥ 1 (got ${nEp}, ${F}, ${n})`);
  if (width % 2 || height % 2) throw new RangeError(`writeSyntheticDataset: size must be even for yuv420p (got ${width}x${height})`);
  if (codec === 'av1' && (width < 64 || height < 64)) throw new RangeError(`writeSyntheticDataset: AV1 (libsvtav1) needs frames of at least 64x64 (got ${width}x${height})`);
  const root = o.root;
  const fround = Math.fround;

  // Tabular data, episode by episode.
  const episodes = Array.from({ length: nEp }, (_, e) => ({
    episodeIndex: e,
    taskIndex: e % tasks.length,
    labels: Array.from({ length: F }, (_, t) => syntheticLabel(t, F, n)),
  }));
  type Row = Record<string, unknown>;
  const epRows: Row[][] = [];
  let gIndex = 0;
  const r = rng(seed * 7919 + 1);
  for (const ep of episodes) {
    const phase = Array.from({ length: STATE_DIM }, () => r() * Math.PI * 2);
    const rows: Row[] = [];
    for (let t = 0; t < F; t++) {
      const state = phase.map((p, j) => fround(0.5 * Math.sin(p + (t / fps) * (1 + j * 0.1))));
      const action = state.map((s) => fround(s + (r() - 0.5) * 0.02));
      const bin = ep.labels[t]!;
      rows.push({
        'observation.state': state,
        action,
        timestamp: fround(t / fps),
        frame_index: t,
        episode_index: ep.episodeIndex,
        index: gIndex++,
        task_index: ep.taskIndex,
        reward_bins: Array.from({ length: n }, (_, k) => (k === bin ? 1 : 0)),
        'next.reward': fround(n > 1 ? bin / (n - 1) : 0),
        'next.success': bin === n - 1,
        'next.done': t === F - 1,
      });
    }
    epRows.push(rows);
  }
  const colTypes: [string, ParquetColumn['type'], string, number[]][] = [
    ['observation.state', { list: 'float32', fixed: STATE_DIM }, 'float32', [STATE_DIM]],
    ['action', { list: 'float32', fixed: STATE_DIM }, 'float32', [STATE_DIM]],
    ['timestamp', 'float32', 'float32', [1]],
    ['frame_index', 'int64', 'int64', [1]],
    ['episode_index', 'int64', 'int64', [1]],
    ['index', 'int64', 'int64', [1]],
    ['task_index', 'int64', 'int64', [1]],
    ['reward_bins', { list: 'float32', fixed: n }, 'float32', [n]],
    ['next.reward', 'float32', 'float32', [1]],
    ['next.success', 'bool', 'bool', [1]],
    ['next.done', 'bool', 'bool', [1]],
  ];
  const toColumns = (rows: Row[]): ParquetColumn[] => colTypes.map(([name, type]) => ({ name, type, data: rows.map((row) => row[name]) }));

  // Frames: per episode a tint, per frame a fresh draw (seeded by episode, camera and frame).
  const frameOf = (e: number, c: number, t: number): Uint8Array => {
    const rr = rng(((seed + 1) * 1_000_003) ^ (e * 10_007 + c * 101 + t * 7 + 1));
    const tint = [0, 1, 2].map(() => (rng(seed * 31 + e * 17 + c)() - 0.5) * 40);
    return renderFrame(width, height, c, episodes[e]!.labels[t]!, n, tint, noise, rr);
  };
  const imgStats = cameras.map(() => Array.from({ length: nEp }, () => moments(3)));
  function* framesFor(c: number, eps: number[]): Generator<Uint8Array> {
    for (const e of eps) {
      for (let t = 0; t < F; t++) {
        const f = frameOf(e, c, t);
        const m = imgStats[c]![e]!;
        // Per-channel stats in [0,1] over a pixel subsample (LeRobot samples frames too).
        for (let p = 0; p < f.length; p += 3 * 7) addSample(m, [f[p]! / 255, f[p + 1]! / 255, f[p + 2]! / 255]);
        yield f;
      }
    }
  }

  const jobs: (() => Promise<void>)[] = [];
  const epIdx = episodes.map((e) => e.episodeIndex);
  if (version === 'v2.1') {
    for (const e of epIdx) {
      const p = join(root, `data/chunk-000/episode_${String(e).padStart(6, '0')}.parquet`);
      jobs.push(async () => {
        await mkdir(dirname(p), { recursive: true });
        await writeParquet(p, toColumns(epRows[e]!));
      });
      cameras.forEach((cam, c) => {
        const v = join(root, `videos/chunk-000/${cam}/episode_${String(e).padStart(6, '0')}.mp4`);
        jobs.push(async () => {
          await mkdir(dirname(v), { recursive: true });
          await encode(v, width, height, fps, codec, framesFor(c, [e]));
        });
      });
    }
  } else {
    const p = join(root, 'data/chunk-000/file-000.parquet');
    jobs.push(async () => {
      await mkdir(dirname(p), { recursive: true });
      await writeParquet(p, toColumns(epRows.flat()));
    });
    cameras.forEach((cam, c) => {
      const v = join(root, `videos/${cam}/chunk-000/file-000.mp4`);
      jobs.push(async () => {
        await mkdir(dirname(v), { recursive: true });
        await encode(v, width, height, fps, codec, framesFor(c, epIdx));
      });
    });
  }
  await pool(jobs, availableParallelism());

  // Stats per episode and overall.
  const tabStats = (rows: Row[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [name, , , shape] of colTypes) {
      const m = moments(shape[0]!);
      for (const row of rows) {
        const v = row[name];
        addSample(m, Array.isArray(v) ? (v as number[]) : [Number(v)]);
      }
      out[name] = finish(m);
    }
    return out;
  };
  const merged = (parts: Moments[]): Moments => {
    const m = moments(parts[0]!.sum.length);
    for (const q of parts) {
      q.min.forEach((v, i) => (m.min[i] = Math.min(m.min[i]!, v)));
      q.max.forEach((v, i) => (m.max[i] = Math.max(m.max[i]!, v)));
      q.sum.forEach((v, i) => (m.sum[i]! += v));
      q.sq.forEach((v, i) => (m.sq[i]! += v));
      m.count += q.count;
    }
    return m;
  };
  const epStats = episodes.map((ep, e) => {
    const s = tabStats(epRows[e]!);
    cameras.forEach((cam, c) => (s[cam] = finish(imgStats[c]![e]!, true)));
    return s;
  });
  const allStats = tabStats(epRows.flat());
  cameras.forEach((cam, c) => (allStats[cam] = finish(merged(imgStats[c]!), true)));

  // info.json
  const features: Record<string, unknown> = {};
  for (const cam of cameras) {
    features[cam] = {
      dtype: 'video',
      shape: [height, width, 3],
      names: ['height', 'width', 'channels'],
      info: {
        'video.height': height, 'video.width': width, 'video.codec': codec, 'video.pix_fmt': 'yuv420p',
        'video.is_depth_map': false, 'video.fps': fps, 'video.channels': 3, has_audio: false,
      },
    };
  }
  const jointNames = ['waist', 'shoulder', 'elbow', 'forearm_roll', 'wrist_angle', 'wrist_rotate', 'gripper'];
  const motors = ['left', 'right'].flatMap((s) => jointNames.map((j) => `${s}_${j}`));
  for (const [name, , dtype, shape] of colTypes) {
    features[name] = { dtype, shape, names: name === 'observation.state' || name === 'action' ? { motors } : name === 'reward_bins' ? { bins: Array.from({ length: n }, (_, k) => `bin_${k}`) } : null };
  }
  const total = nEp * F;
  const info: Record<string, unknown> = {
    codebase_version: version,
    robot_type: 'aloha',
    total_episodes: nEp,
    total_frames: total,
    total_tasks: tasks.length,
    ...(version === 'v2.1' ? { total_videos: nEp * cameras.length, total_chunks: 1 } : {}),
    chunks_size: 1000,
    ...(version === 'v3.0' ? { data_files_size_in_mb: 100, video_files_size_in_mb: 500 } : {}),
    fps,
    splits: { train: `0:${nEp}` },
    data_path: version === 'v2.1' ? 'data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet' : 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet',
    video_path: version === 'v2.1' ? 'videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4' : 'videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4',
    features,
  };
  await mkdir(join(root, 'meta'), { recursive: true });
  await writeFile(join(root, 'meta/info.json'), JSON.stringify(info, null, 4));
  const usedTasks = tasks;
  if (version === 'v2.1') {
    const jl = (rows: unknown[]): string => rows.map((x) => JSON.stringify(x)).join('\n') + '\n';
    await writeFile(join(root, 'meta/tasks.jsonl'), jl(usedTasks.map((task, i) => ({ task_index: i, task }))));
    await writeFile(join(root, 'meta/episodes.jsonl'), jl(episodes.map((ep) => ({ episode_index: ep.episodeIndex, tasks: [tasks[ep.taskIndex]], length: F }))));
    await writeFile(join(root, 'meta/episodes_stats.jsonl'), jl(episodes.map((ep, e) => ({ episode_index: ep.episodeIndex, stats: epStats[e] }))));
  } else {
    // LeRobot v3.0 tasks.parquet: a pandas frame indexed by the task string.
    await writeParquet(
      join(root, 'meta/tasks.parquet'),
      [
        { name: 'task_index', type: 'int64', data: usedTasks.map((_, i) => i) },
        { name: '__index_level_0__', type: 'string', data: [...usedTasks] },
      ],
      {
        huggingface: false,
        kv: { pandas: JSON.stringify({ index_columns: ['__index_level_0__'], column_indexes: [], columns: [{ name: 'task_index', field_name: 'task_index', pandas_type: 'int64', numpy_type: 'int64', metadata: null }, { name: null, field_name: '__index_level_0__', pandas_type: 'unicode', numpy_type: 'object', metadata: null }], creator: { library: 'vlreward' }, pandas_version: '2.2.3' }) },
      },
    );
    const epCols: ParquetColumn[] = [
      { name: 'episode_index', type: 'int64', data: epIdx },
      { name: 'data/chunk_index', type: 'int64', data: epIdx.map(() => 0) },
      { name: 'data/file_index', type: 'int64', data: epIdx.map(() => 0) },
      { name: 'dataset_from_index', type: 'int64', data: epIdx.map((e) => e * F) },
      { name: 'dataset_to_index', type: 'int64', data: epIdx.map((e) => (e + 1) * F) },
    ];
    for (const cam of cameras) {
      epCols.push(
        { name: `videos/${cam}/chunk_index`, type: 'int64', data: epIdx.map(() => 0) },
        { name: `videos/${cam}/file_index`, type: 'int64', data: epIdx.map(() => 0) },
        { name: `videos/${cam}/from_timestamp`, type: 'float64', data: epIdx.map((e) => (e * F) / fps) },
        { name: `videos/${cam}/to_timestamp`, type: 'float64', data: epIdx.map((e) => ((e + 1) * F) / fps) },
      );
    }
    epCols.push(
      { name: 'tasks', type: { list: 'string' }, data: episodes.map((ep) => [tasks[ep.taskIndex]!]) },
      { name: 'length', type: 'int64', data: epIdx.map(() => F) },
    );
    for (const [name] of colTypes) {
      for (const stat of ['min', 'max', 'mean', 'std'] as const) {
        epCols.push({ name: `stats/${name}/${stat}`, type: { list: 'float64' }, data: epStats.map((s) => (s[name] as Record<string, number[]>)[stat]) });
      }
      epCols.push({ name: `stats/${name}/count`, type: { list: 'int64' }, data: epStats.map((s) => (s[name] as Record<string, number[]>).count) });
    }
    epCols.push(
      { name: 'meta/episodes/chunk_index', type: 'int64', data: epIdx.map(() => 0) },
      { name: 'meta/episodes/file_index', type: 'int64', data: epIdx.map(() => 0) },
    );
    await mkdir(join(root, 'meta/episodes/chunk-000'), { recursive: true });
    await writeParquet(join(root, 'meta/episodes/chunk-000/file-000.parquet'), epCols);
  }
  if (version === 'v3.0') await writeFile(join(root, 'meta/stats.json'), JSON.stringify(allStats, null, 4));
  return { root, version, codec, cameras: [...cameras], numClasses: n, fps, width, height, totalFrames: total, tasks: [...tasks], episodes };
}
