import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { mul } from './Mul.js';
import { neg } from './Neg.js';

/** 1/x */
export function reciprocal(x: Tensor): Tensor {
  return unary('Reciprocal', x, { float: true });
}

export const ReciprocalOp: OpDef = {
  opType: 'Reciprocal',
  grad: ({ outputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const y = outputs[0]!;
    return [neg(mul(dy, mul(y, y)))];
  },
};
