import type { Tensor } from '../builder.js';
import { greaterOrEqual } from '../ops/GreaterOrEqual.js';
import { mul } from '../ops/Mul.js';
import { randomUniformLike } from '../ops/RandomUniformLike.js';
import { where } from '../ops/Where.js';

export interface DropoutOptions {
  /** Keep-mask (bool, or float 0/1) broadcastable to x: deterministic, fed per step. */
  readonly mask?: Tensor;
  /** Seed for an in-graph Bernoulli mask (RandomUniformLike; the stream advances per run). */
  readonly seed?: number;
}

/**
 * Inverted dropout: kept elements are scaled by 1/(1-p). The mask comes
 * from a tensor (recommended: reproducible and recompute-safe) or a seeded
 * in-graph generator.
 */
export function dropout(x: Tensor, p: number, source: Tensor | DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout(${x.name}): p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const opts: DropoutOptions = 'graph' in source ? { mask: source as Tensor } : (source as DropoutOptions);
  const scaled = mul(x, 1 / (1 - p));
  if (opts.mask) {
    const m = opts.mask;
    if (m.dtype === 'bool') return where(m, scaled, 0);
    if (m.dtype !== x.dtype) throw new Error(`dropout(${x.name}): mask '${m.name}' is ${m.dtype}, expected bool or ${x.dtype}`);
    return mul(scaled, m);
  }
  const keep = greaterOrEqual(randomUniformLike(x, opts.seed !== undefined ? { seed: opts.seed } : {}), p);
  return where(keep, scaled, 0);
}
