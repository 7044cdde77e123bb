import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { compare } from './elementwise.js';
import { noGrad, type OpDef } from './op.js';

/** Elementwise Greater with broadcasting; bool output. */
export function greater(a: TensorLike, b: TensorLike): Tensor {
  return compare('Greater', a, b);
}

export const GreaterOp: OpDef = { opType: 'Greater', nonDifferentiable: [0, 1], grad: noGrad };
