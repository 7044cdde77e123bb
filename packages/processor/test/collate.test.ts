import { beforeAll, describe, expect, it } from 'vitest';
import { IGNORE_LABEL, Qwen3VLProcessor, type RgbImage } from '@vlreward/processor';
import { PROCESSOR_DIR } from './paths.js';

function image(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13 + seed * 101) % 256;
  return { width, height, channels: 3, data };
}

const n = (a: ArrayLike<bigint | number>) => Array.from(a, Number);

describe('batch collate', () => {
  let p: Qwen3VLProcessor;
  beforeAll(async () => {
    // small max_pixels keeps the test fast (fewer patches); the layout logic is the same
    p = await Qwen3VLProcessor.fromPretrained(PROCESSOR_DIR, { minPixels: 32 * 32, maxPixels: 128 * 128 });
  });

  it('pads mixed image sizes and text lengths on the right, consistently with single-sample encodes', () => {
    const samples = [
      { images: [image(64, 32, 1), image(96, 64, 2), image(32, 32, 3)], text: 'Task: short', label: 2 },
      { images: [image(128, 128, 4), image(64, 64, 5), image(40, 90, 6)], text: 'Task: a much longer task description with more words in it', label: 0 },
      { images: [image(32, 64, 7)], text: 'Task: one image, no label' },
    ];
    const batch = p.encode(samples);
    const singles = samples.map((s) => p.encode([s]));
    const lens = singles.map((s) => s.seqLen);
    expect(batch.batchSize).toBe(3);
    expect(batch.seqLen).toBe(Math.max(...lens));
    expect(new Set(lens).size).toBe(3);
    const L = batch.seqLen;
    const ids = n(batch.inputIds.data);
    const mask = n(batch.attentionMask.data);
    const pos = n(batch.positionIds.data);
    let row = 0;
    let img = 0;
    singles.forEach((s, b) => {
      const len = s.seqLen;
      // tokens, then <|endoftext|> padding with mask 0
      expect(ids.slice(b * L, b * L + len)).toEqual(n(s.inputIds.data));
      expect(ids.slice(b * L + len, (b + 1) * L)).toEqual(Array(L - len).fill(151643));
      expect(mask.slice(b * L, (b + 1) * L)).toEqual([...Array(len).fill(1), ...Array(L - len).fill(0)]);
      // the last real token is <|im_end|>\n's '\n' (198), what the classifier pools
      expect(ids[b * L + len - 1]).toBe(198);
      // position ids: as the single-sample ones on valid tokens, 1 on padding (transformers 4.57)
      for (let a = 0; a < 3; a++) {
        const got = pos.slice((a * 3 + b) * L, (a * 3 + b) * L + L);
        expect(got.slice(0, len)).toEqual(n(s.positionIds.data).slice(a * len, (a + 1) * len));
        expect(got.slice(len)).toEqual(Array(L - len).fill(1));
      }
      expect(Number(batch.ropeDeltas.data[b])).toBe(Number(s.ropeDeltas.data[0]) - (L - len));
      // pixel rows and grids in sample order
      const rows = s.pixelValues.dims[0]!;
      expect(Array.from((batch.pixelValues.data as Float32Array).subarray(row * 1536, (row + rows) * 1536))).toEqual(
        Array.from(s.pixelValues.data as Float32Array),
      );
      expect(n(batch.imageGridThw.data).slice(img * 3, (img + samples[b]!.images.length) * 3)).toEqual(n(s.imageGridThw.data));
      expect(batch.imageTokensPerSample[b]).toBe(s.imageTokensPerSample[0]);
      row += rows;
      img += samples[b]!.images.length;
    });
    expect(batch.pixelValues.dims).toEqual([row, 1536]);
    expect(batch.imageGridThw.dims).toEqual([7, 3]);
    expect(n(batch.labels.data)).toEqual([2, 0, IGNORE_LABEL]);
    expect(batch.inputIds.data).toBeInstanceOf(BigInt64Array);
    expect(batch.positionIds.dims).toEqual([3, 3, L]);
    expect(batch.ropeDeltas.dims).toEqual([3]);
  });

  it('honours minPixels/maxPixels overrides', async () => {
    const big = await Qwen3VLProcessor.fromPretrained(PROCESSOR_DIR);
    const small = await Qwen3VLProcessor.fromPretrained(PROCESSOR_DIR, { maxPixels: 240 * 320 });
    const s = { images: [image(640, 480, 1)], text: 'Task: x' };
    expect(n(big.encode([s]).imageGridThw.data)).toEqual([1, 30, 40]);
    expect(n(small.encode([s]).imageGridThw.data)).toEqual([1, 14, 20]); // smart_resize(480, 640, max 76800) = 224 x 320
  });
});

describe('padToMultipleOf option', () => {
  it('pads the sequence up to the multiple with masked <|endoftext|>; tokens and position ids of the real part unchanged', async () => {
    const p = await Qwen3VLProcessor.fromPretrained(PROCESSOR_DIR, { minPixels: 32 * 32, maxPixels: 128 * 128 });
    const samples = [
      { images: [image(64, 32, 1)], text: 'Task: short', label: 1 },
      { images: [image(64, 32, 2)], text: 'Task: a longer task with a few more words', label: 0 },
    ];
    const plain = p.encode(samples);
    const padded = p.encode(samples, { padToMultipleOf: 64 });
    expect(padded.seqLen % 64).toBe(0);
    expect(padded.seqLen).toBeGreaterThanOrEqual(plain.seqLen);
    expect(padded.seqLen - plain.seqLen).toBeLessThan(64);
    // Two prompts of different lengths land on one padded length.
    expect(p.encode([samples[0]!], { padToMultipleOf: 64 }).seqLen).toBe(p.encode([samples[1]!], { padToMultipleOf: 64 }).seqLen);
    const [L0, L1] = [plain.seqLen, padded.seqLen];
    const pad = p.tokenizer.padTokenId;
    for (let b = 0; b < 2; b++) {
      expect(n(padded.inputIds.data).slice(b * L1, b * L1 + L0)).toEqual(n(plain.inputIds.data).slice(b * L0, (b + 1) * L0));
      expect(n(padded.attentionMask.data).slice(b * L1, b * L1 + L0)).toEqual(n(plain.attentionMask.data).slice(b * L0, (b + 1) * L0));
      expect(n(padded.inputIds.data).slice(b * L1 + L0, (b + 1) * L1).every((t) => t === pad)).toBe(true);
      expect(n(padded.attentionMask.data).slice(b * L1 + L0, (b + 1) * L1).every((m) => m === 0)).toBe(true);
      for (let axis = 0; axis < 3; axis++) {
        const at = (bt: typeof plain, L: number) => n(bt.positionIds.data).slice((axis * 2 + b) * L, (axis * 2 + b) * L + L0);
        // Real tokens keep their M-RoPE positions wherever the masked padding ends.
        const real = n(plain.attentionMask.data).slice(b * L0, (b + 1) * L0);
        expect(at(padded, L1).filter((_, j) => real[j] === 1)).toEqual(at(plain, L0).filter((_, j) => real[j] === 1));
      }
    }
    expect(() => p.encode(samples, { padToMultipleOf: 0 })).toThrow('padToMultipleOf must be a positive integer');
  });
});

describe('pixelBuffer option', () => {
  it('writes pixel_values into the given buffer and gives the same batch', async () => {
    const p = await Qwen3VLProcessor.fromPretrained(PROCESSOR_DIR, { minPixels: 32 * 32, maxPixels: 128 * 128 });
    const samples = [{ images: [image(64, 32, 1), image(96, 64, 2)], text: 'Task: a' }];
    const plain = p.encode(samples);
    const buffer = new Float32Array(plain.pixelValues.data.length + 100);
    const reused = p.encode(samples, { pixelBuffer: buffer });
    expect((reused.pixelValues.data as Float32Array).buffer).toBe(buffer.buffer);
    expect(reused.pixelValues.data.length).toBe(plain.pixelValues.data.length);
    expect(Array.from(reused.pixelValues.data as Float32Array)).toEqual(Array.from(plain.pixelValues.data as Float32Array));
    // too small: a fresh array is used instead
    const small = p.encode(samples, { pixelBuffer: new Float32Array(10) });
    expect(small.pixelValues.data.length).toBe(plain.pixelValues.data.length);
  });
});
