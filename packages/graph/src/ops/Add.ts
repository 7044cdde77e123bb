import type { Tensor } from '../builder.js';
import { broadcastShapes } from '../shape.js';
import { sameDType } from './checks.js';
import type { OpDef } from './op.js';

export function add(a: Tensor, b: Tensor): Tensor {
  const dtype = sameDType('Add', a, b);
  const shape = broadcastShapes(a.shape, b.shape, `Add(${a.name}, ${b.name})`);
  return a.graph.node('Add', [a, b], {}, [{ dtype, shape }])[0]!;
}

export const AddOp: OpDef = {
  opType: 'Add',
  // Broadcast gradients are summed back to each input's shape by autodiff.
  grad: ({ dys }) => [dys[0] ?? null, dys[0] ?? null],
};
