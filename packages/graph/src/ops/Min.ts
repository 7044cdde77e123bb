import type { Tensor } from '../builder.js';
import type { TensorLike } from './checks.js';
import { binary } from './elementwise.js';
import { lessOrEqual } from './LessOrEqual.js';
import { not } from './Not.js';
import type { OpDef } from './op.js';
import { where } from './Where.js';

/** Elementwise min of two tensors (ONNX Min is variadic; we use the binary form). */
export function min(a: TensorLike, b: TensorLike): Tensor {
  return binary('Min', a, b);
}

export const MinOp: OpDef = {
  opType: 'Min',
  // Ties send the whole gradient to the first input (like torch.minimum's subgradient choice of one side).
  grad: ({ inputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    const first = lessOrEqual(inputs[0]!, inputs[1]!);
    return [needs[0] ? where(first, dy, 0) : null, needs[1] ? where(not(first), dy, 0) : null];
  },
};
