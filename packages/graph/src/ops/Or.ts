import type { Tensor } from '../builder.js';
import { logical } from './elementwise.js';
import { noGrad, type OpDef } from './op.js';

export function or(a: Tensor, b: Tensor): Tensor {
  return logical('Or', a, b);
}

export const OrOp: OpDef = { opType: 'Or', nonDifferentiable: [0, 1], grad: noGrad };
