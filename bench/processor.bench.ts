// @vlreward/processor benchmarks: encode throughput for the seed's sample shape (3 camera frames of
// 480x640 + "Task: ..." text) on CPU (one JS thread), its breakdown, and how it compares with the
// time a training step of the real 2B model needs for the same batch.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Qwen3VLProcessor, type ProcessorSample, type RgbImage } from '../packages/processor/src/index.js';
import type { BenchResult } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const MODEL = process.env.VLREWARD_PROCESSOR_DIR ?? join(here, '..', '..', 'shared', 'models', 'qwen3vl-processor');
const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

/** A camera-like frame: gradients, blocks and noise (content does not change the cost). */
function frame(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const p = (i / 3) | 0;
    data[i] = (((p % width) + ((p / width) | 0)) & 255) ^ (s >>> 28);
  }
  return { width, height, channels: 3, data };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Median milliseconds of `fn`, as CPU time of this process (user + system): encoding is
 * single-threaded, so this equals wall time on an idle machine and is not inflated by other
 * processes sharing the cores. `wall` is the median wall time alongside.
 */
function time(fn: () => void, reps: number): number {
  fn();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < reps; r++) {
    const c = process.cpuUsage();
    const t = performance.now();
    fn();
    wall.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  lastWall = median(wall);
  return median(cpu);
}
let lastWall = 0;

/** Training-step FLOPs of the real 2B model on this batch, from @vlreward/model's FLOP count (null if unavailable). */
async function stepFlops(B: number, S: number, imagesPerSample: number, patchesPerImage: number): Promise<number | null> {
  try {
    const m = (await import('../packages/model/src/index.js')) as typeof import('../packages/model/src/index.js');
    const cfg = m.parseQwen3VLConfig(m.QWEN3_VL_2B_CONFIG);
    const fwd = m.qwen3VLForwardFlops(cfg, { P: B * imagesPerSample * patchesPerImage, segLen: patchesPerImage, B, S });
    return 2 * fwd; // LoRA: forward + activation gradients (no weight gradients for frozen weights) ≈ 2x forward
  } catch {
    return null;
  }
}

/** CPU matmul GFLOP/s measured by the model bench in bench/results/model.json, if it ran. */
function cpuGflops(): number | null {
  const f = join(here, 'results', 'model.json');
  if (!existsSync(f)) return null;
  const r = JSON.parse(readFileSync(f, 'utf8')) as { results: BenchResult[] };
  const peak = r.results.find((x) => /matmul_peak|gflops/.test(x.name) && x.unit === 'GFLOP/s' && Number.isFinite(x.value));
  return peak ? peak.value : null;
}

export async function run(): Promise<BenchResult[]> {
  const t0 = performance.now();
  const p = await Qwen3VLProcessor.fromPretrained(MODEL);
  const loadMs = performance.now() - t0;
  const sample = (seed: number): ProcessorSample => ({
    images: [frame(640, 480, seed), frame(640, 480, seed + 1), frame(640, 480, seed + 2)],
    text: 'Task: pick up the red cube and place it in the bowl',
    label: 2,
  });
  const s0 = sample(1);
  const batch2 = [s0, sample(4)];
  const reps = 10;
  const msB1 = time(() => p.encode([s0]), reps);
  const buffer = new Float32Array(2 * 3 * 1200 * 1536);
  const msB2Reuse = time(() => p.encode(batch2, { pixelBuffer: buffer }), reps);
  const msB2 = time(() => p.encode(batch2), reps);
  const wallB2 = lastWall;
  const msImage = time(() => p.preprocessImage(s0.images[0]!), reps);
  const msText = time(() => p.tokenizer.encode(p.renderPrompt(s0)), reps);
  // An upscale/downscale case: the resize itself (720p frame -> 704x1280).
  const hd = frame(1280, 720, 9);
  const msResize = time(() => p.preprocessImage(hd), 3);
  const b = p.encode(batch2);
  const S = b.seqLen;
  const patchesPerImage = b.pixelValues.dims[0]! / 6;
  const samplesPerSec = 2 / (Math.min(msB2, msB2Reuse) / 1000);
  const results: BenchResult[] = [
    { name: 'processor_encode_b2', value: round(2000 / msB2), unit: 'samples/s', note: `CPU time, median of ${reps} (wall ${round(wallB2)} ms); batch of 2 x (3 x 480x640 + text), 1 JS thread; S=${S}, ${b.pixelValues.dims[0]} patch rows` },
    { name: 'processor_encode_b2_reused_buffer', value: round(2000 / msB2Reuse), unit: 'samples/s', note: 'same, pixel_values written into a reused 44 MB buffer (encode option pixelBuffer): no fresh mmap + page faults per batch' },
    { name: 'processor_encode_b1', value: round(1000 / msB1), unit: 'samples/s', note: 'batch of 1' },
    { name: 'processor_image_480x640', value: round(msImage), unit: 'ms', note: 'one image: smart resize (none needed), normalize, patchify -> 1200 x 1536' },
    { name: 'processor_image_720x1280', value: round(msResize), unit: 'ms', note: 'one image with the torch-uint8 bicubic resize to 704x1280' },
    { name: 'processor_text', value: round(msText, 3), unit: 'ms', note: 'chat template render + tokenize, one sample' },
    { name: 'processor_load', value: round(loadMs), unit: 'ms', note: 'fromPretrained (11 MB tokenizer.json)' },
  ];
  const flops = await stepFlops(2, S, 3, patchesPerImage);
  if (flops === null) {
    results.push({ name: 'train_step_flops_2b', value: NaN, unit: 'TFLOP', note: '@vlreward/model could not be imported; no step comparison' });
  } else {
    results.push({ name: 'train_step_flops_2b', value: round(flops / 1e12, 3), unit: 'TFLOP', note: 'Qwen3-VL-2B LoRA step on this batch ≈ 2 x forward matmul FLOPs' });
    // Assumption, not a measurement: ~40% of an H100's 989 dense bf16 TFLOP/s.
    const gpuStep = flops / 400e12;
    results.push({
      name: 'processor_vs_gpu_step',
      value: round((2 / gpuStep) / samplesPerSec, 2),
      unit: 'x (needed/available)',
      note: `a GPU step at an assumed 400 TFLOP/s takes ${round(gpuStep * 1000, 1)} ms; >1 means one encode thread cannot keep up (use workers)`,
    });
    const cpu = cpuGflops();
    if (cpu !== null) {
      const cpuStep = flops / (cpu * 1e9);
      results.push({
        name: 'processor_vs_cpu_step',
        value: round((2 / cpuStep) / samplesPerSec, 4),
        unit: 'x (needed/available)',
        note: `a CPU step at the measured ${cpu} GFLOP/s (bench/results/model.json) takes ${round(cpuStep, 1)} s`,
      });
    }
  }
  return results;
}
