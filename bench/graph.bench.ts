// @vlreward/graph benchmarks: ORT CPU MatMul peak, build → serialize →
// session creation for a 28-layer model-sized graph, and (once autodiff and
// AdamW exist) a transformer block's fused train step as a share of peak.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Graph, saveModel, serialize, tensorData, type Dim, type DType, type Tensor, type TensorData } from '../packages/graph/src/index.js';
import { createSession } from '../packages/graph/src/runtime/index.js';
import { buildArtifacts, TrainingSession, type ParamSpec } from '../packages/model/src/index.js';
import type { BenchResult } from './types.js';

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);

function randn(n: number, scale: number, seed = 1): Float32Array {
  // xorshift32 + Box-Muller: deterministic inputs without a dependency.
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) * scale;
  return out;
}

/** Raw ONNX node with an explicit output spec. Axes are passed non-negative, as the op builders normalize them. */
function op(g: Graph, type: string, inputs: (Tensor | null)[], attrs: Record<string, unknown>, dtype: DType, shape: Dim[]): Tensor {
  return g.node(type, inputs, attrs as never, [{ dtype, shape }])[0]!;
}

/** Constant names: a private prefix and counter, so they never collide with node names. */
const constCount = new WeakMap<Graph, number>();
function cname(g: Graph, base: string): string {
  const k = constCount.get(g) ?? 0;
  constCount.set(g, k + 1);
  return `const/${base}_${k}`;
}

const i64 = (g: Graph, name: string, v: number[]) => g.initializer(name, tensorData('int64', [v.length], BigInt64Array.from(v.map(BigInt))));

// ---------------------------------------------------------------- MatMul peak

/** A chain of `chain` n×n MatMuls in one session; the chain amortizes feed/fetch copies. */
async function matmulChain(n: number, chain = 8) {
  const g = new Graph(`matmul${n}`);
  const a = g.input('a', 'float32', [n, n]);
  const b = g.input('b', 'float32', [n, n]);
  let y = a;
  for (let i = 0; i < chain; i++) y = op(g, 'MatMul', [y, b], {}, 'float32', [n, n]);
  g.output(y, 'y');
  const s = await createSession(g);
  const feeds = { a: tensorData('float32', [n, n], randn(n * n, 1, 3)), b: tensorData('float32', [n, n], randn(n * n, 1 / Math.sqrt(n), 7)) };
  await s.run(feeds);
  return {
    flops: 2 * n ** 3 * chain,
    /** Seconds for one run. */
    async time(): Promise<number> {
      const t0 = performance.now();
      await s.run(feeds);
      return (performance.now() - t0) / 1000;
    },
    dispose: () => s.dispose(),
  };
}

async function matmulPeak(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  let peak = 0;
  for (const n of [512, 1024, 2048]) {
    const mm = await matmulChain(n);
    const reps = n >= 2048 ? 5 : 10;
    let best = Infinity;
    for (let r = 0; r < reps; r++) best = Math.min(best, await mm.time());
    await mm.dispose();
    const gflops = mm.flops / best / 1e9;
    peak = Math.max(peak, gflops);
    results.push({ name: `ort_cpu_matmul_fp32_${n}`, value: round(gflops), unit: 'GFLOP/s', note: `best of ${reps}, chain of 8 ${n}x${n} MatMuls` });
  }
  results.push({ name: 'ort_cpu_matmul_fp32_peak', value: round(peak), unit: 'GFLOP/s', note: 'max over sizes; the practical peak' });
  return results;
}

// ------------------------------------------------------- transformer layers

export interface BlockConfig {
  readonly hidden: number;
  readonly intermediate: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

/** Qwen3-VL-2B text tower sizes (config.json text_config). */
export const QWEN3_VL_2B: BlockConfig = { hidden: 2048, intermediate: 6144, heads: 16, kvHeads: 8, headDim: 128 };

type WeightFn = (name: string, dims: number[]) => TensorData;
/** Makes a parameter tensor: an initializer (inference) or a graph input (training). */
type ParamFn = (name: string, dims: number[]) => Tensor;

function rmsNorm(g: Graph, x: Tensor, w: Tensor, shape: Dim[]): Tensor {
  const sq = op(g, 'Mul', [x, x], {}, 'float32', shape);
  const axes = i64(g, cname(g, 'axes'), [shape.length - 1]);
  const ms = op(g, 'ReduceMean', [sq, axes], { keepdims: 1 }, 'float32', [...shape.slice(0, -1), 1]);
  const eps = g.initializer(cname(g, 'eps'), tensorData('float32', [], new Float32Array([1e-6])));
  const rs = op(g, 'Sqrt', [op(g, 'Add', [ms, eps], {}, 'float32', [...shape.slice(0, -1), 1])], {}, 'float32', [...shape.slice(0, -1), 1]);
  return op(g, 'Mul', [op(g, 'Div', [x, rs], {}, 'float32', shape), w], {}, 'float32', shape);
}

/** q/k [B, H, 1|G, S, D] rotated by cos/sin [S, D]: x·cos + rotate_half(x)·sin. */
function rotary(g: Graph, x: Tensor, cos: Tensor, sin: Tensor, shape: Dim[], d: number): Tensor {
  const half = [...shape.slice(0, -1), d / 2];
  const split = i64(g, cname(g, 'split'), [d / 2, d / 2]);
  const last = shape.length - 1;
  const [x1, x2] = g.node('Split', [x, split], { axis: last }, [
    { dtype: 'float32', shape: half },
    { dtype: 'float32', shape: half },
  ]);
  const rot = op(g, 'Concat', [op(g, 'Neg', [x2!], {}, 'float32', half), x1!], { axis: last }, 'float32', shape);
  return op(g, 'Add', [op(g, 'Mul', [x, cos], {}, 'float32', shape), op(g, 'Mul', [rot, sin], {}, 'float32', shape)], {}, 'float32', shape);
}

/**
 * One Qwen3-style decoder layer from raw ONNX nodes: RMSNorm, GQA attention
 * with rotary and an additive causal mask, SwiGLU MLP. Weights are stored
 * [in, out] so projections are plain MatMuls.
 */
export function decoderLayer(g: Graph, x: Tensor, c: BlockConfig, p: string, param: ParamFn, cos: Tensor, sin: Tensor, mask: Tensor): Tensor {
  const B = x.shape[0]!;
  const S = x.shape[1]!;
  const h = c.hidden;
  const grp = c.heads / c.kvHeads;
  const D = c.headDim;
  const w = (n: string, dims: number[]) => param(`${p}.${n}`, dims);
  const hs: Dim[] = [B, S, h];
  return g.scope(p, () => {
    const n1 = rmsNorm(g, x, w('input_layernorm.weight', [h]), hs);
    const q = op(g, 'MatMul', [n1, w('self_attn.q_proj.weight', [h, c.heads * D])], {}, 'float32', [B, S, c.heads * D]);
    const k = op(g, 'MatMul', [n1, w('self_attn.k_proj.weight', [h, c.kvHeads * D])], {}, 'float32', [B, S, c.kvHeads * D]);
    const v = op(g, 'MatMul', [n1, w('self_attn.v_proj.weight', [h, c.kvHeads * D])], {}, 'float32', [B, S, c.kvHeads * D]);
    // Heads grouped as [B, kvHeads, group, S, D]: GQA by broadcasting, no copies of k/v.
    const q5 = op(g, 'Reshape', [q, i64(g, cname(g, 'shape'), [0, 0, c.kvHeads, grp, D])], {}, 'float32', [B, S, c.kvHeads, grp, D]);
    const qh = op(g, 'Transpose', [q5], { perm: [0, 2, 3, 1, 4] }, 'float32', [B, c.kvHeads, grp, S, D]);
    const k5 = op(g, 'Reshape', [k, i64(g, cname(g, 'shape'), [0, 0, c.kvHeads, 1, D])], {}, 'float32', [B, S, c.kvHeads, 1, D]);
    const kh = op(g, 'Transpose', [k5], { perm: [0, 2, 3, 1, 4] }, 'float32', [B, c.kvHeads, 1, S, D]);
    const v5 = op(g, 'Reshape', [v, i64(g, cname(g, 'shape'), [0, 0, c.kvHeads, 1, D])], {}, 'float32', [B, S, c.kvHeads, 1, D]);
    const vh = op(g, 'Transpose', [v5], { perm: [0, 2, 3, 1, 4] }, 'float32', [B, c.kvHeads, 1, S, D]);
    const qr = rotary(g, qh, cos, sin, [B, c.kvHeads, grp, S, D], D);
    const kr = rotary(g, kh, cos, sin, [B, c.kvHeads, 1, S, D], D);
    const kt = op(g, 'Transpose', [kr], { perm: [0, 1, 2, 4, 3] }, 'float32', [B, c.kvHeads, 1, D, S]);
    const sc: Dim[] = [B, c.kvHeads, grp, S, S];
    const scores = op(g, 'MatMul', [qr, kt], {}, 'float32', sc);
    const scale = g.initializer(cname(g, 'scale'), tensorData('float32', [], new Float32Array([1 / Math.sqrt(D)])));
    const probs = op(g, 'Softmax', [op(g, 'Add', [op(g, 'Mul', [scores, scale], {}, 'float32', sc), mask], {}, 'float32', sc)], { axis: sc.length - 1 }, 'float32', sc);
    const ctx = op(g, 'MatMul', [probs, vh], {}, 'float32', [B, c.kvHeads, grp, S, D]);
    const ctxT = op(g, 'Transpose', [ctx], { perm: [0, 3, 1, 2, 4] }, 'float32', [B, S, c.kvHeads, grp, D]);
    const ctx3 = op(g, 'Reshape', [ctxT, i64(g, cname(g, 'shape'), [0, 0, c.heads * D])], {}, 'float32', [B, S, c.heads * D]);
    const attn = op(g, 'MatMul', [ctx3, w('self_attn.o_proj.weight', [c.heads * D, h])], {}, 'float32', hs);
    const r1 = op(g, 'Add', [x, attn], {}, 'float32', hs);
    const n2 = rmsNorm(g, r1, w('post_attention_layernorm.weight', [h]), hs);
    const ish: Dim[] = [B, S, c.intermediate];
    const gate = op(g, 'MatMul', [n2, w('mlp.gate_proj.weight', [h, c.intermediate])], {}, 'float32', ish);
    const up = op(g, 'MatMul', [n2, w('mlp.up_proj.weight', [h, c.intermediate])], {}, 'float32', ish);
    const act = op(g, 'Mul', [op(g, 'Mul', [gate, op(g, 'Sigmoid', [gate], {}, 'float32', ish)], {}, 'float32', ish), up], {}, 'float32', ish);
    const down = op(g, 'MatMul', [act, w('mlp.down_proj.weight', [c.intermediate, h])], {}, 'float32', hs);
    return op(g, 'Add', [r1, down], {}, 'float32', hs);
  });
}

/** Inputs shared by all layers: hidden states, rotary tables, additive causal mask. */
function blockInputs(g: Graph, c: BlockConfig, B: Dim, S: Dim) {
  return {
    x: g.input('hidden_states', 'float32', [B, S, c.hidden]),
    cos: g.input('cos', 'float32', [S, c.headDim]),
    sin: g.input('sin', 'float32', [S, c.headDim]),
    mask: g.input('mask', 'float32', [S, S]),
  };
}

function blockFeeds(c: BlockConfig, B: number, S: number): Record<string, TensorData> {
  const cos = new Float32Array(S * c.headDim);
  const sin = new Float32Array(S * c.headDim);
  for (let s = 0; s < S; s++)
    for (let i = 0; i < c.headDim; i++) {
      const f = s / 10000 ** ((2 * (i % (c.headDim / 2))) / c.headDim);
      cos[s * c.headDim + i] = Math.cos(f);
      sin[s * c.headDim + i] = Math.sin(f);
    }
  const mask = new Float32Array(S * S);
  for (let i = 0; i < S; i++) for (let j = i + 1; j < S; j++) mask[i * S + j] = -1e9;
  return {
    hidden_states: tensorData('float32', [B, S, c.hidden], randn(B * S * c.hidden, 1, 11)),
    cos: tensorData('float32', [S, c.headDim], cos),
    sin: tensorData('float32', [S, c.headDim], sin),
    mask: tensorData('float32', [S, S], mask),
  };
}

/** Forward FLOPs of one layer (matmuls only, 2 per multiply-add). */
export function layerFlops(c: BlockConfig, tokens: number, S: number): number {
  const h = c.hidden;
  const proj = 2 * tokens * (h * c.heads * c.headDim + 2 * h * c.kvHeads * c.headDim + c.heads * c.headDim * h + 3 * h * c.intermediate);
  const attn = 2 * 2 * tokens * S * c.heads * c.headDim;
  return proj + attn;
}

async function modelSizedGraph(): Promise<BenchResult[]> {
  const layers = env('VLREWARD_BENCH_LAYERS', 28);
  const c = QWEN3_VL_2B;
  // One zero buffer per weight shape, shared by all layers: JS memory stays
  // at one layer's worth while the graph and the data file hold all 28.
  const shared = new Map<string, TensorData>();
  const weight: WeightFn = (_name, dims) => {
    const key = dims.join('x');
    let t = shared.get(key);
    if (!t) shared.set(key, (t = tensorData('float32', dims, new Float32Array(dims.reduce((a, b) => a * b, 1)))));
    return t;
  };
  let t0 = performance.now();
  const g = new Graph('qwen3_vl_2b_text_layers');
  const io = blockInputs(g, c, 'batch', 'seq');
  let x = io.x;
  const param: ParamFn = (name, dims) => g.initializer(name, weight(name, dims));
  for (let l = 0; l < layers; l++) x = decoderLayer(g, x, c, `model.layers.${l}`, param, io.cos, io.sin, io.mask);
  g.output(x, 'last_hidden_state');
  const buildMs = performance.now() - t0;
  let params = 0;
  for (const { value } of g.initializers.values()) params += value.data.length;
  const dir = mkdtempSync(join(tmpdir(), 'vlreward-bench-'));
  try {
    t0 = performance.now();
    const saved = saveModel(g, dir, 'model.onnx', { externalData: { path: 'model.onnx.data', thresholdBytes: 1024 } });
    const saveMs = performance.now() - t0;
    t0 = performance.now();
    const s = await createSession(saved.modelPath, { graphOptimizationLevel: 'all' });
    const sessionMs = performance.now() - t0;
    const feeds = blockFeeds(c, 1, 16);
    t0 = performance.now();
    const out = await s.run(feeds);
    const runMs = performance.now() - t0;
    await s.dispose();
    if (out.last_hidden_state!.dims.join() !== `1,16,${c.hidden}`) throw new Error('unexpected output shape');
    const note = `${layers} layers, hidden ${c.hidden}, inter ${c.intermediate}, ${c.heads}/${c.kvHeads} heads, fp32 zero weights, ${g.nodes.length} nodes, ${(params / 1e9).toFixed(2)}B params`;
    return [
      { name: 'model_graph_build', value: round(buildMs), unit: 'ms', note },
      { name: 'model_graph_serialize_save', value: round(saveMs), unit: 'ms', note: `model.onnx ${(saved.modelBytes / 1e6).toFixed(1)} MB + external data ${(saved.dataBytes / 1e9).toFixed(2)} GB` },
      { name: 'model_graph_session_create', value: round(sessionMs), unit: 'ms', note: 'ORT CPU, graphOptimizationLevel all, from file with external data' },
      { name: 'model_graph_first_run_seq16', value: round(runMs), unit: 'ms', note: 'batch 1, seq 16, first run' },
      { name: 'model_graph_serialize_inline_proto', value: round(timeInlineSerialize(layers, c)), unit: 'ms', note: 'serialize() of the same graph structure with 1-element weights (structure cost only)' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function timeInlineSerialize(layers: number, c: BlockConfig): number {
  const g = new Graph('structure');
  const io = blockInputs(g, c, 'batch', 'seq');
  let x = io.x;
  const tiny: WeightFn = (_n, dims) => tensorData('float32', dims.map(() => 1), new Float32Array(1));
  const param: ParamFn = (name, dims) => g.initializer(name, tiny(name, dims));
  for (let l = 0; l < layers; l++) x = decoderLayer(g, x, c, `model.layers.${l}`, param, io.cos, io.sin, io.mask);
  g.output(x, 'y');
  const t0 = performance.now();
  serialize(g);
  return performance.now() - t0;
}

// ------------------------------------------------------ train step FLOP/s

async function trainStep(peak: number): Promise<BenchResult[]> {
  const hidden = env('VLREWARD_BENCH_HIDDEN', 1024);
  const c: BlockConfig = { hidden, intermediate: 3 * hidden, heads: hidden / 128, kvHeads: hidden / 256, headDim: 128 };
  const B = 1;
  const S = env('VLREWARD_BENCH_SEQ', 256);
  // The one training path: model's buildArtifacts + TrainingSession, as vlreward train runs it.
  const specs: ParamSpec[] = [];
  const declare = (name: string, dims: number[]) => {
    const n = dims.reduce((a, b) => a * b, 1);
    specs.push({ name, shape: dims, trainable: true, init: tensorData('float32', dims, dims.length === 1 ? new Float32Array(n).fill(1) : randn(n, 0.02, specs.length + 1)) });
  };
  {
    // Discover the inventory once by building the layer into a scratch graph.
    const g = new Graph('inventory');
    const io = blockInputs(g, c, B, S);
    decoderLayer(g, io.x, c, 'layer', (name, dims) => (declare(name, dims), g.input(name, 'float32', dims)), io.cos, io.sin, io.mask);
  }
  const art = buildArtifacts(
    (g, params) => {
      const io = blockInputs(g, c, B, S);
      const y = decoderLayer(g, io.x, c, 'layer', (name, dims) => params(name, 'float32', dims), io.cos, io.sin, io.mask);
      const sq = op(g, 'Mul', [y, y], {}, 'float32', [B, S, c.hidden]);
      const loss = op(g, 'ReduceMean', [sq, i64(g, 'loss_axes', [0, 1, 2])], { keepdims: 0 }, 'float32', []);
      const logits = op(g, 'ReduceMean', [sq, i64(g, 'logit_axes', [2])], { keepdims: 0 }, 'float32', [B, S]);
      return { loss, logits };
    },
    specs,
    { name: 'train_block', graphs: ['train'], optimizer: { maxGradNorm: 1.0 } },
  );
  const runner = await TrainingSession.create(art);
  const feeds = blockFeeds(c, B, S);
  await runner.step(feeds, 1e-4);
  // The cores are shared with other work, so the MatMul reference is timed
  // interleaved with the steps: both bests come from the same window.
  const mm = await matmulChain(2048, 4);
  let best = Infinity;
  let bestMm = Infinity;
  for (let r = 0; r < 5; r++) {
    bestMm = Math.min(bestMm, await mm.time());
    const t0 = performance.now();
    await runner.step(feeds, 1e-4);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  await mm.dispose();
  const refPeak = mm.flops / bestMm / 1e9;
  const stateBytes = 3 * 4 * specs.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  await runner.dispose();
  const flops = 3 * layerFlops(c, B * S, S);
  const achieved = flops / best / 1e9;
  const note = `one decoder layer, hidden ${c.hidden}, inter ${c.intermediate}, ${c.heads}/${c.kvHeads} heads, B=${B} S=${S}; fwd+bwd+clip+AdamW in one run (model TrainingSession); FLOPs = 3x forward matmul FLOPs`;
  return [
    { name: 'train_step_block_time', value: round(best * 1000), unit: 'ms', note },
    { name: 'train_step_block_gflops', value: round(achieved), unit: 'GFLOP/s', note },
    { name: 'train_step_block_vs_matmul_peak', value: round(achieved / refPeak, 3), unit: 'ratio', note: `of ${round(refPeak)} GFLOP/s from 2048² MatMuls timed interleaved with the steps (same CPU share)` },
    { name: 'train_step_block_vs_matmul_peak_row', value: round(achieved / peak, 3), unit: 'ratio', note: `of the ${round(peak)} GFLOP/s peak row (measured earlier; skewed when the load changes)` },
    { name: 'train_step_state_resident', value: round(stateBytes / 2 ** 20), unit: 'MiB', note: 'params + m + v kept as ORT values between steps' },
  ];
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const mm = await matmulPeak();
  out.push(...mm);
  const peak = mm.find((r) => r.name === 'ort_cpu_matmul_fp32_peak')!.value;
  out.push(...(await modelSizedGraph()));
  try {
    out.push(...(await trainStep(peak)));
  } catch (e) {
    out.push({ name: 'train_step_block', value: Number.NaN, unit: 'ratio', note: `failed: ${(e as Error).message.split('\n')[0]}` });
  }
  return out;
}
