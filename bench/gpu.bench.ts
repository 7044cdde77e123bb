// GPU benchmarks (`pnpm bench --only gpu`): Qwen3-VL LoRA and full fine-tuning
// steps at 3×480×640 images, batch 2, random weights, on the first GPU
// provider that loads (VLREWARD_GPU_DEVICE, default cuda then webgpu): samples/s,
// achieved TFLOP/s as a fraction of the measured bf16 (fp16 on WebGPU) matmul
// peak, peak device memory (nvidia-smi sampling), host<->device bytes per step;
// PyTorch + transformers + PEFT figures beside them when hf_baseline.py
// outputs are in bench/results/hf-{lora,full}.json (scripts/gpu/gpu-check.sh
// writes them). Sizes: VLREWARD_BENCH_GPU_SIZES (default 2b; tiny,mid,2b).
// Without a GPU provider it returns one row saying why it did not run.
// The offline-kit path is scripts/gpu/gpu-check.sh (docs/GPU.md).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemorySampler } from '../scripts/gpu/lib/nvsmi.js';
import { matmulPeak } from '../scripts/gpu/lib/peak.js';
import { probeGpu } from '../scripts/gpu/lib/probe.js';
import { runTrainCase } from '../scripts/gpu/lib/train_case.js';
import type { BenchResult } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));

export async function run(): Promise<BenchResult[]> {
  const probe = await probeGpu();
  if (!probe.device || probe.device.provider === 'cpu') {
    return [{ name: 'gpu: not run', value: NaN, unit: '', note: probe.reason }];
  }
  const { provider } = probe.device;
  const dev = { provider, ...(probe.device.deviceId !== undefined ? { deviceId: probe.device.deviceId } : {}) };
  const precision = provider === 'webgpu' ? 'fp16' : 'bf16';
  const out: BenchResult[] = [];
  const peak = await matmulPeak({ ...dev, dtype: precision === 'fp16' ? 'float16' : 'bfloat16', n: 8192, chain: 16 });
  out.push({ name: `gpu: ${peak.dtype} matmul peak (8192³ ×16, ORT)`, value: round(peak.tflops, 1), unit: 'TFLOP/s', note: probe.label });
  const sizes = (process.env.VLREWARD_BENCH_GPU_SIZES ?? '2b').split(',') as ('tiny' | 'mid' | '2b')[];
  for (const size of sizes) {
    for (const mode of ['lora', 'full'] as const) {
      const sampler = provider === 'cuda' ? new MemorySampler(dev.deviceId ?? 0) : null;
      sampler?.start();
      try {
        const r = await runTrainCase({ size, mode, ...dev, precision, batch: 2, images: 3, height: 480, width: 640, textTokens: 64, steps: 5, warmup: 1 });
        const mem = sampler?.stop();
        const tag = `gpu: ${size} ${mode} ${precision}`;
        out.push({ name: `${tag} samples/s`, value: r.samplesPerS, unit: 'samples/s', note: r.desc });
        out.push({ name: `${tag} achieved`, value: r.achievedTflops, unit: 'TFLOP/s', note: `${round(r.achievedTflops / peak.tflops, 3)} of the measured matmul peak` });
        if (mem) out.push({ name: `${tag} peak device memory`, value: round(mem.deltaMiB / 1024, 2), unit: 'GiB', note: 'nvidia-smi memory.used, peak minus level before the case' });
        out.push({ name: `${tag} host->device per step`, value: round(r.transfer.hostToDeviceBytes / 2 ** 20, 1), unit: 'MiB', note: r.transfer.note });
        out.push({ name: `${tag} device->host per step`, value: round(r.transfer.deviceToHostBytes / 2 ** 20, 1), unit: 'MiB' });
      } catch (e) {
        sampler?.stop();
        out.push({ name: `gpu: ${size} ${mode} failed`, value: NaN, unit: '', note: (e as Error).message.split('\n')[0]! });
      }
    }
  }
  for (const mode of ['lora', 'full'] as const) {
    const f = join(here, 'results', `hf-${mode}.json`);
    if (!existsSync(f)) continue;
    const hf = JSON.parse(readFileSync(f, 'utf8')) as { samples_per_s?: number; memory?: { peak_allocated_gib?: number }; flops?: { achieved_tflops?: number }; versions?: { gpu?: string } };
    out.push({ name: `pytorch: 2b ${mode} bf16 samples/s`, value: hf.samples_per_s ?? NaN, unit: 'samples/s', note: `hf_baseline.py (${hf.versions?.gpu ?? '?'}), ${f}` });
    if (hf.flops?.achieved_tflops) out.push({ name: `pytorch: 2b ${mode} achieved`, value: round(hf.flops.achieved_tflops, 1), unit: 'TFLOP/s', note: `${round(hf.flops.achieved_tflops / peak.tflops, 3)} of the ORT-measured peak` });
    if (hf.memory?.peak_allocated_gib) out.push({ name: `pytorch: 2b ${mode} peak allocated`, value: hf.memory.peak_allocated_gib, unit: 'GiB' });
  }
  return out;
}

function round(v: number, d: number): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}
