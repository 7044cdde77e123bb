import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadImage, Qwen3VLProcessor, type RgbImage } from '@vlreward/processor';
import { PROCESSOR_DIR } from './paths.js';

const img = (w: number, h: number): RgbImage => ({ width: w, height: h, channels: 3, data: new Uint8Array(w * h * 3) });

describe('bad input gives clear errors', () => {
  let p: Qwen3VLProcessor;
  beforeAll(async () => {
    p = await Qwen3VLProcessor.fromPretrained(PROCESSOR_DIR, { minPixels: 32 * 32, maxPixels: 64 * 64 * 4 });
  });

  it('empty image list', () => {
    expect(() => p.encode([{ images: [], text: 'Task: x' }])).toThrow(/sample 0: 'images' is empty/);
  });

  it('empty batch', () => {
    expect(() => p.encode([])).toThrow(/non-empty array of samples/);
  });

  it('image smaller than one patch', () => {
    const ok = img(64, 64);
    expect(() => p.encode([{ images: [ok], text: 'a' }, { images: [ok, img(8, 40)], text: 'b' }])).toThrow(
      /sample 1 image 1: image is 8x40 \(w x h\), smaller than one 16x16 patch/,
    );
  });

  it('malformed image data', () => {
    const bad = { width: 32, height: 32, channels: 3 as const, data: new Uint8Array(10) };
    expect(() => p.encode([{ images: [bad], text: 'a' }])).toThrow(/sample 0 image 0: data has 10 bytes, expected 32\*32\*3 = 3072/);
    const gray = { width: 32, height: 32, channels: 1, data: new Uint8Array(1024) } as unknown as RgbImage;
    expect(() => p.encode([{ images: [gray], text: 'a' }])).toThrow(/expected channels = 3/);
  });

  it('text containing the image-pad token (or other vision tokens)', () => {
    expect(() => p.encode([{ images: [img(64, 64)], text: 'Task: <|image_pad|> here' }])).toThrow(
      /sample 0: 'text' contains the special token <\|image_pad\|> at character 6/,
    );
    expect(() => p.encode([{ images: [img(64, 64)], text: '<|vision_start|>' }])).toThrow(/<\|vision_start\|>/);
  });

  it('bad label', () => {
    expect(() => p.encode([{ images: [img(64, 64)], text: 'a', label: 1.5 }])).toThrow(/sample 0: 'label' must be a non-negative integer/);
    expect(() => p.encode([{ images: [img(64, 64)], text: 'a', label: -1 }])).toThrow(/'label'/);
  });

  it('unreadable image file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlr-proc-'));
    const notImage = join(dir, 'frame.png');
    writeFileSync(notImage, 'this is not a PNG');
    await expect(loadImage(notImage)).rejects.toThrow(/image file '.*frame\.png': not a readable image/);
    await expect(loadImage(join(dir, 'missing.jpg'))).rejects.toThrow(/image file '.*missing\.jpg': cannot read/);
  });

  it('missing processor files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlr-proc-'));
    copyFileSync(join(PROCESSOR_DIR, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
    await expect(Qwen3VLProcessor.fromPretrained(dir)).rejects.toThrow(/missing processor file\(s\) tokenizer\.json, preprocessor_config\.json/);
    await expect(Qwen3VLProcessor.fromPretrained(join(dir, 'nope'))).rejects.toThrow(/no such directory, and not a hub id/);
    // all three required files but no chat template anywhere
    const noTemplate = mkdtempSync(join(tmpdir(), 'vlr-proc-'));
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json']) copyFileSync(join(PROCESSOR_DIR, f), join(noTemplate, f));
    await expect(Qwen3VLProcessor.fromPretrained(noTemplate)).rejects.toThrow(/no chat template \(expected chat_template\.jinja/);
    await expect(Qwen3VLProcessor.fromPretrained(join(dir, 'tokenizer_config.json'))).rejects.toThrow(/expected a directory/);
  });

  it('corrupt preprocessor config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlr-proc-'));
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja']) copyFileSync(join(PROCESSOR_DIR, f), join(dir, f));
    writeFileSync(join(dir, 'preprocessor_config.json'), '{"patch_size": "sixteen"}');
    await expect(Qwen3VLProcessor.fromPretrained(dir)).rejects.toThrow(/preprocessor_config\.json: field 'patch_size' must be a positive number/);
    writeFileSync(join(dir, 'preprocessor_config.json'), '{not json');
    await expect(Qwen3VLProcessor.fromPretrained(dir)).rejects.toThrow(/preprocessor_config\.json: not valid JSON/);
  });
});
