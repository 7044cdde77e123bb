// fp16 dynamic loss scaling as graph ops, the GradScaler recipe:
// torch/amp/grad_scaler.py `GradScaler` with the CPU kernels
// aten/src/ATen/native/AmpKernels.cpp `_amp_foreach_non_finite_check_and_unscale_cpu_`
// and `_amp_update_scale_cpu_`. The scale and growth tracker are graph
// inputs/outputs (float32 scalars), so they stay with the other training state.
import type { Tensor } from '../builder.js';
import { add, cast, div, equal, mul, not, scalar, where } from '../ops/index.js';
import { globalSumSquares } from './clip.js';

export const LOSS_SCALE_DEFAULTS = { initScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000 } as const;

/** bool scalar: true when any element of any tensor is Inf or NaN (x·0 ≠ 0 exactly then). */
export function anyNonFinite(xs: readonly Tensor[]): Tensor {
  const ss = globalSumSquares(xs);
  const g = ss.graph;
  return not(equal(mul(ss, scalar(g, 0)), scalar(g, 0)));
}

export interface UnscaleResult {
  /** grads * (1/scale), in float32. */
  readonly grads: Tensor[];
  /** bool scalar, true when the scaled backward overflowed: skip this step. */
  readonly foundInf: Tensor;
}

/** Divide loss-scaled gradients by the scale (torch multiplies by the fp32 reciprocal) and detect overflow. */
export function unscaleGrads(grads: readonly Tensor[], scale: Tensor): UnscaleResult {
  const g = scale.graph;
  const inv = cast(div(scalar(g, 1, 'float64'), cast(scale, 'float64')), 'float32');
  const unscaled = grads.map((t) => mul(t.dtype === 'float32' ? t : cast(t, 'float32'), inv));
  return { grads: unscaled, foundInf: anyNonFinite(unscaled) };
}

export interface LossScaleUpdate {
  readonly scale: Tensor;
  readonly growthTracker: Tensor;
}

export interface LossScaleOptions {
  readonly scale: Tensor;
  /** float32 scalar: consecutive steps without overflow so far. */
  readonly growthTracker: Tensor;
  readonly foundInf: Tensor;
  readonly growthFactor?: number;
  readonly backoffFactor?: number;
  readonly growthInterval?: number;
}

/** `_amp_update_scale_`: back off on overflow, grow after `growthInterval` clean steps. */
export function updateLossScale(o: LossScaleOptions): LossScaleUpdate {
  const g = o.scale.graph;
  const growth = o.growthFactor ?? LOSS_SCALE_DEFAULTS.growthFactor;
  const backoff = o.backoffFactor ?? LOSS_SCALE_DEFAULTS.backoffFactor;
  const interval = o.growthInterval ?? LOSS_SCALE_DEFAULTS.growthInterval;
  const zero = scalar(g, 0);
  const successful = add(o.growthTracker, scalar(g, 1));
  const grow = equal(successful, scalar(g, interval));
  const grown = mul(o.scale, scalar(g, growth));
  // torch keeps the old scale when growing would overflow to Inf.
  const grownFinite = equal(mul(grown, zero), zero);
  const cleanScale = where(grow, where(grownFinite, grown, o.scale), o.scale);
  const cleanTracker = where(grow, zero, successful);
  return {
    scale: where(o.foundInf, mul(o.scale, scalar(g, backoff)), cleanScale),
    growthTracker: where(o.foundInf, zero, cleanTracker),
  };
}
