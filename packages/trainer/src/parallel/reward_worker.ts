// Data-parallel worker factory for the Qwen3-VL reward model (DataParallelSession's
// `factory`). The model runner exposes gradients (computeGradients) but not its
// accumulators, so the worker accumulates on the host and applies the all-reduced
// gradient with AdamW on the host — torch.optim.AdamW's _single_tensor_adamw order,
// with clip_grad_norm_ first — then writes params and moments back into the runner.
// Fine for LoRA on CPU workers (a few MB of state); the multi-GPU design keeps all of
// this on the device (README, "Data parallel").

import type { TensorData } from '@vlreward/graph';
import type { LoraConfig } from '@vlreward/model';
import { Qwen3VLProcessor } from '@vlreward/processor';
import type { ModelTrainableState } from '../checkpoints.js';
import { loadBaseModel, processorEncode } from '../pipeline.js';
import { RewardModelSession } from '../reward_model.js';
import type { GradientSession, Grads } from './protocol.js';

export interface RewardWorkerOptions {
  readonly model: string;
  readonly processor?: string;
  readonly numClasses: number;
  readonly mode: 'lora' | 'full';
  readonly lora?: Partial<LoraConfig>;
  readonly seed?: number;
  readonly minPixels?: number;
  readonly maxPixels?: number;
  readonly weightDecay?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** clip_grad_norm_ max norm; 0 = off. */
  readonly clipNorm?: number;
  readonly classWeights?: readonly number[];
}

type Batch = Parameters<RewardModelSession['evaluate']>[0];

export class HostAdamWGradientSession implements GradientSession<Batch> {
  private acc: Grads | null = null;
  constructor(
    readonly inner: RewardModelSession,
    private readonly o: RewardWorkerOptions,
  ) {}

  get numClasses(): number {
    return this.inner.numClasses;
  }

  async accumulate(batch: Batch) {
    const { loss, grads } = await this.inner.gradients(batch);
    if (!this.acc) this.acc = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Float32Array.from(g.data as Float32Array)]));
    else for (const [k, g] of Object.entries(grads)) {
      const a = this.acc[k]!;
      const d = g.data as Float32Array;
      for (let i = 0; i < a.length; i++) a[i]! += d[i]!;
    }
    return { loss };
  }

  async readGradients(): Promise<Grads> {
    if (!this.acc) throw new Error('readGradients: nothing accumulated');
    return this.acc;
  }

  async writeGradients(g: Grads): Promise<void> {
    this.acc = g;
  }

  async apply(lr: number, microSteps: number) {
    if (!this.acc) throw new Error('apply: nothing accumulated');
    const st = (await this.inner.getTrainableState()) as ModelTrainableState;
    const b1 = this.o.beta1 ?? 0.9, b2 = this.o.beta2 ?? 0.999, eps = this.o.eps ?? 1e-8, wd = this.o.weightDecay ?? 0.01;
    const maxNorm = this.o.clipNorm ?? 1;
    let sq = 0;
    for (const g of Object.values(this.acc)) for (let i = 0; i < g.length; i++) sq += (g[i]! / microSteps) ** 2;
    const norm = Math.sqrt(sq);
    // torch clip_grad_norm_: coef = max_norm / (total_norm + 1e-6), clamped to 1.
    const coef = (maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1) / microSteps;
    const t = st.step + 1;
    const bc1 = 1 - b1 ** t, bc2sqrt = Math.sqrt(1 - b2 ** t);
    const params: Record<string, TensorData> = {}, m: Record<string, TensorData> = {}, v: Record<string, TensorData> = {};
    for (const [name, g] of Object.entries(this.acc)) {
      const p = Float32Array.from(st.params[name]!.data as Float32Array);
      const mm = Float32Array.from(st.m[name]!.data as Float32Array);
      const vv = Float32Array.from(st.v[name]!.data as Float32Array);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! * coef;
        p[i] = p[i]! * (1 - lr * wd);
        mm[i] = mm[i]! + (gi - mm[i]!) * (1 - b1); // exp_avg.lerp_(grad, 1 - beta1)
        vv[i] = vv[i]! * b2 + (1 - b2) * gi * gi;
        p[i] = p[i]! - (lr / bc1) * (mm[i]! / (Math.sqrt(vv[i]!) / bc2sqrt + eps));
      }
      const dims = [...st.params[name]!.dims];
      params[name] = { dtype: 'float32', dims, data: p };
      m[name] = { dtype: 'float32', dims, data: mm };
      v[name] = { dtype: 'float32', dims, data: vv };
    }
    await this.inner.setTrainableState({ ...st, step: t, params, m, v });
    this.acc = null;
    return { gradNorm: norm };
  }

  evaluate(batch: Batch) {
    return this.inner.evaluate(batch);
  }
  getTrainableState() {
    return this.inner.getTrainableState();
  }
  setTrainableState(s: unknown) {
    return this.inner.setTrainableState(s);
  }
}

/** DataParallelSession factory entry point. */
export async function createWorkerSession(options: unknown, rank: number) {
  const o = options as RewardWorkerOptions;
  const base = await loadBaseModel(o.model);
  const proc = await Qwen3VLProcessor.fromPretrained(o.processor ?? base.dir, {
    ...(o.minPixels ? { minPixels: o.minPixels } : {}),
    ...(o.maxPixels ? { maxPixels: o.maxPixels } : {}),
  });
  const inner = await RewardModelSession.create({
    config: base.configJson,
    weights: base.weights,
    mode: o.mode,
    numClasses: o.numClasses,
    ...(o.lora ? { lora: o.lora } : {}),
    // Same initial weights on every rank (rank 0's state is also broadcast); dropout masks differ per rank.
    seed: o.seed ?? 0,
    graphs: ['gradient', 'eval'],
    ...(o.classWeights ? { classWeights: o.classWeights } : {}),
    intraOpThreads: 1,
  });
  void rank;
  return { session: new HostAdamWGradientSession(inner, o), encode: processorEncode(proc) };
}
