// The Qwen3-VL reward classifier as a TrainerSession: weights + LoRA/full inventory →
// training artifacts (@vlreward/model buildArtifacts around buildQwen3VLForward) → the
// model's TrainingSession runner, fed from processor batches through
// prepareQwen3VLInputs. The loss is built here (graph crossEntropy) so optional class
// weights can enter it; without weights it is the seed's mean cross-entropy.

import { constant, crossEntropy, dropout, type TensorData } from '@vlreward/graph';
import {
  DIMS,
  INPUT_NAMES,
  TrainingSession,
  buildArtifacts,
  buildQwen3VLForward,
  initClassifierHead,
  initLoraWeights,
  makeLoraConfig,
  parseQwen3VLConfig,
  prepareQwen3VLInputs,
  type LoraConfig,
  type ParamSpec,
  type Qwen3VLBatch,
  type Qwen3VLConfig,
  type Qwen3VLConfigJson,
} from '@vlreward/model';
import type { Provider } from '@vlreward/graph/runtime';
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
  /** Seed for the head / LoRA initialisation and the dropout masks. */
  readonly seed?: number;
  /** Initial trainable values (e.g. a fine-tuned head + adapter to continue from); default fresh init. */
  readonly initial?: ReadonlyMap<string, TensorData>;
  /** Per-class loss weights (class imbalance); null = plain mean cross-entropy. */
  readonly classWeights?: readonly number[] | null;
  readonly optimizer?: { weightDecay?: number; beta1?: number; beta2?: number; eps?: number; maxGradNorm?: number | null };
  readonly precision?: 'fp32' | 'bf16' | 'fp16';
  /** 'cpu' | 'cuda' | 'cuda:N' | 'webgpu'. */
  readonly device?: string;
  readonly intraOpThreads?: number;
  /** Graphs to build (default all; ['eval'] for inference only). */
  readonly graphs?: readonly ('train' | 'gradient' | 'optimizer' | 'eval')[];
}

export function parseDevice(device: string): { provider: Provider; deviceId?: number } {
  const m = /^(cpu|cuda|webgpu)(?::(\d+))?$/.exec(device);
  if (!m) throw new RangeError(`device '${device}': expected cpu, cuda, cuda:N or webgpu`);
  return { provider: m[1] as Provider, ...(m[2] !== undefined ? { deviceId: Number(m[2]) } : {}) };
}

/** The parameter inventory: base weights, LoRA factors and the head, with what is trainable. */
export function rewardParamSpecs(cfg: Qwen3VLConfig, o: RewardModelOptions, lora: LoraConfig | null): ParamSpec[] {
  const seed = o.seed ?? 0;
  const specs: ParamSpec[] = [];
  const initial = o.initial ?? new Map<string, TensorData>();
  const pick = (name: string, fresh: TensorData) => initial.get(name) ?? fresh;
  for (const [name, t] of o.weights) specs.push({ name, shape: [...t.dims], dtype: t.dtype, trainable: o.mode === 'full', init: pick(name, t) });
  if (lora) for (const [name, t] of initLoraWeights(cfg, lora, seed)) specs.push({ name, shape: [...t.dims], trainable: true, init: pick(name, t) });
  for (const [name, t] of initClassifierHead(cfg.headHiddenSize, o.numClasses, seed)) specs.push({ name, shape: [...t.dims], trainable: true, init: pick(name, t) });
  return specs;
}

/** Processor batch → graph feeds (M-RoPE tables, vision packing, attention bias …). */
export type FeedFn = (batch: Qwen3VLBatch) => Record<string, TensorData>;

export class RewardModelSession implements TrainerSession<Qwen3VLBatch> {
  private constructor(
    readonly runner: TrainingSession,
    readonly config: Qwen3VLConfig,
    readonly numClasses: number,
    readonly lora: LoraConfig | null,
    private readonly feeds: FeedFn,
  ) {}

  static async create(o: RewardModelOptions): Promise<RewardModelSession> {
    const cfg = parseQwen3VLConfig(o.config);
    const dev = parseDevice(o.device ?? 'cpu');
    // Checked here because ORT's own message ("no implementation for Gemm(13)") does not say what to change.
    if (o.precision === 'bf16' && dev.provider === 'cpu')
      throw new Error("precision 'bf16' needs a GPU provider: ONNX Runtime's CPU provider has no bf16 Gemm/MatMul kernels. Use --precision fp32 on cpu (the default), or --device cuda / webgpu for mixed precision");
    const lora = o.mode === 'lora' ? makeLoraConfig(o.lora ?? {}) : null;
    const specs = rewardParamSpecs(cfg, o, lora);
    const weights = o.classWeights ?? null;
    if (weights && weights.length !== o.numClasses) throw new RangeError(`classWeights: ${weights.length} weights for ${o.numClasses} classes`);
    const artifacts = buildArtifacts(
      (g, params, ctx) => {
        const fwd = buildQwen3VLForward(g, cfg, params, {
          numClasses: o.numClasses,
          lora,
          // LoRA dropout on each adapter's input, masks drawn by the runner per (seed, step, micro-batch, site).
          loraDropout: (x, site) => {
            const keep = ctx.dropoutMask(site.module, [DIMS.batch, DIMS.seq, site.inFeatures], lora!.dropout);
            return keep ? dropout(x, lora!.dropout, keep) : x;
          },
        });
        const labels = g.input(INPUT_NAMES.labels, 'int64', [DIMS.batch]);
        const w = weights ? constant(g, { dtype: 'float32', dims: [weights.length], data: Float32Array.from(weights) }) : null;
        return { loss: crossEntropy(fwd.logits!, labels, w), logits: fwd.logits! };
      },
      specs,
      { name: 'qwen3_vl_reward', precision: o.precision ?? 'fp32', optimizer: o.optimizer ?? {}, ...(o.graphs ? { graphs: o.graphs } : {}) },
    );
    const runner = await TrainingSession.create(artifacts, {
      ...dev,
      seed: o.seed ?? 0,
      ...(o.intraOpThreads ? { intraOpThreads: o.intraOpThreads } : {}),
    });
    const feeds: FeedFn = (b) => prepareQwen3VLInputs(cfg, b, { labels: true, numClasses: o.numClasses }).feeds;
    return new RewardModelSession(runner, cfg, o.numClasses, lora, feeds);
  }

  async step(batch: Qwen3VLBatch, lr: number) {
    const r = await this.runner.step(this.feeds(batch), lr);
    return { loss: r.loss, gradNorm: r.gradNorm };
  }

  async accumulate(batch: Qwen3VLBatch) {
    const r = await this.runner.accumulate(this.feeds(batch));
    return { loss: r.loss };
  }

  async apply(lr: number) {
    const r = await this.runner.apply(lr);
    return { gradNorm: r.gradNorm };
  }

  /** d loss / d trainable params on one batch (no state change): for data-parallel workers. */
  async gradients(batch: Qwen3VLBatch): Promise<{ loss: number; grads: Record<string, TensorData> }> {
    const r = await this.runner.computeGradients(this.feeds(batch));
    return { loss: r.loss, grads: r.grads };
  }

  async evaluate(batch: Qwen3VLBatch) {
    const r = await this.runner.evaluate(this.feeds(batch));
    return { loss: Number((r.loss.data as Float32Array)[0]), logits: r.logits.data as Float32Array };
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
