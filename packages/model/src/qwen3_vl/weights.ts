// Hugging Face weight names of Qwen3VLForConditionalGeneration, as one
// explicit table with a count assertion (nanoGPT from_pretrained style), and
// loading from a safetensors folder (single file or sharded), widened to f32.
import { mulberry32 } from '@vlreward/graph';
import { openSafetensorsDir, type SafetensorsDir, type TensorData } from '@vlreward/graph';
import type { Qwen3VLConfig } from './config.js';

export type WeightPart = 'vision' | 'text';

export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly part: WeightPart;
}

export class WeightError extends Error {
  override readonly name = 'WeightError';
}

/** Every tensor the HF checkpoint holds for `config`, in module order. */
export function qwen3VLWeightSpecs(config: Qwen3VLConfig): WeightSpec[] {
  const v = config.vision;
  const t = config.text;
  const out: WeightSpec[] = [];
  const vis = (name: string, shape: number[]): void => void out.push({ name: `model.visual.${name}`, shape, part: 'vision' });
  const txt = (name: string, shape: number[]): void => void out.push({ name, shape, part: 'text' });
  const D = v.hiddenSize;
  vis('patch_embed.proj.weight', [D, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize]);
  vis('patch_embed.proj.bias', [D]);
  vis('pos_embed.weight', [v.numPositionEmbeddings, D]);
  for (let i = 0; i < v.depth; i++) {
    const p = `blocks.${i}.`;
    vis(`${p}norm1.weight`, [D]);
    vis(`${p}norm1.bias`, [D]);
    vis(`${p}norm2.weight`, [D]);
    vis(`${p}norm2.bias`, [D]);
    vis(`${p}attn.qkv.weight`, [3 * D, D]);
    vis(`${p}attn.qkv.bias`, [3 * D]);
    vis(`${p}attn.proj.weight`, [D, D]);
    vis(`${p}attn.proj.bias`, [D]);
    vis(`${p}mlp.linear_fc1.weight`, [v.intermediateSize, D]);
    vis(`${p}mlp.linear_fc1.bias`, [v.intermediateSize]);
    vis(`${p}mlp.linear_fc2.weight`, [D, v.intermediateSize]);
    vis(`${p}mlp.linear_fc2.bias`, [D]);
  }
  const M = D * v.spatialMergeSize ** 2;
  const merger = (p: string, normDim: number): void => {
    vis(`${p}norm.weight`, [normDim]);
    vis(`${p}norm.bias`, [normDim]);
    vis(`${p}linear_fc1.weight`, [M, M]);
    vis(`${p}linear_fc1.bias`, [M]);
    vis(`${p}linear_fc2.weight`, [v.outHiddenSize, M]);
    vis(`${p}linear_fc2.bias`, [v.outHiddenSize]);
  };
  merger('merger.', D);
  v.deepstackVisualIndexes.forEach((_, k) => merger(`deepstack_merger_list.${k}.`, M));

  const H = t.hiddenSize;
  const q = t.numAttentionHeads * t.headDim;
  const kv = t.numKeyValueHeads * t.headDim;
  txt('model.language_model.embed_tokens.weight', [t.vocabSize, H]);
  for (let i = 0; i < t.numHiddenLayers; i++) {
    const p = `model.language_model.layers.${i}.`;
    txt(`${p}input_layernorm.weight`, [H]);
    txt(`${p}self_attn.q_proj.weight`, [q, H]);
    if (t.attentionBias) txt(`${p}self_attn.q_proj.bias`, [q]);
    txt(`${p}self_attn.k_proj.weight`, [kv, H]);
    if (t.attentionBias) txt(`${p}self_attn.k_proj.bias`, [kv]);
    txt(`${p}self_attn.v_proj.weight`, [kv, H]);
    if (t.attentionBias) txt(`${p}self_attn.v_proj.bias`, [kv]);
    txt(`${p}self_attn.o_proj.weight`, [H, q]);
    if (t.attentionBias) txt(`${p}self_attn.o_proj.bias`, [H]);
    txt(`${p}self_attn.q_norm.weight`, [t.headDim]);
    txt(`${p}self_attn.k_norm.weight`, [t.headDim]);
    txt(`${p}post_attention_layernorm.weight`, [H]);
    txt(`${p}mlp.gate_proj.weight`, [t.intermediateSize, H]);
    txt(`${p}mlp.up_proj.weight`, [t.intermediateSize, H]);
    txt(`${p}mlp.down_proj.weight`, [H, t.intermediateSize]);
  }
  txt('model.language_model.norm.weight', [H]);
  if (!config.tieWordEmbeddings) txt('lm_head.weight', [t.vocabSize, H]);

  const expected =
    3 + 12 * v.depth + 6 * (1 + v.deepstackVisualIndexes.length) +
    1 + t.numHiddenLayers * (11 + (t.attentionBias ? 4 : 0)) + 1 + (config.tieWordEmbeddings ? 0 : 1);
  if (out.length !== expected) throw new Error(`qwen3VLWeightSpecs: built ${out.length} names, expected ${expected}`);
  return out;
}

/** Parameter counts of the HF model by part. */
export function qwen3VLParamCounts(config: Qwen3VLConfig): { vision: number; text: number; total: number } {
  let vision = 0;
  let text = 0;
  for (const s of qwen3VLWeightSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.part === 'vision') vision += n;
    else text += n;
  }
  return { vision, text, total: vision + text };
}

function listNames(names: readonly string[], max = 12): string {
  const shown = names.slice(0, max).map((n) => `'${n}'`).join(', ');
  return names.length > max ? `${shown}, … (${names.length} in all)` : shown;
}

/**
 * Check a checkpoint's tensor list against the table: every expected name
 * present with its exact shape, nothing else (a tied `lm_head.weight` is ignored).
 */
export function checkQwen3VLWeightNames(
  config: Qwen3VLConfig,
  available: ReadonlyMap<string, readonly number[]>,
  where: string,
): WeightSpec[] {
  const specs = qwen3VLWeightSpecs(config);
  const want = new Set(specs.map((s) => s.name));
  const missing = specs.filter((s) => !available.has(s.name)).map((s) => s.name);
  const extra = [...available.keys()].filter((n) => !want.has(n) && !(n === 'lm_head.weight' && config.tieWordEmbeddings));
  if (missing.length || extra.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.length} tensor(s): ${listNames(missing)}`);
    if (extra.length) parts.push(`unexpected ${extra.length} tensor(s): ${listNames(extra)}`);
    const hint =
      missing.length === specs.length ? ' (these weights are not Qwen3-VL: expected names like model.visual.* and model.language_model.*)' : '';
    throw new WeightError(`${where}: weights do not match the Qwen3-VL config: ${parts.join('; ')}${hint}`);
  }
  for (const s of specs) {
    const got = available.get(s.name)!;
    if (got.length !== s.shape.length || got.some((d, i) => d !== s.shape[i])) {
      throw new WeightError(`${where}: tensor '${s.name}' has shape [${got.join(', ')}], config expects [${s.shape.join(', ')}]`);
    }
  }
  return specs;
}

export interface LoadWeightsOptions {
  /** Keep only these names (e.g. skip the vision tower for text-only graphs). */
  readonly filter?: (name: string) => boolean;
}

/**
 * Load a Qwen3-VL weight folder (model.safetensors or sharded with
 * model.safetensors.index.json) as float32 tensors keyed by HF name. Each
 * 16-bit tensor is read straight into its f32 buffer and widened there
 * (SafetensorsDir.readFloat32), so only the f32 copy is ever allocated.
 */
export async function loadQwen3VLWeights(dir: string, config: Qwen3VLConfig, opts: LoadWeightsOptions = {}): Promise<Map<string, TensorData>> {
  let st: SafetensorsDir;
  try {
    st = await openSafetensorsDir(dir);
  } catch (e) {
    throw new WeightError(`${dir}: cannot open weights: ${(e as Error).message}`);
  }
  // The read started ahead of the one being awaited (see below); settled before the files close.
  let ahead: Promise<unknown> | undefined;
  try {
    const available = new Map(st.names.map((n) => [n, st.entry(n).dims] as const));
    const specs = checkQwen3VLWeightNames(config, available, dir);
    const wanted = specs.filter((s) => !opts.filter || opts.filter(s.name));
    // Every dtype checked before any data is read: a bad file fails at once, not after gigabytes.
    for (const s of wanted) {
      const e = st.entry(s.name);
      if (e.dtype !== 'float32' && e.dtype !== 'bfloat16' && e.dtype !== 'float16') {
        throw new WeightError(`${dir}: tensor '${s.name}' has dtype ${e.safetensorsDtype} (expected F32, BF16 or F16)`);
      }
    }
    // One read ahead: tensor i+1's file read runs on the libuv thread pool while
    // this thread widens tensor i, so the two halves of the work (each mostly the
    // kernel faulting in fresh f32 pages) use two cores. Only one extra tensor is
    // in flight, and it is its final f32 buffer: no more memory than reading in turn.
    const start = (name: string): Promise<TensorData> => {
      const p = st.readFloat32(name);
      // Its error surfaces when it is awaited; until then it must not count as unhandled.
      p.catch(() => undefined);
      ahead = p;
      return p;
    };
    const out = new Map<string, TensorData>();
    let next = wanted.length > 0 ? start(wanted[0]!.name) : undefined;
    for (let i = 0; i < wanted.length; i++) {
      const cur = next!;
      next = i + 1 < wanted.length ? start(wanted[i + 1]!.name) : undefined;
      out.set(wanted[i]!.name, await cur);
    }
    return out;
  } finally {
    await ahead?.catch(() => undefined);
    await st.close();
  }
}

/**
 * Random weights with the table's names and shapes (HF-like init: norms 1,
 * biases 0, matrices N(0, 0.02), embeddings N(0, 0.02)), for tests, demos and
 * shape-only benches (tensors above 64K values repeat one random block).
 */
export function randomQwen3VLWeights(config: Qwen3VLConfig, seed = 0, std = 0.02): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  for (const s of qwen3VLWeightSpecs(config)) out.set(s.name, randomWeight(s, seed, std));
  return out;
}

/** One random tensor for a spec (seeded by the global seed and the name). */
export function randomWeight(spec: { name: string; shape: readonly number[] }, seed = 0, std = 0.02): TensorData {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const isNorm = /norm\d?\.weight$|layernorm\.weight$/.test(spec.name);
  const isBias = spec.name.endsWith('.bias');
  if (isNorm) data.fill(1);
  else if (!isBias) {
    let h = seed >>> 0;
    for (let i = 0; i < spec.name.length; i++) h = Math.imul(h ^ spec.name.charCodeAt(i), 0x01000193) >>> 0;
    const rnd = mulberry32(h);
    // Irwin-Hall(4) approximation of a normal: cheap and plenty for random init.
    // Large tensors tile a 64K-value block, so a 2B-shaped model initialises in seconds.
    const k = std * Math.sqrt(3);
    const block = Math.min(n, 1 << 16);
    for (let i = 0; i < block; i++) data[i] = (rnd() + rnd() + rnd() + rnd() - 2) * k;
    for (let off = block; off < n; off += block) data.copyWithin(off, 0, Math.min(block, n - off));
  }
  return { dtype: 'float32', dims: [...spec.shape], data };
}
