import type { Tensor } from '../builder.js';
import { assertDType, isFloat, ONNX_DTYPE, type DType } from '../dtype.js';
import type { OpDef } from './op.js';

/** Convert element type (ONNX Cast, round-to-nearest for floats). */
export function cast(x: Tensor, dtype: DType): Tensor {
  assertDType(dtype, `Cast(${x.name})`);
  return x.graph.node('Cast', [x], { to: ONNX_DTYPE[dtype] }, [{ dtype, shape: x.shape }])[0]!;
}

export const CastOp: OpDef = {
  opType: 'Cast',
  // Float -> float casts pass the gradient back in the input's dtype; casts
  // to integers produce integer outputs, which autodiff never differentiates.
  grad: ({ inputs, dys }) => {
    const dy = dys[0];
    const x = inputs[0]!;
    if (!dy || !isFloat(x.dtype)) return [null];
    return [dy.dtype === x.dtype ? dy : cast(dy, x.dtype)];
  },
};
