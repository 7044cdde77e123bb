import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { saveCheckpoint } from '@vlreward/checkpoint';
import { tensorData } from '@vlreward/graph/io';
import { checkpointCommand } from '../src/commands/checkpoint.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vlreward-cli-ckpt-'));
  const t = (dims: number[]) => tensorData('float32', dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5));
  await saveCheckpoint(join(dir, 'checkpoint-7'), {
    head: { weight: t([2, 8]), bias: t([2]) },
    adapter: { config: { r: 2, lora_alpha: 4, target_modules: ['q_proj'] }, modules: { 'model.layers.0.self_attn.q_proj': { A: t([2, 8]), B: t([8, 2]) } } },
    manifest: { step: 7, metrics: { val_accuracy: 0.8 } },
  });
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
});
