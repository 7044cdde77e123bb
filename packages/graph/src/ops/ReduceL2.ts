import type { Tensor } from '../builder.js';
import { div } from './Div.js';
import { mul } from './Mul.js';
import type { OpDef } from './op.js';
import { broadcastBack, keepDims, reduce } from './reduce.js';

/** Euclidean norm over `axes` (empty = all). */
export function reduceL2(x: Tensor, axes: readonly number[], keepdims = true): Tensor {
  return reduce('ReduceL2', x, axes, keepdims);
}

export const ReduceL2Op: OpDef = {
  opType: 'ReduceL2',
  nonDifferentiable: [1],
  // dx = x * dy / ||x|| (undefined at ||x|| = 0, like torch.norm).
  grad: ({ node, inputs, outputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    return [mul(inputs[0]!, broadcastBack(div(dy, outputs[0]!), node)), null];
  },
};
