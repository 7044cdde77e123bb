import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError } from '../errors.js';
import { readFailure } from './jsonl.js';

export const SUPPORTED_VERSIONS = ['v2.0', 'v2.1', 'v3.0'] as const;
export type CodebaseVersion = (typeof SUPPORTED_VERSIONS)[number];

/** One entry of `info.json` → `features`. */
export interface FeatureSpec {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly names?: unknown;
  readonly info?: Readonly<Record<string, unknown>>;
}

/** `meta/info.json`, checked and with camelCase names; `raw` keeps every original key. */
export interface DatasetInfo {
  readonly file: string;
  readonly codebaseVersion: CodebaseVersion;
  readonly robotType: string | null;
  readonly fps: number;
  readonly totalEpisodes: number;
  readonly totalFrames: number;
  readonly totalTasks: number;
  readonly chunksSize: number;
  readonly dataPath: string;
  readonly videoPath: string | null;
  readonly features: Readonly<Record<string, FeatureSpec>>;
  readonly splits: Readonly<Record<string, string>>;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Feature keys whose frames live in mp4 files. */
export function videoKeys(info: DatasetInfo): string[] {
  return Object.entries(info.features).filter(([, f]) => f.dtype === 'video').map(([k]) => k);
}

/** Feature keys stored inline in parquet as encoded images (`{bytes, path}` structs). */
export function imageKeys(info: DatasetInfo): string[] {
  return Object.entries(info.features).filter(([, f]) => f.dtype === 'image').map(([k]) => k);
}

/** Height/width of a visual feature, from `info` or from `shape` + `names` (HWC or CHW). */
export function visualSize(f: FeatureSpec): { height: number; width: number } {
  const info = f.info ?? {};
  const h = Number(info['video.height']), w = Number(info['video.width']);
  if (h > 0 && w > 0) return { height: h, width: w };
  const names = Array.isArray(f.names) ? (f.names as unknown[]) : [];
  const hi = names.indexOf('height'), wi = names.indexOf('width');
  if (hi >= 0 && wi >= 0) return { height: f.shape[hi]!, width: f.shape[wi]! };
  // LeRobot's default is HWC.
  return { height: f.shape[0]!, width: f.shape[1]! };
}

function num(raw: Record<string, unknown>, key: string, file: string, required: boolean, dflt = 0): number {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (required) throw new DatasetError('is required (a number)', { file, field: key });
    return dflt;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DatasetError(`expected a number, got ${JSON.stringify(v)}`, { file, field: key });
  return v;
}

/** Reads and checks `meta/info.json`. */
export async function readInfo(root: string): Promise<DatasetInfo> {
  const file = join(root, 'meta', 'info.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw readFailure(e, file);
    throw new DatasetError('missing: not a LeRobot dataset root (meta/info.json not found)', { file });
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new DatasetError(`invalid JSON (${(e as Error).message})`, { file });
  }
  const version = raw.codebase_version;
  if (typeof version !== 'string' || !(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new DatasetError(`unsupported codebase_version ${JSON.stringify(version)}; supported: ${SUPPORTED_VERSIONS.join(', ')}`, {
      file,
      field: 'codebase_version',
    });
  }
  const fps = num(raw, 'fps', file, true);
  if (!(fps > 0)) throw new DatasetError(`expected fps > 0, got ${fps}`, { file, field: 'fps' });
  const dataPath = raw.data_path;
  if (typeof dataPath !== 'string') throw new DatasetError('is required (a path template string)', { file, field: 'data_path' });
  const videoPath = raw.video_path;
  if (videoPath !== null && videoPath !== undefined && typeof videoPath !== 'string') {
    throw new DatasetError('expected a path template string or null', { file, field: 'video_path' });
  }
  const feats = raw.features;
  if (!feats || typeof feats !== 'object') throw new DatasetError('is required (an object)', { file, field: 'features' });
  const features: Record<string, FeatureSpec> = {};
  for (const [k, f] of Object.entries(feats as Record<string, unknown>)) {
    const spec = f as Partial<FeatureSpec> | null;
    if (!spec || typeof spec.dtype !== 'string' || !Array.isArray(spec.shape)) {
      throw new DatasetError('expected {dtype: string, shape: number[]}', { file, field: `features.${k}` });
    }
    features[k] = spec as FeatureSpec;
  }
  const hasVideo = Object.values(features).some((f) => f.dtype === 'video');
  if (hasVideo && typeof videoPath !== 'string') {
    throw new DatasetError('features include videos but video_path is not set', { file, field: 'video_path' });
  }
  return {
    file,
    codebaseVersion: version as CodebaseVersion,
    robotType: typeof raw.robot_type === 'string' ? raw.robot_type : null,
    fps,
    totalEpisodes: num(raw, 'total_episodes', file, false),
    totalFrames: num(raw, 'total_frames', file, false),
    totalTasks: num(raw, 'total_tasks', file, false),
    chunksSize: num(raw, 'chunks_size', file, false, 1000),
    dataPath,
    videoPath: typeof videoPath === 'string' ? videoPath : null,
    features,
    splits: (raw.splits as Record<string, string>) ?? {},
    raw,
  };
}
