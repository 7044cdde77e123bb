// @vlreward/model benchmarks: Qwen3-VL reward forward on ORT CPU for a tiny,
// a mid-size (8 layers, hidden 512, 3 x 224x224 images) and, unless
// VLREWARD_BENCH_2B=0, the real 2B-shaped config (in a child process so its
// peak RSS is its own). Achieved FLOP/s is reported against the ORT MatMul
// peak measured in this same run, and an ORT profile gives the top ops.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Graph, tensorData, type Tensor } from '../packages/graph/src/index.js';
import { createSession } from '../packages/graph/src/runtime/index.js';
import {
  buildQwen3VLGraph,
  midQwen3VLConfig,
  paramsFromMap,
  parseQwen3VLConfig,
  prepareQwen3VLInputs,
  qwen3VLForwardFlops,
  randomQwen3VLWeights,
  syntheticQwen3VLBatch,
  tinyQwen3VLConfig,
  type Qwen3VLConfig,
  type SyntheticBatchOptions,
} from '../packages/model/src/index.js';
import { initClassifierHead } from '../packages/model/src/heads/init.js';
import type { BenchResult } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const threads = Number(process.env.VLREWARD_BENCH_THREADS ?? availableParallelism());
const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

/** ORT CPU fp32 MatMul GFLOP/s (chain of 8 products, best of 5) at a few sizes; the max is the peak. */
async function matmulPeak(): Promise<number> {
  let peak = 0;
  for (const n of [512, 1024]) {
    const g = new Graph(`mm${n}`);
    const a = g.input('a', 'float32', [n, n]);
    const b = g.input('b', 'float32', [n, n]);
    let y: Tensor = a;
    for (let i = 0; i < 8; i++) y = g.node('MatMul', [y, b], {}, [{ dtype: 'float32', shape: [n, n] }])[0]!;
    g.output(y, 'y');
    const s = await createSession(g, { intraOpThreads: threads });
    const data = new Float32Array(n * n).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
    const feeds = { a: tensorData('float32', [n, n], data), b: tensorData('float32', [n, n], data.map((x) => x / n)) };
    await s.run(feeds);
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      await s.run(feeds);
      peak = Math.max(peak, (8 * 2 * n ** 3) / ((performance.now() - t) / 1000) / 1e9);
    }
    await s.dispose();
  }
  return peak;
}

/** Sum ORT profile node durations by op type; returns the top `k` with their share. */
function topOps(profilePath: string, k = 6): string {
  const events = JSON.parse(readFileSync(profilePath, 'utf8')) as { cat?: string; dur?: number; args?: { op_name?: string } }[];
  const byOp = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.args?.op_name || !e.dur) continue;
    byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + e.dur);
    total += e.dur;
  }
  return [...byOp]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([op, us]) => `${op} ${Math.round((100 * us) / total)}%`)
    .join(', ');
}

async function forwardBench(label: string, config: Qwen3VLConfig, shape: SyntheticBatchOptions, reps: number, peak: number): Promise<BenchResult[]> {
  const numClasses = 3;
  const weights = randomQwen3VLWeights(config, 1);
  for (const [k, v] of initClassifierHead(config.headHiddenSize, numClasses, 1)) weights.set(k, v);
  const t0 = performance.now();
  const { graph } = buildQwen3VLGraph(config, (g) => paramsFromMap(g, weights), { numClasses });
  const buildMs = performance.now() - t0;
  const batch = syntheticQwen3VLBatch(config, { ...shape, numClasses });
  const prep = prepareQwen3VLInputs(config, batch);
  const B = batch.inputIds.dims[0]!;
  const S = batch.inputIds.dims[1]!;
  const flops = qwen3VLForwardFlops(config, { P: prep.numPatches, segLen: prep.feeds['vision.pack_index']!.dims[1]!, B, S });

  const t1 = performance.now();
  const s = await createSession(graph, { intraOpThreads: threads });
  const sessionMs = performance.now() - t1;
  const feeds = Object.fromEntries(s.inputs.map((i) => [i.name, prep.feeds[i.name]!]));
  await s.run(feeds);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await s.run(feeds);
    times.push((performance.now() - t) / 1000);
  }
  await s.dispose();
  times.sort((a, b) => a - b);
  const sec = times[Math.floor(times.length / 2)]!;
  const gflops = flops / sec / 1e9;

  // One profiled run for where the time goes.
  const profDir = mkdtempSync(join(tmpdir(), 'vlr-prof-'));
  let top = '';
  try {
    const ps = await createSession(graph, { intraOpThreads: threads, enableProfiling: true, profileFilePrefix: join(profDir, 'p') });
    await ps.run(feeds);
    ps.endProfiling();
    await ps.dispose();
    const file = readdirSync(profDir).find((f) => f.endsWith('.json'));
    if (file) top = topOps(join(profDir, file));
  } finally {
    rmSync(profDir, { recursive: true, force: true });
  }
  const desc = `B=${B}, ${shape.images ?? 3} images ${shape.height ?? 224}x${shape.width ?? 224}, S=${S}, P=${prep.numPatches}, ${threads} threads`;
  return [
    { name: `qwen3vl_${label}_forward`, value: round(B / sec), unit: 'samples/s', note: `median of ${reps}; ${desc}` },
    { name: `qwen3vl_${label}_forward_gflops`, value: round(gflops), unit: 'GFLOP/s', note: `${round(flops / 1e9)} GFLOP matmul work per batch` },
    { name: `qwen3vl_${label}_forward_vs_matmul_peak`, value: round(gflops / peak, 3), unit: 'ratio', note: `of ${round(peak)} GFLOP/s; top ops: ${top}` },
    { name: `qwen3vl_${label}_graph_build`, value: round(buildMs), unit: 'ms', note: `${graph.nodes.length} nodes` },
    { name: `qwen3vl_${label}_session_create`, value: round(sessionMs), unit: 'ms' },
  ];
}

/** The 2B-shaped build in a child process, so its peak RSS is its own. */
function twoB(peak: number): BenchResult[] {
  const cwd = join(here, '../packages/model');
  const out = execFileSync(
    process.execPath,
    [
      '--conditions=@vlreward/source',
      '--expose-gc',
      '--import',
      'tsx',
      'scripts/measure-2b.ts',
      ...(process.env.VLREWARD_BENCH_2B_FORWARD === '0' ? [] : ['--forward']),
    ],
    { cwd, encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const r = JSON.parse(out.trim().split('\n').pop()!) as {
    buildMs: number;
    saveMs: number;
    sessionMs: number;
    forwardMs: number | null;
    forwardFlops: number | null;
    peakRssMB: number;
    topOps: string;
    params: { vision: number; text: number; lora: number; head: number };
  };
  const res: BenchResult[] = [
    { name: 'qwen3vl_2b_graph_build', value: r.buildMs, unit: 'ms', note: 'random weights excluded; LoRA r=16 x7 projections, 2-class head' },
    { name: 'qwen3vl_2b_save_external_data', value: r.saveMs, unit: 'ms' },
    { name: 'qwen3vl_2b_session_create', value: r.sessionMs, unit: 'ms', note: 'ORT CPU, from the saved file' },
    { name: 'qwen3vl_2b_peak_rss', value: r.peakRssMB, unit: 'MiB', note: 'whole child process' },
    { name: 'qwen3vl_2b_params_vision', value: r.params.vision, unit: 'params' },
    { name: 'qwen3vl_2b_params_text', value: r.params.text, unit: 'params', note: 'tied embeddings' },
    { name: 'qwen3vl_2b_params_lora', value: r.params.lora, unit: 'params' },
  ];
  if (r.forwardMs !== null && r.forwardFlops !== null) {
    const gflops = r.forwardFlops / (r.forwardMs / 1000) / 1e9;
    res.push(
      { name: 'qwen3vl_2b_forward', value: round(1000 / r.forwardMs, 4), unit: 'samples/s', note: 'one run, 1 sample, 3 images 224x224' },
      { name: 'qwen3vl_2b_forward_vs_matmul_peak', value: round(gflops / peak, 3), unit: 'ratio', note: `${round(gflops)} GFLOP/s of ${round(peak)}; top ops: ${r.topOps}` },
    );
  }
  return res;
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  // Shared VMs drift: take the peak before and after the model runs and keep the larger.
  let peak = await matmulPeak();
  const results = [
    ...(await forwardBench('tiny', parseQwen3VLConfig(tinyQwen3VLConfig()), { batch: 2, images: 3, height: 224, width: 224 }, 5, peak)),
    ...(await forwardBench('mid', parseQwen3VLConfig(midQwen3VLConfig()), { batch: 1, images: 3, height: 224, width: 224 }, 3, peak)),
  ];
  const after = await matmulPeak();
  if (after > peak) {
    // Re-express the ratios against the better peak.
    for (const r of results) if (r.name.endsWith('_vs_matmul_peak')) Object.assign(r, { value: round((r.value * peak) / after, 3), note: r.note?.replace(/of [\d.]+ GFLOP\/s/, `of ${round(after)} GFLOP/s`) });
    peak = after;
  }
  out.push({ name: 'ort_cpu_matmul_peak_in_model_bench', value: round(peak), unit: 'GFLOP/s', note: 'fp32 512/1024 MatMul chains, best of before/after, this run' });
  out.push(...results);
  if (process.env.VLREWARD_BENCH_2B !== '0') out.push(...twoB(peak));
  return out;
}
