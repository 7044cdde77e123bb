import type { Tensor } from '../builder.js';
import { formatShape } from '../shape.js';
import { add } from '../ops/Add.js';
import { cast } from '../ops/Cast.js';
import { dimProduct, shapeTensor } from '../ops/checks.js';
import { scalar } from '../ops/Constant.js';
import { floor } from '../ops/Floor.js';
import { greaterOrEqual } from '../ops/GreaterOrEqual.js';
import { mul } from '../ops/Mul.js';
import { randomUniformLike } from '../ops/RandomUniformLike.js';
import { range } from '../ops/Range.js';
import { reshapeTo } from '../ops/Reshape.js';
import { sin } from '../ops/Sin.js';
import { size } from '../ops/Size.js';
import { sub } from '../ops/Sub.js';
import { where } from '../ops/Where.js';

export interface DropoutOptions {
  /** Keep-mask (bool, or float 0/1) broadcastable to x: deterministic, fed per step. */
  readonly mask?: Tensor;
  /**
   * A rank-0 seed tensor (any numeric dtype, fed per step): the mask is a
   * hash of (element index, seed), so it is reproducible and recompute-safe.
   * A number instead uses ORT's RandomUniformLike(seed), whose stream
   * advances per run (reproducible per session, not per step).
   */
  readonly seed?: Tensor | number;
}

const frac = (v: Tensor) => sub(v, floor(v));

/**
 * Bool keep-mask with x's shape, P(keep) = 1 - p, from a seed tensor: two
 * rounds of the classic fract(sin(·)·k) hash over the flat element index, in
 * float64 so large indices keep their precision. Same seed, same mask.
 */
export function dropoutKeepMask(x: Tensor, p: number, seed: Tensor): Tensor {
  if (seed.rank !== 0) throw new Error(`dropoutKeepMask(${x.name}): seed '${seed.name}' must be a scalar, got ${formatShape(seed.shape)}`);
  const g = x.graph;
  const n = dimProduct(g, x.shape, 'numel');
  const idx = cast(range(scalar(g, 0, 'int64'), size(x), scalar(g, 1, 'int64'), n), 'float64');
  const s = seed.dtype === 'float64' ? seed : cast(seed, 'float64');
  const h1 = frac(mul(sin(add(mul(idx, 12.9898), mul(s, 78.233))), 43758.5453));
  const u = frac(mul(sin(add(add(mul(h1, 93.9898), mul(idx, 0.0137)), mul(s, 47.853))), 24634.6345));
  return reshapeTo(greaterOrEqual(u, p), shapeTensor(x), x.shape);
}

/**
 * Inverted dropout: kept elements are scaled by 1/(1-p). The third argument
 * is a keep-mask tensor (bool or float 0/1, same shape or broadcastable), a
 * rank-0 seed tensor, or options.
 */
export function dropout(x: Tensor, p: number, source: Tensor | DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout(${x.name}): p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const opts: DropoutOptions = 'graph' in source ? ((source as Tensor).rank === 0 ? { seed: source as Tensor } : { mask: source as Tensor }) : (source as DropoutOptions);
  const scaled = mul(x, 1 / (1 - p));
  if (opts.mask) {
    const m = opts.mask;
    if (m.dtype === 'bool') return where(m, scaled, 0);
    if (m.dtype !== x.dtype) throw new Error(`dropout(${x.name}): mask '${m.name}' is ${m.dtype}, expected bool or ${x.dtype}`);
    return mul(scaled, m);
  }
  if (typeof opts.seed === 'object') return where(dropoutKeepMask(x, p, opts.seed), scaled, 0);
  const keep = greaterOrEqual(randomUniformLike(x, opts.seed !== undefined ? { seed: opts.seed } : {}), p);
  return where(keep, scaled, 0);
}
