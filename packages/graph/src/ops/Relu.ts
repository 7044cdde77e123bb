import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { greater } from './Greater.js';
import { where } from './Where.js';

/** max(x, 0) (gradient 0 at 0) */
export function relu(x: Tensor): Tensor {
  return unary('Relu', x);
}

export const ReluOp: OpDef = {
  opType: 'Relu',
  grad: ({ inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const x = inputs[0]!;
    return [where(greater(x, 0), dy, 0)];
  },
};
