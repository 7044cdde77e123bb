import sharp from 'sharp';
import { readFile } from 'node:fs/promises';
import type { ImageProcessorConfig } from './image_config.js';
import { resizeBicubic } from './resize.js';
import { smartResize } from './smart_resize.js';
import type { RgbImage } from './types.js';

/** One preprocessed image: its flattened patches and its (t, h, w) grid in patches. */
export interface ImagePatches {
  /** float32 [t*h*w, C*T*patch*patch], rows in merge-window order */
  readonly patches: Float32Array;
  readonly grid: readonly [number, number, number];
  /** the resized image that was patchified (for inspection) */
  readonly resized: RgbImage;
}

/** Throw unless `img` is a well-formed HWC uint8 RGB image of at least one patch per side. */
export function validateImage(img: RgbImage, where: string, patchSize: number): void {
  if (typeof img !== 'object' || img === null) throw new Error(`${where}: expected an RgbImage, got ${String(img)}`);
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`${where}: width/height must be positive integers, got ${width}x${height}`);
  }
  if (channels !== 3) throw new Error(`${where}: expected channels = 3 (RGB, HWC), got ${channels}`);
  if (!(data instanceof Uint8Array)) throw new Error(`${where}: data must be a Uint8Array (HWC uint8)`);
  if (data.length !== width * height * 3) {
    throw new Error(`${where}: data has ${data.length} bytes, expected ${width}*${height}*3 = ${width * height * 3}`);
  }
  // HF would upscale such an image; a camera frame this small is almost surely a bug upstream.
  if (width < patchSize || height < patchSize) {
    throw new Error(
      `${where}: image is ${width}x${height} (w x h), smaller than one ${patchSize}x${patchSize} patch; expected at least ${patchSize} pixels per side`,
    );
  }
}

/** Size an image will have after smart resize, and its (t, h, w) patch grid. */
export function plannedSize(img: RgbImage, cfg: ImageProcessorConfig, where = 'image'): { width: number; height: number; grid: [number, number, number] } {
  const p = cfg.patchSize;
  const m = cfg.mergeSize;
  validateImage(img, where, p);
  let height = img.height;
  let width = img.width;
  if (cfg.doResize) [height, width] = smartResize(img.height, img.width, p * m, cfg.minPixels, cfg.maxPixels);
  else if (height % (p * m) !== 0 || width % (p * m) !== 0) {
    throw new Error(`${where}: do_resize is false but ${width}x${height} is not a multiple of ${p * m}`);
  }
  return { width, height, grid: [1, height / p, width / p] };
}

/** Per-channel lookup tables uint8 -> normalized float32, as HF's fused (x - mean/r) / (std/r) in float32. */
function normalizeTables(cfg: ImageProcessorConfig): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const mean = cfg.doNormalize ? cfg.imageMean[c]! : 0;
    const std = cfg.doNormalize ? cfg.imageStd[c]! : 1;
    const r = cfg.doRescale ? cfg.rescaleFactor : 1;
    const fm = Math.fround(mean / r);
    const fs = Math.fround(std / r);
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = Math.fround((v - fm) / fs);
    return lut;
  });
}

// Port of transformers models/qwen2_vl/image_processing_qwen2_vl_fast.py Qwen2VLImageProcessorFast._preprocess
// (one image): smart resize, fused rescale+normalize, temporal repeat, patch flattening
// view(t,T,C,h/m,m,p,w/m,m,p).permute(0,3,6,4,7,2,1,5,8).
/**
 * Preprocess one image into `t*h*w` rows of `3*T*p*p` floats. With `out`, rows are written there from
 * element `offset` on (the batch buffer; saves a copy), else into a new array.
 */
export function preprocessImage(img: RgbImage, cfg: ImageProcessorConfig, where = 'image', out?: Float32Array, offset = 0): ImagePatches {
  const p = cfg.patchSize;
  const m = cfg.mergeSize;
  const T = cfg.temporalPatchSize;
  const plan = plannedSize(img, cfg, where);
  const resized = resizeBicubic(img, plan.width, plan.height, cfg.resizeKernel);
  const W = resized.width;
  const [, gh, gw] = plan.grid;
  const [lut0, lut1, lut2] = normalizeTables(cfg) as [Float32Array, Float32Array, Float32Array];
  const pp = p * p;
  const rowLen = 3 * T * pp;
  const nRows = gh * gw; // grid_t = 1: the single frame is repeated T times
  const dst = out ?? new Float32Array(nRows * rowLen);
  if (dst.length < offset + nRows * rowLen) throw new Error(`${where}: output buffer too small for ${nRows} patch rows`);
  const src = resized.data;
  let row = offset;
  for (let bh = 0; bh < gh / m; bh++) {
    for (let bw = 0; bw < gw / m; bw++) {
      for (let mh = 0; mh < m; mh++) {
        for (let mw = 0; mw < m; mw++, row += rowLen) {
          const y0 = (bh * m + mh) * p;
          const x0 = (bw * m + mw) * p;
          // row layout: channel-major, then temporal copy, then py, px
          for (let py = 0; py < p; py++) {
            let s = ((y0 + py) * W + x0) * 3;
            const d = row + py * p;
            for (let px = 0; px < p; px++, s += 3) {
              const v0 = lut0[src[s]!]!;
              const v1 = lut1[src[s + 1]!]!;
              const v2 = lut2[src[s + 2]!]!;
              for (let t = 0; t < T; t++) {
                dst[d + px + t * pp] = v0;
                dst[d + px + (T + t) * pp] = v1;
                dst[d + px + (2 * T + t) * pp] = v2;
              }
            }
          }
        }
      }
    }
  }
  const patches = out ? dst.subarray(offset, offset + nRows * rowLen) : dst;
  return { patches, grid: plan.grid, resized };
}

/** Decode an image file (PNG, JPEG, WebP, ...) into RGB uint8 HWC; alpha is dropped, as PIL's convert('RGB'). */
export async function loadImage(path: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`image file '${path}': cannot read (${(e as Error).message})`);
  }
  try {
    const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    throw new Error(`image file '${path}': not a readable image (${(e as Error).message})`);
  }
}
