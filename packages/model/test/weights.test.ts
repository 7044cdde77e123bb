import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { castTensorData, writeSafetensorsSharded, type TensorData } from '@vlreward/graph';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQwen3VLConfig } from '../src/qwen3_vl/config.js';
import { tinyQwen3VLConfig } from '../src/qwen3_vl/presets.js';
import { loadQwen3VLWeights, randomQwen3VLWeights, WeightError } from '../src/qwen3_vl/weights.js';
import { FIXTURE_DIR, hasFixture } from './fixture.js';
import { readFileSync } from 'node:fs';

const tmp = mkdtempSync(join(tmpdir(), 'vlr-model-w-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('loadQwen3VLWeights', () => {
  const config = parseQwen3VLConfig(tinyQwen3VLConfig({ text_config: { vocab_size: 512 } }));

  it('reads sharded bf16 folders and casts to f32', async () => {
    const w = randomQwen3VLWeights(config, 1);
    const bf = new Map<string, TensorData>([...w].map(([k, v]) => [k, castTensorData(v, 'bfloat16')]));
    const dir = join(tmp, 'sharded');
    const res = await writeSafetensorsSharded(dir, bf, { maxShardBytes: 40_000, fsync: false });
    expect(res.files.length).toBeGreaterThan(2);
    const got = await loadQwen3VLWeights(dir, config);
    expect(got.size).toBe(w.size);
    const name = 'model.language_model.layers.1.mlp.up_proj.weight';
    const a = got.get(name)!;
    expect(a.dtype).toBe('float32');
    const want = castTensorData(bf.get(name)!, 'float32').data as Float32Array;
    expect(Array.from(a.data as Float32Array)).toEqual(Array.from(want));
  });

  it('names missing and unexpected tensors', async () => {
    const w = randomQwen3VLWeights(config, 1);
    w.delete('model.visual.pos_embed.weight');
    w.set('model.visual.pos_embed_extra.weight', { dtype: 'float32', dims: [1], data: new Float32Array(1) });
    const dir = join(tmp, 'broken');
    await writeSafetensorsSharded(dir, w, { fsync: false });
    await expect(loadQwen3VLWeights(dir, config)).rejects.toThrow(WeightError);
    await expect(loadQwen3VLWeights(dir, config)).rejects.toThrow(
      /missing 1 tensor\(s\): 'model.visual.pos_embed.weight'; unexpected 1 tensor\(s\): 'model.visual.pos_embed_extra.weight'/,
    );
  });

  it('names a tensor of another dtype with file and name', async () => {
    const w = randomQwen3VLWeights(config, 1);
    const name = 'model.language_model.layers.1.mlp.up_proj.weight';
    w.set(name, castTensorData(w.get(name)!, 'int32'));
    const dir = join(tmp, 'int32');
    await writeSafetensorsSharded(dir, w, { fsync: false });
    await expect(loadQwen3VLWeights(dir, config)).rejects.toThrow(
      new RegExp(`${dir}: tensor '${name.replace(/\./g, '\\.')}' has dtype I32 \\(expected F32, BF16 or F16\\)`),
    );
  });

  it('keeps only the names the filter allows, in table order', async () => {
    const w = randomQwen3VLWeights(config, 2);
    const bf = new Map<string, TensorData>([...w].map(([k, v]) => [k, castTensorData(v, 'bfloat16')]));
    const dir = join(tmp, 'filtered');
    await writeSafetensorsSharded(dir, bf, { maxShardBytes: 40_000, fsync: false });
    const got = await loadQwen3VLWeights(dir, config, { filter: (n) => !n.startsWith('model.visual.') });
    const want = [...w.keys()].filter((n) => !n.startsWith('model.visual.'));
    expect([...got.keys()]).toEqual(want);
    for (const n of want) expect(got.get(n)!.data).toEqual(castTensorData(bf.get(n)!, 'float32').data);
  });

  it('a folder without weights is a clear error', async () => {
    await expect(loadQwen3VLWeights(join(tmp, 'nope'), config)).rejects.toThrow(/cannot open weights: .*no weights found/);
  });

  it.runIf(hasFixture)('loads the fixture model (92 tensors)', async () => {
    const c = parseQwen3VLConfig(JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8')));
    const w = await loadQwen3VLWeights(FIXTURE_DIR, c);
    expect(w.size).toBe(92);
  });
});
