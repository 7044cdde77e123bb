import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensorsSharded } from '@vlreward/graph';
import { afterAll, describe, expect, it } from 'vitest';
import { hfHubCacheDir, resolveModelDir } from '../src/hub.js';
import { loadQwen3VL } from '../src/load.js';
import { parseQwen3VLConfig } from '../src/qwen3_vl/config.js';
import { tinyQwen3VLConfig } from '../src/qwen3_vl/presets.js';
import { randomQwen3VLWeights } from '../src/qwen3_vl/weights.js';

const tmp = mkdtempSync(join(tmpdir(), 'vlr-hub-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('model resolution', () => {
  it('finds a hub id in the Hugging Face cache layout and loads it', async () => {
    const json = tinyQwen3VLConfig({ text_config: { vocab_size: 300 } });
    const commit = 'a'.repeat(40);
    const repo = join(tmp, 'hub', 'models--Org--Tiny-VL');
    const snap = join(repo, 'snapshots', commit);
    mkdirSync(join(repo, 'refs'), { recursive: true });
    writeFileSync(join(repo, 'refs', 'main'), commit);
    await writeSafetensorsSharded(snap, randomQwen3VLWeights(parseQwen3VLConfig(json)), { fsync: false, maxShardBytes: 100_000 });
    writeFileSync(join(snap, 'config.json'), JSON.stringify(json));
    expect(await resolveModelDir('Org/Tiny-VL', { cacheDir: join(tmp, 'hub'), download: false })).toBe(snap);
    const m = await loadQwen3VL('Org/Tiny-VL', { cacheDir: join(tmp, 'hub'), download: false });
    expect(m.config.text.vocabSize).toBe(300);
    expect(m.weights.size).toBe(63);
  });

  it('offline and not cached, or neither folder nor id: clear errors', async () => {
    await expect(resolveModelDir('Org/Missing', { cacheDir: join(tmp, 'hub'), download: false })).rejects.toThrow(/not in the Hugging Face cache .* downloads are off/);
    await expect(resolveModelDir('./no/such/dir/here')).rejects.toThrow(/neither an existing folder nor a hub id/);
    mkdirSync(join(tmp, 'empty'));
    await expect(resolveModelDir(join(tmp, 'empty'))).rejects.toThrow(/not a model folder \(no config.json\)/);
  });

  it('cache dir follows HF_HUB_CACHE / HF_HOME', () => {
    expect(hfHubCacheDir({ HF_HUB_CACHE: '/x/hub' })).toBe('/x/hub');
    expect(hfHubCacheDir({ HF_HOME: '/y' })).toBe('/y/hub');
  });
});
