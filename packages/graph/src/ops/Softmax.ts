import type { Tensor } from '../builder.js';
import { normAxis } from '../shape.js';
import { requireFloat } from './checks.js';
import { mul } from './Mul.js';
import type { OpDef } from './op.js';
import { reduceSum } from './ReduceSum.js';
import { sub } from './Sub.js';

/** Softmax along one axis (opset 13 semantics). */
export function softmax(x: Tensor, axis = -1): Tensor {
  requireFloat('Softmax', x);
  normAxis(axis, x.rank, `Softmax(${x.name})`);
  return x.graph.node('Softmax', [x], { axis }, [{ dtype: x.dtype, shape: x.shape }])[0]!;
}

export const SoftmaxOp: OpDef = {
  opType: 'Softmax',
  // dx = y * (dy - sum(dy * y, axis))
  grad: ({ node, outputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const y = outputs[0]!;
    const axis = node.attrs.axis as number;
    return [mul(y, sub(dy, reduceSum(mul(dy, y), [axis], true)))];
  },
};
