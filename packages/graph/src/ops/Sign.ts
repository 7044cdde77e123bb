import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';

/** sign(x) ∈ {-1, 0, 1}. */
export function sign(x: Tensor): Tensor {
  return unary('Sign', x);
}

// Piecewise constant: the gradient is zero almost everywhere, so no contribution.
export const SignOp: OpDef = { opType: 'Sign', grad: () => [null] };
