// The trainer-side runner for training artifacts. It owns the ORT sessions
// (ORT's C API through CapiSession, on every provider) and keeps trainable
// parameters, AdamW moments, gradient accumulators and loss-scale state where
// the provider computed them (CPU memory, CUDA memory, WebGPU buffers): each
// step binds the previous step's outputs straight back in (no host round
// trip, no conversion), and only loss / grad norm / logits are read back.
import { fnv1a, mulberry32, zeros, type TensorData } from '@vlreward/graph';
import { bf16ToFloat32, CapiSession, CapiValue, type Transfer } from '@vlreward/graph/runtime';
import { loadParam, type ArtifactManifest, type GraphKind, type TrainingArtifacts } from './build.js';
import { IO } from './names.js';
import { checkValue } from './param_source.js';
import type { SavedArtifacts } from './store.js';
import type { ParamSpec } from './types.js';

/** Everything needed to resume training bit-exactly (frozen weights excluded). */
export interface TrainableState {
  /** Optimizer steps applied so far (torch's state['step']). */
  readonly step: number;
  readonly params: Readonly<Record<string, TensorData>>;
  readonly m: Readonly<Record<string, TensorData>>;
  readonly v: Readonly<Record<string, TensorData>>;
  /** fp16 dynamic loss scaling state, when the artifacts use it. */
  readonly lossScale?: { readonly scale: number; readonly growthTracker: number };
}

export interface StepResult {
  readonly loss: number;
  /** Global gradient norm before clipping (what clip_grad_norm_ returns). */
  readonly gradNorm: number;
  readonly logits: TensorData;
  /** fp16 overflow: parameters and moments were left unchanged and the step not counted. */
  readonly skipped: boolean;
  /**
   * The loss, the gradient norm or the updated parameters were NaN/Inf (and not
   * an fp16 overflow the loss scaler handles): the update was refused, the state
   * is still the previous step's, and the step was not counted.
   */
  readonly nonFinite: boolean;
  /** Global L2 norm of the trainable parameters after the step (before it, when refused). */
  readonly paramNorm: number;
}

export interface TrainingSessionOptions extends Omit<CapiSession.Options, 'keepOnDevice' | 'name'> {
  /** Initial trainable values; default: the `init` of each trainable ParamSpec. */
  readonly params?: readonly ParamSpec[];
  /** Resume from this state instead (takes priority over `params`). */
  readonly state?: TrainableState;
  /** Seed of the dropout masks (each step's masks derive from it). Default 0. */
  readonly seed?: number;
  /**
   * Give each graph's first `n` batch shapes a session of their own, with the
   * batch's symbolic dims (batch, seq, patches, …) fixed through ORT's free
   * dimension overrides; later shapes share one general session. ORT plans
   * memory for a backward graph with a symbolic sequence length far more
   * slowly: the 2B LoRA gradient graph took 11.6 s to create with symbolic
   * dims and 1.1 s with fixed ones. Default 0 (one general session per graph).
   */
  readonly specializeShapes?: number;
}

/** State and accumulators: host tensors (until the first run) or values a run kept in the provider's memory. */
type Value = TensorData | CapiValue;
type Feeds = Record<string, Value>;

export class TrainingSession {
  readonly manifest: ArtifactManifest;
  private readonly trainable: readonly string[];
  /** Sessions by graph kind ('train') or kind and fixed dims ('train|{"batch":2,…}'). */
  private readonly sessions = new Map<string, Promise<CapiSession>>();
  /** Shape-specialized sessions created per kind (see specializeShapes). */
  private readonly specialized = new Map<GraphKind, number>();
  private creationSeconds = 0;
  /** Live training state: param names, adam.m/*, adam.v/*, amp.* → a host tensor or a CapiValue. */
  private readonly state = new Map<string, Value>();
  private acc: Map<string, Value> | null = null;
  /** Host↔device bytes of the last optimizer step (its micro-batches included), and of the micro-batches since. */
  private stepTransfer: Transfer = { hostToDevice: 0, deviceToHost: 0 };
  private pendingTransfer: Transfer = { hostToDevice: 0, deviceToHost: 0 };
  private zeros: Map<string, TensorData> | null = null;
  /** Frozen weights fed as inputs (frozenAs 'input'): wrapped once as OrtValues over their host arrays, bound by every run of every session. */
  private readonly frozen = new Map<string, CapiValue>();
  private micro = 0;
  private stepCount = 0;
  private readonly seed: number;

  private constructor(
    private readonly source: TrainingArtifacts | SavedArtifacts,
    private readonly options: TrainingSessionOptions,
  ) {
    this.manifest = source.manifest;
    this.trainable = this.manifest.params.filter((p) => p.trainable).map((p) => p.name);
    this.seed = options.seed ?? 0;
  }

  /** Open a runner over built (in-memory) or saved artifacts. Sessions are created on first use. */
  static async create(source: TrainingArtifacts | SavedArtifacts, options: TrainingSessionOptions = {}): Promise<TrainingSession> {
    const s = new TrainingSession(source, options);
    const specs = options.params ?? ('params' in source ? source.params : undefined);
    if (s.manifest.frozenAs === 'input') {
      if (!specs) throw new Error('TrainingSession.create: these artifacts take frozen weights as inputs; pass options.params (the inventory)');
      s.initFrozen(specs);
    }
    if (options.state) s.setTrainableState(options.state);
    else {
      if (!specs) throw new Error('TrainingSession.create: saved artifacts carry no initial values; pass options.params (the inventory) or options.state');
      s.initFromSpecs(specs);
    }
    return s;
  }

  /**
   * Create the ORT sessions of `kinds` now (they are otherwise created on first
   * use), e.g. to time session creation apart from the first step.
   */
  async prepare(kinds: readonly GraphKind[], batch?: Readonly<Record<string, TensorData>>): Promise<void> {
    for (const k of kinds) if (this.manifest.graphs.includes(k)) await this.session(k, batch);
  }

  /** The sessions created so far: a graph kind, or a kind and the dims it was specialized to ('train|{"batch":2,"seq":6}'). */
  get sessionKeys(): string[] {
    return [...this.sessions.keys()];
  }

  /** Seconds spent creating ORT sessions so far (they are created on first use). */
  get sessionCreationSeconds(): number {
    return this.creationSeconds;
  }

  /** Whether the session of `kind` came from ORT's optimized-graph cache ('hit'), filled it ('written') or had none ('off'); null until created. */
  async optimizedCache(kind: GraphKind): Promise<'hit' | 'written' | 'off' | null> {
    for (const [k, s] of this.sessions) if (k === kind || k.startsWith(`${kind}|`)) return (await s).optimizedCache;
    return null;
  }

  /** Optimizer steps applied so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** Micro-batches accumulated since the last `apply`. */
  get pendingMicroBatches(): number {
    return this.micro;
  }

  /** One fused optimizer step: forward + backward + clip + AdamW in a single session run. */
  async step(batch: Readonly<Record<string, TensorData>>, lr: number): Promise<StepResult> {
    if (this.micro > 0) throw new Error(`TrainingSession.step: ${this.micro} accumulated micro-batch(es) pending; call apply() first`);
    const sess = await this.session('train', batch);
    const feeds: Feeds = { ...batch, ...this.stateFeeds(), [IO.step]: scalarF32(this.stepCount + 1), [IO.lr]: scalarF32(lr) };
    this.addDropout(feeds, batch, 'train', 0);
    const out = await this.run(sess, feeds);
    const loss = readScalarSync(out[IO.loss]!);
    const { skipped, nonFinite, gradNorm, paramNorm } = this.absorbUpdate(out, loss);
    return { loss, gradNorm, paramNorm, logits: host(out[IO.logits]!), skipped, nonFinite };
  }

  /** Forward + backward of one micro-batch, adding its gradients into the accumulators. */
  async accumulate(batch: Readonly<Record<string, TensorData>>): Promise<{ loss: number; logits: TensorData }> {
    const sess = await this.session('gradient', batch);
    if (!this.acc) this.acc = new Map(this.zeroGrads());
    const feeds: Feeds = { ...batch };
    for (const name of this.trainable) {
      feeds[name] = this.state.get(name)!;
      feeds[IO.acc(name)] = this.acc.get(name)!;
    }
    if (this.manifest.lossScaling) feeds[IO.lossScale] = this.state.get(IO.lossScale)!;
    this.addDropout(feeds, batch, 'gradient', this.micro);
    const out = await this.run(sess, feeds);
    for (const name of this.trainable) replace(this.acc, name, out[IO.updated(IO.acc(name))]!);
    this.micro++;
    return { loss: readScalarSync(out[IO.loss]!), logits: host(out[IO.logits]!) };
  }

  /**
   * d loss / d param for every trainable parameter on one batch, with the
   * current values, through the gradient graph; the training state and any
   * pending accumulation are untouched (gradient checks, diagnostics).
   */
  async computeGradients(batch: Readonly<Record<string, TensorData>>): Promise<{ loss: number; logits: TensorData; grads: Record<string, TensorData> }> {
    const sess = await this.session('gradient', batch);
    const feeds: Feeds = { ...batch };
    const zero = this.zeroGrads();
    for (const name of this.trainable) {
      feeds[name] = this.state.get(name)!;
      feeds[IO.acc(name)] = zero.get(name)!;
    }
    if (this.manifest.lossScaling) feeds[IO.lossScale] = scalarF32(1);
    this.addDropout(feeds, batch, 'gradient', 0);
    const out = await this.run(sess, feeds);
    const grads: Record<string, TensorData> = {};
    // The sums stay in device memory: download them, then free them.
    for (const name of this.trainable) {
      const acc = out[IO.updated(IO.acc(name))]!;
      grads[name] = await copyHost(acc);
      release(acc);
    }
    return { loss: readScalarSync(out[IO.loss]!), logits: host(out[IO.logits]!), grads };
  }

  /** Apply one optimizer step with the mean of the accumulated gradients, then clear them (refused like `step` when non-finite). */
  async apply(lr: number): Promise<{ gradNorm: number; paramNorm: number; skipped: boolean; nonFinite: boolean; microBatches: number }> {
    if (!this.acc || this.micro === 0) throw new Error('TrainingSession.apply: no accumulated gradients; call accumulate(batch) first');
    const sess = await this.session('optimizer');
    const feeds: Feeds = {
      ...this.stateFeeds(),
      [IO.gradScale]: scalarF32(1 / this.micro),
      [IO.step]: scalarF32(this.stepCount + 1),
      [IO.lr]: scalarF32(lr),
    };
    for (const name of this.trainable) feeds[IO.acc(name)] = this.acc.get(name)!;
    const out = await this.run(sess, feeds);
    const { skipped, nonFinite, gradNorm, paramNorm } = this.absorbUpdate(out, 0);
    const microBatches = this.micro;
    for (const t of this.acc.values()) release(t);
    this.acc = null;
    this.micro = 0;
    return { gradNorm, paramNorm, skipped, nonFinite, microBatches };
  }

  /**
   * Data parallel: the accumulated gradients (this process's sum over its
   * micro-batches) as one flat float32 buffer in inventory order, to be
   * all-reduced across ranks (MPI works on host buffers), then handed back with
   * setAccumulatedGradients before `apply` runs the same optimizer graph as a
   * single process.
   */
  async accumulatedGradients(): Promise<Float32Array> {
    if (!this.acc || this.micro === 0) throw new Error('TrainingSession.accumulatedGradients: nothing accumulated; call accumulate(batch) first');
    const layout = this.trainableLayout();
    const flat = new Float32Array(layout.reduce((a, p) => a + p.size, 0));
    let off = 0;
    for (const p of layout) {
      const t = this.acc.get(p.name)!;
      // Host values are read in place; values in the provider's memory are downloaded.
      flat.set((t instanceof CapiValue ? await t.download() : t).data as Float32Array, off);
      off += p.size;
    }
    return flat;
  }

  /**
   * Replace the accumulators with `flat` (accumulatedGradients' layout), keeping the
   * micro-batch count. The accumulators become views of `flat`: the caller hands it over.
   */
  setAccumulatedGradients(flat: Float32Array): void {
    if (!this.acc || this.micro === 0) throw new Error('TrainingSession.setAccumulatedGradients: nothing accumulated; call accumulate(batch) first');
    const layout = this.trainableLayout();
    const total = layout.reduce((a, p) => a + p.size, 0);
    if (flat.length !== total) throw new Error(`TrainingSession.setAccumulatedGradients: ${flat.length} values, the trainable parameters have ${total}`);
    let off = 0;
    for (const p of layout) {
      replace(this.acc, p.name, { dtype: 'float32', dims: [...p.shape], data: flat.subarray(off, off + p.size) });
      off += p.size;
    }
  }

  /** The trainable parameters in inventory order, with shapes and element counts (the flat gradient layout). */
  private trainableLayout(): { name: string; shape: readonly number[]; size: number }[] {
    return this.manifest.params.filter((p) => p.trainable).map((p) => ({ name: p.name, shape: p.shape, size: p.shape.reduce((a, d) => a * d, 1) }));
  }

  /** Label-free forward (the 'infer' graph) with the current parameters: logits and any extra outputs. */
  async infer(batch: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData> & { logits: TensorData }> {
    const sess = await this.session('infer', batch);
    const feeds: Feeds = {};
    for (const spec of this.manifest.inferInputs) {
      const t = batch[spec.name];
      if (!t) throw new Error(`TrainingSession.infer: batch has no '${spec.name}' (the infer graph takes ${this.manifest.inferInputs.map((i) => i.name).join(', ')})`);
      feeds[spec.name] = t;
    }
    for (const name of this.trainable) if (sess.inputs.some((i) => i.name === name)) feeds[name] = this.state.get(name)!;
    const out = await this.run(sess, feeds);
    const res: Record<string, TensorData> = {};
    for (const [k, t] of Object.entries(out)) res[k] = host(t);
    return res as Record<string, TensorData> & { logits: TensorData };
  }

  /** Forward only (no dropout) with the current trainable values: logits, loss and any extra outputs. */
  async evaluate(batch: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData> & { logits: TensorData; loss: TensorData }> {
    const sess = await this.session('eval', batch);
    const feeds: Feeds = { ...batch };
    for (const name of this.trainable) if (sess.inputs.some((i) => i.name === name)) feeds[name] = this.state.get(name)!;
    const out = await this.run(sess, feeds);
    const res: Record<string, TensorData> = {};
    for (const [k, t] of Object.entries(out)) res[k] = host(t);
    return res as Record<string, TensorData> & { logits: TensorData; loss: TensorData };
  }

  /**
   * A host copy of everything needed to resume (trainable params, moments,
   * step, loss scale). Async because state in device memory (CUDA, WebGPU)
   * is downloaded; on the CPU provider it is a copy of ORT's output buffers.
   */
  async getTrainableState(): Promise<TrainableState> {
    const rec = async (f: (n: string) => string) => {
      const out: Record<string, TensorData> = {};
      for (const n of this.trainable) out[n] = await copyHost(this.state.get(f(n))!);
      return out;
    };
    return {
      step: this.stepCount,
      params: await rec((n) => n),
      m: await rec(IO.m),
      v: await rec(IO.v),
      ...(this.manifest.lossScaling
        ? { lossScale: { scale: await readScalar(this.state.get(IO.lossScale)!), growthTracker: await readScalar(this.state.get(IO.growthTracker)!) } }
        : {}),
    };
  }

  /** Replace the trainable state (resume). Every trainable tensor must be present with its exact shape. */
  setTrainableState(s: TrainableState): void {
    if (this.micro > 0) throw new Error('TrainingSession.setTrainableState: accumulated gradients pending; call apply() first');
    if (!Number.isInteger(s.step) || s.step < 0) throw new Error(`setTrainableState: step must be a non-negative integer, got ${s.step}`);
    const next = new Map<string, TensorData>();
    for (const p of this.manifest.params) {
      if (!p.trainable) continue;
      for (const [what, rec, key] of [
        ['params', s.params, p.name],
        ['m', s.m, IO.m(p.name)],
        ['v', s.v, IO.v(p.name)],
      ] as const) {
        const t = rec[p.name];
        if (!t) throw new Error(`setTrainableState: ${what}['${p.name}'] is missing`);
        if (t.dtype !== 'float32' || t.dims.length !== p.shape.length || t.dims.some((d, i) => d !== p.shape[i])) {
          throw new Error(`setTrainableState: ${what}['${p.name}'] is ${t.dtype}[${t.dims.join(', ')}], expected float32[${p.shape.join(', ')}]`);
        }
        checkValue({ name: `${what}['${p.name}']`, shape: p.shape, dtype: 'float32', trainable: true, init: t }, t);
        const bad = firstNonFinite(t.data as Float32Array);
        if (bad >= 0) throw new Error(`setTrainableState: ${what}['${p.name}'] is ${(t.data as Float32Array)[bad]} at flat index ${bad}: a diverged state cannot be trained on or resumed`);
        next.set(key, copyData(t));
      }
    }
    const extra = Object.keys(s.params).filter((k) => !this.trainable.includes(k));
    if (extra.length) throw new Error(`setTrainableState: params not trainable in these artifacts: ${extra.slice(0, 5).join(', ')}`);
    if (this.manifest.lossScaling) {
      const ls = s.lossScale ?? { scale: this.manifest.lossScale.initScale, growthTracker: 0 };
      next.set(IO.lossScale, scalarF32(ls.scale));
      next.set(IO.growthTracker, scalarF32(ls.growthTracker));
    }
    for (const t of this.state.values()) release(t);
    this.state.clear();
    for (const [k, v] of next) this.state.set(k, v);
    this.stepCount = s.step;
  }

  async dispose(): Promise<void> {
    // Values before their sessions: ORT frees device buffers through the session's provider.
    for (const t of this.state.values()) release(t);
    this.state.clear();
    for (const t of this.acc?.values() ?? []) release(t);
    this.acc = null;
    for (const t of this.frozen.values()) t.dispose();
    this.frozen.clear();
    for (const p of this.sessions.values()) await (await p).dispose();
    this.sessions.clear();
    this.zeros = null;
  }

  /**
   * Zero gradient accumulators, allocated once: ORT never writes into its
   * inputs, so the same tensors start every accumulation.
   */
  private zeroGrads(): ReadonlyMap<string, TensorData> {
    if (!this.zeros) {
      this.zeros = new Map();
      for (const p of this.manifest.params) if (p.trainable) this.zeros.set(p.name, zeros('float32', p.shape));
    }
    return this.zeros;
  }

  /** frozenAs 'input': one OrtValue over each frozen weight's host array, fed to every session (ORT reads it in place on the CPU provider). */
  private initFrozen(specs: readonly ParamSpec[]): void {
    const byName = new Map(specs.map((p) => [p.name, p]));
    for (const p of this.manifest.params) {
      if (p.trainable) continue;
      const spec = byName.get(p.name);
      if (!spec) throw new Error(`TrainingSession: no value for frozen parameter '${p.name}' in options.params`);
      const value = loadParam(spec);
      checkValue({ ...spec, dtype: p.dtype }, value);
      this.frozen.set(p.name, CapiValue.fromHost(value, `frozen weight '${p.name}'`));
    }
  }

  /**
   * Host↔device bytes of the last optimizer step, counted at the binding: the
   * batch, masks and scalars in, metrics and logits out; the state only when
   * it was set from the host (the first step, a resume). Frozen weights fed
   * as inputs (CPU) count too, though ORT reads them in place there.
   */
  get lastStepTransfer(): Transfer {
    return this.stepTransfer;
  }

  /**
   * One session run with the frozen-weight feeds added. Outputs that came to
   * the host are returned as host tensors (their OrtValues freed); the state
   * kept in the provider's memory as CapiValues. Counts the run's bytes.
   */
  private async run(sess: CapiSession, feeds: Feeds): Promise<Record<string, Value>> {
    this.withFrozen(sess, feeds);
    const res = await sess.runOrt(feeds);
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(res)) {
      if (v.origin === 'device') out[k] = v;
      else {
        out[k] = v.readHost();
        v.dispose();
      }
    }
    const t = sess.lastTransfer;
    // A micro-batch (gradient graph) adds to the step; an update (train or optimizer graph) closes it; eval/infer do not count.
    const has = (n: string) => sess.inputs.some((i) => i.name === n);
    const sum = { hostToDevice: this.pendingTransfer.hostToDevice + t.hostToDevice, deviceToHost: this.pendingTransfer.deviceToHost + t.deviceToHost };
    if (has(IO.lr)) {
      this.stepTransfer = sum;
      this.pendingTransfer = { hostToDevice: 0, deviceToHost: 0 };
    } else if (this.trainable.length > 0 && has(IO.acc(this.trainable[0]!))) this.pendingTransfer = sum;
    return out;
  }

  /** Add the frozen-weight feeds this session takes (frozenAs 'input'). */
  private withFrozen(sess: CapiSession, feeds: Feeds): Feeds {
    if (this.frozen.size === 0) return feeds;
    for (const i of sess.inputs) {
      const t = this.frozen.get(i.name);
      if (t) feeds[i.name] = t;
    }
    return feeds;
  }

  private initFromSpecs(specs: readonly ParamSpec[]): void {
    const byName = new Map(specs.map((p) => [p.name, p]));
    const params: Record<string, TensorData> = {};
    const m: Record<string, TensorData> = {};
    const v: Record<string, TensorData> = {};
    for (const p of this.manifest.params) {
      if (!p.trainable) continue;
      const spec = byName.get(p.name);
      if (!spec) throw new Error(`TrainingSession: no initial value for trainable parameter '${p.name}' in options.params`);
      params[p.name] = toFloat32(loadParam(spec), p.name);
      m[p.name] = zeros('float32', p.shape);
      v[p.name] = zeros('float32', p.shape);
    }
    this.setTrainableState({ step: 0, params, m, v });
  }

  /** The session of `kind` for this batch's shape: a shape-specialized one (specializeShapes) or the general one. */
  private session(kind: GraphKind, batch?: Readonly<Record<string, TensorData>>): Promise<CapiSession> {
    const dims = batch && (this.options.specializeShapes ?? 0) > 0 ? this.boundDims(kind, batch) : null;
    const key = dims ? `${kind}|${JSON.stringify(dims)}` : kind;
    const have = this.sessions.get(key);
    if (have) return have;
    if (dims) {
      const n = this.specialized.get(kind) ?? 0;
      if (n >= this.options.specializeShapes!) return this.session(kind);
      this.specialized.set(kind, n + 1);
    }
    const model = 'graphs' in this.source ? this.source.graphs[kind] : this.source.models[kind];
    if (!model) throw new Error(`TrainingSession: these artifacts have no '${kind}' graph (built: ${this.manifest.graphs.join(', ')})`);
    const { params: _p, state: _s, seed: _seed, specializeShapes: _n, ...sessionOptions } = this.options;
    const t0 = performance.now();
    // The IoBinding keeps each kind's updated state where the provider computed it (docs/GPU.md, "where training state lives").
    const s = CapiSession.create(model, {
      ...sessionOptions,
      ...(dims ? { freeDimensionOverrides: { ...(sessionOptions.freeDimensionOverrides ?? {}), ...dims } } : {}),
      keepOnDevice: stateOutputs(kind, this.trainable, this.manifest.lossScaling),
      name: `${this.manifest.name}/${kind}`,
    });
    void s.then(
      () => (this.creationSeconds += (performance.now() - t0) / 1000),
      () => {},
    );
    this.sessions.set(key, s);
    return s;
  }

  /** The symbolic dims of `kind`'s batch inputs as `batch` binds them (sorted by name), or null when it binds none. */
  private boundDims(kind: GraphKind, batch: Readonly<Record<string, TensorData>>): Record<string, number> | null {
    const specs = kind === 'eval' ? this.manifest.evalInputs : kind === 'infer' ? this.manifest.inferInputs : kind === 'optimizer' ? [] : this.manifest.batchInputs;
    const bound = new Map<string, number>();
    for (const spec of specs) {
      const t = batch[spec.name];
      if (!t) continue;
      spec.shape.forEach((d, i) => {
        if (typeof d === 'string' && t.dims[i] !== undefined) bound.set(d, t.dims[i]!);
      });
    }
    if (bound.size === 0) return null;
    return Object.fromEntries([...bound].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  private stateFeeds(): Feeds {
    const f: Feeds = {};
    for (const [k, t] of this.state) f[k] = t;
    return f;
  }

  /** Fill the graph's dropout keep-masks: a fresh, reproducible draw per (seed, step, micro-batch, mask). */
  private addDropout(feeds: Feeds, batch: Readonly<Record<string, TensorData>>, kind: GraphKind, micro: number): void {
    const masks = this.manifest.dropout[kind] ?? [];
    if (masks.length === 0) return;
    const bound = this.boundDims(kind, batch) ?? {};
    for (const m of masks) {
      const dims = m.shape.map((d) => {
        if (typeof d === 'number') return d;
        const v = bound[d];
        if (v === undefined) throw new Error(`dropout mask '${m.input}': dim '${d}' is not bound by any batch input (${Object.keys(bound).join(', ')})`);
        return v;
      });
      feeds[m.input] = bernoulliMask(dims, 1 - m.p, `${this.seed}|${this.stepCount}|${micro}|${m.input}`);
    }
  }

  /**
   * Take updated/* outputs as the new state, unless the step went non-finite
   * (then the previous state stays: a NaN never reaches params, moments or a
   * checkpoint). `skipped` is the fp16 loss scaler's in-graph skip.
   */
  private absorbUpdate(out: Record<string, Value>, loss: number): { skipped: boolean; nonFinite: boolean; gradNorm: number; paramNorm: number } {
    const gradNorm = readScalarSync(out[IO.gradNorm]!);
    const paramNorm = readScalarSync(out[IO.paramNorm]!);
    const ampSkip = this.manifest.lossScaling && readScalarSync(out[IO.foundInf]!) !== 0;
    if (!ampSkip && !(Number.isFinite(loss) && Number.isFinite(gradNorm) && Number.isFinite(paramNorm))) {
      for (const t of Object.values(out)) release(t);
      return { skipped: false, nonFinite: true, gradNorm, paramNorm };
    }
    for (const name of this.trainable) {
      for (const key of [name, IO.m(name), IO.v(name)]) replace(this.state, key, out[IO.updated(key)]!);
    }
    if (this.manifest.lossScaling) {
      replace(this.state, IO.lossScale, out[IO.updated(IO.lossScale)]!);
      replace(this.state, IO.growthTracker, out[IO.updated(IO.growthTracker)]!);
    }
    if (!ampSkip) this.stepCount++;
    return { skipped: ampSkip, nonFinite: false, gradNorm, paramNorm };
  }
}

/** The updated/* state outputs of each graph kind, as build.ts emits them. */
function stateOutputs(kind: GraphKind, trainable: readonly string[], lossScaling: boolean): string[] {
  if (kind === 'train' || kind === 'optimizer') {
    const amp = lossScaling ? [IO.lossScale, IO.growthTracker].map((x) => IO.updated(x)) : [];
    return [...trainable.flatMap((n) => [n, IO.m(n), IO.v(n)].map((x) => IO.updated(x))), ...amp];
  }
  if (kind === 'gradient') return trainable.map((n) => IO.updated(IO.acc(n)));
  return [];
}

/** Index of the first NaN/±Inf, or -1. */
function firstNonFinite(d: Float32Array): number {
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return i;
  return -1;
}

/** Bool mask with P(keep) = `keep`, from mulberry32 seeded by FNV-1a of `key`. */
export function bernoulliMask(dims: readonly number[], keep: number, key: string): TensorData {
  const next = mulberry32(fnv1a(key));
  const n = dims.reduce((x, y) => x * y, 1);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = next() < keep ? 1 : 0;
  return { dtype: 'bool', dims: [...dims], data };
}

function scalarF32(x: number): TensorData {
  return { dtype: 'float32', dims: [], data: Float32Array.of(x) };
}

/** Swap in a new state tensor, releasing the old one's OrtValue. */
function replace(map: Map<string, Value>, key: string, t: Value): void {
  const old = map.get(key);
  map.set(key, t);
  if (old && old !== t) release(old);
}

/** Free what a value holds outside JS (a CapiValue's OrtValue); host tensors are the GC's. */
function release(t: Value): void {
  if (t instanceof CapiValue) t.dispose();
}

function readScalarSync(t: Value): number {
  const d = (t instanceof CapiValue ? t.readHost().data : t.data) as ArrayLike<number | bigint | boolean>;
  return Number(d[0]);
}

async function readScalar(t: Value): Promise<number> {
  return Number((t instanceof CapiValue ? await t.download() : t).data[0]);
}

function host(t: Value): TensorData {
  return t instanceof CapiValue ? t.readHost() : t;
}

function copyData(t: TensorData): TensorData {
  return { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() as TensorData['data'] };
}

async function copyHost(t: Value): Promise<TensorData> {
  return t instanceof CapiValue ? t.download() : copyData(t);
}

function toFloat32(t: TensorData, name: string): TensorData {
  if (t.dtype === 'float32') return copyData(t);
  if (t.dtype === 'bfloat16') return { dtype: 'float32', dims: [...t.dims], data: bf16ToFloat32(t.data as Uint16Array) };
  if (t.dtype === 'float64') return { dtype: 'float32', dims: [...t.dims], data: Float32Array.from(t.data as Float64Array) };
  throw new Error(`trainable parameter '${name}': initial value is ${t.dtype}; convert it to float32 (master weights are float32)`);
}
