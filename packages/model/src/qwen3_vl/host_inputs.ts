// Everything that depends on image grids or token layout is computed here on
// the host and fed to the graph as index / table inputs, so the graph holds
// only differentiable math with symbolic batch (B), sequence (S), patch (P),
// image-token (T) and attention-segment (N x L) sizes.
import { getRopeIndex as mropeIndex, tensorData, type TensorData } from '@vlreward/graph';
import type { Qwen3VLConfig } from './config.js';
import { invFreq, textRopeCosSin } from './rope.js';

const f = Math.fround;
/** torch.finfo(float32).min: HF's additive mask value. */
export const MASK_MIN = -3.4028234663852886e38;
/** Label value the loss ignores (PyTorch ignore_index; the processor's IGNORE_LABEL for samples without a label). */
export const IGNORE_INDEX = -100;

/** A model batch as the processor produces it (HF names, row-major host tensors). */
export interface Qwen3VLBatch {
  /** int64 [B, S] */
  readonly inputIds: TensorData;
  /** int64 [B, S]; 1 = real token */
  readonly attentionMask: TensorData;
  /** float32 [P, C*T*patch*patch] (rows in merge-window order, as the Qwen processor flattens them) */
  readonly pixelValues?: TensorData;
  /** int64 [numImages, 3] (t, h, w) in patches */
  readonly imageGridThw?: TensorData;
  /** int64 [B] class ids (only for graphs built with a loss) */
  readonly labels?: TensorData;
  /** int64 [3, B, S] M-RoPE ids; computed with getRopeIndex when absent */
  readonly positionIds?: TensorData;
}

export class InputError extends Error {
  override readonly name = 'InputError';
}

function ints(t: TensorData, what: string): number[] {
  if (t.dtype !== 'int64' && t.dtype !== 'int32') throw new InputError(`${what}: expected int64, got ${t.dtype}`);
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

export interface Grid {
  readonly t: number;
  readonly h: number;
  readonly w: number;
}

export function readGrids(config: Qwen3VLConfig, imageGridThw: TensorData | undefined): Grid[] {
  if (!imageGridThw) return [];
  const dims = imageGridThw.dims;
  if (dims.length !== 2 || dims[1] !== 3) {
    throw new InputError(`image_grid_thw: expected shape [numImages, 3], got [${dims.join(', ')}]`);
  }
  const v = ints(imageGridThw, 'image_grid_thw');
  const m = config.vision.spatialMergeSize;
  const grids: Grid[] = [];
  for (let i = 0; i < dims[0]!; i++) {
    const [t, h, w] = [v[3 * i]!, v[3 * i + 1]!, v[3 * i + 2]!];
    if (t < 1 || h < 1 || w < 1) throw new InputError(`image_grid_thw[${i}] = [${t}, ${h}, ${w}]: every entry must be >= 1`);
    if (h % m !== 0 || w % m !== 0) {
      throw new InputError(`image_grid_thw[${i}] = [${t}, ${h}, ${w}]: h and w must be multiples of spatial_merge_size ${m}`);
    }
    grids.push({ t, h, w });
  }
  return grids;
}

/**
 * 3-D M-RoPE position ids [3, B, S] and rope deltas [B] for `config`'s token ids:
 * @vlreward/graph's getRopeIndex (modeling_qwen3_vl.py get_rope_index, the one copy,
 * which the processor also calls), its errors as InputErrors.
 */
export function getRopeIndex(
  config: Qwen3VLConfig,
  inputIds: TensorData,
  attentionMask: TensorData,
  grids: readonly Grid[],
): { positionIds: BigInt64Array; ropeDeltas: BigInt64Array } {
  // As HF's get_rope_index: an image is a <|vision_start|><|image_pad|> pair, and grid rows past
  // the images the ids hold are not used (a generation prefix may leave later images out).
  const ids = ints(inputIds, 'input_ids');
  let images = 0;
  for (let i = 1; i < ids.length; i++) if (ids[i] === config.imageTokenId && ids[i - 1] === config.visionStartTokenId) images++;
  const used = grids.slice(0, images);
  const grid = used.length ? tensorData('int64', [used.length, 3], BigInt64Array.from(used.flatMap((g) => [g.t, g.h, g.w]), BigInt)) : null;
  try {
    const r = mropeIndex(inputIds, attentionMask, grid, {
      imageTokenId: config.imageTokenId,
      visionStartTokenId: config.visionStartTokenId,
      spatialMergeSize: config.vision.spatialMergeSize,
    });
    return { positionIds: r.positionIds.data as BigInt64Array, ropeDeltas: r.ropeDeltas.data as BigInt64Array };
  } catch (e) {
    throw new InputError((e as Error).message);
  }
}

/** HF's rope deltas from given position ids: max position over a row's real tokens + 1 − S (1 − S for an empty row). */
function ropeDeltasOf(positionIds: BigInt64Array, mask: ArrayLike<number>, B: number, S: number): BigInt64Array {
  const deltas = new BigInt64Array(B);
  for (let b = 0; b < B; b++) {
    let mx = -1n;
    for (let s = 0; s < S; s++) {
      if (mask[b * S + s] !== 1) continue;
      for (let a = 0; a < 3; a++) {
        const p = positionIds[a * B * S + b * S + s]!;
        if (p > mx) mx = p;
      }
    }
    deltas[b] = mx + 1n - BigInt(S);
  }
  return deltas;
}

/**
 * Bilinear position-embedding indices and weights per patch, in merge-window
 * order (modeling_qwen3_vl.py Qwen3VLVisionModel.fast_pos_embed_interpolate).
 * pos_embed(p) = sum_k weight[k, p] * table[index[k, p]].
 */
export function posEmbedInterpolation(config: Qwen3VLConfig, grids: readonly Grid[]): { index: BigInt64Array; weight: Float32Array } {
  const G = config.vision.numGridPerSide;
  const m = config.vision.spatialMergeSize;
  const P = grids.reduce((a, g) => a + g.t * g.h * g.w, 0);
  const index = new BigInt64Array(4 * P);
  const weight = new Float32Array(4 * P);
  let p = 0;
  for (const { t, h, w } of grids) {
    const hs = linspaceF32(0, G - 1, h);
    const ws = linspaceF32(0, G - 1, w);
    for (let ti = 0; ti < t; ti++) {
      for (let bh = 0; bh < h / m; bh++) {
        for (let bw = 0; bw < w / m; bw++) {
          for (let ih = 0; ih < m; ih++) {
            for (let iw = 0; iw < m; iw++) {
              const hv = hs[bh * m + ih]!;
              const wv = ws[bw * m + iw]!;
              const hf = Math.trunc(hv);
              const wf = Math.trunc(wv);
              const hc = Math.min(hf + 1, G - 1);
              const wc = Math.min(wf + 1, G - 1);
              const dh = f(hv - hf);
              const dw = f(wv - wf);
              const idx = [hf * G + wf, hf * G + wc, hc * G + wf, hc * G + wc];
              const wt = [f(f(1 - dh) * f(1 - dw)), f(f(1 - dh) * dw), f(dh * f(1 - dw)), f(dh * dw)];
              for (let k = 0; k < 4; k++) {
                index[k * P + p] = BigInt(idx[k]!);
                weight[k * P + p] = wt[k]!;
              }
              p++;
            }
          }
        }
      }
    }
  }
  return { index, weight };
}

/** torch.linspace in float32 (ATen linspace_kernel: first half from start, second half from end). */
function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = f((end - start) / (steps - 1));
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? f(start + f(step * i)) : f(end - f(step * (steps - i - 1)));
  return out;
}

/**
 * Per-patch vision rotary angles [P, headDim/2] = cat(row * inv_freq, col * inv_freq)
 * with full-resolution (row, col) in merge-window order
 * (modeling_qwen3_vl.py Qwen3VLVisionModel.rot_pos_emb).
 */
export function visionRotaryAngles(config: Qwen3VLConfig, grids: readonly Grid[]): Float32Array {
  const hd = config.vision.headDim;
  const m = config.vision.spatialMergeSize;
  const inv = invFreq(10000, hd / 2);
  const q = inv.length;
  const P = grids.reduce((a, g) => a + g.t * g.h * g.w, 0);
  const out = new Float32Array(P * 2 * q);
  let p = 0;
  for (const { t, h, w } of grids) {
    for (let ti = 0; ti < t; ti++) {
      for (let bh = 0; bh < h / m; bh++) {
        for (let bw = 0; bw < w / m; bw++) {
          for (let ih = 0; ih < m; ih++) {
            for (let iw = 0; iw < m; iw++) {
              const row = bh * m + ih;
              const col = bw * m + iw;
              for (let j = 0; j < q; j++) {
                out[p * 2 * q + j] = f(row * inv[j]!);
                out[p * 2 * q + q + j] = f(col * inv[j]!);
              }
              p++;
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Vision attention runs per frame of each image (HF splits by cu_seqlens). We
 * pack the P patches into N segments of length L (the longest): pack[n, l] is
 * the patch row for slot l of segment n (padding slots repeat the segment's
 * first row), bias[n, 0, 0, l] masks padding keys, unpack[p] = n * L + l.
 */
export function visionPacking(grids: readonly Grid[]): {
  N: number;
  L: number;
  pack: BigInt64Array;
  unpack: BigInt64Array;
  bias: Float32Array;
  valid: Uint8Array;
} {
  const segs: number[] = [];
  for (const g of grids) for (let ti = 0; ti < g.t; ti++) segs.push(g.h * g.w);
  const N = segs.length;
  const L = Math.max(0, ...segs);
  const P = segs.reduce((a, b) => a + b, 0);
  const pack = new BigInt64Array(N * L);
  const unpack = new BigInt64Array(P);
  const bias = new Float32Array(N * L);
  const valid = new Uint8Array(N * L);
  let off = 0;
  segs.forEach((len, n) => {
    for (let l = 0; l < L; l++) {
      if (l < len) {
        pack[n * L + l] = BigInt(off + l);
        unpack[off + l] = BigInt(n * L + l);
        valid[n * L + l] = 1;
      } else {
        pack[n * L + l] = BigInt(off);
        bias[n * L + l] = MASK_MIN;
      }
    }
    off += len;
  });
  return { N, L, pack, unpack, bias, valid };
}

/** Additive text mask [B, 1, S, S]: 0 where key <= query and the key is a real token (HF eager causal mask). */
export function textAttentionBias(attentionMask: TensorData): Float32Array {
  const [B, S] = attentionMask.dims as [number, number];
  const mask = ints(attentionMask, 'attention_mask');
  const out = new Float32Array(B * S * S).fill(MASK_MIN);
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < S; q++) {
      const row = (b * S + q) * S;
      for (let k = 0; k <= q; k++) if (mask[b * S + k] === 1) out[row + k] = 0;
    }
  }
  return out;
}

/** Graph input names fed by `prepareQwen3VLInputs` (see build.ts for shapes). */
export const INPUT_NAMES = {
  inputIds: 'input_ids',
  pixelValues: 'pixel_values',
  posIndex: 'vision.pos_index',
  posWeight: 'vision.pos_weight',
  visionPack: 'vision.pack_index',
  visionUnpack: 'vision.unpack_index',
  visionBias: 'vision.attn_bias',
  visionCos: 'vision.rope_cos',
  visionSin: 'vision.rope_sin',
  embedIndex: 'text.embed_index',
  deepstackIndex: 'text.deepstack_index',
  textCos: 'text.rope_cos',
  textSin: 'text.rope_sin',
  textBias: 'text.attn_bias',
  lastIndex: 'last_index',
  labels: 'labels',
} as const;

export interface PreparedInputs {
  /** Feeds by graph input name. */
  readonly feeds: Record<string, TensorData>;
  readonly positionIds: TensorData;
  readonly ropeDeltas: TensorData;
  /** Number of image tokens (T) and patches (P). */
  readonly numImageTokens: number;
  readonly numPatches: number;
  /** Per sample, the index of its last real token (the pooled row). */
  readonly lastTokens: readonly number[];
}

export interface PrepareOptions {
  /** Build feeds for the vision tower (pixel_values etc.); default: when pixel_values are given. */
  readonly vision?: boolean;
  /** Include `labels` in the feeds (graphs built with a loss). */
  readonly labels?: boolean;
  /** Number of classes, to check label range. */
  readonly numClasses?: number;
}

/**
 * Validate a batch and compute every host-side input of the Qwen3-VL graph.
 * Errors name the field, the index and what was expected.
 */
export function prepareQwen3VLInputs(config: Qwen3VLConfig, batch: Qwen3VLBatch, opts: PrepareOptions = {}): PreparedInputs {
  const { inputIds, attentionMask } = batch;
  if (inputIds.dims.length !== 2) throw new InputError(`input_ids: expected shape [B, S], got [${inputIds.dims.join(', ')}]`);
  const [B, S] = inputIds.dims as [number, number];
  if (attentionMask.dims.length !== 2 || attentionMask.dims[0] !== B || attentionMask.dims[1] !== S) {
    throw new InputError(`attention_mask: shape [${attentionMask.dims.join(', ')}] differs from input_ids [${B}, ${S}]`);
  }
  const ids = ints(inputIds, 'input_ids');
  const mask = ints(attentionMask, 'attention_mask');
  const V = config.text.vocabSize;
  ids.forEach((v, i) => {
    if (v < 0 || v >= V) throw new InputError(`input_ids[${Math.floor(i / S)}, ${i % S}] = ${v} is outside the vocabulary [0, ${V})`);
  });
  const lastTokens: number[] = [];
  for (let b = 0; b < B; b++) {
    let last = -1;
    for (let s = 0; s < S; s++) {
      const v = mask[b * S + s]!;
      if (v !== 0 && v !== 1) throw new InputError(`attention_mask[${b}, ${s}] = ${v} (expected 0 or 1)`);
      if (v === 1) last = s;
    }
    if (last < 0) throw new InputError(`attention_mask[${b}] has no real token`);
    lastTokens.push(last);
  }

  const useVision = opts.vision ?? batch.pixelValues !== undefined;
  const grids = readGrids(config, batch.imageGridThw);
  const m2 = config.vision.spatialMergeSize ** 2;
  const P = grids.reduce((a, g) => a + g.t * g.h * g.w, 0);
  const T = P / m2;
  let nImageTokens = 0;
  for (const v of ids) if (v === config.imageTokenId) nImageTokens++;

  const feeds: Record<string, TensorData> = {};
  feeds[INPUT_NAMES.inputIds] = tensorData('int64', [B, S], BigInt64Array.from(ids, BigInt));

  if (useVision) {
    const pv = batch.pixelValues;
    if (!pv) throw new InputError('pixel_values: missing (the graph has a vision tower)');
    if (!batch.imageGridThw) throw new InputError('image_grid_thw: missing (needed with pixel_values)');
    if (pv.dtype !== 'float32') throw new InputError(`pixel_values: expected float32, got ${pv.dtype}`);
    if (pv.dims.length !== 2 || pv.dims[1] !== config.vision.patchDim) {
      throw new InputError(
        `pixel_values: shape [${pv.dims.join(', ')}] (expected [P, ${config.vision.patchDim}] = [patches, channels*temporal_patch*patch*patch])`,
      );
    }
    if (pv.dims[0] !== P) {
      throw new InputError(
        `pixel_values has ${pv.dims[0]} patch rows but image_grid_thw [${grids.map((g) => `[${g.t},${g.h},${g.w}]`).join(', ')}] needs ${P} (sum of t*h*w)`,
      );
    }
    if (nImageTokens !== T) {
      throw new InputError(
        `input_ids holds ${nImageTokens} <|image_pad|> tokens (id ${config.imageTokenId}) but the images give ${T} features (sum of t*h*w/${m2} over image_grid_thw)`,
      );
    }
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === config.imageTokenId && mask[i] !== 1) {
        throw new InputError(`input_ids[${Math.floor(i / S)}, ${i % S}] is <|image_pad|> at a padding position (attention_mask 0)`);
      }
    }
    feeds[INPUT_NAMES.pixelValues] = pv;
    const interp = posEmbedInterpolation(config, grids);
    feeds[INPUT_NAMES.posIndex] = tensorData('int64', [4, P], interp.index);
    feeds[INPUT_NAMES.posWeight] = tensorData('float32', [4, P], interp.weight);
    const pk = visionPacking(grids);
    const ang = visionRotaryAngles(config, grids);
    const hd = config.vision.headDim;
    const half = hd / 2;
    const cos = new Float32Array(pk.N * pk.L * hd).fill(1);
    const sin = new Float32Array(pk.N * pk.L * hd);
    for (let slot = 0; slot < pk.N * pk.L; slot++) {
      if (!pk.valid[slot]) continue;
      const p = Number(pk.pack[slot]);
      for (let j = 0; j < half; j++) {
        const a = ang[p * half + j]!;
        const c = f(Math.cos(a));
        const s = f(Math.sin(a));
        cos[slot * hd + j] = c;
        cos[slot * hd + j + half] = c;
        sin[slot * hd + j] = s;
        sin[slot * hd + j + half] = s;
      }
    }
    feeds[INPUT_NAMES.visionPack] = tensorData('int64', [pk.N, pk.L], pk.pack);
    feeds[INPUT_NAMES.visionUnpack] = tensorData('int64', [P], pk.unpack);
    feeds[INPUT_NAMES.visionBias] = tensorData('float32', [pk.N, 1, 1, pk.L], pk.bias);
    feeds[INPUT_NAMES.visionCos] = tensorData('float32', [pk.N, pk.L, hd], cos);
    feeds[INPUT_NAMES.visionSin] = tensorData('float32', [pk.N, pk.L, hd], sin);

    // Row sources for the merged embeddings: token rows 0..B*S-1, then image rows B*S + k.
    const embedIndex = new BigInt64Array(B * S);
    const dsIndex = new BigInt64Array(B * S);
    let k = 0;
    for (let i = 0; i < B * S; i++) {
      if (ids[i] === config.imageTokenId) {
        embedIndex[i] = BigInt(B * S + k);
        dsIndex[i] = BigInt(1 + k);
        k++;
      } else {
        embedIndex[i] = BigInt(i);
      }
    }
    feeds[INPUT_NAMES.embedIndex] = tensorData('int64', [B, S], embedIndex);
    feeds[INPUT_NAMES.deepstackIndex] = tensorData('int64', [B, S], dsIndex);
  } else if (nImageTokens > 0 && batch.pixelValues === undefined && opts.vision === undefined) {
    // Text-only graph but image placeholders present: they would silently embed as the pad token.
    throw new InputError(`input_ids holds ${nImageTokens} <|image_pad|> tokens but no pixel_values were given`);
  }

  let positionIds: BigInt64Array;
  let ropeDeltas: BigInt64Array;
  if (batch.positionIds) {
    const d = batch.positionIds.dims;
    if (d.length !== 3 || d[0] !== 3 || d[1] !== B || d[2] !== S) {
      throw new InputError(`position_ids: shape [${d.join(', ')}] (expected [3, ${B}, ${S}])`);
    }
    positionIds = BigInt64Array.from(ints(batch.positionIds, 'position_ids'), BigInt);
    ropeDeltas = ropeDeltasOf(positionIds, ints(attentionMask, 'attention_mask'), B, S);
  } else {
    ({ positionIds, ropeDeltas } = getRopeIndex(config, inputIds, attentionMask, grids));
  }
  const rope = textRopeCosSin(config, positionIds, B, S);
  const hd = config.text.headDim;
  feeds[INPUT_NAMES.textCos] = tensorData('float32', [B, S, hd], rope.cos);
  feeds[INPUT_NAMES.textSin] = tensorData('float32', [B, S, hd], rope.sin);
  feeds[INPUT_NAMES.textBias] = tensorData('float32', [B, 1, S, S], textAttentionBias(attentionMask));
  feeds[INPUT_NAMES.lastIndex] = tensorData('int64', [B], BigInt64Array.from(lastTokens, (s, b) => BigInt(b * S + s)));

  if (opts.labels) {
    const lab = batch.labels;
    if (!lab) throw new InputError('labels: missing (the graph computes a loss)');
    if (lab.dims.length !== 1 || lab.dims[0] !== B) throw new InputError(`labels: shape [${lab.dims.join(', ')}] (expected [${B}])`);
    const lv = ints(lab, 'labels');
    // -100 is the processor's IGNORE_LABEL (a sample without a label): the loss
    // skips it as F.cross_entropy's ignore_index does; anything else must be a class.
    lv.forEach((v, b) => {
      if (v === IGNORE_INDEX) return;
      if (v < 0 || (opts.numClasses !== undefined && v >= opts.numClasses)) {
        throw new InputError(`labels[${b}] = ${v} is outside [0, ${opts.numClasses ?? 'numClasses'}) (and is not the ignore label ${IGNORE_INDEX})`);
      }
    });
    if (lv.every((v) => v === IGNORE_INDEX)) throw new InputError(`labels: every sample has the ignore label ${IGNORE_INDEX} (no labels): a loss needs at least one; score unlabeled batches with the infer graph`);
    feeds[INPUT_NAMES.labels] = tensorData('int64', [B], BigInt64Array.from(lv, BigInt));
  }
  return {
    feeds,
    positionIds: tensorData('int64', [3, B, S], positionIds),
    ropeDeltas: tensorData('int64', [B, 1], ropeDeltas),
    numImageTokens: nImageTokens,
    numPatches: P,
    lastTokens,
  };
}
