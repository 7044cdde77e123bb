import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadQwen3VL } from '@vlreward/model';

// A model folder whose config.json is broken: the error names the file and
// where its JSON breaks (line, column, position), also for a truncated file,
// for which V8's own message has no position.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vlreward-model-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('config.json with broken JSON', () => {
  it('names the path, line, column and position', async () => {
    const cfg = join(dir, 'config.json');
    await writeFile(cfg, '{\n  "model_type": "qwen3_vl",\n  "text_config": {,\n}\n');
    await writeFile(join(dir, 'model.safetensors'), '');
    await expect(loadQwen3VL(dir)).rejects.toThrow(`${cfg}: not valid JSON at line 3, column 19 (position 48): `);
    await writeFile(cfg, '{\n  "model_type": ');
    await expect(loadQwen3VL(dir)).rejects.toThrow(`${cfg}: not valid JSON at line 2, column 17 (position 18): Unexpected end of JSON input`);
  });
});
