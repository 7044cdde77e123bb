import type { RgbImage } from './types.js';

/**
 * Which integer bicubic kernel to reproduce. Both are separable antialiased Keys cubic (a = -0.5)
 * filters over uint8 with uint8 rounding between the horizontal and the vertical pass; they differ
 * only in how the weights are quantised (and so by at most one level here and there):
 * - 'torch': torch's CPU kernel for uint8 + antialias (aten/src/ATen/native/cpu/UpSampleKernel.cpp,
 *   `_compute_index_ranges_int16_weights`; AVX2 `upsample_avx_bilinear_bicubic_uint8` and the generic
 *   fallback share these weights): int16 weights whose precision is chosen per pass so that the
 *   largest weight fits 15 bits. This is what transformers' fast Qwen2-VL image processor runs
 *   (torchvision `resize(antialias=True)` on a uint8 tensor on CPU). Default.
 * - 'pillow': Pillow's `Image.resize(BICUBIC)` (libImaging/Resample.c), 22-bit int32 weights; what the
 *   slow (PIL) Qwen2-VL image processor runs.
 */
export type ResizeKernel = 'torch' | 'pillow';

// Port of Pillow libImaging/Resample.c bicubic_filter (a = -0.5).
function pillowCubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

// Port of torch aten/src/ATen/native/UpSample.h cubic_convolution1/2 as used by HelperInterpCubic::aa_filter.
function torchCubic(x: number): number {
  const A = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return 0;
}

interface Coeffs {
  ksize: number;
  /** [xmin, count] per output pixel */
  bounds: Int32Array;
  /** integer weights, ksize per output pixel */
  kk: Float64Array;
  /** fixed-point precision: result = (acc + 2^(precision-1)) >> precision */
  precision: number;
}

// Port of Pillow libImaging/Resample.c precompute_coeffs + normalize_coeffs_8bpc, and of torch
// HelperInterpBase::_compute_indices_min_size_weights_aa + _compute_index_ranges_int16_weights
// (same bounds and normalised double weights; different quantisation).
function precomputeCoeffs(inSize: number, outSize: number, kernel: ResizeKernel): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const filter = kernel === 'torch' ? torchCubic : pillowCubic;
  const bounds = new Int32Array(outSize * 2);
  const w = new Float64Array(outSize * ksize);
  let wtMax = 0;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const n = Math.min(Math.min(Math.trunc(center + support + 0.5), inSize) - xmin, ksize);
    let ww = 0;
    for (let x = 0; x < n; x++) {
      const v = filter((x + xmin - center + 0.5) * ss);
      w[xx * ksize + x] = v;
      ww += v;
    }
    if (ww !== 0) {
      for (let x = 0; x < n; x++) {
        const v = w[xx * ksize + x]! / ww;
        w[xx * ksize + x] = v;
        if (v > wtMax) wtMax = v;
      }
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = n;
  }
  let precision = 22; // Pillow PRECISION_BITS = 32 - 8 - 2
  if (kernel === 'torch') {
    // the largest p < 22 such that the largest weight still fits int16 at precision p + 1 ... as torch's loop
    for (precision = 0; precision < 22; precision++) {
      if (Math.trunc(0.5 + wtMax * 2 ** (precision + 1)) >= 2 ** 15) break;
    }
  }
  const one = 2 ** precision;
  const kk = new Float64Array(outSize * ksize);
  for (let i = 0; i < kk.length; i++) {
    const v = w[i]! * one;
    kk[i] = v < 0 ? Math.trunc(-0.5 + v) : Math.trunc(0.5 + v);
  }
  return { ksize, bounds, kk, precision };
}

/** Fixed-point accumulator -> uint8: arithmetic shift (floor division), clamped to 0..255. */
function clip8(v: number, one: number): number {
  if (v >= one * 256) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / one);
}

/**
 * Antialiased bicubic resize of an RGB image, bit-exact to the chosen integer kernel (see
 * ResizeKernel): horizontal pass first (skipped when the width is unchanged), uint8 rounding, then
 * the vertical pass. Returns the input itself when the size is unchanged (as torch and Pillow do).
 */
export function resizeBicubic(img: RgbImage, outWidth: number, outHeight: number, kernel: ResizeKernel = 'torch'): RgbImage {
  const { width: inW, height: inH, data } = img;
  if (outWidth === inW && outHeight === inH) return img;
  let cur = data;
  let curW = inW;
  if (outWidth !== inW) {
    const { ksize, bounds, kk, precision } = precomputeCoeffs(inW, outWidth, kernel);
    const one = 2 ** precision;
    const half = one / 2;
    const out = new Uint8Array(outWidth * inH * 3);
    for (let y = 0; y < inH; y++) {
      const row = y * inW * 3;
      for (let xx = 0; xx < outWidth; xx++) {
        const xmin = bounds[xx * 2]!;
        const n = bounds[xx * 2 + 1]!;
        const k0 = xx * ksize;
        let s0 = half;
        let s1 = half;
        let s2 = half;
        for (let x = 0; x < n; x++) {
          const k = kk[k0 + x]!;
          const p = row + (x + xmin) * 3;
          s0 += data[p]! * k;
          s1 += data[p + 1]! * k;
          s2 += data[p + 2]! * k;
        }
        const o = (y * outWidth + xx) * 3;
        out[o] = clip8(s0, one);
        out[o + 1] = clip8(s1, one);
        out[o + 2] = clip8(s2, one);
      }
    }
    cur = out;
    curW = outWidth;
  }
  if (outHeight !== inH) {
    const { ksize, bounds, kk, precision } = precomputeCoeffs(inH, outHeight, kernel);
    const one = 2 ** precision;
    const half = one / 2;
    const out = new Uint8Array(curW * outHeight * 3);
    const stride = curW * 3;
    // Row-at-a-time accumulation: streams through the input rows (same integer sums, cache friendly).
    const acc = new Float64Array(stride);
    for (let yy = 0; yy < outHeight; yy++) {
      const ymin = bounds[yy * 2]!;
      const n = bounds[yy * 2 + 1]!;
      const k0 = yy * ksize;
      acc.fill(half);
      for (let y = 0; y < n; y++) {
        const k = kk[k0 + y]!;
        if (k === 0) continue;
        const base = (y + ymin) * stride;
        for (let xc = 0; xc < stride; xc++) acc[xc] = acc[xc]! + cur[base + xc]! * k;
      }
      const o = yy * stride;
      for (let xc = 0; xc < stride; xc++) out[o + xc] = clip8(acc[xc]!, one);
    }
    cur = out;
  }
  return { width: outWidth, height: outHeight, channels: 3, data: cur };
}
