// Qwen3-VL's M-RoPE position ids (get_rope_index), the one copy: the processor emits
// them with each batch, the model's host inputs and the generator compute them when a
// batch has none. Here because both packages depend on @vlreward/graph and not on each other.
import type { TensorData } from './tensor_data.js';

/** The token ids and merge size get_rope_index needs (HF: config.image_token_id, ..., vision_config.spatial_merge_size). */
export interface RopeIndexConfig {
  readonly imageTokenId: number;
  readonly visionStartTokenId: number;
  readonly spatialMergeSize: number;
}

/** Qwen3-VL-2B-Instruct's values. */
export const QWEN3VL_ROPE_INDEX_CONFIG: RopeIndexConfig = { imageTokenId: 151655, visionStartTokenId: 151652, spatialMergeSize: 2 };

/** Read the RopeIndexConfig out of an HF Qwen3VLConfig object (config.json). */
export function ropeIndexConfigFromHf(config: Record<string, unknown>): RopeIndexConfig {
  const vision = (config.vision_config ?? {}) as Record<string, unknown>;
  const pick = (v: unknown, name: string, fallback: number): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`config.json: '${name}' must be an integer, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    imageTokenId: pick(config.image_token_id, 'image_token_id', QWEN3VL_ROPE_INDEX_CONFIG.imageTokenId),
    visionStartTokenId: pick(config.vision_start_token_id, 'vision_start_token_id', QWEN3VL_ROPE_INDEX_CONFIG.visionStartTokenId),
    spatialMergeSize: pick(vision.spatial_merge_size, 'vision_config.spatial_merge_size', QWEN3VL_ROPE_INDEX_CONFIG.spatialMergeSize),
  };
}

function toNumbers(t: TensorData, name: string, rank: number): { dims: readonly number[]; get: (i: number) => number } {
  if (t.dims.length !== rank) throw new Error(`getRopeIndex: ${name} must have rank ${rank}, got dims [${t.dims.join(', ')}]`);
  const d = t.data;
  if (d instanceof BigInt64Array) return { dims: t.dims, get: (i) => Number(d[i]!) };
  if (d instanceof Int32Array || d instanceof Uint8Array || d instanceof Float32Array || d instanceof Float64Array) {
    return { dims: t.dims, get: (i) => d[i]! };
  }
  throw new Error(`getRopeIndex: ${name} has unsupported dtype ${t.dtype} (expected int64 or int32)`);
}

// Port of transformers models/qwen3_vl/modeling_qwen3_vl.py Qwen3VLModel.get_rope_index (4.57.x, images only).
/**
 * 3-D M-RoPE position ids for a batch: text tokens advance all three axes together; the merged tokens
 * of an image (grid t × h/m × w/m) get (t, row, col) offset by the position the image starts at, and the
 * text after it resumes at start + max(t, h/m, w/m). Only attention_mask == 1 tokens are numbered;
 * padding positions hold 1 (HF 4.57 initialises with ones; 5.x uses 0 — never attended either way).
 * ropeDeltas[b] = max(position) + 1 - L with L the padded length, as HF's batched call returns.
 */
export function getRopeIndex(
  inputIds: TensorData,
  attentionMask: TensorData | null,
  imageGridThw: TensorData | null,
  config: RopeIndexConfig = QWEN3VL_ROPE_INDEX_CONFIG,
): { positionIds: TensorData; ropeDeltas: TensorData } {
  const ids = toNumbers(inputIds, 'inputIds', 2);
  const [B, L] = ids.dims as [number, number];
  const mask = attentionMask ? toNumbers(attentionMask, 'attentionMask', 2) : null;
  if (mask && (mask.dims[0] !== B || mask.dims[1] !== L)) {
    throw new Error(`getRopeIndex: attentionMask dims [${mask.dims.join(', ')}] differ from inputIds dims [${B}, ${L}]`);
  }
  const grid = imageGridThw ? toNumbers(imageGridThw, 'imageGridThw', 2) : null;
  if (grid && grid.dims[1] !== 3) throw new Error(`getRopeIndex: imageGridThw must be [N, 3], got [${grid.dims.join(', ')}]`);
  const nImages = grid ? grid.dims[0]! : 0;
  const m = config.spatialMergeSize;
  const pos = new BigInt64Array(3 * B * L).fill(1n);
  const deltas = new BigInt64Array(B);
  let imageIndex = 0;
  for (let b = 0; b < B; b++) {
    // Valid tokens of this row (works for left or right padding) and where they sit in the row.
    const where: number[] = [];
    const toks: number[] = [];
    for (let j = 0; j < L; j++) {
      if (!mask || mask.get(b * L + j) === 1) {
        where.push(j);
        toks.push(ids.get(b * L + j));
      }
    }
    const n = toks.length;
    const t = new Array<number>(n);
    const h = new Array<number>(n);
    const w = new Array<number>(n);
    let next = 0; // st_idx: first position after what was laid out so far
    let k = 0;
    let maxPos = -Infinity;
    const text = (count: number): void => {
      for (let i = 0; i < count; i++, k++) t[k] = h[k] = w[k] = next + i;
      if (count > 0) maxPos = Math.max(maxPos, next + count - 1);
      next += count;
    };
    while (k < n) {
      // An image starts at an <|image_pad|> that follows <|vision_start|> (HF counts images that way).
      let e = k;
      while (e < n && !(toks[e] === config.imageTokenId && e > 0 && toks[e - 1] === config.visionStartTokenId)) e++;
      text(e - k);
      if (e >= n) break;
      if (imageIndex >= nImages) {
        throw new Error(`getRopeIndex: sample ${b} has more images in inputIds than the ${nImages} rows of imageGridThw`);
      }
      const gt = grid!.get(imageIndex * 3);
      const gh = grid!.get(imageIndex * 3 + 1) / m;
      const gw = grid!.get(imageIndex * 3 + 2) / m;
      if (!Number.isInteger(gh) || !Number.isInteger(gw)) {
        throw new Error(`getRopeIndex: imageGridThw row ${imageIndex} (h, w) must be multiples of spatialMergeSize ${m}`);
      }
      const count = gt * gh * gw;
      for (let i = 0; i < count; i++) {
        if (toks[k + i] !== config.imageTokenId) {
          throw new Error(
            `getRopeIndex: sample ${b} image ${imageIndex} needs ${count} <|image_pad|> tokens (grid ${gt}x${gh * m}x${gw * m}), found ${i}`,
          );
        }
      }
      for (let ti = 0; ti < gt; ti++) {
        for (let r = 0; r < gh; r++) {
          for (let c = 0; c < gw; c++, k++) {
            t[k] = next + ti;
            h[k] = next + r;
            w[k] = next + c;
          }
        }
      }
      const span = Math.max(gt, gh, gw);
      maxPos = Math.max(maxPos, next + span - 1);
      next += span;
      imageIndex++;
    }
    for (let i = 0; i < n; i++) {
      const j = where[i]!;
      pos[b * L + j] = BigInt(t[i]!);
      pos[B * L + b * L + j] = BigInt(h[i]!);
      pos[2 * B * L + b * L + j] = BigInt(w[i]!);
    }
    // An all-padding row has no positions; HF would fail on max() of an empty tensor.
    deltas[b] = BigInt(n === 0 ? 1 - L : maxPos + 1 - L);
  }
  if (grid && imageIndex !== nImages) {
    throw new Error(`getRopeIndex: imageGridThw has ${nImages} rows but inputIds hold ${imageIndex} images`);
  }
  return {
    positionIds: { dtype: 'int64', dims: [3, B, L], data: pos },
    ropeDeltas: { dtype: 'int64', dims: [B], data: deltas },
  };
}
