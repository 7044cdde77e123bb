// Global-norm gradient clipping as graph ops.
// Ported from torch/nn/utils/clip_grad.py `clip_grad_norm_` (norm_type=2):
// total = ||(||g_1||, ..., ||g_n||)||, coef = max_norm / (total + 1e-6),
// clamped to 1, and every gradient multiplied by it (also when coef is 1).
import type { Tensor } from '../builder.js';
import { add, cast, div, greater, mul, reduceSumSquare, scalar, sqrt, where } from '../ops/index.js';

export interface ClipResult {
  /** Gradients times the clip coefficient, each in its own dtype. */
  readonly clipped: Tensor[];
  /** float32 scalar: the global L2 norm BEFORE clipping (what torch returns). */
  readonly norm: Tensor;
  /** float32 scalar: min(maxNorm / (norm + eps), 1). */
  readonly coef: Tensor;
}

/** float32 scalar Σ_i Σ g_i² over all tensors (computed in float32 whatever the grads' dtype). */
export function globalSumSquares(grads: readonly Tensor[]): Tensor {
  if (grads.length === 0) throw new Error('globalSumSquares: no gradients given');
  const parts = grads.map((t) => {
    const x = t.dtype === 'float32' ? t : cast(t, 'float32');
    return reduceSumSquare(x, x.shape.map((_, i) => i), false);
  });
  return sumTree(parts);
}

/** float32 scalar global L2 norm of all tensors together. */
export function globalNorm(grads: readonly Tensor[]): Tensor {
  return sqrt(globalSumSquares(grads));
}

export function clipByGlobalNorm(grads: readonly Tensor[], maxNorm = 1.0, opts: { eps?: number } = {}): ClipResult {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  const g = grads[0]?.graph;
  if (!g) throw new Error('clipByGlobalNorm: no gradients given');
  return g.scope('clip_grad_norm', () => {
    const norm = globalNorm(grads);
    const raw = div(scalar(g, maxNorm), add(norm, scalar(g, opts.eps ?? 1e-6)));
    // clamp(max=1) written so a NaN norm gives NaN grads, as torch does.
    const coef = where(greater(raw, scalar(g, 1)), scalar(g, 1), raw);
    const byDType = new Map<string, Tensor>([['float32', coef]]);
    const clipped = grads.map((t) => {
      let c = byDType.get(t.dtype);
      if (!c) byDType.set(t.dtype, (c = cast(coef, t.dtype)));
      return mul(t, c);
    });
    return { clipped, norm, coef };
  });
}

/** Balanced pairwise sum (shallow graph, better rounding than a chain). */
export function sumTree(xs: readonly Tensor[]): Tensor {
  if (xs.length === 0) throw new Error('sumTree: nothing to sum');
  let level = [...xs];
  while (level.length > 1) {
    const next: Tensor[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? add(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}
