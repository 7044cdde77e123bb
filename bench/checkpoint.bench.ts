// @vlreward/checkpoint + safetensors I/O benchmarks: file write/read throughput,
// lazy single-tensor reads, bf16 → f32 conversion, and save/load of a checkpoint
// shaped like the seed's Qwen3-VL-2B LoRA run (r=16 on 7 projections × 28 layers,
// AdamW moments, head), with sha256 verification.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  openSafetensors,
  readSafetensors,
  tensorData,
  toFloat32,
  writeSafetensors,
  type TensorData,
} from '../packages/graph/src/io/index.js';
import { loadCheckpoint, saveCheckpoint, type LoraModuleWeights } from '../packages/checkpoint/src/index.js';
import type { BenchResult } from './types.js';

function filled(dims: number[], seed: number): TensorData {
  const n = dims.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    d[i] = (s >>> 0) / 4294967296 - 0.5;
  }
  return tensorData('float32', dims, d);
}

async function time<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'vlreward-bench-ckpt-'));
  try {
    // 1. Raw safetensors throughput: 32 × 8 MiB float32 tensors = 256 MiB.
    const big = new Map<string, TensorData>();
    for (let i = 0; i < 32; i++) big.set(`model.layers.${i}.weight`, filled([2048, 1024], i + 1));
    const bytes = 32 * 2048 * 1024 * 4;
    const path = join(dir, 'big.safetensors');
    const [, tw] = await time(() => writeSafetensors(path, big));
    out.push({ name: 'safetensors write (fsync)', value: +(bytes / 2 ** 20 / tw).toFixed(0), unit: 'MiB/s', note: '256 MiB, 32 F32 tensors' });
    const [, tr] = await time(() => readSafetensors(path));
    out.push({ name: 'safetensors read (all tensors)', value: +(bytes / 2 ** 20 / tr).toFixed(0), unit: 'MiB/s', note: 'page cache warm' });
    const f = await openSafetensors(path);
    const [, to] = await time(async () => {
      for (let i = 0; i < 100; i++) await f.read('model.layers.17.weight');
    });
    await f.close();
    out.push({ name: 'lazy read of one 8 MiB tensor', value: +((to / 100) * 1000).toFixed(2), unit: 'ms' });
    big.clear();

    // 2. bf16 → f32: the 2B checkpoint's embedding (151936 × 2048 ≈ 311 M elements) scaled down to 64 M.
    const n = 64 * 2 ** 20;
    const bf = tensorData('bfloat16', [n], new Uint16Array(n).fill(0x3f80));
    const [, tc] = await time(async () => toFloat32(bf));
    out.push({ name: 'bf16 → f32 conversion', value: +(n / 1e6 / tc).toFixed(0), unit: 'M elem/s' });

    // 3. The seed's LoRA run on Qwen3-VL-2B: r=16 on q/k/v/o/gate/up/down × 28 layers, fp32 + AdamW moments.
    const shapes: [string, number, number][] = [
      ['self_attn.q_proj', 2048, 2048],
      ['self_attn.k_proj', 1024, 2048],
      ['self_attn.v_proj', 1024, 2048],
      ['self_attn.o_proj', 2048, 2048],
      ['mlp.gate_proj', 6144, 2048],
      ['mlp.up_proj', 6144, 2048],
      ['mlp.down_proj', 2048, 6144],
    ];
    const modules = new Map<string, LoraModuleWeights>();
    const moments = new Map<string, { m: TensorData; v: TensorData }>();
    let params = 0;
    let seed = 1;
    for (let l = 0; l < 28; l++) {
      for (const [p, o, i] of shapes) {
        const path = `model.language_model.layers.${l}.${p}`;
        const A = filled([16, i], seed++);
        const B = filled([o, 16], seed++);
        modules.set(path, { A, B });
        moments.set(`${path}.lora_A.weight`, { m: A, v: A });
        moments.set(`${path}.lora_B.weight`, { m: B, v: B });
        params += A.data.length + B.data.length;
      }
    }
    const ck = join(dir, 'ckpt');
    const contents = {
      head: { weight: filled([3, 2048], 7), bias: filled([3], 8) },
      adapter: { config: { r: 16, lora_alpha: 32, lora_dropout: 0.05, target_modules: shapes.map(([p]) => p.split('.')[1]!) }, modules },
      state: { trainer: { step: 50, epoch: 1 }, optimizer: { moments } },
    };
    const [m, ts] = await time(() => saveCheckpoint(ck, contents));
    const total = m.files.reduce((s, x) => s + x.bytes, 0);
    out.push({ name: 'save LoRA-2B checkpoint', value: +ts.toFixed(2), unit: 's', note: `${(params / 1e6).toFixed(1)} M LoRA params + moments, ${(total / 2 ** 20).toFixed(0)} MiB, fsync + sha256` });
    const [, tl] = await time(() => loadCheckpoint(ck));
    out.push({ name: 'load LoRA-2B checkpoint (sha256 verify)', value: +tl.toFixed(2), unit: 's' });
    const [, tl2] = await time(() => loadCheckpoint(ck, { verify: 'size' }));
    out.push({ name: 'load LoRA-2B checkpoint (size verify)', value: +tl2.toFixed(2), unit: 's' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
