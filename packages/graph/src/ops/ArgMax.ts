import type { Tensor } from '../builder.js';
import { normAxis } from '../shape.js';
import { noGrad, type OpDef } from './op.js';

/** Index of the first maximum along `axis` (int64). */
export function argMax(x: Tensor, axis = -1, keepdims = true): Tensor {
  const a = normAxis(axis, x.rank, `ArgMax(${x.name})`);
  const shape = keepdims ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  return x.graph.node('ArgMax', [x], { axis: a, keepdims: keepdims ? 1 : 0 }, [{ dtype: 'int64', shape }])[0]!;
}

export const ArgMaxOp: OpDef = { opType: 'ArgMax', nonDifferentiable: [0], grad: noGrad };
