// `vlreward model synth`: the hub-layout test model, and every --model consumer finding it
// offline under the real repository id (processor, weights loader).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Qwen3VLProcessor } from '@vlreward/processor';
import { loadQwen3VL, QWEN3_VL_2B_CONFIG } from '@vlreward/model';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/main.js';

const tmp = mkdtempSync(join(tmpdir(), 'vlr-model-synth-'));
const env = { ...process.env };
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...env };
  vi.restoreAllMocks();
});

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(String(s)));
  vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(String(s)));
  return main(argv).then((code) => ({ code, out: out.join('\n'), err: err.join('\n') }));
}

describe('vlreward model synth', () => {
  it('--tiny writes Qwen/Qwen3-VL-2B-Instruct into --cache; processor and loader find it offline', async () => {
    const cache = join(tmp, 'hub');
    const r = await run(['model', 'synth', '--tiny', '--cache', cache, '--json']);
    expect(r.code, r.err).toBe(0);
    const w = JSON.parse(r.out) as { snapshotDir: string; commit: string; cacheDir: string; files: { file: string }[] };
    expect(w.cacheDir).toBe(cache);
    expect(w.snapshotDir).toBe(join(cache, 'models--Qwen--Qwen3-VL-2B-Instruct', 'snapshots', w.commit));
    expect(w.files.map((f) => f.file)).toContain('model.safetensors');

    process.env.HF_HUB_CACHE = cache;
    process.env.HF_HUB_OFFLINE = '1';
    const proc = await Qwen3VLProcessor.fromPretrained('Qwen/Qwen3-VL-2B-Instruct');
    expect(proc.modelDir).toBe(w.snapshotDir);
    expect(proc.tokenizer.special.imagePad).toBe(151655);
    const m = await loadQwen3VL('Qwen/Qwen3-VL-2B-Instruct');
    expect(m.dir).toBe(w.snapshotDir);
    expect(m.config.text.numHiddenLayers).toBe(2);

    // Writing again replaces the same snapshot (same config and seed → same commit).
    const again = await run(['model', 'synth', '--tiny', '--cache', cache]);
    expect(again.code).toBe(0);
    expect(again.out).toContain(`refs/main = ${w.commit}`);
    expect(again.out).toContain(`next: HF_HUB_CACHE=${cache} HF_HUB_OFFLINE=1 vlreward train --root DATASET --model Qwen/Qwen3-VL-2B-Instruct`);
  });

  it('--config FILE is written as the snapshot config; --repo names the entry', async () => {
    const cfgFile = join(tmp, 'config.json');
    const cfg = JSON.parse(JSON.stringify(QWEN3_VL_2B_CONFIG)) as Record<string, any>;
    Object.assign(cfg.text_config, { num_hidden_layers: 1, hidden_size: 32, intermediate_size: 64, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, vocab_size: 500, rope_scaling: { mrope_interleaved: true, mrope_section: [4, 2, 2], rope_type: 'default' } });
    Object.assign(cfg.vision_config, { depth: 1, hidden_size: 32, intermediate_size: 64, num_heads: 2, out_hidden_size: 32, deepstack_visual_indexes: [0], num_position_embeddings: 16 });
    writeFileSync(cfgFile, JSON.stringify(cfg));
    const cache = join(tmp, 'hub2');
    const r = await run(['model', 'synth', '--config', cfgFile, '--cache', cache, '--repo', 'Org/Small-VL', '--json']);
    expect(r.code, r.err).toBe(0);
    const w = JSON.parse(r.out) as { snapshotDir: string };
    expect(w.snapshotDir.startsWith(join(cache, 'models--Org--Small-VL', 'snapshots'))).toBe(true);
    expect(JSON.parse(readFileSync(join(w.snapshotDir, 'config.json'), 'utf8'))).toEqual(cfg);
  });

  it('the default config is the 2B architecture of ../shared/models', () => {
    const shared = JSON.parse(readFileSync(join(import.meta.dirname, '../../../../shared/models/qwen3-vl-2b-instruct.config.json'), 'utf8'));
    expect(QWEN3_VL_2B_CONFIG).toEqual(shared);
  });

  it('bad input: exclusive flags, unreadable or invalid config, bad seed, a config that is not Qwen3-VL', async () => {
    expect((await run(['model', 'synth', '--tiny', '--config', 'x.json'])).err).toMatch(/--config and --tiny are exclusive/);
    expect((await run(['model', 'synth', '--config', join(tmp, 'nope.json'), '--cache', tmp])).err).toMatch(/--config .*nope\.json: cannot read/);
    writeFileSync(join(tmp, 'bad.json'), '{not json');
    expect((await run(['model', 'synth', '--config', join(tmp, 'bad.json'), '--cache', tmp])).err).toMatch(/--config .*bad\.json: not valid JSON/);
    expect((await run(['model', 'synth', '--tiny', '--seed', '-1', '--cache', tmp])).code).toBe(2);
    writeFileSync(join(tmp, 'other.json'), JSON.stringify({ model_type: 'llama' }));
    const r = await run(['model', 'synth', '--config', join(tmp, 'other.json'), '--cache', tmp]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/vlreward model synth: .*model_type/);
  });
});
