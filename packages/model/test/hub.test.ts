import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { castTensorData, gitBlobSha1, inspectSafetensors, writeSafetensorsSharded } from '@vlreward/graph';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { hfHubCacheDir, resolveModelDir } from '../src/hub.js';
import { loadQwen3VL } from '../src/load.js';
import { parseQwen3VLConfig } from '../src/qwen3_vl/config.js';
import { tinyQwen3VLConfig } from '../src/qwen3_vl/presets.js';
import { qwen3VLWeightSpecs, randomQwen3VLWeights } from '../src/qwen3_vl/weights.js';
import { writeHubTestModel } from '../src/test_model_writer.js';

const PROCESSOR_DIR = join(import.meta.dirname, '../../../../shared/models/qwen3vl-processor');
const tmp = mkdtempSync(join(tmpdir(), 'vlr-hub-'));
const env = { ...process.env };
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...env };
});

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
    expect(await resolveModelDir('Org/Tiny-VL', { cacheDir: join(tmp, 'hub'), localFilesOnly: true })).toBe(snap);
    const m = await loadQwen3VL('Org/Tiny-VL', { cacheDir: join(tmp, 'hub'), localFilesOnly: true });
    expect(m.config.text.vocabSize).toBe(300);
    expect(m.weights.size).toBe(63);
    // A snapshot missing a shard is not complete: offline, the error says which file.
    rmSync(join(snap, readdirSync(snap).find((f) => f.startsWith('model-00002'))!));
    await expect(resolveModelDir('Org/Tiny-VL', { cacheDir: join(tmp, 'hub'), localFilesOnly: true })).rejects.toThrow(/snapshot .* lacks model-00002-of-/);
  });

  it('offline and not cached, or neither folder nor id: clear errors', async () => {
    await expect(resolveModelDir('Org/Missing', { cacheDir: join(tmp, 'hub'), localFilesOnly: true })).rejects.toThrow(
      /model 'Org\/Missing' \(revision main\): the model files are not in the HF cache \(no .*models--Org--Missing\/refs\/main; cache root .*hub \(the cacheDir option\)\) and offline mode is on/,
    );
    await expect(resolveModelDir('./no/such/dir/here')).rejects.toThrow(/no such directory, and not a hub id/);
    mkdirSync(join(tmp, 'empty'));
    await expect(resolveModelDir(join(tmp, 'empty'))).rejects.toThrow(/not a model folder \(no config.json\)/);
  });

  it('cache dir follows HF_HUB_CACHE / HF_HOME', () => {
    expect(hfHubCacheDir({ HF_HUB_CACHE: '/x/hub' })).toBe('/x/hub');
    expect(hfHubCacheDir({ HF_HOME: '/y' })).toBe('/y/hub');
    expect(hfHubCacheDir({ HOME: '/h', XDG_CACHE_HOME: '/c' })).toBe('/c/huggingface/hub');
  });
});

describe('writeHubTestModel (a test model in the real hub layout)', () => {
  const json = tinyQwen3VLConfig({ text_config: { vocab_size: 300 } });

  it('lays out refs, snapshots and blobs as huggingface_hub does, with one bf16 model.safetensors', async () => {
    const cache = join(tmp, 'layout');
    const w = await writeHubTestModel({ config: json, processorDir: PROCESSOR_DIR, cacheDir: cache, seed: 3, fsync: false });
    const repo = join(cache, 'models--Qwen--Qwen3-VL-2B-Instruct');
    expect(w.repoDir).toBe(repo);
    expect(readFileSync(join(repo, 'refs', 'main'), 'utf8')).toBe(w.commit);
    expect(w.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(w.snapshotDir).toBe(join(repo, 'snapshots', w.commit));
    const listed = readdirSync(w.snapshotDir).sort();
    const processorFiles = readdirSync(PROCESSOR_DIR).filter((f) => /\.(json|jinja)$/.test(f));
    expect(listed).toEqual(['config.json', 'model.safetensors', ...processorFiles].sort());
    for (const f of listed) {
      const p = join(w.snapshotDir, f);
      expect(lstatSync(p).isSymbolicLink()).toBe(true);
      const target = readlinkSync(p);
      expect(target).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{40,64}$/);
      const bytes = readFileSync(p);
      // Blob names are the hub's ETags: sha256 for LFS files (weights, the 11 MB tokenizer), git blob sha1 for the rest.
      const lfs = f === 'model.safetensors' || bytes.length >= 10_000_000;
      expect(target.split('/').at(-1)).toBe(lfs ? createHash('sha256').update(bytes).digest('hex') : gitBlobSha1(bytes));
    }
    expect(readdirSync(join(repo, 'blobs')).length).toBe(listed.length); // no leftover .incomplete files
    for (const f of processorFiles) expect(readFileSync(join(w.snapshotDir, f)).equals(readFileSync(join(PROCESSOR_DIR, f)))).toBe(true);
    expect(JSON.parse(readFileSync(join(w.snapshotDir, 'config.json'), 'utf8'))).toEqual(json);

    const header = await inspectSafetensors(join(w.snapshotDir, 'model.safetensors'));
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(new Set(header.entries.map((e) => e.safetensorsDtype))).toEqual(new Set(['BF16']));
    const config = parseQwen3VLConfig(json);
    expect(header.entries.map((e) => e.name).sort()).toEqual(qwen3VLWeightSpecs(config).map((s) => s.name).sort());
    expect(header.entries.some((e) => e.name === 'lm_head.weight')).toBe(false); // tied, as the real file

    // The values are randomQwen3VLWeights rounded to bf16 (the file never held a whole tensor in memory).
    const loaded = await loadQwen3VL(w.snapshotDir);
    const want = randomQwen3VLWeights(config, 3);
    for (const [name, t] of want) {
      const expected = castTensorData(castTensorData(t, 'bfloat16'), 'float32').data;
      expect(loaded.weights.get(name)!.data, name).toEqual(expected);
    }
  });

  it('resolves offline through HF_HUB_CACHE with HF_HUB_OFFLINE=1; absent, the error names the path and the variables', async () => {
    const cache = join(tmp, 'env-cache');
    process.env.HF_HUB_CACHE = cache;
    process.env.HF_HUB_OFFLINE = '1';
    await expect(resolveModelDir('Qwen/Qwen3-VL-2B-Instruct')).rejects.toThrow(
      new RegExp(
        `not in the HF cache \\(no ${join(cache, 'models--Qwen--Qwen3-VL-2B-Instruct', 'refs', 'main')}; cache root ${cache} \\(from HF_HUB_CACHE\\)\\) ` +
          `and offline mode is on \\(HF_HUB_OFFLINE=1\\); point HF_HUB_CACHE or HF_HOME`,
      ),
    );
    const w = await writeHubTestModel({ config: json, processorDir: PROCESSOR_DIR, fsync: false });
    expect(w.repoDir.startsWith(cache)).toBe(true);
    expect(await resolveModelDir('Qwen/Qwen3-VL-2B-Instruct')).toBe(w.snapshotDir);
    const m = await loadQwen3VL('Qwen/Qwen3-VL-2B-Instruct');
    expect(m.dir).toBe(w.snapshotDir);
    expect(m.config.text.vocabSize).toBe(300);

    delete process.env.HF_HUB_CACHE;
    process.env.HF_HOME = join(tmp, 'hf-home');
    await expect(resolveModelDir('Qwen/Qwen3-VL-2B-Instruct')).rejects.toThrow(/cache root .*hf-home\/hub \(from HF_HOME; HF_HUB_CACHE unset\)/);
  });

  it('bad input: a processor folder without the tokenizer, a bad commit', async () => {
    const empty = join(tmp, 'no-processor');
    mkdirSync(empty);
    await expect(writeHubTestModel({ config: json, processorDir: empty, cacheDir: join(tmp, 'x') })).rejects.toThrow(
      /processor dir .*no-processor: no tokenizer\.json, tokenizer_config\.json, preprocessor_config\.json/,
    );
    await expect(writeHubTestModel({ config: json, processorDir: PROCESSOR_DIR, cacheDir: join(tmp, 'x'), commit: 'main' })).rejects.toThrow(/commit 'main' is not 40 hex digits/);
  });
});

// The real size: ~4.3 GB on disk, written with bounded memory (VLREWARD_SLOW=1).
describe.skipIf(!process.env.VLREWARD_SLOW)('writeHubTestModel at 2B size', () => {
  it('streams the 2B bf16 weights with flat memory and resolves as Qwen/Qwen3-VL-2B-Instruct', async () => {
    const json = JSON.parse(readFileSync(join(PROCESSOR_DIR, '..', 'qwen3-vl-2b-instruct.config.json'), 'utf8'));
    const cache = join(tmp, 'big');
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    let peak = rss0;
    const w = await writeHubTestModel({
      config: json,
      processorDir: PROCESSOR_DIR,
      cacheDir: cache,
      onProgress: () => void (peak = Math.max(peak, process.memoryUsage().rss)),
    });
    const st = w.files.find((f) => f.file === 'model.safetensors')!;
    console.log(`2B test model: ${(st.bytes / 1e9).toFixed(2)} GB, ${w.tensors} tensors, ${((performance.now() - t0) / 1000).toFixed(1)} s, RSS +${((peak - rss0) / 2 ** 20).toFixed(0)} MiB`);
    expect(st.bytes).toBeGreaterThan(4.2e9);
    expect(w.params).toBeGreaterThan(2.1e9);
    expect(peak - rss0).toBeLessThan(512 * 2 ** 20);
    expect(await resolveModelDir('Qwen/Qwen3-VL-2B-Instruct', { cacheDir: cache, localFilesOnly: true })).toBe(w.snapshotDir);
    const header = await inspectSafetensors(join(w.snapshotDir, 'model.safetensors'));
    expect(header.entries.length).toBe(w.tensors);
  }, 1_200_000);
});
