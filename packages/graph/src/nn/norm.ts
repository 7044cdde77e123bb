import type { Tensor } from '../builder.js';
import type { DType } from '../dtype.js';
import { formatShape } from '../shape.js';
import { add } from '../ops/Add.js';
import { cast } from '../ops/Cast.js';
import { requireFloat } from '../ops/checks.js';
import { mul } from '../ops/Mul.js';
import { reciprocal } from '../ops/Reciprocal.js';
import { reduceMean } from '../ops/ReduceMean.js';
import { sqrt } from '../ops/Sqrt.js';
import { sub } from '../ops/Sub.js';

/** Norms run in float32 (float64 stays float64) like HF's upcast, then cast back. */
function upcast(x: Tensor): Tensor {
  const to: DType = x.dtype === 'float64' ? 'float64' : 'float32';
  return x.dtype === to ? x : cast(x, to);
}

function downcast(y: Tensor, dtype: DType): Tensor {
  return y.dtype === dtype ? y : cast(y, dtype);
}

function checkParam(fn: string, x: Tensor, p: Tensor): void {
  const d = x.shape[x.rank - 1];
  if (p.rank !== 1 || p.shape[0] !== d) throw new Error(`${fn}(${x.name} ${formatShape(x.shape)}): parameter ${p.name} ${formatShape(p.shape)} must be [${d}]`);
  if (p.dtype !== x.dtype) throw new Error(`${fn}(${x.name}): parameter ${p.name} is ${p.dtype}, input is ${x.dtype}`);
}

// transformers models/qwen3/modeling_qwen3.py Qwen3RMSNorm.forward
/** w * (x / sqrt(mean(x², -1) + eps)), normalized in float32 and cast back before the weight. */
export function rmsNorm(x: Tensor, w: Tensor, eps = 1e-6): Tensor {
  requireFloat('rmsNorm', x);
  checkParam('rmsNorm', x, w);
  const xf = upcast(x);
  const variance = reduceMean(mul(xf, xf), [-1], true);
  const normed = mul(xf, reciprocal(sqrt(add(variance, eps))));
  return mul(w, downcast(normed, x.dtype));
}

// torch.nn.functional.layer_norm over the last dim (biased variance)
/** (x - mean) / sqrt(var + eps) * w + b, computed in float32. */
export function layerNorm(x: Tensor, w: Tensor, b: Tensor | null = null, eps = 1e-5): Tensor {
  requireFloat('layerNorm', x);
  checkParam('layerNorm', x, w);
  if (b) checkParam('layerNorm', x, b);
  const xf = upcast(x);
  const centered = sub(xf, reduceMean(xf, [-1], true));
  const variance = reduceMean(mul(centered, centered), [-1], true);
  const normed = downcast(mul(centered, reciprocal(sqrt(add(variance, eps)))), x.dtype);
  const y = mul(normed, w);
  return b ? add(y, b) : y;
}
