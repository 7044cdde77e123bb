// Seeded image augmentation applied to HWC uint8 RGB images before the processor
// (off by default). Semantics follow torchvision.transforms: RandomHorizontalFlip,
// ColorJitter (brightness → contrast → saturation → hue, factors drawn uniformly from
// [max(0, 1-x), 1+x], hue shift from [-h, h]) and RandomResizedCrop (area fraction
// `scale`, log-uniform aspect `ratio`, 10 tries then centre crop) resized back to the
// input size with bilinear sampling.

import type { AugmentConfig } from './config.js';
import type { Rng } from '@vlreward/graph';

/** An RGB image, rows top to bottom, pixels left to right, channels interleaved. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  readonly data: Uint8Array;
}

function check(img: RgbImage, where: string): void {
  if (img.channels !== 3 || img.data.length !== img.width * img.height * 3)
    throw new RangeError(
      `${where}: expected an HWC RGB image with ${img.width}×${img.height}×3 = ${img.width * img.height * 3} bytes, got channels=${img.channels}, ${img.data.length} bytes`,
    );
}

const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

export function hflip(img: RgbImage): RgbImage {
  check(img, 'hflip');
  const { width: w, height: h } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = (y * w + x) * 3;
      const dst = (y * w + (w - 1 - x)) * 3;
      out[dst] = img.data[src]!;
      out[dst + 1] = img.data[src + 1]!;
      out[dst + 2] = img.data[src + 2]!;
    }
  }
  return { width: w, height: h, channels: 3, data: out };
}

// ITU-R 601 luma, as torchvision's rgb_to_grayscale.
const gray = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

export interface JitterFactors {
  brightness: number;
  contrast: number;
  saturation: number;
  /** hue shift in turns, [-0.5, 0.5]. */
  hue: number;
}

/** ColorJitter with fixed factors (1, 1, 1, 0 is the identity). */
export function colorJitter(img: RgbImage, f: JitterFactors): RgbImage {
  check(img, 'colorJitter');
  const n = img.width * img.height;
  const px = new Float32Array(img.data.length);
  for (let i = 0; i < px.length; i++) px[i] = img.data[i]!;
  // Each torchvision step clamps to the valid range before the next one.
  const clampAll = () => {
    for (let i = 0; i < px.length; i++) px[i] = Math.min(255, Math.max(0, px[i]!));
  };
  if (f.brightness !== 1) {
    for (let i = 0; i < px.length; i++) px[i] = px[i]! * f.brightness;
    clampAll();
  }
  if (f.contrast !== 1) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += gray(px[3 * i]!, px[3 * i + 1]!, px[3 * i + 2]!);
    mean /= n;
    for (let i = 0; i < px.length; i++) px[i] = f.contrast * px[i]! + (1 - f.contrast) * mean;
    clampAll();
  }
  if (f.saturation !== 1) {
    for (let i = 0; i < n; i++) {
      const g = gray(px[3 * i]!, px[3 * i + 1]!, px[3 * i + 2]!);
      for (let c = 0; c < 3; c++) px[3 * i + c] = f.saturation * px[3 * i + c]! + (1 - f.saturation) * g;
    }
    clampAll();
  }
  if (f.hue !== 0) {
    for (let i = 0; i < n; i++) {
      const [h, s, v] = rgbToHsv(px[3 * i]! / 255, px[3 * i + 1]! / 255, px[3 * i + 2]! / 255);
      const [r, g, b] = hsvToRgb((((h + f.hue) % 1) + 1) % 1, s, v);
      px[3 * i] = r * 255;
      px[3 * i + 1] = g * 255;
      px[3 * i + 2] = b * 255;
    }
  }
  const out = new Uint8Array(px.length);
  for (let i = 0; i < px.length; i++) out[i] = clamp8(px[i]!);
  return { width: img.width, height: img.height, channels: 3, data: out };
}

function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  let h = 0;
  if (d > 0) {
    if (max === r) h = ((g - b) / d + 6) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h /= 6;
  }
  return [h, max > 0 ? d / max : 0, max];
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6) % 6;
  const f = h * 6 - Math.floor(h * 6);
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  switch (i) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** torchvision RandomResizedCrop.get_params. */
export function randomCropBox(
  width: number,
  height: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  rng: Rng,
): CropBox {
  const area = width * height;
  const logR: [number, number] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.range(scale[0], scale[1]);
    const aspect = Math.exp(rng.range(logR[0], logR[1]));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { left: rng.int(width - w + 1), top: rng.int(height - h + 1), width: w, height: h };
    }
  }
  // Fallback: the largest centred crop whose aspect lies within ratio.
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

/** Crop `box` and resize it to outW×outH, bilinear with half-pixel centres (align_corners=False). */
export function cropResize(img: RgbImage, box: CropBox, outW: number, outH: number): RgbImage {
  check(img, 'cropResize');
  if (box.left < 0 || box.top < 0 || box.width < 1 || box.height < 1 || box.left + box.width > img.width || box.top + box.height > img.height)
    throw new RangeError(`cropResize: box ${JSON.stringify(box)} is not inside the ${img.width}×${img.height} image`);
  const out = new Uint8Array(outW * outH * 3);
  const sx = box.width / outW;
  const sy = box.height / outH;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), box.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, box.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), box.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, box.width - 1);
      const wx = fx - x0;
      const i00 = ((box.top + y0) * img.width + box.left + x0) * 3;
      const i01 = ((box.top + y0) * img.width + box.left + x1) * 3;
      const i10 = ((box.top + y1) * img.width + box.left + x0) * 3;
      const i11 = ((box.top + y1) * img.width + box.left + x1) * 3;
      for (let c = 0; c < 3; c++) {
        const top = img.data[i00 + c]! * (1 - wx) + img.data[i01 + c]! * wx;
        const bot = img.data[i10 + c]! * (1 - wx) + img.data[i11 + c]! * wx;
        out[(y * outW + x) * 3 + c] = clamp8(top * (1 - wy) + bot * wy);
      }
    }
  }
  return { width: outW, height: outH, channels: 3, data: out };
}

/** One random augmentation of one image; every draw comes from `rng`, in a fixed order. */
export function augmentImage(img: RgbImage, cfg: AugmentConfig, rng: Rng): RgbImage {
  let out = img;
  // Draw every random number whether or not it is used, so the stream's position does
  // not depend on the image (resume and data-parallel shards stay in step).
  const doCrop = rng.bernoulli(cfg.crop);
  const box = randomCropBox(img.width, img.height, cfg.cropScale, cfg.cropRatio, rng);
  const doFlip = rng.bernoulli(cfg.hflip);
  const factor = (x: number) => rng.range(Math.max(0, 1 - x), 1 + x);
  const jitter: JitterFactors = {
    brightness: factor(cfg.brightness),
    contrast: factor(cfg.contrast),
    saturation: factor(cfg.saturation),
    hue: rng.range(-cfg.hue, cfg.hue),
  };
  if (doCrop) out = cropResize(out, box, img.width, img.height);
  if (doFlip) out = hflip(out);
  if (cfg.brightness > 0 || cfg.contrast > 0 || cfg.saturation > 0 || cfg.hue > 0) out = colorJitter(out, jitter);
  return out;
}

/** Augments every image of a sample (each camera independently). */
export function augmentSample<S extends { images: readonly RgbImage[] }>(sample: S, cfg: AugmentConfig, rng: Rng): S {
  return { ...sample, images: sample.images.map((im) => augmentImage(im, cfg, rng)) };
}
