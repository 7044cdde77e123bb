import type { TensorData } from '@vlreward/graph';

/**
 * An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC).
 * Structurally identical to @vlreward/dataset's RgbImage, so neither package imports the other.
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  readonly data: Uint8Array;
}

/** One training/eval example: the camera images (in dataset order), the text, and the class id. */
export interface ProcessorSample {
  readonly images: readonly RgbImage[];
  readonly text: string;
  readonly label?: number;
}

/**
 * The model inputs of a batch (all row-major `{dtype, dims, data}`, compatible with @vlreward/graph's
 * TensorData). Sequences are right padded with <|endoftext|>.
 */
export interface Batch {
  /** int64 [B, L] */
  readonly inputIds: TensorData;
  /** int64 [B, L]: 1 = real token, 0 = padding */
  readonly attentionMask: TensorData;
  /** float32 [P, C*T*patch*patch] = [P, 1536] for Qwen3-VL; images in batch order, rows in merge-window order */
  readonly pixelValues: TensorData;
  /** int64 [N, 3]: (t, h, w) in patches per image, images in batch order */
  readonly imageGridThw: TensorData;
  /** int64 [B]: class ids; -100 (PyTorch's ignore_index) for samples without a label */
  readonly labels: TensorData;
  /** int64 [3, B, L]: M-RoPE (t, h, w) position ids as transformers 4.57 get_rope_index; padding positions hold 1 */
  readonly positionIds: TensorData;
  /** int64 [B]: max(position) + 1 - L (batched HF semantics, L = padded length) */
  readonly ropeDeltas: TensorData;
  readonly batchSize: number;
  readonly seqLen: number;
  /** number of image tokens (<|image_pad|>) per sample, for callers that slice per sample */
  readonly imageTokensPerSample: readonly number[];
}
