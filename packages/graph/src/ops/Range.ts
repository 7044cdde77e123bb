import type { Tensor } from '../builder.js';
import type { Dim } from '../shape.js';
import { sameDType } from './checks.js';
import { constNumbers } from './Constant.js';
import { noGrad } from './op.js';
import type { OpDef } from './op.js';

/**
 * [start, start+delta, ...) below limit; scalar tensors of one dtype. The
 * length is exact when all three are constants; otherwise `length` names it
 * (e.g. a known sequence dim) or it gets a fresh symbol.
 */
export function range(start: Tensor, limit: Tensor, delta: Tensor, length?: Dim): Tensor {
  const dtype = sameDType('Range', start, limit, delta);
  for (const t of [start, limit, delta]) if (t.rank !== 0) throw new Error(`Range: '${t.name}' must be a scalar, got rank ${t.rank}`);
  const [s, l, d] = [start, limit, delta].map((t) => constNumbers(t)?.[0]);
  let n: Dim;
  if (length !== undefined) n = length;
  else if (s !== undefined && l !== undefined && d !== undefined) n = Math.max(Math.ceil((l - s) / d), 0);
  else n = start.graph.freshDim('range');
  return start.graph.node('Range', [start, limit, delta], {}, [{ dtype, shape: [n] }])[0]!;
}

export const RangeOp: OpDef = { opType: 'Range', nonDifferentiable: [0, 1, 2], grad: noGrad };
