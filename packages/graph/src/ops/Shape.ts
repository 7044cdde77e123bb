import type { Tensor } from '../builder.js';
import { noGrad } from './op.js';
import type { OpDef } from './op.js';

/** The shape of x as 1-D int64 (ONNX Shape, opset 15 start/end, negatives allowed). */
export function shapeOf(x: Tensor, start?: number, end?: number): Tensor {
  const r = x.rank;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const s = clamp(start ?? 0);
  const e = clamp(end ?? r);
  const attrs: Record<string, number> = {};
  if (start !== undefined) attrs.start = start;
  if (end !== undefined) attrs.end = end;
  return x.graph.node('Shape', [x], attrs, [{ dtype: 'int64', shape: [Math.max(e - s, 0)] }])[0]!;
}

export const ShapeOp: OpDef = { opType: 'Shape', nonDifferentiable: [0], grad: noGrad };
