import type { Tensor } from '../builder.js';
import { mul } from './Mul.js';
import type { OpDef } from './op.js';
import { broadcastBack, reduce } from './reduce.js';

/** Sum of squares over `axes` (empty = all). */
export function reduceSumSquare(x: Tensor, axes: readonly number[], keepdims = true): Tensor {
  return reduce('ReduceSumSquare', x, axes, keepdims);
}

export const ReduceSumSquareOp: OpDef = {
  opType: 'ReduceSumSquare',
  nonDifferentiable: [1],
  grad: ({ node, inputs, dys }) => (dys[0] ? [mul(mul(inputs[0]!, 2), broadcastBack(dys[0], node)), null] : []),
};
