// Every training default in one place (nanoGPT's train.py keeps its knobs at the top
// for the same reason: one screen tells what a run does). Values marked "seed" are the
// Python system's own (main.py / env vars); the rest implement its wish list.

import { ADAMW_DEFAULTS } from '@vlreward/graph';

export type Schedule = 'cosine' | 'linear' | 'constant';
export type Precision = 'fp32' | 'bf16' | 'fp16';
export type FinetuneMode = 'lora' | 'full';
export type MetricName = 'accuracy' | 'macroF1' | 'loss';

export interface EarlyStoppingConfig {
  /** validation metric watched. */
  metric: MetricName;
  /** evaluations without improvement before stopping. */
  patience: number;
  /** 'max' for accuracy/macroF1, 'min' for loss. */
  mode: 'max' | 'min';
  /** an improvement must beat the best by more than this. */
  minDelta: number;
}

export interface AugmentConfig {
  /** probability of a horizontal flip per image. */
  hflip: number;
  /** torchvision ColorJitter ranges: factor drawn from [1-x, 1+x] (hue: shift in [-x, x] turns, x ≤ 0.5). */
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  /** RandomResizedCrop: probability, area fraction and aspect-ratio ranges; output keeps the input size. */
  crop: number;
  cropScale: readonly [number, number];
  cropRatio: readonly [number, number];
}

export interface TrainConfig {
  // --- model ---------------------------------------------------------------
  /** seed: FINETUNE_MODE, default 'lora' (r=16, alpha=32, dropout 0.05 live in @vlreward/model). */
  mode: FinetuneMode;
  /** seed: NUM_CLASSES; null = length of the first sample's reward_bins. */
  numClasses: number | null;
  // --- optimisation (seed: AdamW, clip 1.0) --------------------------------
  /** seed: LR. Peak learning rate after warmup. */
  lr: number;
  /** floor of cosine/linear decay, as a fraction of lr. */
  minLrRatio: number;
  /** torch.optim.AdamW defaults, which the seed used. */
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** seed: clip_grad_norm_(max_norm=1.0). 0 disables. */
  clipNorm: number;
  /**
   * Activation (gradient) checkpointing: every text decoder layer and vision block is
   * recomputed in the backward pass instead of kept (HF's gradient_checkpointing): far
   * less memory for long sequences (3 × 640×480 cameras), about a third more compute.
   */
  gradientCheckpointing: boolean;
  /** constant keeps the seed's behaviour; cosine/linear decay after warmup. */
  schedule: Schedule;
  /** linear warmup steps from 0 to lr. */
  warmupSteps: number;
  // --- data and length -----------------------------------------------------
  /** seed: BATCH_SIZE (per micro-step, per worker). */
  batchSize: number;
  /** micro-batches per optimizer step: effective batch = batchSize × gradAccum × workers. */
  gradAccum: number;
  /** seed: EPOCHS. */
  epochs: number;
  /** seed: MAX_STEPS = 50, takes priority over epochs; null = epochs decide. */
  maxSteps: number | null;
  /** seed: MAX_TRAIN_SAMPLES; null = all. A seeded random subset of the training episodes' frames (the seed kept the first N). */
  maxTrainSamples: number | null;
  /** fraction of episodes held out for validation (split by episode, never by frame). */
  valFraction: number;
  /** at most this many validation samples per evaluation (null = all); keeps evals cheap. */
  maxValSamples: number | null;
  /** one seed for split, shuffling, dropout masks and augmentation. */
  seed: number;
  // --- evaluation and checkpoints -------------------------------------------
  /** evaluate every N optimizer steps (0 = only at the end). */
  evalEvery: number;
  /** stop when the validation metric stops improving; null = never. */
  earlyStopping: EarlyStoppingConfig | null;
  /** metric that decides which checkpoint is "best". */
  bestMetric: MetricName;
  /** write a resumable checkpoint every N steps (0 = at evaluations and the end). */
  saveEvery: number;
  /** seed: CKPT_DIR. */
  ckptDir: string;
  // --- extras from the seed's wish list --------------------------------------
  /** weight the loss by inverse class frequency (sklearn 'balanced'). */
  classWeights: boolean;
  /** image augmentation before the processor; null = off (default). */
  augment: AugmentConfig | null;
  /** compute precision; fp32 on CPU, bf16/fp16 where the provider allows. */
  precision: Precision;
  /** 'cpu' | 'cuda' | 'cuda:N' | 'webgpu'. */
  device: string;
  /** TensorBoard event files and metrics.jsonl go here; null = <ckptDir>/logs. */
  logDir: string | null;
  /** batches decoded ahead of the step that consumes them. */
  prefetch: number;
  /** print a progress line every N steps when stdout is not a TTY. */
  logEvery: number;
}

export const DEFAULT_AUGMENT: AugmentConfig = {
  hflip: 0.5,
  brightness: 0.2,
  contrast: 0.2,
  saturation: 0.2,
  hue: 0.02,
  crop: 0.5,
  cropScale: [0.7, 1.0],
  cropRatio: [3 / 4, 4 / 3],
};

export const DEFAULT_CONFIG: TrainConfig = {
  mode: 'lora',
  numClasses: null,
  lr: 1e-4,
  minLrRatio: 0.1,
  // AdamW's defaults (torch.optim.AdamW's, with the seed's weight decay) live once, in graph.
  weightDecay: ADAMW_DEFAULTS.weightDecay,
  beta1: ADAMW_DEFAULTS.beta1,
  beta2: ADAMW_DEFAULTS.beta2,
  eps: ADAMW_DEFAULTS.eps,
  clipNorm: 1.0,
  gradientCheckpointing: false,
  schedule: 'constant',
  warmupSteps: 0,
  batchSize: 2,
  gradAccum: 1,
  epochs: 10,
  maxSteps: 50,
  maxTrainSamples: null,
  valFraction: 0.2,
  maxValSamples: null,
  seed: 0,
  evalEvery: 0,
  earlyStopping: null,
  bestMetric: 'accuracy',
  saveEvery: 0,
  ckptDir: 'checkpoints/qwen3_reward',
  classWeights: false,
  augment: null,
  precision: 'fp32',
  device: 'cpu',
  logDir: null,
  prefetch: 2,
  logEvery: 10,
};

/** Direction of improvement for a metric. */
export function metricMode(metric: MetricName): 'max' | 'min' {
  return metric === 'loss' ? 'min' : 'max';
}

/** Fills defaults and rejects values that cannot work, naming the field. */
export function resolveConfig(partial: Partial<TrainConfig> = {}): TrainConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const c: TrainConfig = { ...DEFAULT_CONFIG, ...defined };
  const positive = (name: keyof TrainConfig, v: number, integer: boolean) => {
    if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
      throw new RangeError(`config.${name}: expected a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  };
  const nonNegInt = (name: keyof TrainConfig, v: number) => {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`config.${name}: expected an integer ≥ 0, got ${v}`);
  };
  positive('lr', c.lr, false);
  positive('batchSize', c.batchSize, true);
  positive('gradAccum', c.gradAccum, true);
  positive('epochs', c.epochs, true);
  if (c.maxSteps !== null) positive('maxSteps', c.maxSteps, true);
  if (c.maxTrainSamples !== null) positive('maxTrainSamples', c.maxTrainSamples, true);
  if (c.maxValSamples !== null) positive('maxValSamples', c.maxValSamples, true);
  if (c.numClasses !== null) {
    if (!Number.isInteger(c.numClasses) || c.numClasses < 2)
      throw new RangeError(`config.numClasses: expected an integer ≥ 2, got ${c.numClasses}`);
  }
  nonNegInt('warmupSteps', c.warmupSteps);
  nonNegInt('evalEvery', c.evalEvery);
  nonNegInt('saveEvery', c.saveEvery);
  nonNegInt('seed', c.seed);
  nonNegInt('prefetch', c.prefetch);
  positive('logEvery', c.logEvery, true);
  if (!(c.clipNorm >= 0)) throw new RangeError(`config.clipNorm: expected ≥ 0, got ${c.clipNorm}`);
  if (!(c.minLrRatio >= 0 && c.minLrRatio <= 1))
    throw new RangeError(`config.minLrRatio: expected within [0, 1], got ${c.minLrRatio}`);
  if (!(c.valFraction >= 0 && c.valFraction < 1))
    throw new RangeError(`config.valFraction: expected within [0, 1), got ${c.valFraction}`);
  if (!['cosine', 'linear', 'constant'].includes(c.schedule))
    throw new RangeError(`config.schedule: expected cosine | linear | constant, got '${c.schedule}'`);
  if (!['lora', 'full'].includes(c.mode)) throw new RangeError(`config.mode: expected lora | full, got '${c.mode}'`);
  if (!['fp32', 'bf16', 'fp16'].includes(c.precision))
    throw new RangeError(`config.precision: expected fp32 | bf16 | fp16, got '${c.precision}'`);
  if (!/^(cpu|cuda(:\d+)?|webgpu)$/.test(c.device))
    throw new RangeError(`config.device: expected cpu | cuda | cuda:N | webgpu, got '${c.device}'`);
  if (c.earlyStopping) {
    // mode and minDelta may be left out: the metric decides the direction.
    const given = c.earlyStopping;
    const e = { ...given, minDelta: given.minDelta ?? 0, mode: given.mode ?? metricMode(given.metric) };
    c.earlyStopping = e;
    if (!['accuracy', 'macroF1', 'loss'].includes(e.metric))
      throw new RangeError(`config.earlyStopping.metric: expected accuracy | macroF1 | loss, got '${e.metric}'`);
    if (!Number.isInteger(e.patience) || e.patience < 1)
      throw new RangeError(`config.earlyStopping.patience: expected an integer ≥ 1, got ${e.patience}`);
  }
  return c;
}
