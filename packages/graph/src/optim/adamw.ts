// AdamW as graph ops: one fused update of every parameter inside the training
// graph, so a single session run does forward + backward + clip + update.
// Ported from torch/optim/adam.py `_single_tensor_adam` (decoupled_weight_decay=True,
// which is what torch.optim.AdamW runs): same operation order, so fp32 results
// match PyTorch to the last bit or two.
import type { Tensor } from '../builder.js';
import { formatShape, shapesEqual } from '../shape.js';
import { add, cast, div, mul, pow, scalar, sqrt, sub, where } from '../ops/index.js';

export interface AdamWOptions {
  /** Parameters (fp32 master weights), one tensor each. */
  readonly params: readonly Tensor[];
  /** Gradients, same dtype and shape as their parameter (already clipped / unscaled). */
  readonly grads: readonly Tensor[];
  /** First moments (torch `exp_avg`). */
  readonly m: readonly Tensor[];
  /** Second moments (torch `exp_avg_sq`). */
  readonly v: readonly Tensor[];
  /**
   * Scalar: the 1-based number of THIS update (torch's `state['step']` after
   * its `+= 1`). Any numeric dtype; the bias corrections are computed in float64.
   */
  readonly step: Tensor;
  /** Scalar learning rate (float32 or float64); a graph input so schedules need no rebuild. */
  readonly lr: Tensor;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay; one number for all, or one per parameter (e.g. 0 for norms/biases). */
  readonly weightDecay?: number | readonly number[];
  /** Optional bool scalar: when true every output equals its input (skipped step, e.g. fp16 overflow). */
  readonly skip?: Tensor;
}

export interface AdamWResult {
  readonly params: Tensor[];
  readonly m: Tensor[];
  readonly v: Tensor[];
}

export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 } as const;

export function adamw(opts: AdamWOptions): AdamWResult {
  const { params, grads, m, v, step, lr } = opts;
  const beta1 = opts.beta1 ?? ADAMW_DEFAULTS.beta1;
  const beta2 = opts.beta2 ?? ADAMW_DEFAULTS.beta2;
  const eps = opts.eps ?? ADAMW_DEFAULTS.eps;
  const wdOpt = opts.weightDecay ?? ADAMW_DEFAULTS.weightDecay;
  const n = params.length;
  if (grads.length !== n || m.length !== n || v.length !== n) {
    throw new Error(`adamw: ${n} params but ${grads.length} grads, ${m.length} m, ${v.length} v`);
  }
  if (typeof wdOpt !== 'number' && wdOpt.length !== n) {
    throw new Error(`adamw: weightDecay has ${wdOpt.length} entries for ${n} params`);
  }
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
    throw new Error(`adamw: betas must be in [0, 1), got (${beta1}, ${beta2})`);
  }
  if (step.rank !== 0 || lr.rank !== 0) {
    throw new Error(`adamw: step and lr must be scalars, got step ${formatShape(step.shape)}, lr ${formatShape(lr.shape)}`);
  }
  for (let i = 0; i < n; i++) {
    const p = params[i]!;
    for (const [what, t] of [['grad', grads[i]!], ['m', m[i]!], ['v', v[i]!]] as const) {
      if (t.dtype !== p.dtype || !shapesEqual(t.shape, p.shape)) {
        throw new Error(`adamw: ${what} '${t.name}' is ${t.dtype}${formatShape(t.shape)} but param '${p.name}' is ${p.dtype}${formatShape(p.shape)}`);
      }
    }
  }
  if (n === 0) return { params: [], m: [], v: [] };
  const g = params[0]!.graph;

  // Scalar coefficients in float64, as torch computes them in Python floats,
  // then one cast per parameter dtype (torch casts Python scalars to the
  // tensor's dtype inside each kernel).
  const stepD = cast(step, 'float64');
  const lrD = cast(lr, 'float64');
  const one = scalar(g, 1, 'float64');
  const bc1 = sub(one, pow(scalar(g, beta1, 'float64'), stepD));
  const bc2 = sub(one, pow(scalar(g, beta2, 'float64'), stepD));
  const negStepSizeD = div(mul(lrD, scalar(g, -1, 'float64')), bc1);
  const bc2SqrtD = sqrt(bc2);
  const coef = new Map<string, Tensor>();
  const cached = (key: string, make: () => Tensor): Tensor => {
    let t = coef.get(key);
    if (!t) coef.set(key, (t = make()));
    return t;
  };

  const out: AdamWResult = { params: [], m: [], v: [] };
  for (let i = 0; i < n; i++) {
    const p = params[i]!;
    g.scope(`adamw/${p.name}`, () => updateOne(i));
  }
  return out;

  function updateOne(i: number): void {
    const p = params[i]!;
    const gr = grads[i]!;
    const dt = p.dtype;
    const wd = typeof wdOpt === 'number' ? wdOpt : wdOpt[i]!;
    const c = (name: string, value: number): Tensor => cached(`${dt}:${name}:${value}`, () => scalar(g, value, dt));
    const negStepSize = cached(`${dt}:negStepSize`, () => cast(negStepSizeD, dt));
    const bc2Sqrt = cached(`${dt}:bc2sqrt`, () => cast(bc2SqrtD, dt));

    // param.mul_(1 - lr * weight_decay)
    let pd = p;
    if (wd !== 0) {
      const decay = cached(`${dt}:decay:${wd}`, () => cast(sub(one, mul(lrD, scalar(g, wd, 'float64'))), dt));
      pd = mul(p, decay);
    }
    // exp_avg.lerp_(grad, 1 - beta1): torch's lerp kernel picks the formula by weight.
    const w = 1 - beta1;
    const m1 =
      w < 0.5
        ? add(m[i]!, mul(c('w', w), sub(gr, m[i]!)))
        : sub(gr, mul(sub(gr, m[i]!), c('1-w', 1 - w)));
    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    const v1 = add(mul(v[i]!, c('beta2', beta2)), mul(mul(c('1-beta2', 1 - beta2), gr), gr));
    // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    const denom = add(div(sqrt(v1), bc2Sqrt), c('eps', eps));
    // param.addcdiv_(exp_avg, denom, value=-step_size)
    const p1 = add(pd, div(mul(negStepSize, m1), denom));
    if (opts.skip) {
      out.params.push(where(opts.skip, p, p1));
      out.m.push(where(opts.skip, m[i]!, m1));
      out.v.push(where(opts.skip, v[i]!, v1));
    } else {
      out.params.push(p1);
      out.m.push(m1);
      out.v.push(v1);
    }
  }
}
