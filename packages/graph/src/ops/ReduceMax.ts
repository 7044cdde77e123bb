import type { Tensor } from '../builder.js';
import { cast } from './Cast.js';
import { div } from './Div.js';
import { equal } from './Equal.js';
import { mul } from './Mul.js';
import type { OpDef } from './op.js';
import { broadcastBack, keepDims, reduce, reducedAxes } from './reduce.js';
import { reduceSum } from './ReduceSum.js';

/** Max over `axes` (empty = all). */
export function reduceMax(x: Tensor, axes: readonly number[], keepdims = true): Tensor {
  return reduce('ReduceMax', x, axes, keepdims, false);
}

export const ReduceMaxOp: OpDef = {
  opType: 'ReduceMax',
  nonDifferentiable: [1],
  // The gradient is shared equally among tied maxima (as tinygrad and torch.amax).
  grad: ({ node, inputs, outputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const x = inputs[0]!;
    const mask = cast(equal(x, keepDims(outputs[0]!, node)), x.dtype);
    const count = reduceSum(mask, reducedAxes(node), true);
    return [mul(mask, div(broadcastBack(dy, node), count)), null];
  },
};
