import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { binary } from './elementwise.js';
import type { OpDef } from './op.js';

export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binary('Mul', a, b);
}

export const MulOp: OpDef = {
  opType: 'Mul',
  grad: ({ inputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    return [needs[0] ? mul(dy, inputs[1]!) : null, needs[1] ? mul(dy, inputs[0]!) : null];
  },
};
