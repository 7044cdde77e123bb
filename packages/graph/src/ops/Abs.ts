import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { mul } from './Mul.js';
import { sign } from './Sign.js';

/** |x| (gradient sign(x), 0 at 0) */
export function abs(x: Tensor): Tensor {
  return unary('Abs', x);
}

export const AbsOp: OpDef = {
  opType: 'Abs',
  grad: ({ inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const x = inputs[0]!;
    return [mul(dy, sign(x))];
  },
};
