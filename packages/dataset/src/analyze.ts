import { join } from 'node:path';
import { DatasetError } from './errors.js';
import { formatInvalidLabel, inferNumClasses, scanLabels, type InvalidLabelSummary, type LabelBinning } from './labels.js';
import { visualSize } from './meta/info.js';
import { LeRobotDataset } from './lerobot_dataset.js';
import { probeVideo } from './video/ffmpeg.js';

export interface CameraSummary {
  readonly key: string;
  readonly kind: 'video' | 'image';
  /** From ffprobe of the first episode's file when readable, else info.json. */
  readonly codec: string | null;
  readonly width: number;
  readonly height: number;
  readonly pixFmt: string | null;
  /** Set when the first file could not be probed (missing, truncated). */
  readonly problem?: string;
}

export interface DatasetAnalysis {
  readonly root: string;
  readonly codebaseVersion: string;
  readonly robotType: string | null;
  readonly fps: number;
  readonly episodes: number;
  readonly frames: number;
  readonly cameras: readonly CameraSummary[];
  readonly tasks: readonly { readonly taskIndex: number; readonly task: string; readonly frames: number }[];
  readonly features: Readonly<Record<string, { readonly dtype: string; readonly shape: readonly number[] }>>;
  readonly episodeLengths: { readonly min: number; readonly max: number; readonly mean: number; readonly byEpisode: Readonly<Record<string, number>> };
  /** Null when the label column is absent. */
  readonly labels: {
    readonly column: string;
    readonly numClasses: number;
    /** Frames per class, over the frames whose label is valid. */
    readonly histogram: readonly number[];
    /** Fraction of the valid frames per class. */
    readonly balance: readonly number[];
    /** Frames whose label is NaN, ±∞, negative, not numeric or out of range (training fails on them, or skips them). */
    readonly invalid: InvalidLabelSummary;
  } | null;
  /** info.json inconsistencies and other non-fatal findings. */
  readonly warnings: readonly string[];
  /**
   * Always false: analyze reads the metadata and the label column only; values of other
   * columns and the video frames are checked by `verifyDataset` (`vlreward dataset verify`).
   */
  readonly verified: false;
}

/**
 * The seed's `MODE=analyze`: statistics of a dataset, without decoding every frame. Invalid
 * labels are counted in `labels.invalid`, never thrown; nothing beyond the label column is verified.
 */
export async function analyze(root: string, opts: { labelColumn?: string; binning?: LabelBinning; numClasses?: number } = {}): Promise<DatasetAnalysis> {
  const warnings: string[] = [];
  const ds = await LeRobotDataset.open(root, { onWarning: (m) => warnings.push(m) });
  const info = ds.meta.info;
  const cameras: CameraSummary[] = [];
  for (const key of ds.cameraKeys) {
    const f = info.features[key]!;
    const { width, height } = visualSize(f);
    if (f.dtype === 'image') {
      cameras.push({ key, kind: 'image', codec: null, width, height, pixFmt: null });
      continue;
    }
    const declared = (f.info?.['video.codec'] as string | undefined) ?? null;
    const first = ds.episodes[0]?.meta.videos[key];
    try {
      if (!first) throw new Error('no episodes');
      const p = await probeVideo(join(root, first.path));
      if (declared && declared !== p.codec) warnings.push(`${info.file}: field 'features.${key}.info.video.codec': says ${declared} but ${first.path} is ${p.codec}`);
      cameras.push({ key, kind: 'video', codec: p.codec, width: p.width, height: p.height, pixFmt: p.pixFmt });
    } catch (e) {
      const problem = e instanceof DatasetError ? e.message : (e as Error).message;
      cameras.push({ key, kind: 'video', codec: declared, width, height, pixFmt: (f.info?.['video.pix_fmt'] as string | undefined) ?? null, problem });
    }
  }
  const taskFrames = new Map<number, number>();
  const tcol = ds.columns.get('task_index');
  for (let i = 0; i < ds.length; i++) {
    const t = Number(tcol?.[i] ?? -1);
    taskFrames.set(t, (taskFrames.get(t) ?? 0) + 1);
  }
  const tasks = [...ds.meta.tasks].map(([taskIndex, task]) => ({ taskIndex, task, frames: taskFrames.get(taskIndex) ?? 0 }));
  const lengths = ds.episodes.map((e) => e.end - e.start);
  const column = opts.labelColumn ?? 'reward_bins';
  let labels: DatasetAnalysis['labels'] = null;
  const lcol = ds.columns.get(column);
  if (lcol && lcol.length > 0) {
    const binning = opts.binning ?? 'argmax';
    const numClasses = opts.numClasses ?? inferNumClasses(lcol[0], binning);
    const all = Array.from({ length: ds.length }, (_, i) => i);
    const { labels: ls, invalid } = scanLabels(ds, column, lcol, all, binning, numClasses);
    const histogram = new Array<number>(numClasses).fill(0);
    for (const l of ls) if (l >= 0) histogram[l]!++;
    const valid = ls.length - invalid.count;
    labels = { column, numClasses, histogram, balance: histogram.map((h) => (valid > 0 ? h / valid : 0)), invalid };
  }
  return {
    root,
    codebaseVersion: info.codebaseVersion,
    robotType: info.robotType,
    fps: info.fps,
    episodes: ds.episodes.length,
    frames: ds.length,
    cameras,
    tasks,
    features: Object.fromEntries(Object.entries(info.features).map(([k, f]) => [k, { dtype: f.dtype, shape: f.shape }])),
    episodeLengths: {
      min: lengths.length ? Math.min(...lengths) : 0,
      max: lengths.length ? Math.max(...lengths) : 0,
      mean: lengths.length ? lengths.reduce((a, b) => a + b, 0) / lengths.length : 0,
      byEpisode: Object.fromEntries(ds.episodes.map((e) => [String(e.meta.episodeIndex), e.end - e.start])),
    },
    labels,
    warnings,
    verified: false,
  };
}

/** Human-readable report of an analysis. */
export function formatAnalysis(a: DatasetAnalysis): string {
  const L: string[] = [];
  L.push(`dataset   ${a.root}`);
  L.push(`version   ${a.codebaseVersion}   robot ${a.robotType ?? '-'}   fps ${a.fps}`);
  L.push(`episodes  ${a.episodes}   frames ${a.frames}   length min/mean/max ${a.episodeLengths.min}/${a.episodeLengths.mean.toFixed(1)}/${a.episodeLengths.max}`);
  L.push('cameras');
  for (const c of a.cameras) {
    L.push(`  ${c.key}  ${c.kind} ${c.codec ?? '?'} ${c.width}x${c.height} ${c.pixFmt ?? ''}${c.problem ? `  (!) ${c.problem}` : ''}`);
  }
  L.push('tasks');
  for (const t of a.tasks) L.push(`  [${t.taskIndex}] ${JSON.stringify(t.task)}  ${t.frames} frames`);
  if (a.labels) {
    L.push(`labels    column '${a.labels.column}', ${a.labels.numClasses} classes`);
    a.labels.histogram.forEach((h, k) => {
      const frac = a.labels!.balance[k]!;
      L.push(`  class ${k}: ${String(h).padStart(7)}  ${(100 * frac).toFixed(1).padStart(5)}%  ${'#'.repeat(Math.round(frac * 40))}`);
    });
    const bad = a.labels.invalid;
    if (bad.count > 0) {
      L.push(`invalid   ${bad.count} of ${a.frames} frames have no valid label (not in the histogram)`);
      for (const x of bad.examples) L.push(`  ${formatInvalidLabel(x)}`);
      if (bad.count > bad.examples.length) L.push(`  … ${bad.count - bad.examples.length} more`);
    }
  } else L.push('labels    (no reward_bins column)');
  for (const w of a.warnings) L.push(`warning   ${w}`);
  L.push('verified  no: only the metadata and the label column were read; to check every column and video frame run `vlreward dataset verify --root DIR`');
  return L.join('\n');
}
