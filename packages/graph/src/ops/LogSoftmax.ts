import type { Tensor } from '../builder.js';
import { normAxis } from '../shape.js';
import { requireFloat } from './checks.js';
import { exp } from './Exp.js';
import { mul } from './Mul.js';
import type { OpDef } from './op.js';
import { reduceSum } from './ReduceSum.js';
import { sub } from './Sub.js';

/** log(softmax(x)) along one axis, computed stably by ORT. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  requireFloat('LogSoftmax', x);
  normAxis(axis, x.rank, `LogSoftmax(${x.name})`);
  return x.graph.node('LogSoftmax', [x], { axis }, [{ dtype: x.dtype, shape: x.shape }])[0]!;
}

export const LogSoftmaxOp: OpDef = {
  opType: 'LogSoftmax',
  // dx = dy - softmax(x) * sum(dy, axis), with softmax = exp(y).
  grad: ({ node, outputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const axis = node.attrs.axis as number;
    return [sub(dy, mul(exp(outputs[0]!), reduceSum(dy, [axis], true)))];
  },
};
