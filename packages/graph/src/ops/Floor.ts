import type { Tensor } from '../builder.js';
import { unary } from './elementwise.js';
import type { OpDef } from './op.js';

/** Round down. */
export function floor(x: Tensor): Tensor {
  return unary('Floor', x, { float: true });
}

// Piecewise constant: the gradient is zero almost everywhere, so no contribution.
export const FloorOp: OpDef = { opType: 'Floor', grad: () => [null] };
