import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, tensorData, type TensorData } from '@vlreward/graph/io';
import {
  CheckpointManager,
  CorruptCheckpointError,
  MANIFEST_NAME,
  findLeftovers,
  loadCheckpoint,
  readPeftAdapter,
  saveCheckpoint,
  verifyCheckpoint,
  writeDirAtomic,
  writePeftAdapter,
} from '@vlreward/checkpoint';
import { loraContents, makeProcessorDir, rand } from './helpers/fixtures.js';

const REPO = resolve(__dirname, '../../..');

let dir: string;
let proc: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vlreward-ckpt-'));
  proc = await makeProcessorDir(join(dir, 'processor'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sameTensor(a: TensorData | undefined, b: TensorData): void {
  expect(a).toBeDefined();
  expect(a!.dtype).toBe(b.dtype);
  expect([...a!.dims]).toEqual([...b.dims]);
  expect(Buffer.from(a!.data.buffer, a!.data.byteOffset, a!.data.byteLength)).toEqual(
    Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
  );
}

describe('save → load round trip', () => {
  it('LoRA mode: adapter, head, processor, trainer + optimizer state, manifest', async () => {
    const c = loraContents(5, proc);
    const out = join(dir, 'lora-ckpt');
    const manifest = await saveCheckpoint(out, c);
    expect((await readdir(out)).sort()).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
      'chat_template.json',
      'classifier.safetensors',
      'optimizer.safetensors',
      'preprocessor_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'trainer_state.json',
      'vlreward.json',
    ]);
    expect(manifest).toMatchObject({ format: 'vlreward-checkpoint', mode: 'lora', numClasses: 3, step: 5, epoch: 1.5 });
    expect(manifest.files.map((f) => f.path)).not.toContain(MANIFEST_NAME);
    const onDisk = JSON.parse(await readFile(join(out, MANIFEST_NAME), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(manifest)));
    const adapterFile = manifest.files.find((f) => f.path === 'adapter_model.safetensors')!;
    expect(adapterFile.bytes).toBe((await stat(join(out, 'adapter_model.safetensors'))).size);
    expect(adapterFile.sha256).toMatch(/^[0-9a-f]{64}$/);

    const ld = await loadCheckpoint(out);
    expect(ld.mode).toBe('lora');
    expect(ld.processorDir).toBe(out);
    expect(ld.manifest.metrics).toEqual(c.manifest!.metrics);
    expect(ld.manifest.datasetFingerprint).toBe('sha256:abc');
    expect(ld.manifest.versions).toMatchObject({ vlreward: '0.1.0', node: process.version });
    expect(ld.head.labels).toEqual(['fail', 'partial', 'success']);
    sameTensor(ld.head.weight, c.head.weight);
    sameTensor(ld.head.bias, c.head.bias);
    const mods = c.adapter!.modules as Map<string, { A: TensorData; B: TensorData }>;
    expect(ld.adapter!.modules.size).toBe(mods.size);
    for (const [k, m] of mods) {
      sameTensor(ld.adapter!.modules.get(k)!.A, m.A);
      sameTensor(ld.adapter!.modules.get(k)!.B, m.B);
    }
    expect(ld.state!.trainer).toEqual(c.state!.trainer);
    expect(ld.state!.optimizer!.hyper).toEqual(c.state!.optimizer!.hyper);
    for (const [k, mv] of c.state!.optimizer!.moments) {
      sameTensor(ld.state!.optimizer!.moments.get(k)!.m, mv.m);
      sameTensor(ld.state!.optimizer!.moments.get(k)!.v, mv.v);
    }
    // Saving the same contents again replaces the directory atomically, same files.
    await saveCheckpoint(out, c);
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('full mode: sharded HF weights + config.json that open lazily; bf16 kept bit-exact', async () => {
    const tensors = new Map<string, TensorData>();
    for (let i = 0; i < 4; i++) tensors.set(`model.language_model.layers.${i}.mlp.up_proj.weight`, rand([128, 64], i));
    tensors.set('model.visual.pos_embed.weight', tensorData('bfloat16', [64, 32], new Uint16Array(2048).map((_, i) => 0x3f80 + i)));
    const out = join(dir, 'full-ckpt');
    await saveCheckpoint(out, {
      head: { weight: rand([2, 64], 9), bias: rand([2], 10) },
      fullWeights: { tensors, modelConfig: { model_type: 'qwen3_vl', text_config: { hidden_size: 64 } }, maxShardBytes: 40_000 },
      manifest: { metrics: { val_accuracy: 1 } },
    });
    const names = (await readdir(out)).sort();
    expect(names).toContain('model.safetensors.index.json');
    expect(names).toContain('model-00001-of-00004.safetensors');
    expect(names).toContain('config.json');
    const ld = await loadCheckpoint(out);
    expect(ld.mode).toBe('full');
    expect(ld.adapter).toBeUndefined();
    const w = await ld.openFullWeights!();
    try {
      for (const [k, t] of tensors) sameTensor(await w.read(k), t);
    } finally {
      await w.close();
    }
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toEqual({ model_type: 'qwen3_vl', text_config: { hidden_size: 64 } });
  });

  it('refuses bad contents before anything is written', async () => {
    const out = join(dir, 'never');
    const c = loraContents(1);
    await expect(saveCheckpoint(out, { ...c, head: { weight: rand([3, 64], 1), bias: rand([4], 1) } })).rejects.toThrow(
      /classifier\.bias has shape \[4\], expected \[3\]/,
    );
    await expect(saveCheckpoint(out, { ...c, processor: { dir: join(dir, 'nope') } })).rejects.toThrow(/processor dir .*nope does not exist/);
    await expect(saveCheckpoint(out, { ...c, fullWeights: { tensors: {} } })).rejects.toThrow(/either adapter .* or fullWeights/);
    await expect(stat(out)).rejects.toThrow();
    expect((await readdir(dir)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('corrupt and partial checkpoints are detected and named', () => {
  async function fresh(name: string): Promise<string> {
    const out = join(dir, name);
    await saveCheckpoint(out, loraContents(3, proc));
    return out;
  }

  it('a flipped byte: sha256 mismatch names the file', async () => {
    const out = await fresh('flip');
    const p = join(out, 'adapter_model.safetensors');
    const fh = await open(p, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, 500);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, 500);
    await fh.close();
    const err = await loadCheckpoint(out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptCheckpointError);
    expect((err as Error).message).toMatch(/adapter_model\.safetensors: sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}/);
    // 'size' verification alone does not see it, which is why loading defaults to sha256.
    await expect(verifyCheckpoint(out, 'size')).resolves.toBeDefined();
  });

  it('a truncated file: size mismatch with both numbers', async () => {
    const out = await fresh('trunc');
    const p = join(out, 'optimizer.safetensors');
    const size = (await stat(p)).size;
    await truncate(p, size - 10);
    await expect(loadCheckpoint(out)).rejects.toThrow(new RegExp(`optimizer\\.safetensors: size ${size - 10} bytes, manifest says ${size}`));
  });

  it('a missing file and a missing manifest', async () => {
    const out = await fresh('missing');
    await unlink(join(out, 'classifier.safetensors'));
    await expect(loadCheckpoint(out)).rejects.toThrow(/classifier\.safetensors: missing \(manifest lists \d+ bytes\)/);
    await unlink(join(out, MANIFEST_NAME));
    await expect(loadCheckpoint(out)).rejects.toThrow(/vlreward\.json is missing \(the checkpoint was never completed\)/);
  });

  it('a PEFT adapter folder without a manifest (e.g. the Python seed) is refused with a hint, not loaded unverified', async () => {
    const out = join(dir, 'seed-style');
    await writePeftAdapter(out, loraContents(1).adapter!);
    await writeFile(join(out, 'classifier.pt'), 'PK');
    await expect(loadCheckpoint(out)).rejects.toThrow(/PEFT adapter folder saved outside vlreward \(it looks like one\): read that with readPeftAdapter.*classifier\.pt is a torch pickle/);
    await expect(readPeftAdapter(out)).resolves.toBeDefined();
  });

  it('a half-written temp dir is refused by name, and a failed fill leaves nothing behind', async () => {
    const target = join(dir, 'partial');
    await expect(
      writeDirAtomic(target, async (tmp) => {
        await mkdir(join(tmp, 'x'));
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect((await readdir(dir)).filter((n) => n.startsWith('.partial'))).toEqual([]);
    await expect(loadCheckpoint(target)).rejects.toThrow(/checkpoint not found/);
    const fakeTmp = join(dir, '.partial.tmp-999999-abcd');
    await mkdir(fakeTmp);
    await expect(loadCheckpoint(fakeTmp)).rejects.toThrow(/temporary directory of an interrupted checkpoint write/);
    await expect(loadCheckpoint(target)).rejects.toThrow(/interrupted write leftovers: .*\.partial\.tmp-999999-abcd \(tmp\)/);
    await rm(fakeTmp, { recursive: true });
  });
});

describe('CheckpointManager', () => {
  it('keeps the last N and the best by metric; latest() skips a corrupt newest one and says why', async () => {
    const root = join(dir, 'run');
    const mgr = new CheckpointManager({ root, keepLast: 2, keepBest: 1, metric: 'val_accuracy' });
    const acc = [0.4, 0.9, 0.5, 0.6, 0.55];
    for (let i = 0; i < acc.length; i++) {
      const c = loraContents(i + 1);
      await mgr.save((i + 1) * 10, { ...c, manifest: { ...c.manifest, metrics: { val_accuracy: acc[i]! } } });
    }
    expect((await readdir(root)).sort()).toEqual(['checkpoint-20', 'checkpoint-40', 'checkpoint-50']);
    expect((await mgr.best())!.entry.step).toBe(20);
    expect((await mgr.latest())!.entry.step).toBe(50);

    await truncate(join(root, 'checkpoint-50', 'adapter_model.safetensors'), 100);
    const r = await mgr.latest();
    expect(r!.entry.step).toBe(40);
    expect(r!.skipped).toHaveLength(1);
    expect(r!.skipped[0]!.reason).toMatch(/checkpoint-50: corrupt or incomplete checkpoint:\n {2}- adapter_model\.safetensors: size 100 bytes/);
    const ld = await mgr.loadLatest();
    expect(ld!.dir).toBe(join(root, 'checkpoint-40'));
    expect(ld!.skipped.map((s) => s.dir)).toEqual([join(root, 'checkpoint-50')]);
    expect(await new CheckpointManager({ root: join(dir, 'empty-run') }).latest()).toBeUndefined();
  });

  it('SIGKILL mid-write: the previous checkpoint stays intact, the partial one is detected and cleaned', async () => {
    const root = join(dir, 'killed');
    const mgr = new CheckpointManager({ root, keepLast: 2 });
    await mgr.save(1, loraContents(1, proc));
    const before = await verifyCheckpoint(mgr.dirFor(1), 'sha256');

    const child = spawn(
      process.execPath,
      ['--conditions=@vlreward/source', '--import', 'tsx', join(__dirname, 'helpers/write_big_checkpoint.ts'), root, '2'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      child.on('exit', (code, signal) => res({ code, signal })),
    );
    // Wait until the child is inside the write: its temp dir holds at least two shard files.
    let killedMidWrite = false;
    for (let i = 0; i < 3000 && child.exitCode === null; i++) {
      const tmp = (await readdir(root)).find((n) => n.startsWith('.checkpoint-2.tmp-'));
      if (tmp) {
        const files = await readdir(join(root, tmp)).catch(() => [] as string[]);
        if (files.filter((f) => f.endsWith('.safetensors')).length >= 2) {
          child.kill('SIGKILL');
          killedMidWrite = true;
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const { signal } = await exited;
    expect(stderr).toBe('');
    expect(killedMidWrite).toBe(true);
    expect(signal).toBe('SIGKILL');

    // The half-written checkpoint never appears under its real name …
    expect((await readdir(root)).filter((n) => n.startsWith('checkpoint-'))).toEqual(['checkpoint-1']);
    // … it is found as a leftover of a dead process …
    const left = await mgr.leftovers();
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ target: 'checkpoint-2', kind: 'tmp', pid: child.pid, alive: false });
    await expect(loadCheckpoint(left[0]!.path)).rejects.toThrow(CorruptCheckpointError);
    // … the previous checkpoint is byte-for-byte what it was, and is what resume loads.
    expect(await verifyCheckpoint(mgr.dirFor(1), 'sha256')).toEqual(before);
    const ld = await mgr.loadLatest();
    expect(ld!.dir).toBe(mgr.dirFor(1));
    expect(ld!.state!.trainer.step).toBe(1);
    // recover() removes the dead writer's temp dir.
    const rec = await mgr.recover();
    expect(rec.removed).toEqual([left[0]!.path]);
    expect(await findLeftovers(root)).toEqual([]);
  });

  it('a leftover with this process\'s PID from an earlier process (PID reuse) counts as dead', async () => {
    const root = join(dir, 'pidreuse');
    await mkdir(join(root, `.checkpoint-3.tmp-${process.pid}-00ff`), { recursive: true });
    const mgr = new CheckpointManager({ root });
    expect(await mgr.leftovers()).toMatchObject([{ target: 'checkpoint-3', kind: 'tmp', pid: process.pid, alive: false }]);
    expect((await mgr.recover()).removed).toHaveLength(1);
    // While a write of this process is in flight, its temp dir is alive and recover() leaves it alone.
    await writeDirAtomic(join(root, 'checkpoint-4'), async () => {
      expect(await mgr.leftovers()).toMatchObject([{ target: 'checkpoint-4', alive: true }]);
      expect(await mgr.recover()).toEqual({ removed: [], restored: [] });
    });
    expect(await mgr.leftovers()).toEqual([]);
  });

  it('a crash between the two renames of a replacement is undone by recover()', async () => {
    const root = join(dir, 'swap');
    await saveCheckpoint(join(root, 'final'), loraContents(2));
    // State after a crash right after "rename final → .final.old-PID-RAND" (dead PID).
    await rename(join(root, 'final'), join(root, '.final.old-999999-0f0f'));
    await expect(loadCheckpoint(join(root, 'final'))).rejects.toThrow(/\.final\.old-999999-0f0f \(old\)/);
    const rec = await new CheckpointManager({ root }).recover();
    expect(rec.restored).toEqual([join(root, 'final')]);
    await expect(loadCheckpoint(join(root, 'final'))).resolves.toBeDefined();
  });
});

describe('files other tools read', () => {
  it('adapter + head of a checkpoint are plain safetensors with PEFT names', async () => {
    const out = join(dir, 'plain');
    await saveCheckpoint(out, loraContents(4));
    const a = await readSafetensors(join(out, 'adapter_model.safetensors'));
    expect([...a.tensors.keys()].every((k) => /^base_model\.model\.model\.language_model\.layers\.\d\.(self_attn|mlp)\.\w+\.lora_[AB]\.weight$/.test(k))).toBe(true);
    const h = await readSafetensors(join(out, 'classifier.safetensors'));
    expect([...h.tensors.keys()].sort()).toEqual(['classifier.bias', 'classifier.weight']);
    expect(h.metadata['num_classes']).toBe('3');
  });
});
