import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { compare } from './elementwise.js';
import { noGrad, type OpDef } from './op.js';

/** Elementwise GreaterOrEqual with broadcasting; bool output. */
export function greaterOrEqual(a: TensorLike, b: TensorLike): Tensor {
  return compare('GreaterOrEqual', a, b);
}

export const GreaterOrEqualOp: OpDef = { opType: 'GreaterOrEqual', nonDifferentiable: [0, 1], grad: noGrad };
