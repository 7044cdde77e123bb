// Tensors that live across steps (parameters, optimizer moments) kept as
// ORT values between runs: output `new/w` of step k is fed back as input `w`
// of step k+1 without a round trip through TensorData. Where the binding can
// keep them on the device (WebGPU: preferredOutputLocation 'gpu-buffer') they
// never touch the host; on the CPU provider they stay in ORT's buffers. The
// Node binding has no CUDA device tensors, so under 'cuda' state is copied
// to the host after every run and back before the next; the byte counters
// show exactly that.
import type { Graph } from '../builder.js';
import { BYTES_PER_ELEMENT } from '../dtype.js';
import { formatShape, numel } from '../shape.js';
import { byteLength, type TensorData } from '../tensor_data.js';
import { fromOrtTensor, toOrtTensor } from './convert.js';
import { downloadTensor } from './download.js';
import type { OrtDataLocation, OrtTensor } from './ort.js';
import { createSession, resolveDevice, type Feeds, type InferenceSession, type Session } from './session.js';

export interface StatefulRunnerOptions extends Session.Options {
  /** Output name → the input it feeds at the next step, e.g. {'new/w': 'w', 'new/m/w': 'm/w'}. */
  readonly state: Readonly<Record<string, string>>;
  /** Initial value of every state input. */
  readonly init: Readonly<Record<string, TensorData>>;
}

/** Bytes moved between the host (JS) and the provider's memory. */
export interface TransferStats {
  readonly hostToDeviceBytes: number;
  readonly deviceToHostBytes: number;
}

export interface RunnerStats extends TransferStats {
  readonly steps: number;
  /** The last step alone. */
  readonly last: TransferStats;
}

/** Where state stays between runs, per provider (see the file comment). */
function stateLocation(provider: Session.Options['provider']): OrtDataLocation {
  return provider === 'webgpu' ? 'gpu-buffer' : 'cpu';
}

function ortBytes(t: OrtTensor): number {
  const per = t.type === 'float16' ? 2 : t.type === 'bool' ? 1 : (BYTES_PER_ELEMENT as Record<string, number>)[t.type];
  if (per === undefined) throw new Error(`unexpected ORT tensor type ${t.type}`);
  return per * numel(t.dims);
}

export class StatefulRunner {
  private readonly values = new Map<string, OrtTensor>();
  private totals = { h2d: 0, d2h: 0, steps: 0 };
  private lastStep = { h2d: 0, d2h: 0 };
  /** State kept on the host in JS memory between runs (CUDA through the Node binding). */
  private readonly stateOnHost: boolean;

  private constructor(
    readonly session: InferenceSession,
    /** output → input */
    readonly state: ReadonlyMap<string, string>,
  ) {
    this.stateOnHost = session.provider === 'cuda';
  }

  static async create(model: Graph | Uint8Array | string, options: StatefulRunnerOptions): Promise<StatefulRunner> {
    const { state, init, ...rest } = options;
    const sessionOptions = resolveDevice(rest);
    const loc = stateLocation(sessionOptions.provider);
    const preferred: Record<string, OrtDataLocation> = {};
    if (loc !== 'cpu') for (const out of Object.keys(state)) preferred[out] = loc;
    const session = await createSession(model, {
      ...sessionOptions,
      ...(Object.keys(preferred).length ? { preferredOutputLocation: preferred } : {}),
    });
    const map = new Map(Object.entries(state));
    const seenIn = new Set<string>();
    for (const [out, inp] of map) {
      const o = session.output(out);
      const i = session.input(inp);
      if (seenIn.has(inp)) throw new Error(`StatefulRunner: input '${inp}' is fed by more than one state output`);
      seenIn.add(inp);
      if (o.dtype !== i.dtype) throw new Error(`StatefulRunner: state output '${out}' is ${o.dtype} but feeds input '${inp}' of ${i.dtype}`);
      if (o.shape.length !== i.shape.length || o.shape.some((d, k) => typeof d === 'number' && typeof i.shape[k] === 'number' && d !== i.shape[k])) {
        throw new Error(`StatefulRunner: state output '${out}' ${formatShape(o.shape)} does not fit input '${inp}' ${formatShape(i.shape)}`);
      }
    }
    const runner = new StatefulRunner(session, map);
    for (const inp of map.values()) {
      const v = init[inp];
      if (!v) throw new Error(`StatefulRunner: no initial value for state input '${inp}'`);
      runner.write(inp, v);
    }
    for (const k of Object.keys(init)) {
      if (!seenIn.has(k)) throw new Error(`StatefulRunner: init '${k}' is not a state input (state inputs: ${[...seenIn].join(', ')})`);
    }
    runner.totals = { h2d: 0, d2h: 0, steps: 0 };
    return runner;
  }

  /** Inputs the caller feeds each step (everything that is not state). */
  get feedInputs(): string[] {
    const st = new Set(this.state.values());
    return this.session.inputs.map((i) => i.name).filter((n) => !st.has(n));
  }

  /**
   * One step: run with `feeds` plus the current state, keep the state
   * outputs for the next step, and return `fetches` (default: every
   * non-state output) as host tensors.
   */
  async step(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, TensorData>> {
    const want = fetches ?? this.session.outputs.map((o) => o.name).filter((n) => !this.state.has(n));
    for (const k of Object.keys(feeds)) {
      if (this.values.has(k)) throw new Error(`StatefulRunner.step: '${k}' is state; change it with write()`);
    }
    let h2d = 0;
    let d2h = 0;
    for (const v of Object.values(feeds)) h2d += byteLength(v);
    const all: Record<string, TensorData | OrtTensor> = { ...feeds };
    for (const [k, v] of this.values) {
      all[k] = v;
      if (this.stateOnHost) h2d += ortBytes(v);
    }
    const names = [...new Set([...this.state.keys(), ...want])];
    const res = await this.session.runOrt(all, names);
    const out: Record<string, TensorData> = {};
    for (const name of want) {
      const t = res[name]!;
      const host = t.location === 'cpu' || t.location === 'cpu-pinned' ? t : await downloadTensor(t);
      const td = fromOrtTensor(host, this.session.output(name).dtype, `output '${name}'`);
      d2h += byteLength(td);
      out[name] = td;
    }
    for (const [o, i] of this.state) {
      const t = res[o]!;
      if (this.stateOnHost) d2h += ortBytes(t);
      const old = this.values.get(i);
      this.values.set(i, t);
      if (old && old !== t && old.location === 'gpu-buffer') old.dispose();
    }
    this.lastStep = { h2d, d2h };
    this.totals.h2d += h2d;
    this.totals.d2h += d2h;
    this.totals.steps++;
    return out;
  }

  /** Download one state tensor (counted as device→host traffic). */
  async read(input: string): Promise<TensorData> {
    const t = this.values.get(input);
    if (!t) throw new Error(`StatefulRunner.read: '${input}' is not a state input (${[...this.values.keys()].join(', ')})`);
    const host = t.location === 'cpu' || t.location === 'cpu-pinned' ? t : await downloadTensor(t);
    const td = fromOrtTensor(host, this.session.input(input).dtype, `state '${input}'`);
    this.totals.d2h += byteLength(td);
    // Copy: the next step may hand ORT this buffer again.
    return { dtype: td.dtype, dims: td.dims, data: td.data.slice() as TensorData['data'] };
  }

  /** All state inputs as host tensors (for checkpoints). */
  async readAll(): Promise<Record<string, TensorData>> {
    const out: Record<string, TensorData> = {};
    for (const k of this.values.keys()) out[k] = await this.read(k);
    return out;
  }

  /** Replace one state tensor (e.g. when resuming from a checkpoint). */
  write(input: string, value: TensorData): void {
    if (![...this.state.values()].includes(input)) throw new Error(`StatefulRunner.write: '${input}' is not a state input`);
    this.session.validateFeeds({ [input]: value }, new Set([...this.session.inputs.map((i) => i.name)]));
    const old = this.values.get(input);
    // A private copy: ORT reads the buffer at every step, and the caller may reuse theirs.
    this.values.set(input, toOrtTensor({ ...value, data: value.data.slice() as TensorData['data'] }));
    if (old && old.location === 'gpu-buffer') old.dispose();
    this.totals.h2d += byteLength(value);
  }

  get stats(): RunnerStats {
    return {
      steps: this.totals.steps,
      hostToDeviceBytes: this.totals.h2d,
      deviceToHostBytes: this.totals.d2h,
      last: { hostToDeviceBytes: this.lastStep.h2d, deviceToHostBytes: this.lastStep.d2h },
    };
  }

  /** Bytes of state held between steps. */
  get stateBytes(): number {
    let n = 0;
    for (const t of this.values.values()) n += ortBytes(t);
    return n;
  }

  async dispose(): Promise<void> {
    for (const t of this.values.values()) if (t.location === 'gpu-buffer') t.dispose();
    this.values.clear();
    await this.session.dispose();
  }
}
