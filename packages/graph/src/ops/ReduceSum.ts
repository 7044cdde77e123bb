import type { Tensor } from '../builder.js';
import type { OpDef } from './op.js';
import { broadcastBack, reduce } from './reduce.js';

/** Sum over `axes` (empty = all). Integer inputs are allowed (counts). */
export function reduceSum(x: Tensor, axes: readonly number[], keepdims = true): Tensor {
  return reduce('ReduceSum', x, axes, keepdims, false);
}

export const ReduceSumOp: OpDef = {
  opType: 'ReduceSum',
  nonDifferentiable: [1],
  grad: ({ node, dys }) => (dys[0] ? [broadcastBack(dys[0], node), null] : []),
};
