import type { Tensor } from '../builder.js';
import { formatShape } from '../shape.js';
import { add } from '../ops/Add.js';
import { concat } from '../ops/Concat.js';
import { mul } from '../ops/Mul.js';
import { neg } from '../ops/Neg.js';
import { split } from '../ops/Split.js';

// transformers models/qwen3_vl/modeling_qwen3_vl.py rotate_half
/** cat(-x2, x1) over the halves of the last dim (which must be static and even). */
export function rotateHalf(x: Tensor): Tensor {
  const d = x.shape[x.rank - 1];
  if (typeof d !== 'number' || d % 2 !== 0) throw new Error(`rotateHalf(${x.name} ${formatShape(x.shape)}): last dim must be static and even`);
  const [x1, x2] = split(x, [d / 2, d / 2], -1) as [Tensor, Tensor];
  return concat([neg(x2), x1], -1);
}

// transformers models/qwen3_vl/modeling_qwen3_vl.py apply_rotary_pos_emb (one tensor)
/** x·cos + rotateHalf(x)·sin; cos/sin must broadcast to x (e.g. [B,1,S,D] for x [B,H,S,D]). */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return add(mul(x, cos), mul(rotateHalf(x), sin));
}
