import { createServer, type Server } from 'node:http';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { loadImage, Qwen3VLProcessor } from '@vlreward/processor';
import { PROCESSOR_DIR } from './paths.js';

const FILES = ['chat_template.jinja', 'chat_template.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'];

describe('save / load', () => {
  it('save() writes the processor files back byte for byte and they load again', async () => {
    const p = await Qwen3VLProcessor.fromPretrained(PROCESSOR_DIR);
    const out = join(mkdtempSync(join(tmpdir(), 'vlr-save-')), 'ckpt');
    const written = await p.save(out);
    expect(written.sort()).toEqual(FILES);
    expect(readdirSync(out).sort()).toEqual(FILES);
    for (const f of FILES) expect(readFileSync(join(out, f)).equals(readFileSync(join(PROCESSOR_DIR, f)))).toBe(true);
    const q = await Qwen3VLProcessor.fromPretrained(out);
    expect(q.renderPrompt({ images: 3, text: 'Task: x' })).toBe(p.renderPrompt({ images: 3, text: 'Task: x' }));
  });

  it('save() records min/max pixel overrides in preprocessor_config.json', async () => {
    const p = await Qwen3VLProcessor.fromPretrained(PROCESSOR_DIR, { minPixels: 1024, maxPixels: 76800 });
    const out = mkdtempSync(join(tmpdir(), 'vlr-save-'));
    await p.save(out);
    const cfg = JSON.parse(readFileSync(join(out, 'preprocessor_config.json'), 'utf8')) as { size: unknown; patch_size: number };
    expect(cfg.size).toEqual({ longest_edge: 76800, shortest_edge: 1024 });
    expect(cfg.patch_size).toBe(16);
    const q = await Qwen3VLProcessor.fromPretrained(out);
    expect([q.imageConfig.minPixels, q.imageConfig.maxPixels]).toEqual([1024, 76800]);
  });
});

describe('hub ids', () => {
  const env = { ...process.env };
  let server: Server;
  let port = 0;
  const seenAuth: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seenAuth.push(String(req.headers.authorization));
      const m = /^\/org\/tiny-vl\/resolve\/main\/(.+)$/.exec(req.url ?? '');
      const f = m?.[1];
      if (!f || !FILES.includes(f)) {
        res.statusCode = 404;
        res.end('not found');
        return;
      }
      res.end(readFileSync(join(PROCESSOR_DIR, f)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => {
    server.close();
    process.env = env;
  });

  it('resolves a hub id from the HF cache layout without network', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'vlr-hub-'));
    const repo = join(cache, 'models--Qwen--Qwen3-VL-2B-Instruct');
    const snap = join(repo, 'snapshots', '0123456789abcdef0123456789abcdef01234567');
    mkdirSync(snap, { recursive: true });
    mkdirSync(join(repo, 'refs'));
    writeFileSync(join(repo, 'refs', 'main'), '0123456789abcdef0123456789abcdef01234567\n');
    for (const f of FILES) copyFileSync(join(PROCESSOR_DIR, f), join(snap, f));
    process.env.HF_HUB_CACHE = cache;
    const p = await Qwen3VLProcessor.fromPretrained('Qwen/Qwen3-VL-2B-Instruct', { localFilesOnly: true });
    expect(p.modelDir).toBe(snap);
    await expect(Qwen3VLProcessor.fromPretrained('Qwen/Other', { localFilesOnly: true })).rejects.toThrow(/not in the HF cache/);
  });

  it('downloads into the cache from HF_ENDPOINT with HF_TOKEN', async () => {
    process.env.HF_HUB_CACHE = mkdtempSync(join(tmpdir(), 'vlr-hub-'));
    process.env.HF_ENDPOINT = `http://127.0.0.1:${port}`;
    process.env.HF_TOKEN = 'hf_test_token';
    const p = await Qwen3VLProcessor.fromPretrained('org/tiny-vl');
    expect(p.modelDir).toBe(join(process.env.HF_HUB_CACHE, 'models--org--tiny-vl', 'snapshots', 'main'));
    expect(seenAuth.every((a) => a === 'Bearer hf_test_token')).toBe(true);
    expect(p.tokenizer.special.imagePad).toBe(151655);
    await expect(Qwen3VLProcessor.fromPretrained('org/missing')).rejects.toThrow(/tokenizer\.json not found on http:\/\/127\.0\.0\.1:\d+ \(HTTP 404\)/);
  });
});

describe('loadImage', () => {
  it('decodes PNG to RGB HWC, dropping alpha and expanding gray', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlr-img-'));
    const rgba = Buffer.from([255, 0, 0, 128, 0, 255, 0, 255, 0, 0, 255, 0, 10, 20, 30, 255]);
    await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } }).png().toFile(join(dir, 'a.png'));
    const a = await loadImage(join(dir, 'a.png'));
    expect([a.width, a.height, a.channels]).toEqual([2, 2, 3]);
    expect(Array.from(a.data)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
    await sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).png().toFile(join(dir, 'g.png'));
    const g = await loadImage(join(dir, 'g.png'));
    expect(Array.from(g.data)).toEqual([0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
  });
});
