import type { ResizeKernel } from './resize.js';

/** The image-processor settings Qwen3-VL reads from preprocessor_config.json. */
export interface ImageProcessorConfig {
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly mergeSize: number;
  readonly minPixels: number;
  readonly maxPixels: number;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly rescaleFactor: number;
  readonly doRescale: boolean;
  readonly doNormalize: boolean;
  readonly doResize: boolean;
  /** integer bicubic kernel to reproduce (not in preprocessor_config.json): 'torch' = HF fast processor on CPU */
  readonly resizeKernel: ResizeKernel;
}

function num(raw: Record<string, unknown>, key: string, fallback: number, file: string): number {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new Error(`${file}: field '${key}' must be a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function triple(raw: Record<string, unknown>, key: string, fallback: number[], file: string): [number, number, number] {
  let v = raw[key] ?? fallback;
  if (typeof v === 'number') v = [v, v, v];
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`${file}: field '${key}' must be 3 numbers (one per RGB channel), got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1], v[2]];
}

// Defaults are transformers' Qwen2VLImageProcessorFast class attributes (models/qwen2_vl/image_processing_qwen2_vl_fast.py).
const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/**
 * Parse preprocessor_config.json. `size.shortest_edge`/`size.longest_edge` are the min/max pixel counts
 * (legacy `min_pixels`/`max_pixels` win when present, as in the HF constructor); `overrides` win over both.
 */
export function parseImageProcessorConfig(
  raw: unknown,
  file = 'preprocessor_config.json',
  overrides: { minPixels?: number; maxPixels?: number; resizeKernel?: ResizeKernel } = {},
): ImageProcessorConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`${file}: expected a JSON object`);
  }
  const r = raw as Record<string, unknown>;
  const size = (typeof r.size === 'object' && r.size !== null ? r.size : {}) as Record<string, unknown>;
  let minPixels = num(size, 'shortest_edge', 56 * 56, `${file} size`);
  let maxPixels = num(size, 'longest_edge', 28 * 28 * 1280, `${file} size`);
  minPixels = num(r, 'min_pixels', minPixels, file);
  maxPixels = num(r, 'max_pixels', maxPixels, file);
  if (overrides.minPixels !== undefined) minPixels = overrides.minPixels;
  if (overrides.maxPixels !== undefined) maxPixels = overrides.maxPixels;
  if (overrides.resizeKernel !== undefined && overrides.resizeKernel !== 'torch' && overrides.resizeKernel !== 'pillow') {
    throw new Error(`resizeKernel must be 'torch' or 'pillow', got ${JSON.stringify(overrides.resizeKernel)}`);
  }
  if (!(minPixels > 0 && maxPixels >= minPixels)) {
    throw new Error(`${file}: need 0 < minPixels <= maxPixels, got minPixels=${minPixels} maxPixels=${maxPixels}`);
  }
  const resample = r.resample;
  // 3 = PIL BICUBIC, the Qwen2-VL default; anything else would silently change the pixels.
  if (resample !== undefined && resample !== 3) {
    throw new Error(`${file}: only resample=3 (bicubic) is supported, got ${JSON.stringify(resample)}`);
  }
  const mergeSize = num(r, 'merge_size', 2, file);
  const patchSize = num(r, 'patch_size', 14, file);
  const temporalPatchSize = num(r, 'temporal_patch_size', 2, file);
  return {
    patchSize,
    temporalPatchSize,
    mergeSize,
    minPixels,
    maxPixels,
    imageMean: triple(r, 'image_mean', OPENAI_CLIP_MEAN, file),
    imageStd: triple(r, 'image_std', OPENAI_CLIP_STD, file),
    rescaleFactor: num(r, 'rescale_factor', 1 / 255, file),
    doRescale: r.do_rescale !== false,
    doNormalize: r.do_normalize !== false,
    doResize: r.do_resize !== false,
    resizeKernel: overrides.resizeKernel ?? 'torch',
  };
}
