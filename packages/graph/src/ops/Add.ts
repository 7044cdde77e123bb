import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { binary } from './elementwise.js';
import type { OpDef } from './op.js';

export function add(a: TensorLike, b: TensorLike): Tensor {
  return binary('Add', a, b);
}

export const AddOp: OpDef = {
  opType: 'Add',
  // Broadcast gradients are summed back to each input's shape by autodiff.
  grad: ({ dys }) => [dys[0] ?? null, dys[0] ?? null],
};
