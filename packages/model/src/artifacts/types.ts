// The model-agnostic vocabulary of training artifacts: what a forward builder
// receives and returns, how parameters are declared, and the options that
// shape the generated graphs.
import type { DType, Graph, Tensor, TensorData } from '@vlreward/graph';

import type { ParamSource } from '../qwen3_vl/params.js';

export type { ParamSource };

/** One parameter of the model. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Storage dtype of `init` (float32, bfloat16 or float16). Trainable params are trained as float32 masters. */
  readonly dtype?: DType;
  readonly trainable: boolean;
  /** Initial value, or a loader called once when the value is first needed. */
  readonly init: TensorData | (() => TensorData);
  /** Per-parameter weight decay (AdamW); default is the optimizer's. */
  readonly weightDecay?: number;
}

export interface ForwardContext {
  /** Whether the inventory has parameter `name` (e.g. LoRA factors only in 'lora' mode). */
  hasParam(name: string): boolean;
  /** True in the training and gradient graphs (dropout on), false in the eval and infer graphs. */
  readonly training: boolean;
  /** False in the infer graph: build no loss and take no labels input (scoring without labels). */
  readonly withLoss: boolean;
  /** Activation dtype the builder should compute in ('float32' unless mixed precision). */
  readonly computeDType: DType;
  /**
   * A bool keep-mask graph input `dropout/<name>` of `shape` (symbolic dims
   * named like the batch inputs' dims), which the runner fills every step
   * with Bernoulli(1 - p) draws from a PRNG keyed by (session seed, step,
   * micro-batch, name): reproducible on resume, safe under recomputation.
   * Returns null outside training or when p is 0, so
   * `mask ? dropout(x, p, mask) : x` is the whole pattern.
   */
  dropoutMask(name: string, shape: readonly (number | string)[], p: number): Tensor | null;
  /**
   * Marks the region built inside `fn` for activation checkpointing (its
   * activations are recomputed in the backward pass instead of stored), when
   * the artifacts were built with `checkpointing: true`. A no-op otherwise.
   */
  checkpoint<T>(name: string, fn: () => T): T;
}

export interface ForwardOutputs {
  /** float32 scalar loss (mean over the batch); absent exactly when ctx.withLoss is false. */
  readonly loss?: Tensor;
  /** [B, C] logits. */
  readonly logits: Tensor;
  /** Further outputs for the eval graph (e.g. pooled features). */
  readonly extra?: Readonly<Record<string, Tensor>>;
}

/**
 * Builds the forward pass into `g`: batch inputs via `g.input`, weights via
 * `params(name, dtype, shape)` (trainable → float32 graph input, frozen →
 * initializer; a Cast when `dtype` differs from storage, which is how mixed
 * precision reaches the builder).
 */
export type ForwardBuilder = (g: Graph, params: ParamSource, ctx: ForwardContext) => ForwardOutputs;

export interface OptimizerOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  /** Global-norm clip threshold (torch clip_grad_norm_); null turns clipping off (the norm is still reported). */
  readonly maxGradNorm?: number | null;
}

export type Precision = 'fp32' | 'bf16' | 'fp16';

export interface LossScaleOptions {
  readonly initScale?: number;
  readonly growthFactor?: number;
  readonly backoffFactor?: number;
  readonly growthInterval?: number;
}

export interface ArtifactOptions {
  readonly optimizer?: OptimizerOptions;
  /**
   * 'fp32': everything in float32 (CPU). 'bf16'/'fp16': float32 master
   * weights and optimizer state, forward/backward computed in the 16-bit
   * type (GPU providers); 'fp16' adds dynamic loss scaling.
   */
  readonly precision?: Precision;
  readonly lossScale?: LossScaleOptions;
  /**
   * Activation checkpointing: recompute activations of `ctx.checkpoint`
   * regions in the backward pass instead of keeping them.
   */
  readonly checkpointing?: boolean;
  /** With `checkpointing`, also recompute nodes whose names start with one of these scope prefixes (e.g. 'language_model.layers.'). */
  readonly recomputePrefixes?: readonly string[];
  /**
   * Where frozen weights live. 'initializer' (default): inside each graph
   * (external data when saved), never fed per step; ORT may pre-pack them.
   * 'input': graph inputs that the runner creates once from the inventory and
   * feeds to every session without copying (CPU provider): one copy in memory
   * for the train, gradient and eval sessions and much faster session
   * creation, at the cost of MatMul weight pre-packing. On GPU providers
   * inputs are uploaded every run, so keep 'initializer' there.
   */
  readonly frozenAs?: 'initializer' | 'input';
}

/** Inventory entry as recorded in the manifest (no data). */
export interface ParamInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly trainable: boolean;
  readonly weightDecay: number;
}

export interface DropoutSpec {
  /** Graph input name (`dropout/<name>`). */
  readonly input: string;
  readonly shape: readonly (number | string)[];
  readonly p: number;
}

export interface IOSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly (number | string)[];
}
