// `vlreward dataset show` (one sample's camera images as PNG + sample.json),
// `vlreward dataset synth` (a small learnable LeRobot dataset in genuine layout) and
// `vlreward dataset verify` (every column and every video frame against the metadata).

import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ALOHA_CAMERAS, LeRobotDataset, checkLabel, formatLabelValue, formatVerifyReport, verifyDataset, writePng, writeSyntheticDataset } from '@vlreward/dataset';
import { UsageError, type Command } from '../command.js';

type Options = Record<string, { type: 'string' | 'boolean' }>;
function flags<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, strict: true, options, allowPositionals: false }).values as {
      [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string;
    };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A decimal integer flag; Number() alone would take ' ' as 0 and '0x10' as 16. */
function int(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const v = /^\s*[+-]?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`--${name} '${raw}': expected an integer ≥ ${min}`);
  return v;
}

const safeName = (key: string): string => key.replace(/[^A-Za-z0-9._-]/g, '_');

export const datasetShowCommand: Command = {
  name: 'dataset show',
  summary: "write one sample's camera images (PNG) and sample.json",
  help: `usage: vlreward dataset show --root DIR --index I --out OUTDIR [--cameras k1,k2,...] [--label-column C]

  --root DIR          LeRobot dataset root (env LEROBOT_ROOT)
  --index I           frame position in the dataset (0-based, episode order)
  --out OUTDIR        where <camera>.png and sample.json are written
  --cameras LIST      camera keys in order (default: the three ALOHA cameras when present,
                      else every camera of the dataset)
  --label-column C    label column (default reward_bins; label is null when absent)`,
  async run(argv) {
    const v = flags(argv, {
      root: { type: 'string' },
      index: { type: 'string' },
      out: { type: 'string' },
      cameras: { type: 'string' },
      'label-column': { type: 'string' },
    });
    const root = v.root ?? process.env.LEROBOT_ROOT;
    if (!root) throw new UsageError('--root DIR is required');
    const index = int('index', v.index, 0);
    if (index === undefined) throw new UsageError('--index I is required');
    if (!v.out) throw new UsageError('--out OUTDIR is required');
    const ds = await LeRobotDataset.open(root);
    if (index >= ds.length) throw new UsageError(`--index ${index}: the dataset has ${ds.length} frames (0..${ds.length - 1})`);
    const cameras = v.cameras
      ? v.cameras.split(',').map((s) => s.trim()).filter(Boolean)
      : ALOHA_CAMERAS.every((c) => ds.cameraKeys.includes(c)) ? [...ALOHA_CAMERAS] : [...ds.cameraKeys];
    const item = await ds.getItem(index, { cameras });
    await mkdir(v.out, { recursive: true });
    const files: string[] = [];
    for (const cam of cameras) {
      const img = item.images[cam]!;
      const file = join(v.out, `${safeName(cam)}.png`);
      await writePng(img, file);
      files.push(file);
    }
    const column = v['label-column'] ?? 'reward_bins';
    // An invalid label value is shown, not thrown: show is how one looks at a bad row.
    const checked = column in item.row ? checkLabel(item.row[column]) : null;
    if (checked && !checked.ok) console.error(`episode ${item.episodeIndex} frame ${item.frameIndex}: column '${column}' value ${formatLabelValue(item.row[column])}: ${checked.reason}`);
    const sample = {
      text: `Task: ${item.task}`,
      label: checked?.ok ? checked.label : null,
      ...(checked && !checked.ok ? { label_problem: checked.reason } : {}),
      episode_index: item.episodeIndex,
      frame_index: item.frameIndex,
      timestamp: item.timestamp,
      cameras,
    };
    await writeFile(join(v.out, 'sample.json'), JSON.stringify(sample, null, 2) + '\n');
    console.log(`wrote ${[...files, join(v.out, 'sample.json')].join(', ')}`);
    return 0;
  },
};

export const datasetSynthCommand: Command = {
  name: 'dataset synth',
  summary: 'write a small synthetic LeRobot dataset whose reward bins are learnable from the images',
  help: `usage: vlreward dataset synth --out DIR [flags]

  --out DIR          dataset root to create (must be empty or absent unless --force)
  --version V        v2.1 | v3.0                       (default v2.1)
  --codec C          av1 | h264                        (default av1)
  --episodes N       episodes                          (default 8)
  --frames N         frames per episode                (default 24)
  --size N | WxH     frame size in pixels, even (e.g. 640x480, a real ALOHA camera)  (default 64; AV1 needs ≥ 64)
  --classes N        reward bins                       (default 3, or NUM_CLASSES)
  --fps N            frames per second                 (default 30)
  --seed N           random seed                       (default 0)
  --cameras LIST     camera keys                       (default the three ALOHA cameras)
  --force            write into a non-empty directory`,
  async run(argv) {
    const v = flags(argv, {
      out: { type: 'string' },
      version: { type: 'string' },
      codec: { type: 'string' },
      episodes: { type: 'string' },
      frames: { type: 'string' },
      size: { type: 'string' },
      classes: { type: 'string' },
      fps: { type: 'string' },
      seed: { type: 'string' },
      cameras: { type: 'string' },
      force: { type: 'boolean' },
    });
    if (!v.out) throw new UsageError('--out DIR is required');
    const version = v.version ?? 'v2.1';
    if (version !== 'v2.1' && version !== 'v3.0') throw new UsageError(`--version '${version}': expected v2.1 or v3.0`);
    const codec = v.codec ?? 'av1';
    if (codec !== 'av1' && codec !== 'h264') throw new UsageError(`--codec '${codec}': expected av1 or h264`);
    const existing = await readdir(v.out).catch(() => []);
    if (existing.length > 0 && !v.force) throw new UsageError(`--out ${v.out} is not empty (use --force to write into it)`);
    const numClasses = int('classes', v.classes ?? (process.env.NUM_CLASSES || undefined), 1);
    const s = await writeSyntheticDataset({
      root: v.out,
      version,
      codec,
      ...(v.episodes ? { episodes: int('episodes', v.episodes, 1)! } : {}),
      ...(v.frames ? { frames: int('frames', v.frames, 1)! } : {}),
      ...(v.size ? { size: parseSize(v.size) } : {}),
      ...(numClasses ? { numClasses } : {}),
      ...(v.fps ? { fps: int('fps', v.fps, 1)! } : {}),
      ...(v.seed ? { seed: int('seed', v.seed, 0)! } : {}),
      ...(v.cameras ? { cameras: v.cameras.split(',').map((c) => c.trim()).filter(Boolean) } : {}),
    });
    console.log(
      `wrote ${s.root}: LeRobot ${s.version}, ${s.codec}, ${s.episodes.length} episodes × ${s.totalFrames / s.episodes.length} frames, ` +
        `${s.cameras.length} cameras ${s.width}x${s.height}, ${s.numClasses} classes`,
    );
    return 0;
  },
};

export const datasetVerifyCommand: Command = {
  name: 'dataset verify',
  summary: 'read every column and decode every video frame; report each problem by file, column, episode and row',
  help: `usage: vlreward dataset verify --root DIR [--json] [--no-videos] [--stats-tolerance X]

  Checks what training and analyze do not read: every column of every data file against
  info.json (type, shape, null, NaN/±inf), rows per episode and frame_index/index/timestamp
  sequences against the episode metadata, each episode's min/max/mean/std/count against
  episodes_stats (v2.1 episodes_stats.jsonl, v3.0 meta/episodes stats columns), and every
  frame of every video (decoded by ffmpeg; frame counts and timestamps against the data).
  Exits 1 when any problem is found.

  --root DIR            LeRobot dataset root (v2.0, v2.1 or v3.0; env LEROBOT_ROOT)
  --json                print the report as one JSON object
  --no-videos           skip decoding the videos
  --stats-tolerance X   relative tolerance of the stats check   (default 1e-4)`,
  async run(argv) {
    const v = flags(argv, {
      root: { type: 'string' },
      json: { type: 'boolean' },
      'no-videos': { type: 'boolean' },
      'stats-tolerance': { type: 'string' },
    });
    const root = v.root ?? process.env.LEROBOT_ROOT;
    if (!root) throw new UsageError('--root DIR is required (or set LEROBOT_ROOT)');
    const tolRaw = v['stats-tolerance'];
    const tol = tolRaw === undefined ? undefined : /^\s*$/.test(tolRaw) ? NaN : Number(tolRaw);
    if (tol !== undefined && !(Number.isFinite(tol) && tol >= 0)) throw new UsageError(`--stats-tolerance '${tolRaw}': expected a number ≥ 0`);
    const r = await verifyDataset(root, { ...(tol !== undefined ? { statsTolerance: tol } : {}), ...(v['no-videos'] ? { videos: false } : {}) });
    console.log(v.json ? JSON.stringify(r) : formatVerifyReport(r));
    return r.ok ? 0 : 1;
  },
};

/** --size N (square) or WxH. */
function parseSize(raw: string): number | { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(raw.trim());
  if (m) return { width: Number(m[1]), height: Number(m[2]) };
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim());
  throw new UsageError(`--size '${raw}': expected N (square) or WIDTHxHEIGHT, e.g. 640x480`);
}
