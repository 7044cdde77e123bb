import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { mul } from './Mul.js';
import { sub } from './Sub.js';

/** 1 / (1 + e⁻ˣ) */
export function sigmoid(x: Tensor): Tensor {
  return unary('Sigmoid', x, { float: true });
}

export const SigmoidOp: OpDef = {
  opType: 'Sigmoid',
  grad: ({ outputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const y = outputs[0]!;
    return [mul(dy, mul(y, sub(1, y)))];
  },
};
