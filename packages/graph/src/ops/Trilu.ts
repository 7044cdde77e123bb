import type { Tensor } from '../builder.js';
import { scalar } from './Constant.js';
import type { OpDef } from './op.js';

/** Keep the upper (or lower) triangle of the last two dims, offset by diagonal k. */
export function trilu(x: Tensor, upper: boolean, k = 0): Tensor {
  if (x.rank < 2) throw new Error(`Trilu(${x.name}): needs rank >= 2, got ${x.rank}`);
  const inputs = k === 0 ? [x] : [x, scalar(x.graph, k, 'int64')];
  return x.graph.node('Trilu', inputs, { upper: upper ? 1 : 0 }, [{ dtype: x.dtype, shape: x.shape }])[0]!;
}

export const TriluOp: OpDef = {
  opType: 'Trilu',
  nonDifferentiable: [1],
  // Masking is its own transpose: mask dy the same way.
  grad: ({ node, inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const y = dy.graph.node('Trilu', [dy, ...(inputs[1] ? [inputs[1]] : [])], node.attrs, [{ dtype: dy.dtype, shape: dy.shape }])[0]!;
    return [y, null];
  },
};
