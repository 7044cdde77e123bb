// Text decoder of Qwen3-VL (transformers models/qwen3_vl/modeling_qwen3_vl.py:
// Qwen3VLTextModel.forward, Qwen3VLTextDecoderLayer, Qwen3VLTextAttention,
// Qwen3VLTextMLP, Qwen3VLTextRMSNorm), with optional LoRA on its projections.
import { add, applyRotary, attention, concat, mul, reshape, rmsNorm, silu, transpose, unsqueeze, type Graph, type Tensor } from '@vlreward/graph';
import { loraLinear, type LoraFactors } from '../lora/linear.js';
import type { LoraModule } from '../lora/config.js';
import type { Qwen3VLConfig } from './config.js';
import { addDeepstack } from './deepstack.js';
import type { ParamSource } from './params.js';

export interface TextInputs {
  /** [B, S, H] merged embeddings */
  readonly inputsEmbeds: Tensor;
  /** float32 [B, S, headDim] */
  readonly cos: Tensor;
  readonly sin: Tensor;
  /** float32 [B, 1, S, S] additive causal + padding mask */
  readonly attnBias: Tensor;
  /** DeepStack features [T, H] per early layer, and the [B, S] row index (0 = none, 1 + k = image token k). */
  readonly deepstack?: readonly Tensor[];
  readonly deepstackIndex?: Tensor;
}

/** Returns LoRA factors for a decoder projection, or null when it has none. */
export type LoraLookup = (layer: number, kind: LoraModule) => LoraFactors | null;

/**
 * KV-cache hook for generation (optional; training graphs never pass it):
 * `past(i)` gives layer i's cached k/v [B, Hkv, P, D] (after k_norm and RoPE)
 * that are prepended to this chunk's keys/values; `present(i, k, v)` receives
 * the full [B, Hkv, P + S, D] tensors so the caller can output them.
 */
export interface KvCacheHook {
  /** `total`: name of the P + S dim (so it matches the attention bias input). */
  readonly past?: (layer: number) => { readonly k: Tensor; readonly v: Tensor; readonly total?: string } | null;
  readonly present: (layer: number, k: Tensor, v: Tensor) => void;
}

function decoderLayer(
  g: Graph,
  config: Qwen3VLConfig,
  params: ParamSource,
  lora: LoraLookup,
  i: number,
  h: Tensor,
  cos: Tensor,
  sin: Tensor,
  bias: Tensor,
  cache?: KvCacheHook,
): Tensor {
  const t = config.text;
  const H = t.hiddenSize;
  const nq = t.numAttentionHeads;
  const nkv = t.numKeyValueHeads;
  const hd = t.headDim;
  const p = `model.language_model.layers.${i}`;
  const P = (name: string, shape: number[]): Tensor => params(`${p}.${name}`, 'float32', shape);
  const proj = (sub: 'self_attn' | 'mlp', kind: LoraModule, x: Tensor, out: number, inF: number): Tensor =>
    g.scope(kind, () =>
      loraLinear(
        x,
        P(`${sub}.${kind}.weight`, [out, inF]),
        t.attentionBias && sub === 'self_attn' ? P(`${sub}.${kind}.bias`, [out]) : undefined,
        lora(i, kind),
      ),
    );
  return g.scope(`language_model.layers.${i}`, () => {
    const x = rmsNorm(h, P('input_layernorm.weight', [H]), t.rmsNormEps);
    const heads = (y: Tensor, n: number): Tensor => reshape(y, [0, 0, n, hd]);
    // q_norm / k_norm act on each head's vector, before the transpose (as HF does).
    let q = rmsNorm(heads(proj('self_attn', 'q_proj', x, nq * hd, H), nq), P('self_attn.q_norm.weight', [hd]), t.rmsNormEps);
    let k = rmsNorm(heads(proj('self_attn', 'k_proj', x, nkv * hd, H), nkv), P('self_attn.k_norm.weight', [hd]), t.rmsNormEps);
    let v = transpose(heads(proj('self_attn', 'v_proj', x, nkv * hd, H), nkv), [0, 2, 1, 3]);
    q = applyRotary(transpose(q, [0, 2, 1, 3]), cos, sin);
    k = applyRotary(transpose(k, [0, 2, 1, 3]), cos, sin);
    if (cache) {
      const past = cache.past?.(i);
      if (past) {
        k = concat([past.k, k], 2, past.total);
        v = concat([past.v, v], 2, past.total);
      }
      cache.present(i, k, v);
    }
    let a = attention({ q, k, v, mask: bias, scale: hd ** -0.5, numKvGroups: nq / nkv });
    a = reshape(transpose(a, [0, 2, 1, 3]), [0, 0, nq * hd]);
    h = add(h, proj('self_attn', 'o_proj', a, H, nq * hd));
    const y = rmsNorm(h, P('post_attention_layernorm.weight', [H]), t.rmsNormEps);
    const I = t.intermediateSize;
    const m = mul(silu(proj('mlp', 'gate_proj', y, I, H)), proj('mlp', 'up_proj', y, I, H));
    return add(h, proj('mlp', 'down_proj', m, H, I));
  });
}

/** The decoder stack and final norm. Taps: text.layer_in.i, text.layer_out.i, last_hidden_state. `cache`: see KvCacheHook. */
export function buildTextDecoder(
  g: Graph,
  config: Qwen3VLConfig,
  params: ParamSource,
  inp: TextInputs,
  lora: LoraLookup,
  taps: Map<string, Tensor>,
  cache?: KvCacheHook,
): Tensor {
  const t = config.text;
  const cos = g.scope('rotary', () => unsqueeze(inp.cos, [1])); // [B, 1, S, hd]
  const sin = g.scope('rotary', () => unsqueeze(inp.sin, [1]));
  let h = inp.inputsEmbeds;
  const ds = inp.deepstack ?? [];
  for (let i = 0; i < t.numHiddenLayers; i++) {
    taps.set(`text.layer_in.${i}`, h);
    h = decoderLayer(g, config, params, lora, i, h, cos, sin, inp.attnBias, cache);
    taps.set(`text.layer_out.${i}`, h);
    const feat = ds[i];
    if (feat && inp.deepstackIndex) h = g.scope(`deepstack.${i}`, () => addDeepstack(h, feat, inp.deepstackIndex!));
  }
  h = rmsNorm(h, params('model.language_model.norm.weight', 'float32', [t.hiddenSize]), t.rmsNormEps);
  taps.set('last_hidden_state', h);
  return h;
}
