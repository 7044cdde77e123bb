import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { mul } from './Mul.js';
import { sub } from './Sub.js';

/** tanh */
export function tanh(x: Tensor): Tensor {
  return unary('Tanh', x, { float: true });
}

export const TanhOp: OpDef = {
  opType: 'Tanh',
  grad: ({ outputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const y = outputs[0]!;
    return [mul(dy, sub(1, mul(y, y)))];
  },
};
