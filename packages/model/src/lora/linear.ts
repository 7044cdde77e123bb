// PEFT's LoRA Linear forward (peft/tuners/lora/layer.py Linear.forward):
//   y = base(x) + lora_B(lora_A(dropout(x))) * scaling,  scaling = alpha / r
import { add, linear, mul, mulberry32, scalar, type Tensor } from '@vlreward/graph';
import type { TensorData } from '@vlreward/graph';
import type { Qwen3VLConfig } from '../qwen3_vl/config.js';
import type { LoraConfig } from './config.js';
import { loraTargets } from './targets.js';

export interface LoraFactors {
  /** [r, in] */
  readonly a: Tensor;
  /** [out, r] */
  readonly b: Tensor;
  readonly scale: number;
  /** Applied to x before lora_A (training graphs); identity when absent. */
  readonly dropout?: (x: Tensor) => Tensor;
}

/** x·Wᵀ (+ bias) plus the low-rank update when `lora` is given. */
export function loraLinear(x: Tensor, w: Tensor, bias: Tensor | undefined, lora: LoraFactors | null): Tensor {
  const base = linear(x, w, bias);
  if (!lora) return base;
  const xin = lora.dropout ? lora.dropout(x) : x;
  const delta = linear(linear(xin, lora.a), lora.b);
  return add(base, lora.scale === 1 ? delta : mul(delta, scalar(x.graph, lora.scale)));
}

/**
 * Fresh adapter weights as PEFT initialises them (init_lora_weights=True):
 * lora_A Kaiming-uniform with a = sqrt(5) (bound 1/sqrt(in)), lora_B zeros.
 * `nonZeroB` gives B small random values instead (tests that need a visible update).
 */
export function initLoraWeights(config: Qwen3VLConfig, lora: LoraConfig, seed = 0, nonZeroB = 0): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  const rnd = mulberry32(seed ^ 0x10a4);
  for (const t of loraTargets(config, lora)) {
    const a = new Float32Array(lora.r * t.inFeatures);
    const bound = 1 / Math.sqrt(t.inFeatures);
    for (let i = 0; i < a.length; i++) a[i] = (2 * rnd() - 1) * bound;
    const b = new Float32Array(t.outFeatures * lora.r);
    if (nonZeroB) for (let i = 0; i < b.length; i++) b[i] = (2 * rnd() - 1) * nonZeroB;
    out.set(t.nameA, { dtype: 'float32', dims: [lora.r, t.inFeatures], data: a });
    out.set(t.nameB, { dtype: 'float32', dims: [t.outFeatures, lora.r], data: b });
  }
  return out;
}
