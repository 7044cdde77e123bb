// Measures how far other resize/preprocess paths are from what this package computes by default
// (torch's uint8 antialiased bicubic = HF fast processor on CPU, + its normalization and patch order), on synthetic camera-like
// images. Run: npx tsx --conditions=@vlreward/source packages/processor/scripts/measure_resize.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Qwen2VLImageProcessor, RawImage } from '@huggingface/transformers';
import { parseImageProcessorConfig, preprocessImage, resizeBicubic, smartResize, type RgbImage } from '@vlreward/processor';

const MODEL = process.argv[2] ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'models', 'qwen3vl-processor');
const raw = JSON.parse(readFileSync(join(MODEL, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
const cfg = parseImageProcessorConfig(raw);

/** Smooth gradients + edges + noise: resampling differences show up where a real frame has detail. */
function synth(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const edge = ((x >> 5) + (y >> 5)) % 2 ? 60 : 0;
      data[i] = Math.min(255, Math.max(0, (x * 255) / width + edge - 30 + (rnd() - 0.5) * 40));
      data[i + 1] = Math.min(255, Math.max(0, (y * 255) / height - edge + 30 + (rnd() - 0.5) * 40));
      data[i + 2] = Math.min(255, Math.max(0, 128 + 100 * Math.sin(x / 7 + y / 11) + (rnd() - 0.5) * 40));
    }
  }
  return { width, height, channels: 3, data };
}

/** torch's float antialiased bicubic (a = -0.5, same weights as Pillow, no intermediate rounding), then round+clamp. */
function resizeFloat(img: RgbImage, ow: number, oh: number): RgbImage {
  const weights = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const fs = Math.max(scale, 1);
    const support = 2 * fs;
    const out: { min: number; w: number[] }[] = [];
    const f = (x: number) => {
      x = Math.abs(x);
      return x < 1 ? (1.5 * x - 2.5) * x * x + 1 : x < 2 ? (((x - 5) * x + 8) * x - 4) * -0.5 : 0;
    };
    for (let o = 0; o < outSize; o++) {
      const c = (o + 0.5) * scale;
      const min = Math.max(0, Math.trunc(c - support + 0.5));
      const max = Math.min(inSize, Math.trunc(c + support + 0.5));
      const w: number[] = [];
      for (let x = min; x < max; x++) w.push(f((x - c + 0.5) / fs));
      const sum = w.reduce((a, b) => a + b, 0);
      out.push({ min, w: w.map((v) => v / sum) });
    }
    return out;
  };
  const wx = weights(img.width, ow);
  const wy = weights(img.height, oh);
  const tmp = new Float64Array(ow * img.height * 3);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        wx[x]!.w.forEach((w, k) => (s += w * img.data[(y * img.width + wx[x]!.min + k) * 3 + c]!));
        tmp[(y * ow + x) * 3 + c] = s;
      }
  const out = new Uint8Array(ow * oh * 3);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        wy[y]!.w.forEach((w, k) => (s += w * tmp[((wy[y]!.min + k) * ow + x) * 3 + c]!));
        out[(y * ow + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(s)));
      }
  return { width: ow, height: oh, channels: 3, data: out };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const meanDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m += Math.abs(a[i]! - b[i]!);
  return m / a.length;
};
/** uint8 difference expressed after normalization with std 0.5: 1 level = 2/255 = 0.0078. */
const norm = (d: number) => (d / 255 / cfg.imageStd[0]!).toFixed(4);

const tjs = new Qwen2VLImageProcessor(raw);
// Same, told explicitly what the HF defaults are (normalize, bicubic), to separate config defaults from resampling.
const tjsFixed = new Qwen2VLImageProcessor({ ...raw, do_normalize: true, resample: 3 });
const sizes: [number, number][] = [[480, 640], [240, 320], [720, 1280], [1080, 1920], [100, 90], [300, 500]];
console.log('size (h x w) -> target | vs torch uint8 kernel, in uint8 levels max/mean (max after normalization): Pillow | sharp cubic | torch float path (images on GPU) | pixel_values of transformers.js Qwen2VLImageProcessor');
for (const [h, w] of sizes) {
  const img = synth(w, h, h * 31 + w);
  const [th, tw] = smartResize(h, w, cfg.patchSize * cfg.mergeSize, cfg.minPixels, cfg.maxPixels);
  const ref = resizeBicubic(img, tw, th, 'torch');
  const pil = resizeBicubic(img, tw, th, 'pillow');
  const viaSharp = await sharp(Buffer.from(img.data), { raw: { width: w, height: h, channels: 3 } })
    .resize(tw, th, { kernel: 'cubic', fit: 'fill' })
    .raw()
    .toBuffer();
  const flt = resizeFloat(img, tw, th);
  const ours = preprocessImage(img, cfg);
  const t = (await tjs(new RawImage(img.data, w, h, 3))) as { pixel_values: { dims: number[]; data: Float32Array }; image_grid_thw: { data: BigInt64Array } };
  const tGrid = Array.from(t.image_grid_thw.data, Number);
  const tjsCell =
    tGrid[1] === ours.grid[1] && tGrid[2] === ours.grid[2]
      ? `max ${maxDiff(t.pixel_values.data, ours.patches).toFixed(4)} mean ${meanDiff(t.pixel_values.data, ours.patches).toFixed(4)}`
      : `grid ${tGrid.join('x')} vs ${ours.grid.join('x')} (different size)`;
  const f = (await tjsFixed(new RawImage(img.data, w, h, 3))) as typeof t;
  const fGrid = Array.from(f.image_grid_thw.data, Number);
  const fixedCell =
    fGrid[1] === ours.grid[1] && fGrid[2] === ours.grid[2]
      ? `max ${maxDiff(f.pixel_values.data, ours.patches).toFixed(4)} mean ${meanDiff(f.pixel_values.data, ours.patches).toFixed(4)}`
      : `grid ${fGrid.join('x')} vs ${ours.grid.join('x')}`;
  const same = th === h && tw === w ? ' (no resize)' : '';
  console.log(
    `${h}x${w} -> ${th}x${tw}${same} | pillow ${maxDiff(pil.data, ref.data)}/${meanDiff(pil.data, ref.data).toFixed(3)} (${norm(maxDiff(pil.data, ref.data))}) | sharp ${maxDiff(viaSharp, ref.data)}/${meanDiff(viaSharp, ref.data).toFixed(3)} (${norm(maxDiff(viaSharp, ref.data))})` +
      ` | float ${maxDiff(flt.data, ref.data)}/${meanDiff(flt.data, ref.data).toFixed(3)} (${norm(maxDiff(flt.data, ref.data))})` +
      ` | tjs ${tjsCell} | tjs(normalize, bicubic) ${fixedCell}`,
  );
}
