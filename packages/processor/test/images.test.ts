import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseImageProcessorConfig, preprocessImage, resizeBicubic, smartResize } from '@vlreward/processor';
import { readFileSync } from 'node:fs';
import { FIXTURE_DIR, PROCESSOR_DIR, TEST_DATA } from './paths.js';
import { get, readSafetensorsFile } from './safetensors.js';

const preprocessorJson = JSON.parse(readFileSync(join(PROCESSOR_DIR, 'preprocessor_config.json'), 'utf8')) as unknown;

describe('smartResize (transformers qwen2_vl smart_resize)', () => {
  // Expected values printed by the Python function itself (same code as image_processing_qwen2_vl.py).
  it.each([
    [480, 640, 32, 65536, 16777216, [480, 640]],
    [80, 48, 32, 1, 1e9, [64, 64]], // Python round(2.5) == 2 (banker's), Math.round would give 96
    [2000, 3000, 32, 65536, 1000000, [800, 1216]],
    [96, 128, 32, 65536, 16777216, [224, 320]],
    [64, 64, 32, 65536, 16777216, [256, 256]],
    [4000, 3000, 32, 65536, 16777216, [4000, 3008]],
    [720, 1280, 32, 65536, 16777216, [704, 1280]],
    [33, 500, 32, 65536, 16777216, [96, 1024]],
    [240, 320, 32, 200704, 1003520, [416, 544]],
  ])('%i x %i', (h, w, f, mn, mx, expected) => {
    expect(smartResize(h, w, f, mn, mx)).toEqual(expected);
  });

  it('rejects extreme aspect ratios', () => {
    expect(() => smartResize(10, 3000)).toThrow(/aspect ratio must be smaller than 200/);
  });
});

describe('resizeBicubic', () => {
  const ref = readSafetensorsFile(join(TEST_DATA, 'resize_pillow.safetensors'));
  const check = (kernel: 'torch' | 'pillow', prefix: string) => {
    for (let i = 0; i < 6; i++) {
      const inp = get(ref, `in.${i}`);
      const out = get(ref, `${prefix}.${i}`);
      const [h, w] = inp.dims as [number, number];
      const [oh, ow] = out.dims as [number, number];
      const got = resizeBicubic({ width: w, height: h, channels: 3, data: inp.data as Uint8Array }, ow, oh, kernel);
      let maxDiff = 0;
      for (let k = 0; k < got.data.length; k++) maxDiff = Math.max(maxDiff, Math.abs(got.data[k]! - (out.data as Uint8Array)[k]!));
      expect({ case: i, maxDiff }).toEqual({ case: i, maxDiff: 0 });
    }
  };

  it("'pillow' is bit-exact to Pillow 9.4 Image.resize(BICUBIC) (down, up and mixed)", () => check('pillow', 'out'));

  it("'torch' (default) is bit-exact to a transcription of torch's uint8 antialiased bicubic", () => check('torch', 'torch'));

  it('the two kernels differ by at most 2 levels', () => {
    const inp = get(ref, 'in.1');
    const img = { width: 90, height: 100, channels: 3 as const, data: inp.data as Uint8Array };
    const a = resizeBicubic(img, 128, 160, 'torch').data;
    const b = resizeBicubic(img, 128, 160, 'pillow').data;
    let maxDiff = 0;
    for (let k = 0; k < a.length; k++) maxDiff = Math.max(maxDiff, Math.abs(a[k]! - b[k]!));
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThanOrEqual(2);
    expect(resizeBicubic(img, 90, 100)).toBe(img); // same size: untouched
  });
});

describe('pixel_values (HF Qwen2VLImageProcessorFast: rescale+normalize, temporal repeat, patch order)', () => {
  it('match the fixture pixel_values for its already-resized images', () => {
    const inputs = readSafetensorsFile(join(FIXTURE_DIR, 'inputs.safetensors'));
    const expected = get(inputs, 'pixel_values').data as Float32Array;
    const grid = Array.from(get(inputs, 'image_grid_thw').data as BigInt64Array, Number);
    // The fixture images are at their final size; a small min_pixels keeps smart_resize from upscaling them.
    const cfg = parseImageProcessorConfig(preprocessorJson, 'preprocessor_config.json', { minPixels: 32 * 32 });
    let row = 0;
    let maxDiff = 0;
    for (let i = 0; i < 6; i++) {
      const img = get(inputs, `images.${i}`);
      const [h, w] = img.dims as [number, number];
      const out = preprocessImage({ width: w, height: h, channels: 3, data: img.data as Uint8Array }, cfg);
      expect(out.grid).toEqual(grid.slice(i * 3, i * 3 + 3));
      expect(out.resized.width).toBe(w);
      for (let k = 0; k < out.patches.length; k++) {
        maxDiff = Math.max(maxDiff, Math.abs(out.patches[k]! - expected[row * 1536 + k]!));
      }
      row += out.patches.length / 1536;
    }
    expect(row).toBe(112);
    expect(maxDiff).toBeLessThan(1e-2);
    expect(maxDiff).toBeLessThan(1e-6); // in fact float32-exact: same fused (x - 127.5) / 127.5
  });

  it('end to end with a resize: pixel_values of a 40x30 image equal normalize(reference resize) within 1e-2 (in fact exactly)', () => {
    const ref = readSafetensorsFile(join(TEST_DATA, 'resize_pillow.safetensors'));
    const src = get(ref, 'in.4'); // 30x40 (h x w)
    const [h, w] = src.dims as [number, number];
    // 30x40 with min_pixels 96*128: round(30/32)=1, round(40/32)=1 -> 32x32 < 12288 -> beta = sqrt(12288/1200)
    // -> ceil(30*3.2/32)*32 = 96, ceil(40*3.2/32)*32 = 128: the reference case 4 size (96 x 128)
    const cfg = parseImageProcessorConfig(preprocessorJson, 'preprocessor_config.json', { minPixels: 96 * 128 });
    const out = preprocessImage({ width: w, height: h, channels: 3, data: src.data as Uint8Array }, cfg);
    expect(out.grid).toEqual([1, 6, 8]);
    const resized = get(ref, 'torch.4').data as Uint8Array; // torch-kernel reference, HWC 96x128
    // rebuild pixel_values from the reference pixels with the documented layout and (x/255 - 0.5)/0.5
    let maxDiff = 0;
    let row = 0;
    for (let bh = 0; bh < 3; bh++)
      for (let bw = 0; bw < 4; bw++)
        for (let mh = 0; mh < 2; mh++)
          for (let mw = 0; mw < 2; mw++, row++)
            for (let c = 0; c < 3; c++)
              for (let t = 0; t < 2; t++)
                for (let py = 0; py < 16; py++)
                  for (let px = 0; px < 16; px++) {
                    const y = (bh * 2 + mh) * 16 + py;
                    const x = (bw * 2 + mw) * 16 + px;
                    const expected = (resized[(y * 128 + x) * 3 + c]! / 255 - 0.5) / 0.5;
                    const got = out.patches[row * 1536 + ((c * 2 + t) * 16 + py) * 16 + px]!;
                    maxDiff = Math.max(maxDiff, Math.abs(got - expected));
                  }
    expect(row).toBe(48);
    expect(maxDiff).toBeLessThan(1e-6);
  });

  it('uses the configured mean/std per channel', () => {
    const cfg = parseImageProcessorConfig({ ...(preprocessorJson as object), image_mean: [0.1, 0.2, 0.3], image_std: [0.5, 0.25, 1] });
    const data = new Uint8Array(32 * 32 * 3);
    for (let i = 0; i < data.length; i += 3) data.set([255, 0, 51], i);
    const out = preprocessImage({ width: 32, height: 32, channels: 3, data }, { ...cfg, minPixels: 1024 });
    // row layout C x T x 16 x 16: channel c occupies [c*512, (c+1)*512)
    expect(out.patches[0]).toBeCloseTo((1 - 0.1) / 0.5, 5);
    expect(out.patches[511]).toBeCloseTo((1 - 0.1) / 0.5, 5);
    expect(out.patches[512]).toBeCloseTo((0 - 0.2) / 0.25, 5);
    expect(out.patches[1024]).toBeCloseTo((0.2 - 0.3) / 1, 5);
  });
});
