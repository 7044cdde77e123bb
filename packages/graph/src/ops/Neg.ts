import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';

/** -x */
export function neg(x: Tensor): Tensor {
  return unary('Neg', x);
}

export const NegOp: OpDef = {
  opType: 'Neg',
  grad: ({ dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    return [neg(dy)];
  },
};
