import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { cos } from './Cos.js';
import { mul } from './Mul.js';

/** sin */
export function sin(x: Tensor): Tensor {
  return unary('Sin', x, { float: true });
}

export const SinOp: OpDef = {
  opType: 'Sin',
  grad: ({ inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const x = inputs[0]!;
    return [mul(dy, cos(x))];
  },
};
