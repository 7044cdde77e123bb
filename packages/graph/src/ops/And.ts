import type { Tensor } from '../builder.js';
import { logical } from './elementwise.js';
import { noGrad, type OpDef } from './op.js';

export function and(a: Tensor, b: Tensor): Tensor {
  return logical('And', a, b);
}

export const AndOp: OpDef = { opType: 'And', nonDifferentiable: [0, 1], grad: noGrad };
