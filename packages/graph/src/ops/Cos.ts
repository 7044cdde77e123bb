import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { mul } from './Mul.js';
import { neg } from './Neg.js';
import { sin } from './Sin.js';

/** cos */
export function cos(x: Tensor): Tensor {
  return unary('Cos', x, { float: true });
}

export const CosOp: OpDef = {
  opType: 'Cos',
  grad: ({ inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const x = inputs[0]!;
    return [neg(mul(dy, sin(x)))];
  },
};
