import type { Tensor } from '../builder.js';
import { ONNX_DTYPE } from '../dtype.js';
import { requireFloat } from './checks.js';
import type { OpDef } from './op.js';

export interface RandomUniformOptions {
  readonly low?: number;
  readonly high?: number;
  /** ORT seeds the kernel's generator once; successive runs continue its stream. */
  readonly seed?: number;
}

/** Uniform noise with x's shape and dtype (x's values are unused). */
export function randomUniformLike(x: Tensor, opts: RandomUniformOptions = {}): Tensor {
  requireFloat('RandomUniformLike', x);
  const attrs = {
    dtype: ONNX_DTYPE[x.dtype],
    low: { float: opts.low ?? 0 },
    high: { float: opts.high ?? 1 },
    ...(opts.seed !== undefined ? { seed: { float: opts.seed } } : {}),
  };
  return x.graph.node('RandomUniformLike', [x], attrs, [{ dtype: x.dtype, shape: x.shape }])[0]!;
}

export const RandomUniformLikeOp: OpDef = {
  opType: 'RandomUniformLike',
  nonDifferentiable: [0],
  nondeterministic: true,
  grad: () => [null],
};
