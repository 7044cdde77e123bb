// KV-cache generation speed on CPU (@vlreward/model Qwen3VLGenerator): prefill
// (prompt tokens/s, text-only and with one 448×448 image) and per-token decode
// (tokens/s, greedy, cache as ORT tensors between steps) for the tiny and mid
// configs, and the real 2B-shaped text decoder in a child process (random
// weights; VLREWARD_BENCH_GEN_2B=0 skips it).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensorData, type TensorData } from '../packages/graph/src/index.js';
import {
  midQwen3VLConfig,
  parseQwen3VLConfig,
  QWEN3_VL_2B_CONFIG,
  Qwen3VLGenerator,
  qwen3VLWeightSpecs,
  randomWeight,
  tinyQwen3VLConfig,
  type GenerationImage,
  type Qwen3VLConfig,
  type Qwen3VLConfigJson,
} from '../packages/model/src/index.js';
import type { BenchResult } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function weightsFor(config: Qwen3VLConfig, vision: boolean): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  for (const s of qwen3VLWeightSpecs(config)) {
    if (!vision && s.name.startsWith('model.visual.')) continue;
    // Norm weights near 1 keep activations in range; the rest small random.
    out.set(s.name, randomWeight(s, out.size + 1, 0.02));
  }
  return out;
}

function promptIds(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 1000 + ((i * 7919) % 50000));
}

function image(config: Qwen3VLConfig, side: number): { image: GenerationImage; tokens: number } {
  const g = side / config.vision.patchSize;
  const rows = g * g;
  const data = new Float32Array(rows * config.vision.patchDim);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37);
  return { image: { pixelValues: tensorData('float32', [rows, config.vision.patchDim], data), grid: [1, g, g] }, tokens: rows / config.vision.spatialMergeSize ** 2 };
}

interface Measured {
  sessionMs: number;
  prefillTokS: number;
  prefillMs: number;
  imagePrefillMs?: number;
  imageTokens?: number;
  decodeTokS: number;
  decodeMsPerToken: number;
  params: number;
  /** CPU time (all threads) of one prefill + steps call: steadier than wall time on a shared box. */
  cpuMsPerCall: number;
  prefillCpuMs: number;
  decodeCpuMsPerToken: number;
}

async function measure(json: Qwen3VLConfigJson, o: { prompt: number; steps: number; withImage: boolean; reps: number }): Promise<Measured> {
  const config = parseQwen3VLConfig(json);
  const weights = weightsFor(config, o.withImage);
  let params = 0;
  for (const t of weights.values()) params += t.data.length;
  const t0 = performance.now();
  const gen = await Qwen3VLGenerator.create(config, weights, {});
  const sessionMs = performance.now() - t0;
  weights.clear(); // the generator keeps only the vision weights it needs
  try {
    await gen.generate({ inputIds: promptIds(16), maxNewTokens: 4, stopTokens: [] }); // warm-up
    let prefillMs = Infinity;
    let decodeMs = Infinity;
    let cpuMs = Infinity;
    let prefillCpu = Infinity;
    for (let r = 0; r < o.reps; r++) {
      gen.reset();
      const c0 = process.cpuUsage();
      const res = await gen.generate({ inputIds: promptIds(o.prompt), maxNewTokens: o.steps + 1, stopTokens: [] });
      const c = process.cpuUsage(c0);
      prefillMs = Math.min(prefillMs, res.prefillMs);
      decodeMs = Math.min(decodeMs, res.decodeMs / res.decodeSteps);
      cpuMs = Math.min(cpuMs, (c.user + c.system) / 1000);
      gen.reset();
      const p0 = process.cpuUsage();
      await gen.generate({ inputIds: promptIds(o.prompt), maxNewTokens: 1, stopTokens: [] });
      const pc = process.cpuUsage(p0);
      prefillCpu = Math.min(prefillCpu, (pc.user + pc.system) / 1000);
    }
    const out: Measured = { sessionMs, prefillMs, prefillTokS: (o.prompt * 1000) / prefillMs, decodeMsPerToken: decodeMs, decodeTokS: 1000 / decodeMs, params, cpuMsPerCall: cpuMs, prefillCpuMs: prefillCpu, decodeCpuMsPerToken: Math.max(0, cpuMs - prefillCpu) / o.steps };
    if (o.withImage) {
      const { image: im, tokens } = image(config, 448);
      const ids = [151644, 872, 198, config.visionStartTokenId, ...Array.from({ length: tokens }, () => config.imageTokenId), config.visionEndTokenId, ...promptIds(16)];
      let best = Infinity;
      for (let r = 0; r < o.reps; r++) {
        gen.reset();
        best = Math.min(best, (await gen.generate({ inputIds: ids, images: [im], maxNewTokens: 1, stopTokens: [] })).prefillMs);
      }
      out.imagePrefillMs = best;
      out.imageTokens = ids.length;
    }
    return out;
  } finally {
    await gen.dispose();
  }
}

function rows(label: string, m: Measured, o: { prompt: number; steps: number }): BenchResult[] {
  const res: BenchResult[] = [
    { name: `generate_${label}_prefill`, value: round(m.prefillTokS), unit: 'tokens/s', note: `${o.prompt}-token text prompt, ${round(m.prefillMs)} ms` },
    { name: `generate_${label}_decode`, value: round(m.decodeTokS), unit: 'tokens/s', note: `${round(m.decodeMsPerToken, 2)} ms/token, greedy, KV cache (${o.prompt}..${o.prompt + o.steps} cached)` },
    { name: `generate_${label}_prefill_cpu`, value: round(m.prefillCpuMs), unit: 'ms CPU', note: `${o.prompt}-token prefill, CPU time of all threads (steadier than wall time on a shared box)` },
    { name: `generate_${label}_decode_cpu`, value: round(m.decodeCpuMsPerToken, 2), unit: 'ms CPU/token', note: `(prefill + ${o.steps} steps − prefill) / ${o.steps}, all threads` },
    { name: `generate_${label}_session_create`, value: round(m.sessionMs), unit: 'ms', note: `${round(m.params / 1e6)} M params as initializers` },
  ];
  if (m.imagePrefillMs !== undefined) {
    res.push({ name: `generate_${label}_prefill_image448`, value: round(m.imagePrefillMs), unit: 'ms', note: `one 448×448 image + text, ${m.imageTokens} tokens (vision tower + decoder)` });
  }
  return res;
}

const TWO_B = { prompt: 128, steps: 16, withImage: false, reps: 1 };

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const small = { prompt: 128, steps: 32, withImage: true, reps: 3 };
  out.push(...rows('tiny', await measure(tinyQwen3VLConfig(), small), small));
  out.push(...rows('mid', await measure(midQwen3VLConfig(), small), small));
  if (process.env.VLREWARD_BENCH_GEN_2B !== '0') {
    try {
      const text = execFileSync(process.execPath, ['--conditions=@vlreward/source', '--import', 'tsx', join(here, 'generate.bench.ts'), '--child-2b'], {
        cwd: join(here, '..'),
        encoding: 'utf8',
        maxBuffer: 1 << 24,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const m = JSON.parse(text.trim().split('\n').pop()!) as Measured & { peakRssMB: number };
      out.push(...rows('2b_text', m, TWO_B));
      out.push({ name: 'generate_2b_text_peak_rss', value: round(m.peakRssMB), unit: 'MiB', note: 'child process; text decoder only (vision weights not loaded)' });
    } catch (e) {
      out.push({ name: 'generate_2b_text_decode', value: NaN, unit: 'tokens/s', note: `failed: ${(e as Error).message.split('\n')[0]}` });
    }
  }
  return out;
}

if (process.argv.includes('--child-2b')) {
  const m = await measure(QWEN3_VL_2B_CONFIG, TWO_B);
  console.log(JSON.stringify({ ...m, peakRssMB: process.resourceUsage().maxRSS / 1024 }));
}
