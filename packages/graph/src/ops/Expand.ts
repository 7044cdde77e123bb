import type { Tensor } from '../builder.js';
import { broadcastShapes, formatShape, type Dim, type Shape } from '../shape.js';
import { constInt64, constNumbers } from './Constant.js';
import type { OpDef } from './op.js';

/**
 * Broadcast x to `shape` (ONNX Expand: bidirectional, a 1 in `shape` keeps
 * x's dim). With a runtime shape tensor, pass `outShape` to name the result's
 * dims; otherwise a constant tensor's values or fresh symbols are used.
 */
export function expand(x: Tensor, shape: Tensor | readonly number[], outShape?: Shape): Tensor {
  const where = `Expand(${x.name} ${formatShape(x.shape)})`;
  let shapeT: Tensor;
  let target: Shape;
  if (Array.isArray(shape)) {
    const dims = shape as readonly number[];
    shapeT = constInt64(x.graph, dims);
    target = dims;
  } else {
    shapeT = shape as Tensor;
    if (shapeT.dtype !== 'int64' || shapeT.rank !== 1) throw new Error(`${where}: shape must be 1-D int64, got ${shapeT.toString()}`);
    const known = constNumbers(shapeT);
    if (outShape) target = outShape;
    else if (known) target = known;
    else {
      const n = shapeT.shape[0];
      if (typeof n !== 'number') throw new Error(`${where}: shape tensor '${shapeT.name}' has unknown length; pass outShape`);
      // Unknown values: x's dims survive where they are not 1 (a 1 in shape keeps them).
      target = Array.from({ length: Math.max(n, x.rank) }, (_, i): Dim => {
        const d = x.shape[x.rank - Math.max(n, x.rank) + i];
        return d !== undefined && d !== 1 ? d : x.graph.freshDim('expand');
      });
    }
  }
  const out = broadcastShapes(x.shape, target, where);
  return x.graph.node('Expand', [x, shapeT], {}, [{ dtype: x.dtype, shape: out }])[0]!;
}

export const ExpandOp: OpDef = {
  opType: 'Expand',
  nonDifferentiable: [1],
  // Autodiff sums the broadcast gradient back to x's shape.
  grad: ({ dys }) => [dys[0] ?? null, null],
};
