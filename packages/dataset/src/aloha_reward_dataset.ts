import { DatasetError } from './errors.js';
import type { RgbImage } from './image.js';
import { LeRobotDataset, type LeRobotDatasetOptions } from './lerobot_dataset.js';
import { ALOHA_CAMERAS } from './cameras.js';
import { formatInvalidLabel, inferNumClasses, scanLabels, type InvalidLabelSummary, type LabelBinning } from './labels.js';
import { seededShuffle, splitEpisodes } from './split.js';

export type { LabelBinning } from './labels.js';
export { labelFromValue } from './labels.js';

/** One training sample: the seed's `{images, text, label}` plus where it came from. */
export interface RewardSample {
  /** One image per camera, in the configured camera order. */
  readonly images: RgbImage[];
  /** `"Task: {task}"`. */
  readonly text: string;
  readonly label: number;
  readonly episodeIndex: number;
  readonly frameIndex: number;
  readonly timestamp: number;
  /** Position in the underlying LeRobotDataset. */
  readonly index: number;
}

export interface AlohaRewardDatasetOptions extends LeRobotDatasetOptions {
  /** Camera keys, in order (default cam_right_wrist, cam_left_wrist, cam_high). */
  readonly cameras?: readonly string[];
  /** Column the label comes from (default `reward_bins`; also e.g. `next.reward`, `next.success`). */
  readonly labelColumn?: string;
  readonly binning?: LabelBinning;
  /** Override of the inferred class count (the seed's NUM_CLASSES). */
  readonly numClasses?: number;
  /** Keep every k-th frame of each episode (default 1). */
  readonly frameStride?: number;
  /** Seeded shuffle of the sample order before `maxSamples` is applied. */
  readonly shuffle?: boolean;
  readonly seed?: number;
  /** The seed's MAX_TRAIN_SAMPLES: keep the first N samples (after shuffling, if any). */
  readonly maxSamples?: number;
  /**
   * Drop rows whose label is NaN, ±∞, negative, not numeric or out of range (counted in
   * `skippedLabels`) instead of failing on the first one (default false: a DatasetError).
   */
  readonly skipInvalidLabels?: boolean;
}

/**
 * The seed's AlohaRewardDataset over a LeRobotDataset: three camera images, `"Task: {task}"`,
 * label from `reward_bins` (argmax; a missing or all-zero vector → 0; invalid values are errors).
 */
export class AlohaRewardDataset {
  readonly cameras: readonly string[];
  readonly labelColumn: string;
  readonly numClasses: number;
  /** Positions in `base`, in sample order. */
  readonly indices: readonly number[];
  private readonly labels: Int32Array;

  /** Rows of this view left out because their label is invalid (only with `skipInvalidLabels`). */
  readonly skippedLabels: InvalidLabelSummary;

  /** `candidates`: positions in `base` in sample order, before invalid labels and `maxSamples` are dropped. */
  private constructor(readonly base: LeRobotDataset, private readonly opts: AlohaRewardDatasetOptions, candidates: readonly number[]) {
    this.cameras = opts.cameras ?? ALOHA_CAMERAS;
    this.labelColumn = opts.labelColumn ?? 'reward_bins';
    const file = base.meta.info.file;
    for (const cam of this.cameras) {
      if (!base.cameraKeys.includes(cam)) {
        throw new DatasetError(`camera '${cam}' is missing: the dataset's camera features are ${base.cameraKeys.join(', ') || 'none'}`, {
          file,
          field: `features.${cam}`,
        });
      }
    }
    const col = base.columns.get(this.labelColumn);
    if (!col) {
      throw new DatasetError(`label column '${this.labelColumn}' is missing: the data columns are ${[...base.columns.keys()].join(', ')}`, {
        file: base.meta.episodes[0] ? `${base.root}/${base.meta.episodes[0].dataPath}` : file,
        field: this.labelColumn,
      });
    }
    const binning = opts.binning ?? 'argmax';
    // The seed: num_classes = len(first sample's reward_bins); NUM_CLASSES overrides.
    this.numClasses = opts.numClasses ?? inferNumClasses(col[candidates[0] ?? 0], binning);
    const { labels, invalid } = scanLabels(base, this.labelColumn, col, candidates, binning, this.numClasses);
    const first = invalid.examples[0];
    if (first && !opts.skipInvalidLabels) {
      throw new DatasetError(
        `${formatInvalidLabel(first)}${invalid.count > 1 ? ` (${invalid.count} rows of this view have invalid labels)` : ''}; ` +
          'fix the data, or pass skipInvalidLabels (--skip-invalid-labels) to leave such rows out',
        { file: first.file, field: this.labelColumn },
      );
    }
    this.skippedLabels = invalid;
    let kept: number[] = [];
    let keptLabels: number[] = [];
    candidates.forEach((pos, i) => {
      if (labels[i]! < 0) return;
      kept.push(pos);
      keptLabels.push(labels[i]!);
    });
    if (opts.maxSamples !== undefined) {
      kept = kept.slice(0, Math.max(0, opts.maxSamples));
      keptLabels = keptLabels.slice(0, kept.length);
    }
    this.indices = kept;
    this.labels = Int32Array.from(keptLabels);
  }

  /** Opens a dataset root (or wraps an open LeRobotDataset). */
  static async open(root: string | LeRobotDataset, opts: AlohaRewardDatasetOptions = {}): Promise<AlohaRewardDataset> {
    const base = typeof root === 'string' ? await LeRobotDataset.open(root, opts) : root;
    return AlohaRewardDataset.view(base, opts, opts.episodes);
  }

  private static view(base: LeRobotDataset, opts: AlohaRewardDatasetOptions, episodes: readonly number[] | undefined): AlohaRewardDataset {
    const stride = opts.frameStride ?? 1;
    if (!(Number.isInteger(stride) && stride >= 1)) throw new RangeError(`frameStride must be a positive integer, got ${stride}`);
    const keep = episodes ? new Set(episodes) : null;
    let idx: number[] = [];
    for (const e of base.episodes) {
      if (keep && !keep.has(e.meta.episodeIndex)) continue;
      for (let p = e.start; p < e.end; p += stride) idx.push(p);
    }
    if (opts.shuffle) idx = seededShuffle(idx, opts.seed ?? 0);
    return new AlohaRewardDataset(base, opts, idx);
  }

  /**
   * Train/validation views split by episode (seeded), sharing the decoder and frame cache.
   * `maxSamples` applies to the training view only, as MAX_TRAIN_SAMPLES does.
   */
  split(opts: { valFraction?: number; seed?: number } = {}): { train: AlohaRewardDataset; val: AlohaRewardDataset } {
    const eps = this.episodeIndices();
    const s = splitEpisodes(eps, { seed: this.opts.seed ?? 0, ...opts });
    const { maxSamples: _drop, ...valOpts } = this.opts;
    return {
      train: AlohaRewardDataset.view(this.base, { ...this.opts, numClasses: this.numClasses }, s.train),
      val: AlohaRewardDataset.view(this.base, { ...valOpts, numClasses: this.numClasses, shuffle: false }, s.val),
    };
  }

  get length(): number {
    return this.indices.length;
  }

  /** Episode indices present in this view. */
  episodeIndices(): number[] {
    const s = new Set<number>();
    for (const p of this.indices) s.add(this.base.episodeAt(p).meta.episodeIndex);
    return [...s].sort((a, b) => a - b);
  }

  /** Label of sample i without decoding any video. */
  labelAt(i: number): number {
    if (i < 0 || i >= this.indices.length) throw new RangeError(`sample ${i} is out of range (length ${this.indices.length})`);
    return this.labels[i]!;
  }

  /** Class histogram over this view. */
  labelHistogram(): number[] {
    const h = new Array<number>(this.numClasses).fill(0);
    for (const l of this.labels) h[l]!++;
    return h;
  }

  async get(i: number): Promise<RewardSample> {
    return (await this.getMany([i]))[0]!;
  }

  /** Several samples; their frames are decoded together (runs per video file). `spanBytes`: see LeRobotDataset.getItems. */
  async getMany(samples: readonly number[], opts: { spanBytes?: number } = {}): Promise<RewardSample[]> {
    for (const i of samples) if (!(i >= 0 && i < this.indices.length)) throw new RangeError(`sample ${i} is out of range (length ${this.indices.length})`);
    const items = await this.base.getItems(samples.map((i) => this.indices[i]!), { cameras: this.cameras, ...opts });
    return items.map((it, j) => ({
      images: this.cameras.map((c) => it.images[c]!),
      text: `Task: ${it.task}`,
      label: this.labels[samples[j]!]!,
      episodeIndex: it.episodeIndex,
      frameIndex: it.frameIndex,
      timestamp: it.timestamp,
      index: it.index,
    }));
  }
}
