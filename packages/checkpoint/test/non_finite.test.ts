import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, tensorData, writeSafetensors, type TensorData } from '@vlreward/graph/io';
import {
  CheckpointManager,
  CorruptCheckpointError,
  MANIFEST_NAME,
  NonFiniteTensorError,
  checkCheckpoint,
  firstNonFinite,
  loadCheckpoint,
  saveCheckpoint,
  sha256File,
  type CheckpointContents,
  type CheckpointManifest,
} from '@vlreward/checkpoint';
import { loraContents, rand } from './helpers/fixtures.js';

// NaN / Inf weights are refused on save (nothing written) and on load (naming
// checkpoint, file, tensor, first bad flat index and value).

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vlreward-nonfinite-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A copy of `t` (float32) with element `index` set to `value`. */
function poisoned(t: TensorData, index: number, value: number): TensorData {
  const d = Float32Array.from(t.data as Float32Array);
  d[index] = value;
  return tensorData('float32', t.dims, d);
}

/** Rewrite one tensor of a checkpoint's safetensors file, then re-seal the manifest so only the NaN/Inf check can object. */
async function damageTensor(ckpt: string, file: string, tensor: string, index: number, value: number): Promise<void> {
  const { tensors, metadata } = await readSafetensors(join(ckpt, file));
  tensors.set(tensor, poisoned(tensors.get(tensor)!, index, value));
  await writeSafetensors(join(ckpt, file), tensors, metadata);
  const manifest = JSON.parse(await readFile(join(ckpt, MANIFEST_NAME), 'utf8')) as CheckpointManifest;
  const files = [];
  for (const f of manifest.files) {
    const p = join(ckpt, f.path);
    files.push({ path: f.path, bytes: (await stat(p)).size, sha256: await sha256File(p) });
  }
  await writeFile(join(ckpt, MANIFEST_NAME), JSON.stringify({ ...manifest, files }, null, 2));
}

const V_PROJ_B = 'base_model.model.model.language_model.layers.1.self_attn.v_proj.lora_B.weight';

describe('firstNonFinite', () => {
  it('finds the first NaN / ±Inf in float32, float16 and bfloat16; finite and integer tensors pass', () => {
    expect(firstNonFinite(poisoned(rand([4, 4], 1), 5, NaN))).toEqual({ index: 5, value: NaN });
    expect(firstNonFinite(poisoned(rand([4, 4], 1), 9, -Infinity))).toEqual({ index: 9, value: -Infinity });
    expect(firstNonFinite(rand([4, 4], 1))).toBeUndefined();
    // f16: 0x7c00 = +Inf, 0x7e00 = NaN; 0x7bff is the largest finite half.
    expect(firstNonFinite(tensorData('float16', [3], new Uint16Array([0x7bff, 0xfc00, 0x7e00])))).toEqual({ index: 1, value: -Infinity });
    // bf16: 0x7f80 = +Inf, 0x7fc0 = NaN; 0x7f7f is the largest finite bfloat16.
    expect(firstNonFinite(tensorData('bfloat16', [3], new Uint16Array([0x7f7f, 0x3f80, 0x7fc0])))).toEqual({ index: 2, value: NaN });
    expect(firstNonFinite(tensorData('bfloat16', [2], new Uint16Array([0x7f7f, 0x7f7f])))).toBeUndefined();
    expect(firstNonFinite(tensorData('int32', [2], new Int32Array([1, 2])))).toBeUndefined();
  });
});

describe('saveCheckpoint refuses non-finite tensors and writes nothing', () => {
  it('a NaN in a LoRA factor or an Inf in an optimizer moment: the previous checkpoint stays byte-identical', async () => {
    const out = join(dir, 'kept');
    const good = loraContents(2);
    await saveCheckpoint(out, good);
    const before = await readFile(join(out, MANIFEST_NAME), 'utf8');

    const modules = new Map(good.adapter!.modules as ReadonlyMap<string, { A: TensorData; B: TensorData }>);
    const v = modules.get('model.language_model.layers.1.self_attn.v_proj')!;
    modules.set('model.language_model.layers.1.self_attn.v_proj', { A: v.A, B: poisoned(v.B, 7, NaN) });
    const badAdapter: CheckpointContents = { ...good, adapter: { ...good.adapter!, modules } };
    const e1 = await saveCheckpoint(out, badAdapter).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(NonFiniteTensorError);
    expect((e1 as NonFiniteTensorError).message).toContain(`adapter_model.safetensors: tensor '${V_PROJ_B}' [32, 4] float32 has NaN at flat index 7`);
    expect(e1).toMatchObject({ file: 'adapter_model.safetensors', tensor: V_PROJ_B, index: 7 });

    const opt = good.state!.optimizer!;
    const moments = new Map(opt.moments);
    const name = 'model.language_model.layers.0.mlp.down_proj.lora_A.weight';
    moments.set(name, { m: moments.get(name)!.m, v: poisoned(moments.get(name)!.v, 3, Infinity) });
    const badOpt: CheckpointContents = { ...good, state: { ...good.state!, optimizer: { ...opt, moments } } };
    await expect(saveCheckpoint(out, badOpt)).rejects.toThrow(`optimizer.safetensors: tensor '${name}.exp_avg_sq' [4, 128] float32 has Infinity at flat index 3`);

    await expect(saveCheckpoint(join(dir, 'never'), { head: { weight: poisoned(rand([3, 8], 1), 0, NaN), bias: rand([3], 2) } })).rejects.toThrow(
      /classifier\.safetensors: tensor 'classifier\.weight' .* NaN at flat index 0 \(of 24\); refusing to save/,
    );
    expect(await readFile(join(out, MANIFEST_NAME), 'utf8')).toBe(before);
    expect((await readdir(dir)).sort()).toEqual(['kept']); // no temp dir, no 'never'
    await expect(loadCheckpoint(out)).resolves.toBeDefined();
  });
});

describe('loadCheckpoint refuses a checkpoint holding NaN / Inf', () => {
  it('in the head, the adapter or (when loaded) the optimizer moments, naming dir, file, tensor, index and value', async () => {
    const head = join(dir, 'nan-head');
    await saveCheckpoint(head, loraContents(3));
    await damageTensor(head, 'classifier.safetensors', 'classifier.bias', 2, NaN);
    const e = await loadCheckpoint(head).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CorruptCheckpointError);
    expect((e as Error).message).toContain(head);
    expect((e as CorruptCheckpointError).problems).toEqual(["classifier.safetensors: tensor 'classifier.bias' [3] float32 has NaN at flat index 2 (of 3)"]);

    const lora = join(dir, 'inf-lora');
    await saveCheckpoint(lora, loraContents(4));
    await damageTensor(lora, 'adapter_model.safetensors', V_PROJ_B, 40, -Infinity);
    await expect(loadCheckpoint(lora)).rejects.toThrow(`adapter_model.safetensors: tensor '${V_PROJ_B}' [32, 4] float32 has -Infinity at flat index 40`);

    const opt = join(dir, 'nan-opt');
    await saveCheckpoint(opt, loraContents(5));
    const moment = 'model.language_model.layers.0.self_attn.q_proj.lora_B.weight.exp_avg';
    await damageTensor(opt, 'optimizer.safetensors', moment, 11, NaN);
    await expect(loadCheckpoint(opt)).rejects.toThrow(`optimizer.safetensors: tensor '${moment}' [64, 4] float32 has NaN at flat index 11`);
    // Not loaded, not scanned: inference (eval/predict) needs no optimizer state.
    await expect(loadCheckpoint(opt, { optimizer: false })).resolves.toMatchObject({ mode: 'lora' });
    // `verify` (checkCheckpoint at sha256) scans it anyway.
    const check = await checkCheckpoint(opt);
    expect(check.problems).toEqual([`optimizer.safetensors: tensor '${moment}' [64, 4] float32 has NaN at flat index 11 (of 256)`]);
  });

  it('full weights: every read is checked (lazily, tensor by tensor), and checkCheckpoint streams through the shards', async () => {
    const out = join(dir, 'full-inf');
    const tensors = new Map<string, TensorData>();
    for (let i = 0; i < 3; i++) tensors.set(`model.language_model.layers.${i}.mlp.up_proj.weight`, rand([64, 32], i));
    // bf16 with +Inf (0x7f80) at flat index 5.
    tensors.set('model.visual.pos_embed.weight', tensorData('bfloat16', [16, 8], new Uint16Array(128).fill(0x3f80)));
    await saveCheckpoint(out, { head: { weight: rand([2, 32], 9), bias: rand([2], 10) }, fullWeights: { tensors, maxShardBytes: 10_000 } });
    const index = JSON.parse(await readFile(join(out, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    const shard = index.weight_map['model.visual.pos_embed.weight']!;
    const { tensors: inShard, metadata } = await readSafetensors(join(out, shard));
    const bits = Uint16Array.from(inShard.get('model.visual.pos_embed.weight')!.data as Uint16Array);
    bits[5] = 0x7f80;
    inShard.set('model.visual.pos_embed.weight', tensorData('bfloat16', [16, 8], bits));
    await writeSafetensors(join(out, shard), inShard, metadata);
    const manifest = JSON.parse(await readFile(join(out, MANIFEST_NAME), 'utf8')) as CheckpointManifest;
    const files = await Promise.all(
      manifest.files.map(async (f) => ({ path: f.path, bytes: (await stat(join(out, f.path))).size, sha256: await sha256File(join(out, f.path)) })),
    );
    await writeFile(join(out, MANIFEST_NAME), JSON.stringify({ ...manifest, files }));

    const ck = await loadCheckpoint(out); // the weights are not read here
    const w = await ck.openFullWeights!();
    try {
      await expect(w.read('model.language_model.layers.0.mlp.up_proj.weight')).resolves.toBeDefined();
      const e = await w.readAll().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CorruptCheckpointError);
      expect((e as Error).message).toContain(out);
      expect((e as CorruptCheckpointError).problems).toEqual([
        `${shard}: tensor 'model.visual.pos_embed.weight' [16, 8] bfloat16 has Infinity at flat index 5 (of 128)`,
      ]);
    } finally {
      await w.close();
    }
    const check = await checkCheckpoint(out);
    expect(check.scanned).toContain(shard);
    expect(check.problems).toEqual([`${shard}: tensor 'model.visual.pos_embed.weight' [16, 8] bfloat16 has Infinity at flat index 5 (of 128)`]);
    // 'size' is the fast level: the big files are not scanned, and that is what `scanned` says.
    expect((await checkCheckpoint(out, { verify: 'size' })).scanned).toEqual(['classifier.safetensors']);
  });
});

describe('CheckpointManager and non-finite checkpoints', () => {
  it('resume (loadLatest) skips a newest checkpoint holding NaN, saying why', async () => {
    const root = join(dir, 'run-nan');
    const mgr = new CheckpointManager({ root, keepLast: 3 });
    await mgr.save(1, loraContents(1));
    await mgr.save(2, loraContents(2));
    await damageTensor(join(root, 'checkpoint-2'), 'classifier.safetensors', 'classifier.weight', 4, NaN);
    const ld = await mgr.loadLatest();
    expect(ld!.dir).toBe(join(root, 'checkpoint-1'));
    expect(ld!.skipped).toHaveLength(1);
    expect(ld!.skipped[0]!.reason).toContain("classifier.safetensors: tensor 'classifier.weight' [3, 64] float32 has NaN at flat index 4");
  });

  it('a NaN / Inf metric (null in vlreward.json) never ranks as best and is not kept as best', async () => {
    const root = join(dir, 'run-metric');
    const mgr = new CheckpointManager({ root, keepLast: 1, keepBest: 1, metric: 'val_loss', mode: 'min' });
    const withLoss = (seed: number, val_loss: number): CheckpointContents => {
      const c = loraContents(seed);
      return { ...c, manifest: { ...c.manifest, metrics: { val_loss } } };
    };
    await mgr.save(10, withLoss(1, 0.7));
    await mgr.save(20, withLoss(2, NaN));
    await mgr.save(30, withLoss(3, -Infinity));
    await mgr.save(40, withLoss(4, 0.9));
    const m10 = JSON.parse(await readFile(join(root, 'checkpoint-10', MANIFEST_NAME), 'utf8')) as CheckpointManifest;
    expect(m10.metrics).toEqual({ val_loss: 0.7 });
    expect((await readdir(root)).sort()).toEqual(['checkpoint-10', 'checkpoint-40']);
    // A hand-written null (what JSON.stringify makes of NaN) next to a finite value.
    const m40path = join(root, 'checkpoint-40', MANIFEST_NAME);
    const m40 = JSON.parse(await readFile(m40path, 'utf8')) as CheckpointManifest;
    await writeFile(m40path, JSON.stringify({ ...m40, metrics: { val_loss: null } }));
    expect((await mgr.best())!.entry.step).toBe(10);
    expect((await mgr.list()).find((e) => e.step === 40)!.metric).toBeUndefined();
  });
});
