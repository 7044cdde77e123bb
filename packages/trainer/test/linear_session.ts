// A small but real model for exercising the loop without ONNX: softmax regression on
// per-camera mean colours, trained with AdamW and global-norm clipping exactly as the
// model package's fused step does (torch.optim.AdamW / clip_grad_norm_ semantics).
// Its state is plain arrays, so resume and early stopping can be checked bit for bit.
import type { EvalOutput, RewardSample, SampleSource, TrainerSession } from '@vlreward/trainer';

export interface FeatureBatch {
  x: Float64Array[]; // [B][F]
  y: number[];
}

export function encodeFeatures(samples: readonly RewardSample[]): FeatureBatch {
  return {
    x: samples.map((s) => {
      const f = new Float64Array(s.images.length * 3 + 1);
      s.images.forEach((im, k) => {
        const sum = [0, 0, 0];
        for (let i = 0; i < im.data.length; i++) sum[i % 3]! += im.data[i]!;
        for (let c = 0; c < 3; c++) f[k * 3 + c] = sum[c]! / (im.width * im.height) / 255 - 0.5;
      });
      f[f.length - 1] = 1; // bias
      return f;
    }),
    y: samples.map((s) => s.label),
  };
}

interface State { w: number[]; m: number[]; v: number[]; t: number; acc: number[] }

export class LinearSession implements TrainerSession<FeatureBatch> {
  private s: State;
  /** multiply the loss by this on the next step (NaN injection for tests). */
  poison = 1;
  constructor(readonly numClasses: number, readonly features: number, private readonly clip = 1, private readonly wd = 0.01) {
    const n = numClasses * features;
    this.s = { w: new Array(n).fill(0), m: new Array(n).fill(0), v: new Array(n).fill(0), t: 0, acc: new Array(n).fill(0) };
  }

  private forward(b: FeatureBatch): { loss: number; logits: number[]; grad: number[] } {
    const C = this.numClasses, F = this.features;
    const logits: number[] = [];
    const grad = new Array(C * F).fill(0);
    let loss = 0;
    b.x.forEach((x, r) => {
      const z = Array.from({ length: C }, (_, c) => x.reduce((a, xi, f) => a + xi * this.s.w[c * F + f]!, 0));
      const mx = Math.max(...z);
      const e = z.map((v) => Math.exp(v - mx));
      const sum = e.reduce((a, v) => a + v, 0);
      loss += -Math.log(e[b.y[r]!]! / sum) / b.x.length;
      for (let c = 0; c < C; c++) {
        const d = (e[c]! / sum - (c === b.y[r] ? 1 : 0)) / b.x.length;
        for (let f = 0; f < F; f++) grad[c * F + f] += d * x[f]!;
      }
      logits.push(...z);
    });
    return { loss: loss * this.poison, logits, grad };
  }

  private adamw(grad: number[], lr: number): number {
    const norm = Math.sqrt(grad.reduce((a, g) => a + g * g, 0));
    const scale = this.clip > 0 && norm > this.clip ? this.clip / (norm + 1e-6) : 1;
    const s = this.s;
    s.t += 1;
    for (let i = 0; i < grad.length; i++) {
      const g = grad[i]! * scale;
      s.w[i] = s.w[i]! * (1 - lr * this.wd);
      s.m[i] = 0.9 * s.m[i]! + 0.1 * g;
      s.v[i] = 0.999 * s.v[i]! + 0.001 * g * g;
      const mh = s.m[i]! / (1 - 0.9 ** s.t);
      const vh = s.v[i]! / (1 - 0.999 ** s.t);
      s.w[i] = s.w[i]! - (lr * mh) / (Math.sqrt(vh) + 1e-8);
    }
    return norm;
  }

  async step(b: FeatureBatch, lr: number) {
    const { loss, grad } = this.forward(b);
    return { loss, gradNorm: this.adamw(grad, lr) };
  }
  private micro = 0;
  async accumulate(b: FeatureBatch) {
    const { loss, grad } = this.forward(b);
    grad.forEach((g, i) => (this.s.acc[i]! += g));
    this.micro++;
    return { loss };
  }
  async apply(lr: number) {
    const g = this.s.acc.map((a) => a / this.micro);
    this.micro = 0;
    this.s.acc.fill(0);
    return { gradNorm: this.adamw(g, lr) };
  }
  async evaluate(b: FeatureBatch): Promise<EvalOutput> {
    const { loss, logits } = this.forward(b);
    return { loss, logits };
  }
  async getTrainableState() {
    return structuredClone(this.s);
  }
  async setTrainableState(state: unknown) {
    this.s = structuredClone(state as State);
  }
}

/** In-memory samples: `episodes` episodes of `frames` frames; the cam_high colour encodes the label (with noise). */
export function colourSource(episodes: number, frames: number, numClasses: number, seed = 1): SampleSource & { samples: RewardSample[] } {
  let x = seed;
  const rand = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
  const samples: RewardSample[] = [];
  const ep: number[] = [];
  for (let e = 0; e < episodes; e++)
    for (let f = 0; f < frames; f++) {
      const label = Math.min(numClasses - 1, Math.floor((f / frames) * numClasses));
      const img = (v: number) => {
        const data = new Uint8Array(4 * 4 * 3);
        for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, v + (rand() - 0.5) * 60));
        return { width: 4, height: 4, channels: 3 as const, data };
      };
      samples.push({ images: [img(128), img(128), img((label * 255) / (numClasses - 1))], text: 'Task: t', label });
      ep.push(e);
    }
  return {
    samples,
    length: samples.length,
    get: async (i) => samples[i]!,
    episodeOf: (i) => ep[i]!,
    labelOf: (i) => samples[i]!.label,
  };
}
