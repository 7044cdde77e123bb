import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { exp } from './Exp.js';
import { mul } from './Mul.js';
import { neg } from './Neg.js';

/** Gauss error function */
export function erf(x: Tensor): Tensor {
  return unary('Erf', x, { float: true });
}

export const ErfOp: OpDef = {
  opType: 'Erf',
  grad: ({ inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const x = inputs[0]!;
    return [mul(dy, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  },
};
