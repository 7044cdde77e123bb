// A reference runner for TrainingSession: the same artifact graphs on
// onnxruntime-node's JS API, with the training state fed back by hand
// between runs (no IoBinding, everything through host memory). The C API
// session must match it bit for bit on the CPU (session_capi.test.ts, and
// bench/capi.bench.ts times the two). No dropout: its masks are not redrawn here.
import type { TensorData } from '@vlreward/graph';
import { createSession, type InferenceSession, type Session } from '@vlreward/graph/runtime';
import { IO, type TrainableState, type TrainingArtifacts } from '../src/artifacts/index.js';

const scalar = (x: number): TensorData => ({ dtype: 'float32', dims: [], data: Float32Array.of(x) });
const num = (t: TensorData): number => Number(t.data[0]);

/** The same graphs on onnxruntime-node, with the state carried by hand between runs. */
export class NodeReference {
  private readonly sessions = new Map<string, Promise<InferenceSession>>();
  private readonly state = new Map<string, TensorData>();
  private acc: Map<string, TensorData> | null = null;
  private micro = 0;
  private step0: number;
  private readonly trainable: string[];

  constructor(
    private readonly art: TrainingArtifacts,
    init: TrainableState,
    private readonly options: Session.Options = {},
  ) {
    this.trainable = art.manifest.params.filter((p) => p.trainable).map((p) => p.name);
    for (const n of this.trainable) {
      this.state.set(n, init.params[n]!);
      this.state.set(IO.m(n), init.m[n]!);
      this.state.set(IO.v(n), init.v[n]!);
    }
    this.step0 = init.step;
  }

  private session(kind: 'train' | 'eval' | 'gradient' | 'optimizer'): Promise<InferenceSession> {
    let s = this.sessions.get(kind);
    if (!s) this.sessions.set(kind, (s = createSession(this.art.graphs[kind]!, this.options)));
    return s;
  }

  private absorb(out: Record<string, TensorData>): void {
    for (const k of this.state.keys()) this.state.set(k, out[IO.updated(k)]!);
    this.step0++;
  }

  async step(batch: Record<string, TensorData>, lr: number) {
    const out = await (await this.session('train')).run({ ...batch, ...Object.fromEntries(this.state), [IO.step]: scalar(this.step0 + 1), [IO.lr]: scalar(lr) });
    this.absorb(out);
    return { loss: num(out[IO.loss]!), gradNorm: num(out[IO.gradNorm]!), paramNorm: num(out[IO.paramNorm]!), logits: out[IO.logits]!, skipped: false, nonFinite: false };
  }

  async accumulate(batch: Record<string, TensorData>) {
    const zero = (n: string): TensorData => ({ ...this.state.get(n)!, data: new Float32Array(this.state.get(n)!.data.length) });
    this.acc ??= new Map(this.trainable.map((n) => [n, zero(n)]));
    const feeds: Record<string, TensorData> = { ...batch };
    for (const n of this.trainable) {
      feeds[n] = this.state.get(n)!;
      feeds[IO.acc(n)] = this.acc.get(n)!;
    }
    const out = await (await this.session('gradient')).run(feeds);
    for (const n of this.trainable) this.acc.set(n, out[IO.updated(IO.acc(n))]!);
    this.micro++;
    return { loss: num(out[IO.loss]!), logits: out[IO.logits]! };
  }

  async apply(lr: number) {
    const feeds: Record<string, TensorData> = { ...Object.fromEntries(this.state), [IO.gradScale]: scalar(1 / this.micro), [IO.step]: scalar(this.step0 + 1), [IO.lr]: scalar(lr) };
    for (const n of this.trainable) feeds[IO.acc(n)] = this.acc!.get(n)!;
    const out = await (await this.session('optimizer')).run(feeds);
    this.absorb(out);
    const microBatches = this.micro;
    this.acc = null;
    this.micro = 0;
    return { gradNorm: num(out[IO.gradNorm]!), paramNorm: num(out[IO.paramNorm]!), skipped: false, nonFinite: false, microBatches };
  }

  async evaluate(batch: Record<string, TensorData>) {
    const s = await this.session('eval');
    const feeds: Record<string, TensorData> = { ...batch };
    for (const n of this.trainable) if (s.inputs.some((i) => i.name === n)) feeds[n] = this.state.get(n)!;
    return s.run(feeds);
  }

  trainableState(): TrainableState {
    const rec = (f: (n: string) => string) => Object.fromEntries(this.trainable.map((n) => [n, this.state.get(f(n))!]));
    return { step: this.step0, params: rec((n) => n), m: rec(IO.m), v: rec(IO.v) };
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).dispose();
  }
}

