import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { compare } from './elementwise.js';
import { noGrad, type OpDef } from './op.js';

/** Elementwise Less with broadcasting; bool output. */
export function less(a: TensorLike, b: TensorLike): Tensor {
  return compare('Less', a, b);
}

export const LessOp: OpDef = { opType: 'Less', nonDifferentiable: [0, 1], grad: noGrad };
