import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { mul } from './Mul.js';

/** eˣ */
export function exp(x: Tensor): Tensor {
  return unary('Exp', x, { float: true });
}

export const ExpOp: OpDef = {
  opType: 'Exp',
  grad: ({ outputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const y = outputs[0]!;
    return [mul(dy, y)];
  },
};
