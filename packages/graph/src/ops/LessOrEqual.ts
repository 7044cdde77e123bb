import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { compare } from './elementwise.js';
import { noGrad, type OpDef } from './op.js';

/** Elementwise LessOrEqual with broadcasting; bool output. */
export function lessOrEqual(a: TensorLike, b: TensorLike): Tensor {
  return compare('LessOrEqual', a, b);
}

export const LessOrEqualOp: OpDef = { opType: 'LessOrEqual', nonDifferentiable: [0, 1], grad: noGrad };
