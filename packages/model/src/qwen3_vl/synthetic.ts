// A synthetic Qwen3-VL batch with the processor's layout (for benches, the
// 2B build check and tests): per sample, a user turn of `images` images as
// <|vision_start|> <|image_pad|> x tokens <|vision_end|>, then text tokens.
import { tensorData } from '@vlreward/graph';
import type { Qwen3VLConfig } from './config.js';
import type { Qwen3VLBatch } from './host_inputs.js';
import { mulberry32 } from '@vlreward/graph';

export interface SyntheticBatchOptions {
  readonly batch?: number;
  readonly images?: number;
  /** Image size in pixels (multiples of patch * merge). */
  readonly height?: number;
  readonly width?: number;
  /** Text tokens per sample besides the image markers. */
  readonly textTokens?: number;
  readonly numClasses?: number;
  readonly seed?: number;
}

export function syntheticQwen3VLBatch(config: Qwen3VLConfig, o: SyntheticBatchOptions = {}): Qwen3VLBatch {
  const B = o.batch ?? 1;
  const nImg = o.images ?? 3;
  const v = config.vision;
  const unit = v.patchSize * v.spatialMergeSize;
  const H = o.height ?? 224;
  const W = o.width ?? 224;
  if (H % unit || W % unit) throw new Error(`syntheticQwen3VLBatch: image size ${H}x${W} must be a multiple of ${unit}`);
  const gh = H / v.patchSize;
  const gw = W / v.patchSize;
  const perImage = (gh * gw) / v.spatialMergeSize ** 2;
  const text = o.textTokens ?? 24;
  const S = nImg * (perImage + 2) + text;
  const rnd = mulberry32(o.seed ?? 0);
  const ids = new BigInt64Array(B * S);
  for (let b = 0; b < B; b++) {
    let s = 0;
    const put = (t: number) => (ids[b * S + s++] = BigInt(t));
    for (let i = 0; i < nImg; i++) {
      put(config.visionStartTokenId);
      for (let k = 0; k < perImage; k++) put(config.imageTokenId);
      put(config.visionEndTokenId);
    }
    for (let k = 0; k < text; k++) put(Math.floor(rnd() * Math.min(config.text.vocabSize, 150000)));
  }
  const P = B * nImg * gh * gw;
  const pv = new Float32Array(P * v.patchDim);
  for (let i = 0; i < pv.length; i++) pv[i] = rnd() * 2 - 1;
  const grid = new BigInt64Array(B * nImg * 3);
  for (let i = 0; i < B * nImg; i++) grid.set([1n, BigInt(gh), BigInt(gw)], 3 * i);
  const labels = BigInt64Array.from({ length: B }, () => BigInt(Math.floor(rnd() * (o.numClasses ?? 2))));
  return {
    inputIds: tensorData('int64', [B, S], ids),
    attentionMask: tensorData('int64', [B, S], new BigInt64Array(B * S).fill(1n)),
    pixelValues: tensorData('float32', [P, v.patchDim], pv),
    imageGridThw: tensorData('int64', [B * nImg, 3], grid),
    labels: tensorData('int64', [B], labels),
  };
}

/**
 * Forward matmul FLOPs (2 per multiply-add) of one batch: vision blocks and
 * mergers over P patches in segments of length L, text layers over B x S
 * tokens, and the head. Elementwise work is left out.
 */
export function qwen3VLForwardFlops(config: Qwen3VLConfig, dims: { P: number; segLen: number; B: number; S: number }): number {
  const v = config.vision;
  const t = config.text;
  const { P, segLen, B, S } = dims;
  const D = v.hiddenSize;
  const M = D * v.spatialMergeSize ** 2;
  let f = 2 * P * v.patchDim * D;
  f += v.depth * (2 * P * (3 * D * D + D * D + 2 * D * v.intermediateSize) + 2 * 2 * P * segLen * D);
  const T = P / v.spatialMergeSize ** 2;
  f += (1 + v.deepstackVisualIndexes.length) * 2 * T * (M * M + M * v.outHiddenSize);
  const Hh = t.hiddenSize;
  const q = t.numAttentionHeads * t.headDim;
  const kv = t.numKeyValueHeads * t.headDim;
  const N = B * S;
  f += t.numHiddenLayers * (2 * N * (Hh * q + 2 * Hh * kv + q * Hh + 3 * Hh * t.intermediateSize) + 2 * 2 * B * S * S * q);
  return f;
}
