import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { binary } from './elementwise.js';
import { neg } from './Neg.js';
import type { OpDef } from './op.js';

export function sub(a: TensorLike, b: TensorLike): Tensor {
  return binary('Sub', a, b);
}

export const SubOp: OpDef = {
  opType: 'Sub',
  grad: ({ dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    return [dy, needs[1] ? neg(dy) : null];
  },
};
