import { mulberry32 } from '../src/random.js';
// Plain-JS ports of PyTorch's optimizer math, evaluated in float32 the way
// torch's CPU kernels do (Python-float scalars in float64, cast to float32
// inside each kernel; every elementwise result rounded to float32).
const f = Math.fround;

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** torch/optim/adam.py `_single_tensor_adam` with decoupled_weight_decay=True; `step` is state['step'] after += 1. */
export function torchAdamWStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, step: number, h: AdamWHyper): void {
  const decay = f(1 - h.lr * h.weightDecay);
  const w = f(1 - h.beta1);
  const b2 = f(h.beta2);
  const oneMinusB2 = f(1 - h.beta2);
  const bc1 = 1 - h.beta1 ** step;
  const bc2 = 1 - h.beta2 ** step;
  const negStepSize = f(-(h.lr / bc1));
  const bc2Sqrt = f(Math.sqrt(bc2));
  const eps = f(h.eps);
  for (let i = 0; i < p.length; i++) {
    if (h.weightDecay !== 0) p[i] = f(p[i]! * decay);
    // lerp with weight < 0.5: self + weight * (end - self)
    m[i] = f(m[i]! + f(w * f(g[i]! - m[i]!)));
    v[i] = f(f(v[i]! * b2) + f(f(oneMinusB2 * g[i]!) * g[i]!));
    const denom = f(f(f(Math.sqrt(v[i]!)) / bc2Sqrt) + eps);
    p[i] = f(p[i]! + f(f(negStepSize * m[i]!) / denom));
  }
}

/** torch/nn/utils/clip_grad.py `clip_grad_norm_` (L2). Returns the pre-clip norm; scales `grads` in place. */
export function torchClipGradNorm(grads: Float32Array[], maxNorm: number): number {
  let ss = 0;
  for (const gr of grads) for (const x of gr) ss += x * x;
  const norm = Math.sqrt(ss);
  const coef = Math.min(f(maxNorm / f(f(norm) + f(1e-6))), 1);
  for (const gr of grads) for (let i = 0; i < gr.length; i++) gr[i] = f(gr[i]! * coef);
  return norm;
}

/** aten AmpKernels.cpp `_amp_update_scale_cpu_`. */
export function torchUpdateScale(
  state: { scale: number; tracker: number },
  foundInf: boolean,
  o: { growthFactor: number; backoffFactor: number; growthInterval: number },
): void {
  if (foundInf) {
    state.scale = f(state.scale * o.backoffFactor);
    state.tracker = 0;
  } else {
    const successful = state.tracker + 1;
    if (successful === o.growthInterval) {
      const grown = f(state.scale * o.growthFactor);
      if (Number.isFinite(grown)) state.scale = grown;
      state.tracker = 0;
    } else state.tracker = successful;
  }
}

/** Deterministic pseudo-random floats, for inputs. */
export const rng = mulberry32;

export function randn(n: number, r: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}
