import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { binary } from './elementwise.js';
import { mul } from './Mul.js';
import { neg } from './Neg.js';
import type { OpDef } from './op.js';

export function div(a: TensorLike, b: TensorLike): Tensor {
  return binary('Div', a, b);
}

export const DivOp: OpDef = {
  opType: 'Div',
  // y = a / b: da = dy / b, db = -dy * y / b.
  grad: ({ inputs, outputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    const b = inputs[1]!;
    const da = needs[0] ? div(dy, b) : null;
    const db = needs[1] ? neg(div(mul(dy, outputs[0]!), b)) : null;
    return [da, db];
  },
};
