// Training-artifact benchmarks (ORT CPU): per model and mode, the fused
// training step (forward + backward + clip + AdamW in one session run), the
// backward/forward time ratio (gradient graph vs eval graph; ideal ≈ 2),
// achieved FLOP/s of the step against the ORT MatMul peak measured in the
// same run, artifact build + save + session load time, and peak RSS. Each
// case runs in its own child process so its peak RSS is its own.
// Models: the toy transformer (packages/model/src/artifacts/toy_model.ts),
// Qwen3-VL tiny and mid (random weights, synthetic 3-image batches).
// The real 2B shape runs only in LoRA mode with frozen weights as one shared
// fp32 input copy, and only with VLREWARD_BENCH_2B_TRAIN=1 (~12 GB peak): full
// fine-tuning needs ~16 bytes per parameter (≈ 35 GB), beyond a 24 GiB machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { TensorData } from '../packages/graph/src/index.js';
import type { TrainingArtifacts } from '../packages/model/src/index.js';
import type { BenchResult } from './types.js';

const threads = Number(process.env.VLREWARD_BENCH_THREADS ?? availableParallelism());
const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;
const thisFile = fileURLToPath(import.meta.url);
const here = dirname(thisFile);

interface Case {
  readonly model: 'toy' | 'qwen3vl_tiny' | 'qwen3vl_mid' | 'qwen3vl_2b';
  readonly mode: 'lora' | 'full';
  readonly reps: number;
  /** Frozen weights as runner-fed inputs instead of initializers (one shared copy, fast session creation). */
  readonly frozenAs?: 'initializer' | 'input';
  /** Activation checkpointing (every text layer / vision block recomputed in the backward pass). */
  readonly checkpointing?: boolean;
}

interface CaseResult {
  readonly buildMs: number;
  readonly saveMs: number;
  readonly loadMs: number;
  readonly stepMs: number;
  readonly forwardMs: number;
  readonly gradientMs: number;
  readonly trainable: number;
  readonly frozen: number;
  readonly stepFlops: number | null;
  /** MatMul/Gemm FLOPs of the fused train graph counted node by node (symbolic dims bound from the batch). */
  readonly graphFlops: number;
  /** MatMul/Gemm nodes whose size could not be resolved (left out of graphFlops). */
  readonly unresolved: number;
  readonly peakRssMB: number;
  readonly desc: string;
}

async function median(reps: number, f: () => Promise<unknown>): Promise<number> {
  await f(); // warm-up: first runs allocate ORT's arenas
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

/** One case, in this (child) process. */
async function runCase(c: Case): Promise<CaseResult> {
  // Loaded here, in the child only: the parent process imports no workspace code.
  const {
    buildArtifacts,
    buildTrainingArtifacts,
    loadArtifacts,
    makeLoraConfig,
    midQwen3VLConfig,
    parseQwen3VLConfig,
    QWEN3_VL_2B_CONFIG,
    prepareQwen3VLInputs,
    qwen3VLForwardFlops,
    randomQwen3VLWeights,
    saveArtifacts,
    syntheticQwen3VLBatch,
    tinyQwen3VLConfig,
    TrainingSession,
  } = await import('../packages/model/src/index.js');
  const { TOY_SMALL, toyBatch, toyForward, toyParams } = await import('../packages/model/test/toy_model.js');
  let build: () => TrainingArtifacts;
  let batch: Record<string, TensorData>;
  let stepFlops: number | null = null;
  let desc: string;
  if (c.model === 'toy') {
    const params = toyParams(TOY_SMALL, c.mode, 1);
    build = () => buildArtifacts(toyForward(TOY_SMALL), params, { name: `toy.${c.mode}`, ...(c.frozenAs ? { frozenAs: c.frozenAs } : {}) });
    batch = toyBatch(TOY_SMALL, 8, 32, 1);
    desc = `toy: ${TOY_SMALL.layers} layers, hidden ${TOY_SMALL.hidden}, B=8, S=32`;
  } else {
    const config = parseQwen3VLConfig(c.model === 'qwen3vl_tiny' ? tinyQwen3VLConfig() : c.model === 'qwen3vl_mid' ? midQwen3VLConfig() : { ...QWEN3_VL_2B_CONFIG, dtype: 'float32' });
    const weights = randomQwen3VLWeights(config, 1);
    const lora = makeLoraConfig({}); // the seed's r=16, alpha=32, dropout 0.05, 7 projections
    build = () => buildTrainingArtifacts(config, { mode: c.mode, lora, numClasses: 3, weights, seed: 1, ...(c.frozenAs ? { frozenAs: c.frozenAs } : {}), ...(c.checkpointing ? { checkpointing: true } : {}) });
    const shape = c.model === 'qwen3vl_tiny' ? { batch: 2, images: 3, height: 64, width: 64, textTokens: 16 } : { batch: 1, images: 3, height: 224, width: 224, textTokens: 32 };
    const prep = prepareQwen3VLInputs(config, syntheticQwen3VLBatch(config, { ...shape, numClasses: 3 }), { labels: true, numClasses: 3 });
    batch = prep.feeds;
    const B = prep.feeds.input_ids!.dims[0]!;
    const S = prep.feeds.input_ids!.dims[1]!;
    const fwd = qwen3VLForwardFlops(config, { P: prep.numPatches, segLen: prep.feeds['vision.pack_index']!.dims[1]!, B, S });
    // Backward ≈ 2× forward matmul work when weight gradients are taken (full); LoRA
    // skips the frozen weights' gradients (≈ 1× forward for the input gradients).
    stepFlops = fwd * (c.mode === 'full' ? 3 : 2);
    desc = `${c.model}: ${config.text.numHiddenLayers} text layers, hidden ${config.text.hiddenSize}, B=${B}, S=${S}, ${shape.images} images ${shape.height}x${shape.width}`;
  }
  let t0 = performance.now();
  const art = build();
  const buildMs = performance.now() - t0;
  const dims = new Map<string, number>();
  for (const spec of art.manifest.batchInputs) {
    spec.shape.forEach((d, i) => {
      if (typeof d === 'string') dims.set(d, batch[spec.name]!.dims[i]!);
    });
  }
  const counted = matmulFlops(art.graphs.train!, dims);
  const dir = mkdtempSync(join(tmpdir(), 'vlr-art-bench-'));
  try {
    t0 = performance.now();
    saveArtifacts(art, dir);
    const saveMs = performance.now() - t0;
    const saved = loadArtifacts(dir);
    const s = await TrainingSession.create(saved, { params: art.params, intraOpThreads: threads });
    const feeds: Record<string, TensorData> = {};
    for (const i of art.manifest.batchInputs) feeds[i.name] = batch[i.name]!;
    const evalFeeds: Record<string, TensorData> = {};
    for (const i of art.manifest.evalInputs) evalFeeds[i.name] = batch[i.name]!;
    // Session creation is lazy: the first call of each graph includes it.
    t0 = performance.now();
    await s.step(feeds, 1e-5);
    await s.computeGradients(feeds);
    await s.evaluate(evalFeeds);
    const loadMs = performance.now() - t0;
    const stepMs = await median(c.reps, () => s.step(feeds, 1e-5));
    const gradientMs = await median(c.reps, () => s.computeGradients(feeds));
    const forwardMs = await median(c.reps, () => s.evaluate(evalFeeds));
    await s.dispose();
    const trainable = art.params.filter((p) => p.trainable).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    const frozen = art.params.filter((p) => !p.trainable).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    return { buildMs, saveMs, loadMs, stepMs, forwardMs, gradientMs, trainable, frozen, stepFlops, graphFlops: counted.flops, unresolved: counted.unresolved, peakRssMB: process.resourceUsage().maxRSS / 1024, desc };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 2·M·N·K (times broadcast batch) for every MatMul / Gemm of a graph, symbolic dims resolved through `dims`. */
function matmulFlops(g: TrainingArtifacts['graphs'][keyof TrainingArtifacts['graphs']] & object, dims: ReadonlyMap<string, number>): { flops: number; unresolved: number } {
  let flops = 0;
  let unresolved = 0;
  const size = (d: number | string): number | undefined => (typeof d === 'number' ? d : dims.get(d));
  for (const n of g.nodes) {
    if (n.opType !== 'MatMul' && n.opType !== 'Gemm') continue;
    const a = n.inputs[0]!;
    const y = n.outputs[0]!;
    const k = n.opType === 'Gemm' && n.attrs.transA ? a.shape[0]! : a.shape[a.rank - 1]!;
    const sizes = [...y.shape, k].map(size);
    if (sizes.some((v) => v === undefined)) {
      unresolved++;
      continue;
    }
    flops += 2 * (sizes as number[]).reduce((p, v) => p * v, 1);
  }
  return { flops, unresolved };
}

/** ORT CPU fp32 MatMul GFLOP/s (1024³, chain of 4, best of 3): the practical peak. */
async function matmulPeak(): Promise<number> {
  const { Graph, matmul } = await import('../packages/graph/src/index.js');
  const { createSession } = await import('../packages/graph/src/runtime/index.js');
  const n = 1024;
  const g = new Graph('mm');
  const a = g.input('a', 'float32', [n, n]);
  let x = a;
  for (let i = 0; i < 4; i++) x = matmul(x, g.input(`b${i}`, 'float32', [n, n]));
  g.output(x, 'y');
  const s = await createSession(g, { intraOpThreads: threads });
  const m = (): TensorData => ({ dtype: 'float32', dims: [n, n], data: new Float32Array(n * n).fill(1 / n) });
  const feeds = { a: m(), b0: m(), b1: m(), b2: m(), b3: m() };
  await s.run(feeds);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await s.run(feeds);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  await s.dispose();
  return (4 * 2 * n ** 3) / best / 1e9;
}

/**
 * Run `task` in a child process under vite-node with the model package's
 * vitest config (workspace sources through the @vlreward/source condition,
 * the same module loading as the tests); the last stdout line is its JSON.
 */
function child<T>(task: Case | 'peak'): T {
  const vn = readdirSync(join(here, '../node_modules/.pnpm')).find((d) => d.startsWith('vite-node@'));
  if (!vn) throw new Error('vite-node is not installed (it comes with vitest)');
  const bin = join(here, '../node_modules/.pnpm', vn, 'node_modules/vite-node/vite-node.mjs');
  const out = execFileSync(process.execPath, [bin, '--config', 'vitest.config.ts', thisFile, '--artifacts-bench-case', JSON.stringify(task)], {
    cwd: join(here, '../packages/model'),
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

export async function run(): Promise<BenchResult[]> {
  const peak = child<number>('peak');
  const out: BenchResult[] = [{ name: 'artifacts_matmul_peak', value: round(peak), unit: 'GFLOP/s', note: `ORT CPU fp32 1024³, ${threads} threads` }];
  const cases: Case[] = [
    { model: 'toy', mode: 'lora', reps: 20 },
    { model: 'toy', mode: 'full', reps: 20 },
    { model: 'qwen3vl_tiny', mode: 'lora', reps: 5 },
    { model: 'qwen3vl_tiny', mode: 'full', reps: 5 },
    { model: 'qwen3vl_mid', mode: 'lora', reps: 3 },
    { model: 'qwen3vl_mid', mode: 'lora', reps: 3, frozenAs: 'input' },
    { model: 'qwen3vl_mid', mode: 'lora', reps: 3, checkpointing: true },
    { model: 'qwen3vl_mid', mode: 'full', reps: 2 },
  ];
  // The real 2B shape, LoRA, frozen weights as one shared fp32 copy (~8.6 GB): opt-in, ~12 GB peak.
  if (process.env.VLREWARD_BENCH_2B_TRAIN === '1') cases.push({ model: 'qwen3vl_2b', mode: 'lora', reps: 1, frozenAs: 'input' });
  for (const c of cases) {
    const id = `${c.model}_${c.mode}${c.frozenAs === 'input' ? '_frozen_inputs' : ''}${c.checkpointing ? '_checkpointing' : ''}`;
    let r: CaseResult;
    try {
      r = child<CaseResult>(c);
    } catch (e) {
      out.push({ name: `${id}_train_step`, value: NaN, unit: 'ms', note: `failed: ${(e as Error).message.split('\n')[0]}` });
      continue;
    }
    const bwd = r.gradientMs - r.forwardMs;
    out.push(
      { name: `${id}_train_step`, value: round(r.stepMs), unit: 'ms', note: `fused fwd+bwd+clip+AdamW, median; ${r.desc}; ${r.trainable} trainable / ${r.frozen} frozen params` },
      { name: `${id}_forward`, value: round(r.forwardMs), unit: 'ms', note: 'eval graph' },
      { name: `${id}_backward_forward_ratio`, value: round(bwd / r.forwardMs), unit: 'ratio', note: `(gradient graph − forward) / forward; optimizer share of the step ${round(Math.max(0, r.stepMs - r.gradientMs))} ms` },
      { name: `${id}_artifacts_build`, value: round(r.buildMs), unit: 'ms', note: 'train + gradient + optimizer + eval graphs (autodiff included)' },
      { name: `${id}_artifacts_save`, value: round(r.saveMs), unit: 'ms', note: 'ONNX + shared external data' },
      { name: `${id}_artifacts_load`, value: round(r.loadMs), unit: 'ms', note: 'ORT sessions for train, gradient, eval from disk (first run of each)' },
      { name: `${id}_peak_rss`, value: round(r.peakRssMB, 0), unit: 'MiB', note: 'whole child process' },
    );
    const gflops = r.graphFlops / (r.stepMs / 1000) / 1e9;
    out.push({
      name: `${id}_step_vs_matmul_peak`,
      value: round(gflops / peak, 3),
      unit: 'ratio',
      note:
        `${round(gflops)} GFLOP/s of ${round(peak)}: ${round(r.graphFlops / 1e9, 3)} GFLOP of MatMul/Gemm per step counted from the train graph` +
        (r.unresolved ? ` (${r.unresolved} nodes with data-dependent sizes left out)` : '') +
        (r.stepFlops !== null ? `; analytic estimate ${round(r.stepFlops / 1e9, 3)} GFLOP` : ''),
    });
  }
  return out;
}

const at = process.argv.indexOf('--artifacts-bench-case');
if (at >= 0) {
  const task = JSON.parse(process.argv[at + 1]!) as Case | 'peak';
  (task === 'peak' ? matmulPeak() : runCase(task)).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
