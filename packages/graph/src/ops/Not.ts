import type { Tensor } from '../builder.js';
import { logical } from './elementwise.js';
import { noGrad, type OpDef } from './op.js';

export function not(x: Tensor): Tensor {
  return logical('Not', x);
}

export const NotOp: OpDef = { opType: 'Not', nonDifferentiable: [0], grad: noGrad };
