import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { binary } from './elementwise.js';
import { greaterOrEqual } from './GreaterOrEqual.js';
import { not } from './Not.js';
import type { OpDef } from './op.js';
import { where } from './Where.js';

/** Elementwise max of two tensors (ONNX Max is variadic; we use the binary form). */
export function max(a: TensorLike, b: TensorLike): Tensor {
  return binary('Max', a, b);
}

export const MaxOp: OpDef = {
  opType: 'Max',
  // Ties send the whole gradient to the first input (like torch.maximum's subgradient choice of one side).
  grad: ({ inputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    const first = greaterOrEqual(inputs[0]!, inputs[1]!);
    return [needs[0] ? where(first, dy, 0) : null, needs[1] ? where(not(first), dy, 0) : null];
  },
};
