// What the trainer needs from the other packages, as small structural interfaces.
// @vlreward/dataset, @vlreward/processor and @vlreward/model satisfy them directly
// (reward_model.ts adapts the model's TrainingSession); tests and other
// models can plug in anything with the same shape.

import type { Collective } from '@vlreward/graph/distributed';
import type { RgbImage } from './augment.js';

/** One training example: the seed's `{images, text, label}`. */
export interface RewardSample {
  readonly images: readonly RgbImage[];
  readonly text: string;
  readonly label: number;
}

/** Random access to samples plus the episode each belongs to (for the split). */
export interface SampleSource<S extends RewardSample = RewardSample> {
  readonly length: number;
  get(index: number): Promise<S>;
  /** Several samples at once (decoders batch frames of one video file); optional. */
  getMany?(indices: readonly number[]): Promise<S[]>;
  /** Episode id of sample `index`, without decoding images. */
  episodeOf(index: number): number;
  /** Label of sample `index` without decoding images (class weights, histograms); optional. */
  labelOf?(index: number): number;
}

/** Turns samples into a model batch (the processor's `encode`). */
export type EncodeFn<B> = (samples: readonly RewardSample[]) => B | Promise<B>;

export interface StepOutput {
  readonly loss: number;
  readonly gradNorm: number;
  /**
   * The runner refused a non-finite update (NaN/Inf loss, gradient norm or
   * parameters): its state is still the previous step's. The trainer stops.
   */
  readonly nonFinite?: boolean;
}

export interface EvalOutput {
  readonly loss: number;
  /** [B, C] row-major. */
  readonly logits: ArrayLike<number>;
}

/** Trainable state: parameters, optimizer moments, step counters (opaque to the trainer). */
export type TrainableState = unknown;

/** The model's training runner. */
export interface TrainerSession<B> {
  readonly numClasses: number;
  /** One fused forward + backward + clip + AdamW step. */
  step(batch: B, lr: number): Promise<StepOutput>;
  /** Gradient accumulation: forward + backward adding into accumulators… */
  accumulate(batch: B): Promise<{ loss: number }>;
  /** …then average, clip and one AdamW step; clears the accumulators. `paramNorm` feeds the cross-rank replica check. */
  apply(lr: number): Promise<{ gradNorm: number; nonFinite?: boolean; paramNorm?: number }>;
  /** Data parallel: replace the accumulated gradients with their mean over the collective's ranks. */
  allReduceGradients?(c: Collective): Promise<void>;
  /** Forward only, no dropout. */
  evaluate(batch: B): Promise<EvalOutput>;
  getTrainableState(): Promise<TrainableState>;
  setTrainableState(state: TrainableState): Promise<void>;
}

/** Where the sampler is: resuming from here replays exactly the batches still to come. */
export interface LoaderPosition {
  readonly epoch: number;
  /** samples of this epoch's order already consumed. */
  readonly cursor: number;
}

/** Everything besides the model state that a resumed run needs. */
export interface TrainerState {
  /** optimizer steps done. */
  readonly step: number;
  readonly loader: LoaderPosition;
  readonly samplesSeen: number;
  readonly best: { readonly metric: string; readonly value: number; readonly step: number } | null;
  readonly evalsWithoutImprovement: number;
  /** per-step training losses so far (for reproducibility checks and the log). */
  readonly losses: readonly number[];
  readonly evals: readonly EvalRecord[];
  /** config fields that must match on resume. */
  readonly fingerprint: string;
}

export interface EvalRecord {
  readonly step: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly macroF1: number;
}

/** What a checkpoint holds, as the trainer sees it. */
export interface CheckpointPayload {
  readonly trainer: TrainerState;
  readonly model: TrainableState;
  readonly metrics: Readonly<Record<string, number>>;
}

/** Saving and loading resumable checkpoints (the checkpoint package's CheckpointManager, adapted). */
export interface CheckpointStore {
  /** Writes atomically; `tag` 'last' is the resume point, 'best' the best model so far. Returns the directory. */
  save(tag: 'last' | 'best', payload: CheckpointPayload): Promise<string>;
  /** The last saved payload, or null when there is none. */
  loadLast(): Promise<CheckpointPayload | null>;
}
