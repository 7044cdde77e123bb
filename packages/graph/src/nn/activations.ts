import type { Tensor } from '../builder.js';
import { add } from '../ops/Add.js';
import { div } from '../ops/Div.js';
import { erf } from '../ops/Erf.js';
import { exp } from '../ops/Exp.js';
import { mul } from '../ops/Mul.js';
import { neg } from '../ops/Neg.js';
import { sigmoid } from '../ops/Sigmoid.js';
import { tanh } from '../ops/Tanh.js';

// transformers activations.py GELUActivation (exact, erf form)
/** 0.5·x·(1 + erf(x/√2)) */
export function gelu(x: Tensor): Tensor {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

// transformers activations.py PytorchGELUTanh / gelu_pytorch_tanh (Qwen3-VL vision MLP)
/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) */
export function geluTanh(x: Tensor): Tensor {
  const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

/** x·σ(x) (torch.nn.functional.silu) */
export function silu(x: Tensor): Tensor {
  // ORT 1.30's QuickGeluFusion rewrites x*Sigmoid(x) into com.microsoft.QuickGelu,
  // which has only a float kernel: float64 graphs would fail to load. The
  // same value written as x / (1 + e^-x) does not match the pattern.
  if (x.dtype === 'float64') return div(x, add(exp(neg(x)), 1));
  return mul(x, sigmoid(x));
}
