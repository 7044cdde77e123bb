import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { div } from './Div.js';
import { mul } from './Mul.js';

/** √x */
export function sqrt(x: Tensor): Tensor {
  return unary('Sqrt', x, { float: true });
}

export const SqrtOp: OpDef = {
  opType: 'Sqrt',
  grad: ({ outputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const y = outputs[0]!;
    return [div(mul(dy, 0.5), y)];
  },
};
