// Vision tower of Qwen3-VL (transformers models/qwen3_vl/modeling_qwen3_vl.py:
// Qwen3VLVisionModel.forward, Qwen3VLVisionPatchEmbed, Qwen3VLVisionBlock,
// Qwen3VLVisionAttention, Qwen3VLVisionMLP, Qwen3VLVisionPatchMerger).
// Patches arrive as rows [P, C*T*p*p]; attention runs per frame on a packed
// [N, L] layout whose index tables come from host_inputs.ts.
import { add, applyRotary, attention, gather, gelu, geluTanh, layerNorm, linear, mul, reduceSum, reshape, split, transpose, unsqueeze, type Graph, type Tensor } from '@vlreward/graph';
import type { Qwen3VLConfig } from './config.js';
import type { ParamSource } from './params.js';

export interface VisionInputs {
  /** float32 [P, patchDim] */
  readonly pixelValues: Tensor;
  /** int64 [4, P], float32 [4, P]: bilinear pos-embed taps */
  readonly posIndex: Tensor;
  readonly posWeight: Tensor;
  /** int64 [N, L] patch row per packed slot; int64 [P] packed slot per patch */
  readonly packIndex: Tensor;
  readonly unpackIndex: Tensor;
  /** float32 [N, 1, 1, L] additive key mask for padded slots */
  readonly attnBias: Tensor;
  /** float32 [N, L, headDim] rotary tables in packed layout */
  readonly cos: Tensor;
  readonly sin: Tensor;
}

export interface VisionOutputs {
  /** [T, outHidden] merged image tokens (image order) */
  readonly imageEmbeds: Tensor;
  /** one [T, outHidden] per deepstack_visual_indexes entry */
  readonly deepstack: Tensor[];
  /** Intermediate tensors by fixture name (vision.patch_embed, vision.block_out.i, …). */
  readonly taps: Map<string, Tensor>;
}

const LN_EPS = 1e-6;

/** Qwen3VLVisionPatchMerger: LayerNorm (before or after the 2x2 shuffle), fc1, erf-GELU, fc2. */
export function patchMerger(g: Graph, config: Qwen3VLConfig, params: ParamSource, prefix: string, x: Tensor, postShuffleNorm: boolean): Tensor {
  const v = config.vision;
  const D = v.hiddenSize;
  const M = D * v.spatialMergeSize ** 2;
  return g.scope(prefix, () => {
    const normDim = postShuffleNorm ? M : D;
    const nw = params(`${prefix}.norm.weight`, 'float32', [normDim]);
    const nb = params(`${prefix}.norm.bias`, 'float32', [normDim]);
    let h: Tensor;
    if (postShuffleNorm) h = layerNorm(reshape(x, [-1, M]), nw, nb, LN_EPS);
    else h = reshape(layerNorm(x, nw, nb, LN_EPS), [-1, M]);
    h = linear(h, params(`${prefix}.linear_fc1.weight`, 'float32', [M, M]), params(`${prefix}.linear_fc1.bias`, 'float32', [M]));
    h = gelu(h);
    return linear(
      h,
      params(`${prefix}.linear_fc2.weight`, 'float32', [v.outHiddenSize, M]),
      params(`${prefix}.linear_fc2.bias`, 'float32', [v.outHiddenSize]),
    );
  });
}

function visionBlock(g: Graph, config: Qwen3VLConfig, params: ParamSource, i: number, h: Tensor, inp: VisionInputs, cos: Tensor, sin: Tensor): Tensor {
  const v = config.vision;
  const D = v.hiddenSize;
  const p = `model.visual.blocks.${i}`;
  const P = (name: string, shape: number[]): Tensor => params(`${p}.${name}`, 'float32', shape);
  return g.scope(`visual.blocks.${i}`, () => {
    // Attention: qkv rows are [q | k | v], each heads x headDim.
    const x = layerNorm(h, P('norm1.weight', [D]), P('norm1.bias', [D]), LN_EPS);
    const qkv = linear(x, P('attn.qkv.weight', [3 * D, D]), P('attn.qkv.bias', [3 * D]));
    const heads = split(qkv, [D, D, D], -1).map((t) => transpose(reshape(t, [0, 0, v.numHeads, v.headDim]), [0, 2, 1, 3]));
    const q = applyRotary(heads[0]!, cos, sin);
    const k = applyRotary(heads[1]!, cos, sin);
    let a = attention({ q, k, v: heads[2]!, mask: inp.attnBias, scale: v.headDim ** -0.5, numKvGroups: 1 });
    a = reshape(transpose(a, [0, 2, 1, 3]), [0, 0, D]);
    a = linear(a, P('attn.proj.weight', [D, D]), P('attn.proj.bias', [D]));
    h = add(h, a);
    // MLP
    const y = layerNorm(h, P('norm2.weight', [D]), P('norm2.bias', [D]), LN_EPS);
    let m = linear(y, P('mlp.linear_fc1.weight', [v.intermediateSize, D]), P('mlp.linear_fc1.bias', [v.intermediateSize]));
    m = v.hiddenAct === 'gelu' ? gelu(m) : geluTanh(m);
    m = linear(m, P('mlp.linear_fc2.weight', [D, v.intermediateSize]), P('mlp.linear_fc2.bias', [D]));
    return add(h, m);
  });
}

/** Qwen3VLVisionModel.forward: merged image tokens plus the DeepStack features. */
export function buildVisionTower(
  g: Graph,
  config: Qwen3VLConfig,
  params: ParamSource,
  inp: VisionInputs,
  want: (tap: string) => boolean = () => false,
): VisionOutputs {
  const v = config.vision;
  const D = v.hiddenSize;
  const taps = new Map<string, Tensor>();
  // Conv3d with kernel == stride is a matmul over the flattened (C, T, p, p) row.
  const w = params('model.visual.patch_embed.proj.weight', 'float32', [D, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize]);
  const b = params('model.visual.patch_embed.proj.bias', 'float32', [D]);
  const patches = g.scope('visual.patch_embed', () => linear(inp.pixelValues, reshape(w, [D, v.patchDim]), b));
  taps.set('vision.patch_embed', patches);

  // fast_pos_embed_interpolate: four bilinear taps of the learned grid, weights from the host.
  const table = params('model.visual.pos_embed.weight', 'float32', [v.numPositionEmbeddings, D]);
  const pos = g.scope('visual.pos_embed', () =>
    reduceSum(mul(gather(table, inp.posIndex, 0), unsqueeze(inp.posWeight, [2])), [0], false),
  );
  taps.set('vision.pos_embed_interp', pos);

  const x = add(patches, pos);
  let h = gather(x, inp.packIndex, 0); // [N, L, D]
  const cos = unsqueeze(inp.cos, [1]); // [N, 1, L, hd]
  const sin = unsqueeze(inp.sin, [1]);
  const unpack = (t: Tensor): Tensor => gather(reshape(t, [-1, D]), inp.unpackIndex, 0); // [P, D]

  const deepstack: Tensor[] = [];
  for (let i = 0; i < v.depth; i++) {
    h = visionBlock(g, config, params, i, h, inp, cos, sin);
    const k = v.deepstackVisualIndexes.indexOf(i);
    const tap = `vision.block_out.${i}`;
    if (k < 0 && !want(tap)) continue;
    const flat = unpack(h);
    if (want(tap)) taps.set(tap, flat);
    if (k >= 0) deepstack[k] = patchMerger(g, config, params, `model.visual.deepstack_merger_list.${k}`, flat, true);
  }
  const imageEmbeds = patchMerger(g, config, params, 'model.visual.merger', unpack(h), false);
  taps.set('image_embeds', imageEmbeds);
  deepstack.forEach((d, k) => taps.set(`deepstack.${k}`, d));
  return { imageEmbeds, deepstack, taps };
}
