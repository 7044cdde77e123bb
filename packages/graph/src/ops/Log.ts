import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';
import { div } from './Div.js';

/** natural log */
export function log(x: Tensor): Tensor {
  return unary('Log', x, { float: true });
}

export const LogOp: OpDef = {
  opType: 'Log',
  grad: ({ inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const x = inputs[0]!;
    return [div(dy, x)];
  },
};
