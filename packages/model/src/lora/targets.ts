// Which text-decoder Linear layers get adapters, and their PEFT names
// (peft/tuners/lora/model.py LoraModel._create_and_replace; saved names drop
// the adapter name: base_model.model.<module>.lora_A.weight).
import type { Qwen3VLConfig } from '../qwen3_vl/config.js';
import type { LoraConfig, LoraModule } from './config.js';

export interface LoraTarget {
  /** HF module path, e.g. model.language_model.layers.0.self_attn.q_proj */
  readonly module: string;
  readonly kind: LoraModule;
  readonly layer: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** PEFT saved names of the two factors. */
  readonly nameA: string;
  readonly nameB: string;
}

export const PEFT_PREFIX = 'base_model.model.';

/**
 * A PEFT tensor name → module path and factor: `base_model.model.<path>.lora_A.weight`
 * (also the in-memory `lora_A.default.weight`). The graph-side twin of the
 * checkpoint package's parsePeftTensorName, which owns the file format.
 */
export function parsePeftName(name: string): { modulePath: string; which: 'A' | 'B' } | undefined {
  const m = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(name);
  return m ? { modulePath: m[1]!, which: m[2] as 'A' | 'B' } : undefined;
}

export function loraModulePath(layer: number, kind: LoraModule): string {
  const sub = kind === 'gate_proj' || kind === 'up_proj' || kind === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.language_model.layers.${layer}.${sub}.${kind}`;
}

export function loraTargets(config: Qwen3VLConfig, lora: LoraConfig): LoraTarget[] {
  const t = config.text;
  const q = t.numAttentionHeads * t.headDim;
  const kv = t.numKeyValueHeads * t.headDim;
  const dims: Record<LoraModule, [number, number]> = {
    q_proj: [t.hiddenSize, q],
    k_proj: [t.hiddenSize, kv],
    v_proj: [t.hiddenSize, kv],
    o_proj: [q, t.hiddenSize],
    gate_proj: [t.hiddenSize, t.intermediateSize],
    up_proj: [t.hiddenSize, t.intermediateSize],
    down_proj: [t.intermediateSize, t.hiddenSize],
  };
  const out: LoraTarget[] = [];
  for (let layer = 0; layer < t.numHiddenLayers; layer++) {
    for (const kind of lora.targetModules) {
      const module = loraModulePath(layer, kind);
      const [inFeatures, outFeatures] = dims[kind];
      out.push({
        module,
        kind,
        layer,
        inFeatures,
        outFeatures,
        nameA: `${PEFT_PREFIX}${module}.lora_A.weight`,
        nameB: `${PEFT_PREFIX}${module}.lora_B.weight`,
      });
    }
  }
  return out;
}

/** LoRA parameter count: r * (in + out) per target. */
export function loraParamCount(config: Qwen3VLConfig, lora: LoraConfig): number {
  return loraTargets(config, lora).reduce((a, x) => a + lora.r * (x.inFeatures + x.outFeatures), 0);
}
