import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError } from '../errors.js';
import { readParquet, requireColumn, type ParquetTable } from '../parquet.js';
import { readInfo, videoKeys, type DatasetInfo } from './info.js';
import { readJsonIfExists, readJsonl } from './jsonl.js';
import { formatTemplate } from './template.js';

/** Where one episode's video frames live: file relative to root, and its offset in that file. */
export interface EpisodeVideo {
  readonly path: string;
  /** Seconds into the file where the episode starts (0 for v2.x; v3.0 `from_timestamp`). */
  readonly fromTimestamp: number;
  readonly toTimestamp: number | null;
}

export interface EpisodeMeta {
  readonly episodeIndex: number;
  readonly length: number;
  readonly tasks: readonly string[];
  /** Parquet file relative to root. v3.0 files hold many episodes. */
  readonly dataPath: string;
  /** v3.0: global `index` range [from, to) of this episode. */
  readonly datasetFromIndex: number | null;
  readonly datasetToIndex: number | null;
  readonly videos: Readonly<Record<string, EpisodeVideo>>;
}

export interface DatasetMeta {
  readonly root: string;
  readonly info: DatasetInfo;
  /** task_index → task string. */
  readonly tasks: ReadonlyMap<number, string>;
  /** In episode_index order. */
  readonly episodes: readonly EpisodeMeta[];
  /** `meta/stats.json` (v2.0, v3.0) when present. */
  readonly stats: Readonly<Record<string, unknown>> | null;
  /**
   * Per-episode stats keyed by episode index, feature → {min, max, mean, std, count}: v2.1
   * `meta/episodes_stats.jsonl`, or v3.0 `stats/*` columns of `meta/episodes/…parquet`.
   */
  readonly episodesStats: ReadonlyMap<number, Record<string, unknown>> | null;
}

function intField(row: Record<string, unknown>, key: string, file: string, where: string): number {
  const v = row[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new DatasetError(`${where}: expected an integer, got ${JSON.stringify(v)}`, { file, field: key });
  }
  return v;
}

async function readTasks(root: string, info: DatasetInfo): Promise<Map<number, string>> {
  const tasks = new Map<number, string>();
  if (info.codebaseVersion === 'v3.0') {
    const file = join(root, 'meta', 'tasks.parquet');
    const t = await readParquet(file);
    const idx = requireColumn(t, 'task_index');
    // LeRobot v3.0 writes a pandas DataFrame indexed by the task string; the index is
    // stored as a column named in the `pandas` metadata (`__index_level_0__` when unnamed).
    let taskCol = t.columns.get('task');
    if (!taskCol && t.kv.pandas) {
      const pandas = JSON.parse(t.kv.pandas) as { index_columns?: unknown[] };
      const name = pandas.index_columns?.find((c): c is string => typeof c === 'string');
      if (name) taskCol = t.columns.get(name);
    }
    taskCol ??= t.columns.get('__index_level_0__');
    if (!taskCol) throw new DatasetError('no task string column (expected `task` or the pandas index)', { file, field: 'task' });
    for (let i = 0; i < t.numRows; i++) {
      const ti = idx[i], s = taskCol[i];
      if (typeof ti !== 'number' || typeof s !== 'string') throw new DatasetError(`row ${i}: expected (int, string)`, { file, field: 'task_index' });
      tasks.set(ti, s);
    }
  } else {
    const file = join(root, 'meta', 'tasks.jsonl');
    for (const [i, row] of (await readJsonl(file)).entries()) {
      const ti = intField(row, 'task_index', file, `line ${i + 1}`);
      if (typeof row.task !== 'string') throw new DatasetError(`line ${i + 1}: expected a string`, { file, field: 'task' });
      tasks.set(ti, row.task);
    }
  }
  return tasks;
}

async function listParquet(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.parquet')) out.push(p);
    }
  }
  await walk(dir);
  return out;
}

async function readEpisodesV2(root: string, info: DatasetInfo): Promise<EpisodeMeta[]> {
  const file = join(root, 'meta', 'episodes.jsonl');
  const vkeys = videoKeys(info);
  const eps: EpisodeMeta[] = [];
  for (const [i, row] of (await readJsonl(file)).entries()) {
    const where = `line ${i + 1}`;
    const ep = intField(row, 'episode_index', file, where);
    const length = intField(row, 'length', file, where);
    const tasks = Array.isArray(row.tasks) ? row.tasks.map(String) : [];
    const chunk = Math.floor(ep / info.chunksSize);
    const vars = { episode_chunk: chunk, episode_index: ep, chunk_index: chunk, file_index: ep };
    const dataPath = formatTemplate(info.dataPath, vars, { file: info.file, field: 'data_path' });
    const videos: Record<string, EpisodeVideo> = {};
    for (const k of vkeys) {
      videos[k] = {
        path: formatTemplate(info.videoPath!, { ...vars, video_key: k }, { file: info.file, field: 'video_path' }),
        fromTimestamp: 0,
        toTimestamp: null,
      };
    }
    eps.push({ episodeIndex: ep, length, tasks, dataPath, datasetFromIndex: null, datasetToIndex: null, videos });
  }
  return eps;
}

/** Per-episode stats of a v3.0 episodes file: columns `stats/{feature}/{min,max,mean,std,count}`, one row per episode. */
function statsOfRow(t: ParquetTable, row: number): Record<string, unknown> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of t.names) {
    if (!name.startsWith('stats/')) continue;
    const cut = name.lastIndexOf('/');
    const key = name.slice('stats/'.length, cut), stat = name.slice(cut + 1);
    (out[key] ??= {})[stat] = t.columns.get(name)![row];
  }
  return out;
}

async function readEpisodesV3(root: string, info: DatasetInfo, stats: Map<number, Record<string, unknown>>): Promise<EpisodeMeta[]> {
  const dir = join(root, 'meta', 'episodes');
  const files = await listParquet(dir);
  if (files.length === 0) throw new DatasetError('no episode metadata parquet files (meta/episodes/chunk-*/file-*.parquet)', { file: dir });
  const vkeys = videoKeys(info);
  const eps: EpisodeMeta[] = [];
  for (const file of files) {
    const t = await readParquet(file);
    const col = (name: string): unknown[] => requireColumn(t, name);
    const num = (name: string, i: number): number => {
      const v = col(name)[i];
      if (typeof v !== 'number') throw new DatasetError(`row ${i}: expected a number, got ${JSON.stringify(v)}`, { file, field: name });
      return v;
    };
    for (let i = 0; i < t.numRows; i++) {
      const ep = num('episode_index', i);
      const tasksV = t.columns.get('tasks')?.[i];
      const dataPath = formatTemplate(
        info.dataPath,
        { chunk_index: num('data/chunk_index', i), file_index: num('data/file_index', i), episode_index: ep },
        { file: info.file, field: 'data_path' },
      );
      const videos: Record<string, EpisodeVideo> = {};
      for (const k of vkeys) {
        const p = `videos/${k}/`;
        const to = t.columns.get(`${p}to_timestamp`)?.[i];
        videos[k] = {
          path: formatTemplate(
            info.videoPath!,
            { video_key: k, chunk_index: num(`${p}chunk_index`, i), file_index: num(`${p}file_index`, i), episode_index: ep },
            { file: info.file, field: 'video_path' },
          ),
          fromTimestamp: num(`${p}from_timestamp`, i),
          toTimestamp: typeof to === 'number' ? to : null,
        };
      }
      stats.set(ep, statsOfRow(t, i));
      eps.push({
        episodeIndex: ep,
        length: num('length', i),
        tasks: Array.isArray(tasksV) ? tasksV.map(String) : [],
        dataPath,
        datasetFromIndex: num('dataset_from_index', i),
        datasetToIndex: num('dataset_to_index', i),
        videos,
      });
    }
  }
  return eps;
}

/** Reads everything under `meta/` for any supported codebase version. */
export async function readMeta(root: string): Promise<DatasetMeta> {
  const info = await readInfo(root);
  const tasks = await readTasks(root, info);
  const v3 = info.codebaseVersion === 'v3.0';
  const v3Stats = new Map<number, Record<string, unknown>>();
  const episodes = (v3 ? await readEpisodesV3(root, info, v3Stats) : await readEpisodesV2(root, info)).sort((a, b) => a.episodeIndex - b.episodeIndex);
  for (let i = 1; i < episodes.length; i++) {
    if (episodes[i]!.episodeIndex === episodes[i - 1]!.episodeIndex) {
      throw new DatasetError(`episode ${episodes[i]!.episodeIndex} is listed twice`, { file: join(root, 'meta', v3 ? 'episodes' : 'episodes.jsonl'), field: 'episode_index' });
    }
  }
  const stats = (await readJsonIfExists(join(root, 'meta', 'stats.json'))) as Record<string, unknown> | null;
  let episodesStats: Map<number, Record<string, unknown>> | null = v3 && v3Stats.size > 0 ? v3Stats : null;
  if (info.codebaseVersion === 'v2.1') {
    const file = join(root, 'meta', 'episodes_stats.jsonl');
    try {
      const rows = await readJsonl(file);
      episodesStats = new Map(rows.map((r) => [Number(r.episode_index), (r.stats ?? {}) as Record<string, unknown>]));
    } catch (e) {
      if (!(e instanceof DatasetError) || e.code !== 'ENOENT') throw e; // episodes_stats.jsonl is optional
    }
  }
  return { root, info, tasks, episodes, stats, episodesStats };
}
