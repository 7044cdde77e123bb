import type { Tensor } from '../builder.js';
import { normAxis } from '../shape.js';
import { constNumbers, scalar } from './Constant.js';
import type { OpDef } from './op.js';

export interface CumSumOptions {
  readonly exclusive?: boolean;
  readonly reverse?: boolean;
}

/** Cumulative sum along `axis` (a number or an int64 scalar tensor). */
export function cumsum(x: Tensor, axis: Tensor | number, opts: CumSumOptions = {}): Tensor {
  const where = `CumSum(${x.name})`;
  let axisT: Tensor;
  if (typeof axis === 'number') {
    axisT = scalar(x.graph, normAxis(axis, x.rank, where), 'int64');
  } else {
    if ((axis.dtype !== 'int64' && axis.dtype !== 'int32') || axis.rank !== 0) throw new Error(`${where}: axis must be an int scalar, got ${axis.toString()}`);
    axisT = axis;
  }
  const attrs = { exclusive: opts.exclusive ? 1 : 0, reverse: opts.reverse ? 1 : 0 };
  return x.graph.node('CumSum', [x, axisT], attrs, [{ dtype: x.dtype, shape: x.shape }])[0]!;
}

export const CumSumOp: OpDef = {
  opType: 'CumSum',
  nonDifferentiable: [1],
  // The transpose of a prefix sum is the suffix sum (same exclusivity).
  grad: ({ node, inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const axis = constNumbers(inputs[1]!)?.[0] ?? inputs[1]!;
    return [cumsum(dy, axis, { exclusive: node.attrs.exclusive === 1, reverse: node.attrs.reverse !== 1 }), null];
  },
};
