// Train a small MLP with @vlreward/graph and the one training path of
// @vlreward/model (buildArtifacts → TrainingSession): the whole step (forward,
// backward, gradient clipping, AdamW) is one ONNX graph, run by ONNX Runtime
// once per step; parameters and optimizer moments stay inside the runner.
//
//   node --conditions=@vlreward/source --import tsx examples/graph-mlp.ts [steps]
//
// Imports point at the package sources so the example runs without a build.
import { crossEntropy, Graph, linear, mulberry32, tanh, tensorData, type Tensor, type TensorData } from '../packages/graph/src/index.js';
import { createSession } from '../packages/graph/src/runtime/index.js';
import { buildArtifacts, TrainingSession, type ParamSpec } from '../packages/model/src/index.js';

export interface MlpOptions {
  readonly steps?: number;
  readonly seed?: number;
  readonly hidden?: number;
  readonly lr?: number;
  readonly points?: number;
  /** Called after every step with the fetched loss. */
  readonly onStep?: (step: number, loss: number, gradNorm: number) => void;
}

export interface MlpResult {
  readonly losses: number[];
  readonly accuracy: number;
  /** Bytes of training state (params + AdamW moments) kept in the runner between steps. */
  readonly stateBytes: number;
  readonly params: Record<string, TensorData>;
}

/** The project's seeded PRNG, so two runs with one seed agree bit for bit. */
const rng = mulberry32;

/** Two interleaved spirals, a classic dataset that a linear model cannot fit. */
export function spirals(n: number, seed: number): { x: TensorData; y: TensorData } {
  const r = rng(seed);
  const x = new Float32Array(n * 2);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % 2;
    const t = (i / n) * 3 * Math.PI + 0.5;
    const rad = t / (3 * Math.PI);
    x[2 * i] = rad * Math.cos(t + cls * Math.PI) + (r() - 0.5) * 0.04;
    x[2 * i + 1] = rad * Math.sin(t + cls * Math.PI) + (r() - 0.5) * 0.04;
    y[i] = BigInt(cls);
  }
  return { x: tensorData('float32', [n, 2], x), y: tensorData('int64', [n], y) };
}

/** The forward pass: 2 → hidden → hidden → 2 logits (torch Linear layout). */
function forward(x: Tensor, p: Record<string, Tensor>): Tensor {
  const h1 = tanh(linear(x, p['fc1.weight']!, p['fc1.bias']!));
  const h2 = tanh(linear(h1, p['fc2.weight']!, p['fc2.bias']!));
  return linear(h2, p['out.weight']!, p['out.bias']!);
}

function shapes(hidden: number): Record<string, number[]> {
  return {
    'fc1.weight': [hidden, 2],
    'fc1.bias': [hidden],
    'fc2.weight': [hidden, hidden],
    'fc2.bias': [hidden],
    'out.weight': [2, hidden],
    'out.bias': [2],
  };
}

/** torch.nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias. */
function initParams(hidden: number, seed: number): Record<string, TensorData> {
  const r = rng(seed);
  const out: Record<string, TensorData> = {};
  const s = shapes(hidden);
  for (const [name, dims] of Object.entries(s)) {
    const fanIn = name.endsWith('bias') ? s[name.replace('bias', 'weight')]![1]! : dims[1]!;
    const bound = 1 / Math.sqrt(fanIn);
    const n = dims.reduce((a, b) => a * b, 1);
    out[name] = tensorData('float32', dims, Float32Array.from({ length: n }, () => (2 * r() - 1) * bound));
  }
  return out;
}

export async function trainMlp(o: MlpOptions = {}): Promise<MlpResult> {
  const steps = o.steps ?? 300;
  const seed = o.seed ?? 0;
  const hidden = o.hidden ?? 32;
  const lr = o.lr ?? 0.02;
  const data = spirals(o.points ?? 256, seed + 1);

  const init = initParams(hidden, seed);
  const specs: ParamSpec[] = Object.entries(init).map(([name, t]) => ({ name, shape: [...t.dims], trainable: true, init: t, weightDecay: name.endsWith('bias') ? 0 : 0.01 }));
  const art = buildArtifacts(
    (g, params) => {
      const x = g.input('x', 'float32', ['batch', 2]);
      const labels = g.input('labels', 'int64', ['batch']);
      const p: Record<string, Tensor> = {};
      for (const [name, dims] of Object.entries(shapes(hidden))) p[name] = params(name, 'float32', dims);
      const logits = forward(x, p);
      return { loss: crossEntropy(logits, labels), logits };
    },
    specs,
    { name: 'mlp', graphs: ['train'], optimizer: { maxGradNorm: 1.0 } },
  );
  const runner = await TrainingSession.create(art, { intraOpThreads: 1 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const out = await runner.step({ x: data.x, labels: data.y }, lr);
    losses.push(out.loss);
    o.onStep?.(s, out.loss, out.gradNorm);
  }
  const state = await runner.getTrainableState();
  const params = { ...state.params };
  const stateBytes = Object.values(state.params).concat(Object.values(state.m), Object.values(state.v)).reduce((a, t) => a + t.data.byteLength, 0);
  await runner.dispose();

  // Evaluate with the trained weights baked in as initializers.
  const ev = new Graph('mlp_eval');
  const ex = ev.input('x', 'float32', ['batch', 2]);
  const ep: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(params)) ep[name] = ev.initializer(name, v);
  ev.output(forward(ex, ep), 'logits');
  const sess = await createSession(ev, { intraOpThreads: 1 });
  const logits = (await sess.run({ x: data.x })).logits!.data as Float32Array;
  await sess.dispose();
  let correct = 0;
  for (let i = 0; i < data.y.data.length; i++) {
    const pred = logits[2 * i + 1]! > logits[2 * i]! ? 1n : 0n;
    if (pred === (data.y.data as BigInt64Array)[i]) correct++;
  }
  return { losses, accuracy: correct / data.y.data.length, stateBytes, params };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const steps = Number(process.argv[2] ?? 300);
  const t0 = Date.now();
  const r = await trainMlp({
    steps,
    onStep: (s, l, gn) => {
      if (s % 25 === 0 || s === steps - 1) console.log(`step ${String(s).padStart(4)}  loss ${l.toFixed(4)}  grad_norm ${gn.toFixed(3)}`);
    },
  });
  const ms = Date.now() - t0;
  console.log(`loss ${r.losses[0]!.toFixed(4)} -> ${r.losses.at(-1)!.toFixed(4)}, train accuracy ${(r.accuracy * 100).toFixed(1)}%, ${steps} steps in ${ms} ms`);
  console.log(`state kept in the runner between steps: ${r.stateBytes} B (params + AdamW moments)`);
}
