// The Qwen3-VL reward classifier as a TrainerSession. There is no model code here:
// the training artifacts come from @vlreward/model's buildTrainingArtifacts (the
// builder the fixture gradient check, the benches and the GPU check verify), run
// by the model's TrainingSession; this file only turns the trainer's options into
// that builder's options (rewardTrainingOptions) and processor batches into feeds.

import { parseDevice } from '@vlreward/graph/runtime';
import type { Collective } from '@vlreward/graph/distributed';
import type { TensorData } from '@vlreward/graph';
import {
  buildTrainingArtifacts,
  makeLoraConfig,
  parseQwen3VLConfig,
  prepareQwen3VLInputs,
  TrainingSession,
  type GraphKind,
  type LoraConfig,
  type OptimizerOptions,
  type Precision,
  type Qwen3VLBatch,
  type Qwen3VLConfig,
  type Qwen3VLConfigJson,
  type Qwen3VLTrainingOptions,
  type TrainingArtifacts,
} from '@vlreward/model';
import { ortGraphCacheDir } from './cache_dir.js';
import type { ModelTrainableState } from './checkpoints.js';
import type { TrainerSession } from './types.js';

export interface RewardModelOptions {
  /** HF config.json of the Qwen3-VL model. */
  readonly config: Qwen3VLConfigJson;
  /** Base weights by HF name (frozen in LoRA mode, trained in full mode). */
  readonly weights: ReadonlyMap<string, TensorData>;
  readonly mode: 'lora' | 'full';
  readonly numClasses: number;
  /** LoRA hyper-parameters (default the seed's r=16, alpha=32, dropout 0.05, all seven projections). */
  readonly lora?: Partial<LoraConfig>;
  /** Seed for the head / LoRA initialisation and (unless dropoutSeed) the dropout masks. */
  readonly seed?: number;
  /** Seed of the dropout masks (data parallel: one per rank, so ranks draw different masks); default `seed`. */
  readonly dropoutSeed?: number;
  /** Trained values by name (head, PEFT-named LoRA factors, full weights) replacing the fresh init / base weights. */
  readonly initial?: ReadonlyMap<string, TensorData>;
  /** Per-class loss weights (class imbalance); null = plain mean cross-entropy. */
  readonly classWeights?: readonly number[] | null;
  readonly optimizer?: OptimizerOptions;
  readonly precision?: Precision;
  /** 'cpu' | 'cuda' | 'cuda:N' | 'webgpu'. */
  readonly device?: string;
  readonly intraOpThreads?: number;
  /**
   * Folder for ORT's optimized graphs, so a second run skips ORT's graph rewrites
   * (CPU; see CapiSession's optimizedCacheDir). Default `ortGraphCacheDir()`
   * (~/.cache/vlreward/ort; VLREWARD_ORT_CACHE=0 turns it off); null: off.
   */
  readonly optimizedCacheDir?: string | null;
  /**
   * Scoring only: every parameter frozen (no optimizer state, no fake labels),
   * the label-free 'infer' graph and the 'eval' graph (for a loss) are built;
   * `initial` must hold the trained head (and LoRA factors).
   */
  readonly inference?: boolean;
  /** Graphs to build (default: the four training graphs, or infer + eval for `inference`). */
  readonly graphs?: readonly GraphKind[];
  /**
   * Where frozen weights live (buildTrainingArtifacts' frozenAs). Default: 'input' on the
   * CPU provider (one shared copy fed to every session: a 2B model in memory once, not once
   * in JS, once serialized and once per ORT session), 'initializer' on GPU providers (inputs
   * would be uploaded every run there).
   */
  readonly frozenAs?: 'initializer' | 'input';
  /** Recompute every decoder layer / vision block in the backward pass (less memory, more compute). */
  readonly checkpointing?: boolean;
}

/**
 * The options the trainer passes to buildTrainingArtifacts: the one mapping from
 * what a user sets (mode, LoRA, class weights, optimizer, precision) to the graphs
 * that run. Exposed so tests can show that `vlreward train` builds the artifacts
 * the fixture gradient check verifies.
 */
export function rewardTrainingOptions(o: RewardModelOptions): Qwen3VLTrainingOptions {
  const weights = o.initial && o.initial.size > 0 ? new Map([...o.weights, ...o.initial]) : o.weights;
  const classWeights = o.classWeights ?? null;
  if (classWeights && classWeights.length !== o.numClasses) throw new RangeError(`classWeights: ${classWeights.length} weights for ${o.numClasses} classes`);
  return {
    mode: o.mode,
    numClasses: o.numClasses,
    weights,
    seed: o.seed ?? 0,
    ...(o.mode === 'lora' ? { lora: makeLoraConfig(o.lora ?? {}) } : {}),
    ...(classWeights ? { classWeights } : {}),
    ...(o.optimizer ? { optimizer: o.optimizer } : {}),
    precision: o.precision ?? 'fp32',
    ...(o.checkpointing ? { checkpointing: true } : {}),
    frozenAs: o.frozenAs ?? (parseDevice(o.device ?? 'cpu').provider === 'cpu' ? 'input' : 'initializer'),
    ...(o.inference ? { inference: true, graphs: o.graphs ?? ['infer', 'eval'] } : o.graphs ? { graphs: o.graphs } : {}),
  };
}

/**
 * Batch shapes per graph that get a session with fixed dims on the CPU (TrainingSession's
 * specializeShapes): a fixed batch and sequence length, plus an epoch's shorter last batch.
 */
const SPECIALIZED_SHAPES = 2;

export class RewardModelSession implements TrainerSession<Qwen3VLBatch> {
  private constructor(
    /** The graphs this session runs (what tests compare with the fixture check's). */
    readonly artifacts: TrainingArtifacts,
    readonly runner: TrainingSession,
    readonly config: Qwen3VLConfig,
    readonly numClasses: number,
    readonly lora: LoraConfig | null,
    /** Sessions are created per batch shape on first use (CPU), so `runner.prepare` without a batch would build an unused one. */
    readonly shapeSpecialized: boolean,
  ) {}

  static async create(o: RewardModelOptions): Promise<RewardModelSession> {
    const cfg = parseQwen3VLConfig(o.config);
    const dev = parseDevice(o.device ?? 'cpu');
    // Checked here because ORT's own message ("no implementation for Gemm(13)") does not say what to change.
    if (o.precision === 'bf16' && dev.provider === 'cpu')
      throw new Error("precision 'bf16' needs a GPU provider: ONNX Runtime's CPU provider has no bf16 Gemm/MatMul kernels. Use --precision fp32 on cpu (the default), or --device cuda / webgpu for mixed precision");
    const opts = rewardTrainingOptions(o);
    const artifacts = buildTrainingArtifacts(cfg, opts);
    const cacheDir = o.optimizedCacheDir === undefined ? ortGraphCacheDir() : o.optimizedCacheDir;
    // CPU: sessions with the batch's dims fixed plan memory ~10x faster (2B LoRA gradient graph: 1.1 s vs 11.6 s).
    const specialize = dev.provider === 'cpu';
    const runner = await TrainingSession.create(artifacts, {
      device: o.device ?? 'cpu',
      seed: o.dropoutSeed ?? o.seed ?? 0,
      ...(o.intraOpThreads ? { intraOpThreads: o.intraOpThreads } : {}),
      ...(cacheDir ? { optimizedCacheDir: cacheDir } : {}),
      ...(specialize ? { specializeShapes: SPECIALIZED_SHAPES } : {}),
    });
    return new RewardModelSession(artifacts, runner, cfg, o.numClasses, opts.lora ?? null, specialize);
  }

  private feeds(batch: Qwen3VLBatch, labels: boolean): Record<string, TensorData> {
    return prepareQwen3VLInputs(this.config, batch, { labels, numClasses: this.numClasses }).feeds;
  }

  async step(batch: Qwen3VLBatch, lr: number) {
    const r = await this.runner.step(this.feeds(batch, true), lr);
    return { loss: r.loss, gradNorm: r.gradNorm, paramNorm: r.paramNorm, nonFinite: r.nonFinite };
  }

  async accumulate(batch: Qwen3VLBatch) {
    const r = await this.runner.accumulate(this.feeds(batch, true));
    return { loss: r.loss };
  }

  async apply(lr: number) {
    const r = await this.runner.apply(lr);
    return { gradNorm: r.gradNorm, paramNorm: r.paramNorm, nonFinite: r.nonFinite };
  }

  async allReduceGradients(c: Collective): Promise<void> {
    const flat = await this.runner.accumulatedGradients();
    await c.allReduce(flat, 'mean');
    this.runner.setAccumulatedGradients(flat);
  }

  /** d loss / d trainable params on one batch (no state change). */
  async gradients(batch: Qwen3VLBatch): Promise<{ loss: number; grads: Record<string, TensorData> }> {
    const r = await this.runner.computeGradients(this.feeds(batch, true));
    return { loss: r.loss, grads: r.grads };
  }

  /** Forward with labels: loss and logits (validation, `vlreward eval`). */
  async evaluate(batch: Qwen3VLBatch) {
    const r = await this.runner.evaluate(this.feeds(batch, true));
    return { loss: Number((r.loss.data as Float32Array)[0]), logits: r.logits.data as Float32Array };
  }

  /** Label-free forward: logits only (predict, reward curves, the viewer). Needs artifacts with the 'infer' graph. */
  async infer(batch: Qwen3VLBatch): Promise<{ logits: Float32Array }> {
    const r = await this.runner.infer(this.feeds(batch, false));
    return { logits: r.logits.data as Float32Array };
  }

  async getTrainableState(): Promise<ModelTrainableState> {
    return this.runner.getTrainableState();
  }

  async setTrainableState(s: unknown): Promise<void> {
    this.runner.setTrainableState(s as ModelTrainableState);
  }

  dispose(): Promise<void> {
    return this.runner.dispose();
  }
}
