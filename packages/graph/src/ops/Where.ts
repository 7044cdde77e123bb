import type { Tensor } from '../builder.js';
import { broadcastShapes } from '../shape.js';
import { sameDType, toTensors, type TensorLike } from './checks.js';
import type { OpDef } from './op.js';

/** cond ? a : b, all three broadcast together; numbers take the other branch's dtype. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (cond.dtype !== 'bool') throw new Error(`Where: condition '${cond.name}' must be bool, got ${cond.dtype}`);
  const [ta, tb] = toTensors('Where', a, b);
  const dtype = sameDType('Where', ta, tb);
  const where_ = `Where(${cond.name}, ${ta.name}, ${tb.name})`;
  const shape = broadcastShapes(broadcastShapes(cond.shape, ta.shape, where_), tb.shape, where_);
  return cond.graph.node('Where', [cond, ta, tb], {}, [{ dtype, shape }])[0]!;
}

export const WhereOp: OpDef = {
  opType: 'Where',
  nonDifferentiable: [0],
  grad: ({ inputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    const c = inputs[0]!;
    return [null, needs[1] ? where(c, dy, 0) : null, needs[2] ? where(c, 0, dy) : null];
  },
};
