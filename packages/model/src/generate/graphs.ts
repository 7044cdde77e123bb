// The two ONNX graphs of KV-cache generation (transformers
// models/qwen3_vl/modeling_qwen3_vl.py Qwen3VLForConditionalGeneration with
// use_cache=True):
//   - vision: pixel rows → merged image embeddings + DeepStack features;
//   - decoder: one chunk of tokens (a whole prompt, a new turn, or a single
//     generated token) with the cached k/v of everything before it → logits
//     of the chunk's last token and the extended k/v per layer.
// Prefill and decode steps are the same decoder graph (past length 0 for a
// fresh prompt), so the text weights live in ORT once, not twice.
import { gather, Graph, linear, type Tensor } from '@vlreward/graph';
import { poolLastToken } from '../heads/classifier.js';
import type { LoraFactors } from '../lora/linear.js';
import { LORA_MODULES, type LoraModule } from '../lora/config.js';
import { loraModulePath, PEFT_PREFIX } from '../lora/targets.js';
import type { Qwen3VLConfig } from '../qwen3_vl/config.js';
import { mergeImageEmbeds } from '../qwen3_vl/deepstack.js';
import { INPUT_NAMES } from '../qwen3_vl/host_inputs.js';
import type { ParamSource } from '../qwen3_vl/params.js';
import { buildTextDecoder } from '../qwen3_vl/text.js';
import { buildVisionTower } from '../qwen3_vl/vision.js';
import type { LoraAdapter, LoraAdapterModule } from './lora.js';

/** Graph input / output names of the decoder and vision graphs. */
export const GEN_NAMES = {
  inputIds: INPUT_NAMES.inputIds,
  imageEmbeds: 'image_embeds',
  deepstack: (k: number): string => `deepstack.${k}`,
  embedIndex: INPUT_NAMES.embedIndex,
  deepstackIndex: INPUT_NAMES.deepstackIndex,
  cos: INPUT_NAMES.textCos,
  sin: INPUT_NAMES.textSin,
  bias: INPUT_NAMES.textBias,
  lastIndex: INPUT_NAMES.lastIndex,
  pastKey: (i: number): string => `past.${i}.key`,
  pastValue: (i: number): string => `past.${i}.value`,
  presentKey: (i: number): string => `present.${i}.key`,
  presentValue: (i: number): string => `present.${i}.value`,
  logits: 'logits',
} as const;

/** Symbolic dims of the decoder graph. */
export const GEN_DIMS = { batch: 'batch', chunk: 'chunk', past: 'past', total: 'total', imageTokens: 'image_tokens' } as const;

/**
 * The decoder graph. Inputs (B = batch, S = chunk length, P = cached length,
 * N = image tokens in this chunk, D = head_dim):
 *   input_ids [B, S]; image_embeds / deepstack.k [N, H] (N may be 0);
 *   text.embed_index / text.deepstack_index [B, S] (rows into [token embeds; image embeds]);
 *   text.rope_cos / sin [B, S, D]; text.attn_bias [B, 1, S, P + S];
 *   past.i.key / value [B, Hkv, P, D] (P may be 0); last_index [B].
 * Outputs: logits [B, vocab] at last_index, present.i.key / value [B, Hkv, P + S, D].
 * LoRA (applied, not merged) comes as per-module factors from `adapter`.
 */
export function buildDecoderGraph(config: Qwen3VLConfig, makeParams: (g: Graph) => ParamSource, adapter?: LoraAdapter | null): Graph {
  const g = new Graph('qwen3_vl_decoder', { opset: 21 });
  const params = makeParams(g);
  const t = config.text;
  const H = t.hiddenSize;
  const { batch: B, chunk: S, past: P, total: T, imageTokens: N } = GEN_DIMS;
  const inputIds = g.input(GEN_NAMES.inputIds, 'int64', [B, S]);
  const tokens = g.scope('language_model.embed_tokens', () =>
    gather(params('model.language_model.embed_tokens.weight', 'float32', [t.vocabSize, H]), inputIds, 0),
  );
  const imageEmbeds = g.input(GEN_NAMES.imageEmbeds, 'float32', [N, H]);
  const deepstack = config.vision.deepstackVisualIndexes.map((_, k) => g.input(GEN_NAMES.deepstack(k), 'float32', [N, H]));
  const embedIndex = g.input(GEN_NAMES.embedIndex, 'int64', [B, S]);
  const deepstackIndex = g.input(GEN_NAMES.deepstackIndex, 'int64', [B, S]);
  const embeds = g.scope('merge_image_embeds', () => mergeImageEmbeds(tokens, imageEmbeds, embedIndex));
  const cos = g.input(GEN_NAMES.cos, 'float32', [B, S, t.headDim]);
  const sin = g.input(GEN_NAMES.sin, 'float32', [B, S, t.headDim]);
  const bias = g.input(GEN_NAMES.bias, 'float32', [B, 1, S, T]);
  const past = Array.from({ length: t.numHiddenLayers }, (_, i) => ({
    k: g.input(GEN_NAMES.pastKey(i), 'float32', [B, t.numKeyValueHeads, P, t.headDim]),
    v: g.input(GEN_NAMES.pastValue(i), 'float32', [B, t.numKeyValueHeads, P, t.headDim]),
  }));
  const present: { k: Tensor; v: Tensor }[] = [];

  const factors = new Map<string, LoraFactors>();
  if (adapter) {
    for (const { layer, kind, path, module: m } of adapterSites(config, adapter)) {
      const r = m.A.dims[0]!;
      factors.set(`${layer}:${kind}`, {
        a: params(`${PEFT_PREFIX}${path}.lora_A.weight`, 'float32', [r, m.A.dims[1]!]),
        b: params(`${PEFT_PREFIX}${path}.lora_B.weight`, 'float32', [m.B.dims[0]!, r]),
        scale: m.scale,
      });
    }
  }
  const hidden = buildTextDecoder(
    g,
    config,
    params,
    { inputsEmbeds: embeds, cos, sin, attnBias: bias, deepstack, deepstackIndex },
    (layer: number, kind: LoraModule) => factors.get(`${layer}:${kind}`) ?? null,
    new Map(),
    { past: (i) => ({ ...past[i]!, total: T }), present: (i, k, v) => (present[i] = { k, v }) },
  );
  const lastIndex = g.input(GEN_NAMES.lastIndex, 'int64', [B]);
  const last = g.scope('pool', () => poolLastToken(hidden, lastIndex));
  const w = config.tieWordEmbeddings
    ? params('model.language_model.embed_tokens.weight', 'float32', [t.vocabSize, H])
    : params('lm_head.weight', 'float32', [t.vocabSize, H]);
  g.output(g.scope('lm_head', () => linear(last, w)), GEN_NAMES.logits);
  present.forEach(({ k, v }, i) => {
    g.output(k, GEN_NAMES.presentKey(i));
    g.output(v, GEN_NAMES.presentValue(i));
  });
  return g;
}

/** The vision graph: the feeds prepareQwen3VLInputs makes for the tower → image_embeds [N, H], deepstack.k [N, H]. */
export function buildVisionGraph(config: Qwen3VLConfig, makeParams: (g: Graph) => ParamSource): Graph {
  const g = new Graph('qwen3_vl_vision', { opset: 21 });
  const params = makeParams(g);
  const v = config.vision;
  const P = 'patches';
  const Nseg = 'segments';
  const L = 'segment_len';
  const vis = buildVisionTower(
    g,
    config,
    params,
    {
      pixelValues: g.input(INPUT_NAMES.pixelValues, 'float32', [P, v.patchDim]),
      posIndex: g.input(INPUT_NAMES.posIndex, 'int64', [4, P]),
      posWeight: g.input(INPUT_NAMES.posWeight, 'float32', [4, P]),
      packIndex: g.input(INPUT_NAMES.visionPack, 'int64', [Nseg, L]),
      unpackIndex: g.input(INPUT_NAMES.visionUnpack, 'int64', [P]),
      attnBias: g.input(INPUT_NAMES.visionBias, 'float32', [Nseg, 1, 1, L]),
      cos: g.input(INPUT_NAMES.visionCos, 'float32', [Nseg, L, v.headDim]),
      sin: g.input(INPUT_NAMES.visionSin, 'float32', [Nseg, L, v.headDim]),
    },
    () => false,
  );
  g.output(vis.imageEmbeds, GEN_NAMES.imageEmbeds);
  vis.deepstack.forEach((d, k) => g.output(d, GEN_NAMES.deepstack(k)));
  return g;
}

/** (layer, projection) of every adapter module; modules outside the text decoder projections are refused. */
export function adapterSites(config: Qwen3VLConfig, adapter: LoraAdapter): { layer: number; kind: LoraModule; path: string; module: LoraAdapterModule }[] {
  const out: { layer: number; kind: LoraModule; path: string; module: LoraAdapterModule }[] = [];
  for (const [path, module] of adapter.modules) {
    const hit = /^model\.language_model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)$/.exec(path);
    const layer = hit ? Number(hit[1]) : -1;
    const kind = hit?.[2] as LoraModule | undefined;
    if (!kind || !(LORA_MODULES as readonly string[]).includes(kind) || layer >= config.text.numHiddenLayers || loraModulePath(layer, kind) !== path) {
      throw new Error(
        `${adapter.source}: LoRA module '${path}' cannot be applied in the graph (only the text decoder projections ${LORA_MODULES.join(', ')} of layers 0..${config.text.numHiddenLayers - 1}); merge the adapter instead (lora: 'merge')`,
      );
    }
    out.push({ layer, kind, path, module });
  }
  return out;
}
