import type { TensorData } from '@vlreward/graph';
import { getRopeIndex, type RopeIndexConfig } from '@vlreward/graph';
import type { Batch } from './types.js';

/** One sample after tokenization, before padding. */
export interface EncodedSample {
  /** token ids with every image placeholder already expanded to its <|image_pad|> run */
  readonly ids: readonly number[];
  /** (t, h, w) patch grid of each image, in order */
  readonly grids: readonly (readonly [number, number, number])[];
  readonly label: number | undefined;
}

/** Label value for samples without one (PyTorch cross_entropy's ignore_index). */
export const IGNORE_LABEL = -100;

/**
 * Pad samples on the right to the longest one (rounded up to a multiple of `padToMultipleOf`,
 * like a tokenizer's pad_to_multiple_of) and build the batch tensors, including the M-RoPE
 * position ids (the model pools the last non-pad token, so padding must come last). `pixelValues`
 * holds the patch rows of all images in sample order, as preprocessImage wrote them.
 */
export function collate(
  samples: readonly EncodedSample[],
  pixelValues: TensorData,
  padTokenId: number,
  rope: RopeIndexConfig,
  padToMultipleOf = 1,
): Batch {
  const B = samples.length;
  if (B === 0) throw new Error('collate: no samples');
  if (!Number.isInteger(padToMultipleOf) || padToMultipleOf < 1) throw new RangeError(`collate: padToMultipleOf must be a positive integer, got ${padToMultipleOf}`);
  const L = Math.ceil(Math.max(...samples.map((s) => s.ids.length)) / padToMultipleOf) * padToMultipleOf;
  const inputIds = new BigInt64Array(B * L).fill(BigInt(padTokenId));
  const mask = new BigInt64Array(B * L);
  const labels = new BigInt64Array(B);
  const tokensPerSample: number[] = [];
  const grids = samples.flatMap((s) => s.grids);
  const grid = new BigInt64Array(grids.length * 3);
  grids.forEach((g, i) => g.forEach((v, k) => (grid[i * 3 + k] = BigInt(v))));
  const rows = grids.reduce((n, [t, h, w]) => n + t * h * w, 0);
  if (pixelValues.dims[0] !== rows) {
    throw new Error(`collate: pixelValues has ${pixelValues.dims[0]} rows, the image grids need ${rows}`);
  }
  samples.forEach((s, b) => {
    let nPad = 0;
    for (let j = 0; j < s.ids.length; j++) {
      const id = s.ids[j]!;
      if (id === rope.imageTokenId) nPad++;
      inputIds[b * L + j] = BigInt(id);
      mask[b * L + j] = 1n;
    }
    labels[b] = BigInt(s.label ?? IGNORE_LABEL);
    tokensPerSample.push(nPad);
  });
  const ids: TensorData = { dtype: 'int64', dims: [B, L], data: inputIds };
  const attentionMask: TensorData = { dtype: 'int64', dims: [B, L], data: mask };
  const imageGridThw: TensorData = { dtype: 'int64', dims: [grids.length, 3], data: grid };
  const { positionIds, ropeDeltas } = getRopeIndex(ids, attentionMask, imageGridThw, rope);
  return {
    inputIds: ids,
    attentionMask,
    pixelValues,
    imageGridThw,
    labels: { dtype: 'int64', dims: [B], data: labels },
    positionIds,
    ropeDeltas,
    batchSize: B,
    seqLen: L,
    imageTokensPerSample: tokensPerSample,
  };
}
