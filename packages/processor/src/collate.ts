import type { TensorData } from '@vlreward/graph';
import type { ImagePatches } from './images.js';
import { getRopeIndex, type RopeIndexConfig } from './rope_index.js';
import type { Batch } from './types.js';

/** One sample after tokenization and image preprocessing, before padding. */
export interface EncodedSample {
  /** token ids with every image placeholder already expanded to its <|image_pad|> run */
  readonly ids: readonly number[];
  readonly images: readonly ImagePatches[];
  readonly label: number | undefined;
}

/** Label value for samples without one (PyTorch cross_entropy's ignore_index). */
export const IGNORE_LABEL = -100;

/**
 * Pad samples on the right to the longest one and build the batch tensors, including the M-RoPE
 * position ids (the model pools the last non-pad token, so padding must come last).
 */
export function collate(samples: readonly EncodedSample[], padTokenId: number, rope: RopeIndexConfig, imageTokenId: number): Batch {
  const B = samples.length;
  const L = Math.max(...samples.map((s) => s.ids.length));
  const inputIds = new BigInt64Array(B * L).fill(BigInt(padTokenId));
  const mask = new BigInt64Array(B * L);
  const labels = new BigInt64Array(B);
  const tokensPerSample: number[] = [];
  let nImages = 0;
  let nRows = 0;
  let rowLen = 0;
  for (const s of samples) {
    for (const im of s.images) {
      nImages++;
      const rows = im.grid[0] * im.grid[1] * im.grid[2];
      nRows += rows;
      rowLen = im.patches.length / rows;
    }
  }
  const pixels = new Float32Array(nRows * rowLen);
  const grid = new BigInt64Array(nImages * 3);
  let pOff = 0;
  let gi = 0;
  samples.forEach((s, b) => {
    for (let j = 0; j < s.ids.length; j++) {
      inputIds[b * L + j] = BigInt(s.ids[j]!);
      mask[b * L + j] = 1n;
    }
    labels[b] = BigInt(s.label ?? IGNORE_LABEL);
    tokensPerSample.push(s.ids.filter((t) => t === imageTokenId).length);
    for (const im of s.images) {
      pixels.set(im.patches, pOff);
      pOff += im.patches.length;
      grid[gi * 3] = BigInt(im.grid[0]);
      grid[gi * 3 + 1] = BigInt(im.grid[1]);
      grid[gi * 3 + 2] = BigInt(im.grid[2]);
      gi++;
    }
  });
  const ids: TensorData = { dtype: 'int64', dims: [B, L], data: inputIds };
  const attentionMask: TensorData = { dtype: 'int64', dims: [B, L], data: mask };
  const imageGridThw: TensorData = { dtype: 'int64', dims: [nImages, 3], data: grid };
  const { positionIds, ropeDeltas } = getRopeIndex(ids, attentionMask, imageGridThw, rope);
  return {
    inputIds: ids,
    attentionMask,
    pixelValues: { dtype: 'float32', dims: [nRows, rowLen], data: pixels },
    imageGridThw,
    labels: { dtype: 'int64', dims: [B], data: labels },
    positionIds,
    ropeDeltas,
    batchSize: B,
    seqLen: L,
    imageTokensPerSample: tokensPerSample,
  };
}
