import type { Tensor } from '../builder.js';
import { noGrad } from './op.js';
import type { OpDef } from './op.js';

/** Number of elements as a rank-0 int64 tensor. */
export function size(x: Tensor): Tensor {
  return x.graph.node('Size', [x], {}, [{ dtype: 'int64', shape: [] }])[0]!;
}

export const SizeOp: OpDef = { opType: 'Size', nonDifferentiable: [0], grad: noGrad };
