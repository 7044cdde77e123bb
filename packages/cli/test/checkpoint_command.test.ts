import { mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MANIFEST_NAME, saveCheckpoint, sha256File, type CheckpointManifest } from '@vlreward/checkpoint';
import { inspectSafetensors, tensorData } from '@vlreward/graph/io';
import { checkpointCommand } from '../src/commands/checkpoint.js';

const t = (dims: number[]) => tensorData('float32', dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5));
const Q_PROJ = 'model.language_model.layers.0.self_attn.q_proj';

/** A small LoRA checkpoint adapting `module` (matched by target_modules `[target]`). */
async function writeCheckpoint(out: string, module = Q_PROJ, target = 'q_proj'): Promise<string> {
  await saveCheckpoint(out, {
    head: { weight: t([2, 8]), bias: t([2]) },
    adapter: { config: { r: 2, lora_alpha: 4, target_modules: [target] }, modules: { [module]: { A: t([2, 8]), B: t([8, 2]) } } },
    manifest: { step: 7, metrics: { val_accuracy: 0.8 } },
  });
  return out;
}

/** Overwrite 4 bytes of a file in place at `offset` (same size: only sha256 can tell). */
async function overwrite(path: string, offset: number, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
}

/** Recompute sizes and hashes in vlreward.json, so the files match it again. */
async function reseal(ckpt: string): Promise<void> {
  const m = JSON.parse(await readFile(join(ckpt, MANIFEST_NAME), 'utf8')) as CheckpointManifest;
  const files = [];
  for (const f of m.files) files.push({ path: f.path, bytes: (await stat(join(ckpt, f.path))).size, sha256: await sha256File(join(ckpt, f.path)) });
  await writeFile(join(ckpt, MANIFEST_NAME), JSON.stringify({ ...m, files }));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vlreward-cli-ckpt-'));
  await writeCheckpoint(join(dir, 'checkpoint-7'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    return { code: await checkpointCommand.run(argv), out: lines.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

describe('vlreward checkpoint', () => {
  it('inspects a checkpoint, a root and a safetensors file', async () => {
    const a = await run(['inspect', join(dir, 'checkpoint-7'), '--json']);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out)).toMatchObject({ mode: 'lora', step: 7, numClasses: 2, adapter: { r: 2, modules: 1, parameters: 32 } });
    const l = await run(['list', dir]);
    expect(l.out).toMatch(/checkpoint-7\s+lora val_accuracy=0\.8/);
    const f = await run(['inspect', join(dir, 'checkpoint-7', 'classifier.safetensors')]);
    expect(f.out).toContain('classifier.weight  F32 [2, 8]');
  });

  it('verify exits 1 and names the damaged file', async () => {
    expect((await run(['verify', join(dir, 'checkpoint-7')])).code).toBe(0);
    await truncate(join(dir, 'checkpoint-7', 'adapter_model.safetensors'), 10);
    const v = await run(['verify', join(dir, 'checkpoint-7')]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/adapter_model\.safetensors: size 10 bytes, manifest says \d+/);
    await expect(run(['nope', dir])).rejects.toThrow(/unknown action 'nope'/);
  });

  it('inspect verifies by default: a same-size damaged file is a problem (exit 1); --no-verify says plainly it did not verify', async () => {
    const ck = await writeCheckpoint(join(dir, 'flipped'));
    const ok = await run(['inspect', ck]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('check       ok: verified: sha256 of every file, every tensor scanned for NaN/Inf');
    const head = join(ck, 'classifier.safetensors');
    await overwrite(head, (await stat(head)).size - 4, new Uint8Array([1, 2, 3, 4]));
    const bad = await run(['inspect', ck]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/PROBLEMS \(1\):\n {2}- classifier\.safetensors: sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}/);
    expect(JSON.parse((await run(['inspect', ck, '--json'])).out)).toMatchObject({ ok: false, verified: 'sha256' });
    const unverified = await run(['inspect', ck, '--no-verify']);
    expect(unverified.code).toBe(0);
    expect(unverified.out).toContain('NOT VERIFIED (--no-verify): files not checked against vlreward.json;');
    expect(JSON.parse((await run(['inspect', ck, '--no-verify', '--json'])).out)).toMatchObject({ ok: false, verified: 'none' });
    await expect(run(['inspect', ck, '--no-verify', '--verify', 'size'])).rejects.toThrow(/not both/);
  });

  it('inspect and verify report a LoRA module that is not a Qwen3-VL text decoder projection, by path', async () => {
    const ck = await writeCheckpoint(join(dir, 'vision-lora'), 'model.visual.blocks.0.attn.qkv', 'qkv');
    for (const action of ['inspect', 'verify']) {
      const r = await run([action, ck]);
      expect(r.code).toBe(1);
      expect(r.out).toContain("adapter_model.safetensors: LoRA module 'model.visual.blocks.0.attn.qkv' is not a Qwen3-VL text decoder projection");
    }
  });

  it('verify refuses a checkpoint whose files match the manifest but hold NaN, naming file, tensor, index and value', async () => {
    const ck = await writeCheckpoint(join(dir, 'nan'));
    const file = join(ck, 'adapter_model.safetensors');
    const e = (await inspectSafetensors(file)).entries.find((x) => x.name.endsWith('lora_B.weight'))!;
    await overwrite(file, e.byteOffset + 3 * 4, new Uint8Array(new Float32Array([NaN]).buffer));
    await reseal(ck);
    const v = await run(['verify', ck, '--json']);
    expect(v.code).toBe(1);
    expect(JSON.parse(v.out)).toMatchObject({
      ok: false,
      problems: [`adapter_model.safetensors: tensor 'base_model.model.${Q_PROJ}.lora_B.weight' [8, 2] float32 has NaN at flat index 3 (of 16)`],
    });
    expect((await run(['inspect', ck])).code).toBe(1);
  });
});
