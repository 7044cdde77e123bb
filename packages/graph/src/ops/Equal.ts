import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { compare } from './elementwise.js';
import { noGrad, type OpDef } from './op.js';

/** Elementwise Equal with broadcasting; bool output. */
export function equal(a: TensorLike, b: TensorLike): Tensor {
  return compare('Equal', a, b);
}

export const EqualOp: OpDef = { opType: 'Equal', nonDifferentiable: [0, 1], grad: noGrad };
