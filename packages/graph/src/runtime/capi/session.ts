// A session driven through ORT's C API. Besides plain runs it runs through an
// IoBinding, where outputs named in `keepOnDevice` stay in the provider's
// memory (CUDA, WebGPU buffers, or ORT's CPU buffers) and can be bound as the
// next run's inputs, so training state never round-trips through the host.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { Graph } from '../../builder.js';
import { dtypeFromOnnx } from '../../dtype.js';
import { formatShape, type Dim } from '../../shape.js';
import { encodeModel, toModelProto, writeExternalData } from '../../serialize.js';
import { byteLength, type TensorData } from '../../tensor_data.js';
import { fromOrtTensor } from '../convert.js';
import type { IOInfo } from '../model_io.js';
import type { OrtTensor } from '../ort.js';
import { assertProviderListed, type Provider } from '../providers.js';
import { isOrtTensor, resolveDevice, type Session } from '../session.js';
import type { OrtSessionPtr, OrtTensorInfoPtr, OrtTypeInfoPtr, RawPtr } from './api_table.js';
import { DeviceCopier } from './copy.js';
import { ortEnv } from './env.js';
import { IoBinding } from './io_binding.js';
import { ortLibrary, takeString } from './library.js';
import { providerError, type CapiCudaOptions } from './providers.js';
import { createSessionOptions, releaseSessionOptions } from './session_options.js';
import { commitOptimized, dropOptimized, optimizedCacheEntry, touchOptimized } from './optimized_cache.js';
import { check, OrtError } from './status.js';
import { addTransfer, NO_TRANSFER, type Transfer } from './transfer.js';
import { CapiValue, tensorInfoShape, type MemoryKind, type ValueOwner } from './value.js';

export declare namespace CapiSession {
  interface Options extends Omit<Session.Options, 'cuda' | 'preferredOutputLocation'> {
    /** CUDA EP options; every one is forwarded to OrtCUDAProviderOptionsV2. */
    readonly cuda?: CapiCudaOptions;
    /** WebGPU EP options as ORT's string keys (e.g. { preferredLayout: 'NHWC' }). */
    readonly webgpu?: Readonly<Record<string, string>>;
    /** Write the graph as ORT optimized it to this .onnx file when the session is created. */
    readonly optimizedModelFilePath?: string;
    /**
     * Keep ORT's optimized graph in this folder and load it from there next
     * time with rewrites off (CPU sessions of inline-sized models; see
     * optimized_cache.ts). `optimizedCache` on the session says what happened.
     */
    readonly optimizedCacheDir?: string;
    /** Outputs that `runOrt` leaves in the provider's memory (state fed back next run); the rest come to the host. */
    readonly keepOnDevice?: readonly string[];
    /** A label for errors, e.g. 'train'. */
    readonly name?: string;
  }
}

/** Values a bound run takes: host tensors, CPU ort.Tensors, or values a previous run kept. */
export type CapiFeeds = Readonly<Record<string, TensorData | OrtTensor | CapiValue>>;

const DEVICE_MEMORY: Record<Provider, MemoryKind> = { cpu: 'Cpu', cuda: 'Cuda', webgpu: 'WebGPU_Buf' };

const released = new FinalizationRegistry<OrtSessionPtr>((p) => ortLibrary().api.ReleaseSession(p));

/** Run an async koffi call and resolve with its result. */
function callAsync<R>(start: (cb: (err: unknown, res: R) => void) => void): Promise<R> {
  return new Promise<R>((resolve, reject) => start((err, res) => (err ? reject(err as Error) : resolve(res))));
}

export class CapiSession implements ValueOwner {
  readonly inputs: readonly IOInfo[];
  readonly outputs: readonly IOInfo[];
  /** Memory that kept outputs live in. */
  readonly deviceMemory: MemoryKind;
  /** The optimized-graph cache: loaded from it, written to it, or not used. */
  readonly optimizedCache: 'hit' | 'written' | 'off';
  private ptr: OrtSessionPtr | null;
  private readonly inputByName: Map<string, IOInfo>;
  private readonly outputByName: Map<string, IOInfo>;
  private readonly keep: ReadonlySet<string>;
  private binding: IoBinding | null = null;
  private copier: DeviceCopier | null = null;
  private last: Transfer = NO_TRANSFER;
  private total: Transfer = NO_TRANSFER;
  /** Outputs of this session not yet released: dispose() releases them first. */
  private readonly live = new Map<number, WeakRef<CapiValue>>();

  private constructor(
    ptr: OrtSessionPtr,
    readonly provider: Provider,
    readonly deviceId: number,
    readonly name: string,
    private readonly options: CapiSession.Options,
    cache: 'hit' | 'written' | 'off' = 'off',
  ) {
    this.ptr = ptr;
    this.optimizedCache = cache;
    released.register(this, ptr, this);
    this.deviceMemory = DEVICE_MEMORY[provider];
    this.keep = new Set(options.keepOnDevice ?? []);
    this.inputs = readIO(this, 'input');
    this.outputs = readIO(this, 'output');
    this.inputByName = new Map(this.inputs.map((i) => [i.name, i]));
    this.outputByName = new Map(this.outputs.map((o) => [o.name, o]));
    for (const k of this.keep) this.output(k);
  }

  /** Load a Graph, ModelProto bytes or a .onnx path on the chosen provider. */
  static async create(model: Graph | Uint8Array | string, opts: CapiSession.Options = {}): Promise<CapiSession> {
    const o = resolveDevice(opts as Session.Options) as CapiSession.Options;
    const provider = o.provider ?? 'cpu';
    const deviceId = o.deviceId ?? 0;
    assertProviderListed(provider);
    const name = o.name ?? (model instanceof Graph ? model.name : typeof model === 'string' ? model : 'model bytes');
    const src = prepare(model, o.inlineLimitBytes ?? 2 ** 30, o.tempDir);
    const base = src.folder ? { ...o, externalDataDir: src.folder } : o;
    const made = (ptr: OrtSessionPtr, cache: 'hit' | 'written' | 'off') => new CapiSession(ptr, provider, deviceId, name, o, cache);
    const uncached = async () => made(await openSession(src.model, base, provider, deviceId, name), 'off');
    try {
      const cache =
        o.optimizedCacheDir && src.model instanceof Uint8Array && !src.folder ? tryCacheEntry(o.optimizedCacheDir, src.model, o, provider) : null;
      if (!cache) return await uncached();
      if (cache.hit) {
        try {
          const ptr = await openSession(cache.path, { ...base, graphOptimizationLevel: 'disabled' }, provider, deviceId, name);
          touchOptimized(cache);
          return made(ptr, 'hit');
        } catch {
          // Unreadable (cut short, or from another build): drop it and rebuild it below.
          dropOptimized(cache);
        }
      }
      let ptr: OrtSessionPtr;
      try {
        ptr = await openSession(src.model, { ...base, optimizedModelFilePath: cache.partial }, provider, deviceId, name);
      } catch {
        // A cache that cannot be written (full disk, read-only home) must not stop the job: once more
        // without it, and a model error is then reported as the plain session's.
        dropOptimized(cache);
        return await uncached();
      }
      let written = true;
      try {
        commitOptimized(cache);
      } catch {
        dropOptimized(cache);
        written = false;
      }
      return made(ptr, written ? 'written' : 'off');
    } finally {
      src.cleanup();
    }
  }

  /** The OrtSession* (throws once disposed). */
  get handle(): OrtSessionPtr {
    if (!this.ptr) throw new Error(`${this.describe()} was disposed`);
    return this.ptr;
  }

  /** How errors name this session. */
  describe(): string {
    return `session '${this.name}' (${this.provider}${this.provider === 'cuda' ? `:${this.deviceId}` : ''})`;
  }

  input(name: string): IOInfo {
    const i = this.inputByName.get(name);
    if (!i) throw new Error(`${this.describe()} has no input '${name}' (inputs: ${[...this.inputByName.keys()].join(', ')})`);
    return i;
  }

  output(name: string): IOInfo {
    const o = this.outputByName.get(name);
    if (!o) throw new Error(`${this.describe()} has no output '${name}' (outputs: ${[...this.outputByName.keys()].join(', ')})`);
    return o;
  }

  /** Plain OrtApi::Run with host tensors; returns the requested outputs (default: all) as host tensors. */
  async run(feeds: Readonly<Record<string, TensorData>>, fetches?: readonly string[]): Promise<Record<string, TensorData>> {
    this.validate(feeds);
    const names = this.fetchNames(fetches);
    const values = Object.entries(feeds).map(([k, t]) => CapiValue.fromHost(t, `input '${k}' of ${this.describe()}`));
    const { api } = ortLibrary();
    const outs: (Parameters<typeof api.ReleaseValue>[0] | null)[] = names.map(() => null);
    try {
      const status = await callAsync<ReturnType<typeof api.Run>>((cb) =>
        api.Run.async(this.handle, null, Object.keys(feeds), values.map((v) => v.handle), values.length, names, names.length, outs, cb),
      );
      check(status, 'Run', this.describe());
      const res: Record<string, TensorData> = {};
      names.forEach((n, i) => {
        const v = CapiValue.adopt(outs[i]!, 'host', `output '${n}' of ${this.describe()}`);
        outs[i] = null;
        try {
          if (!v.onHost) throw new Error(`output '${n}' of ${this.describe()} is in '${v.memory}' memory; use runOrt and download()`);
          res[n] = v.readHost();
        } finally {
          v.dispose();
        }
      });
      let h2d = 0;
      let d2h = 0;
      for (const t of Object.values(feeds)) h2d += byteLength(t);
      for (const t of Object.values(res)) d2h += byteLength(t);
      this.record({ hostToDevice: h2d, deviceToHost: d2h });
      return res;
    } finally {
      for (const p of outs) if (p) api.ReleaseValue(p);
      for (const v of values) v.dispose();
    }
  }

  /**
   * Run through the IoBinding: host feeds are bound from host memory, values
   * kept by an earlier run are bound where they are; outputs in
   * `keepOnDevice` stay in device memory, the others come back to the host.
   * The caller owns (and disposes) the returned values.
   */
  async runOrt(feeds: CapiFeeds, fetches?: readonly string[]): Promise<Record<string, CapiValue>> {
    const host: Record<string, TensorData> = {};
    const made: CapiValue[] = [];
    const bound: [string, CapiValue][] = [];
    try {
      this.checkNames(new Set(Object.keys(feeds)));
      for (const [k, v] of Object.entries(feeds)) {
        const info = this.input(k);
        if (v instanceof CapiValue) {
          if (v.dtype !== info.dtype) throw new Error(`input '${k}' of ${this.describe()}: value is ${v.dtype}, model expects ${info.dtype}${formatShape(info.shape)}`);
          checkShape(k, info.shape, v.dims, this.describe());
          bound.push([k, v]);
          continue;
        }
        const t = isOrtTensor(v) ? fromOrtTensor(hostOrt(v, k), info.dtype, `input '${k}'`) : v;
        host[k] = t;
      }
      this.validate(host, new Set(Object.keys(feeds)));
      for (const [k, t] of Object.entries(host)) {
        const v = CapiValue.fromHost(t, `input '${k}' of ${this.describe()}`);
        made.push(v);
        bound.push([k, v]);
      }
      const b = (this.binding ??= new IoBinding(this));
      for (const [k, v] of bound) b.bindInput(k, v);
      for (const n of this.fetchNames(fetches)) {
        if (this.keep.has(n)) b.bindOutputToDevice(n);
        else b.bindOutputToHost(n);
      }
      const out = await b.run();
      this.record(b.lastTransfer);
      return out;
    } finally {
      for (const v of made) v.dispose();
    }
  }

  /** A host copy of `value` (a kept output); counted as device→host traffic. */
  async download(value: CapiValue): Promise<TensorData> {
    if (value.origin === 'host') return value.readHost();
    const bytes = value.byteLength;
    let t: TensorData;
    if (value.onHost) t = value.readHost();
    else {
      this.copier ??= new DeviceCopier(this.options, this.name);
      t = await this.copier.toHost(value);
    }
    this.total = addTransfer(this.total, { hostToDevice: 0, deviceToHost: bytes });
    return t;
  }

  /** Remember an output this session produced (IoBinding calls it). */
  track(v: CapiValue): void {
    this.live.set(v.id, new WeakRef(v));
  }

  forget(v: CapiValue): void {
    this.live.delete(v.id);
  }

  /** Bytes the last run moved between host and device. */
  get lastTransfer(): Transfer {
    return this.last;
  }

  /** Bytes moved by every run and download so far. */
  get totalTransfer(): Transfer {
    return this.total;
  }

  /** Stop profiling; returns the profile file ORT wrote. */
  endProfiling(): string {
    const { api, allocator } = ortLibrary();
    const out: [RawPtr | null] = [null];
    check(api.SessionEndProfiling(this.handle, allocator, out), 'SessionEndProfiling', this.describe());
    return takeString(out[0]);
  }

  async dispose(): Promise<void> {
    if (!this.ptr) return;
    // Values before the session: ORT frees device buffers through the session's provider.
    for (const w of [...this.live.values()]) w.deref()?.dispose();
    this.live.clear();
    this.binding?.dispose();
    this.binding = null;
    await this.copier?.dispose();
    this.copier = null;
    released.unregister(this);
    ortLibrary().api.ReleaseSession(this.ptr);
    this.ptr = null;
  }

  private record(t: Transfer): void {
    this.last = t;
    this.total = addTransfer(this.total, t);
  }

  private fetchNames(fetches?: readonly string[]): string[] {
    if (!fetches) return this.outputs.map((o) => o.name);
    for (const f of fetches) this.output(f);
    return [...fetches];
  }

  /** Every input present, no unknown feeds, dtypes and static dims as declared. */
  private validate(feeds: Readonly<Record<string, TensorData>>, present: ReadonlySet<string> = new Set(Object.keys(feeds))): void {
    this.checkNames(present);
    for (const [k, t] of Object.entries(feeds)) {
      const info = this.input(k);
      if (t.dtype !== info.dtype) throw new Error(`input '${k}' of ${this.describe()}: got ${t.dtype}, model expects ${info.dtype}${formatShape(info.shape)}`);
      checkShape(k, info.shape, t.dims, this.describe());
    }
  }

  /** Every fed name is an input and every input is fed. */
  private checkNames(present: ReadonlySet<string>): void {
    for (const k of present) {
      if (!this.inputByName.has(k)) throw new Error(`feed '${k}' is not an input of ${this.describe()} (inputs: ${[...this.inputByName.keys()].join(', ')})`);
    }
    const missing = this.inputs.filter((i) => !present.has(i.name));
    if (missing.length) throw new Error(`${this.describe()}: missing feed${missing.length > 1 ? 's' : ''}: ${missing.map((i) => `'${i.name}' (${i.dtype}${formatShape(i.shape)})`).join(', ')}`);
  }
}

function checkShape(name: string, shape: readonly Dim[], dims: readonly number[], where: string): void {
  const ok = dims.length === shape.length && shape.every((d, i) => typeof d !== 'number' || d === dims[i]);
  if (!ok) throw new Error(`input '${name}' of ${where}: dims ${formatShape(dims)}, model expects ${formatShape(shape)}`);
}

function hostOrt(t: OrtTensor, name: string): OrtTensor {
  if (t.location !== 'cpu' && t.location !== 'cpu-pinned') throw new Error(`input '${name}': an ort.Tensor on '${t.location}' cannot be bound by the C API backend; pass TensorData or a CapiValue`);
  return t;
}

/** The optimized-graph cache entry, or null when the folder cannot be made (the session is then created uncached). */
function tryCacheEntry(dir: string, model: Uint8Array, o: CapiSession.Options, provider: Provider): ReturnType<typeof optimizedCacheEntry> {
  try {
    return optimizedCacheEntry(dir, model, o, provider, ortLibrary().version);
  } catch {
    return null;
  }
}

/** OrtApi::CreateSession(FromArray) off the JS thread, with a provider's load failure named as such. */
async function openSession(model: Uint8Array | string, o: CapiSession.Options, provider: Provider, deviceId: number, name: string): Promise<OrtSessionPtr> {
  const what = `session '${name}' (${provider})`;
  const { api } = ortLibrary();
  const env = ortEnv();
  const so = createSessionOptions(o, provider, deviceId);
  try {
    const out: [OrtSessionPtr | null] = [null];
    const status =
      typeof model === 'string'
        ? await callAsync<ReturnType<typeof api.CreateSession>>((cb) => api.CreateSession.async(env, model, so, out, cb))
        : await callAsync<ReturnType<typeof api.CreateSessionFromArray>>((cb) => api.CreateSessionFromArray.async(env, model, model.byteLength, so, out, cb));
    try {
      check(status, typeof model === 'string' ? 'CreateSession' : 'CreateSessionFromArray', what);
    } catch (e) {
      if (provider !== 'cpu' && e instanceof OrtError && /provider|cuda|cudnn|cublas|webgpu|dawn|adapter|vulkan|shared library/i.test(e.ortMessage)) {
        throw providerError(provider, e);
      }
      throw e;
    }
    return out[0]!;
  } finally {
    releaseSessionOptions(so);
  }
}

/** Names, element types and shapes (symbolic dims by name) of the session's inputs or outputs. */
function readIO(s: CapiSession, kind: 'input' | 'output'): IOInfo[] {
  const { api, allocator } = ortLibrary();
  const count: [number] = [0];
  const getCount = kind === 'input' ? api.SessionGetInputCount : api.SessionGetOutputCount;
  const getName = kind === 'input' ? api.SessionGetInputName : api.SessionGetOutputName;
  const getType = kind === 'input' ? api.SessionGetInputTypeInfo : api.SessionGetOutputTypeInfo;
  const cap = kind === 'input' ? 'Input' : 'Output';
  check(getCount(s.handle, count), `SessionGet${cap}Count`, s.describe());
  const out: IOInfo[] = [];
  for (let i = 0; i < count[0]; i++) {
    const np: [RawPtr | null] = [null];
    check(getName(s.handle, i, allocator, np), `SessionGet${cap}Name`, `${kind} ${i} of ${s.describe()}`);
    const name = takeString(np[0]);
    const where = `${kind} '${name}' of ${s.describe()}`;
    const ti: [OrtTypeInfoPtr | null] = [null];
    check(getType(s.handle, i, ti), `SessionGet${cap}TypeInfo`, where);
    try {
      const onnxType: [number] = [0];
      check(api.GetOnnxTypeFromTypeInfo(ti[0]!, onnxType), 'GetOnnxTypeFromTypeInfo', where);
      // ONNX_TYPE_TENSOR = 1
      if (onnxType[0] !== 1) throw new Error(`${where} is not a tensor (ONNXType ${onnxType[0]}); only tensor inputs/outputs are supported`);
      const tinfo: [OrtTensorInfoPtr | null] = [null];
      check(api.CastTypeInfoToTensorInfo(ti[0]!, tinfo), 'CastTypeInfoToTensorInfo', where);
      const { elem, dims } = tensorInfoShape(tinfo[0]!, where);
      const rank = dims.length;
      let symbolic: string[] = [];
      if (rank > 0) {
        const names = koffi.alloc('const char *', rank);
        try {
          check(api.GetSymbolicDimensions(tinfo[0]!, names, rank), 'GetSymbolicDimensions', where);
          symbolic = koffi.decode(names, koffi.array('const char *', rank)) as string[];
        } finally {
          koffi.free(names);
        }
      }
      let dtype;
      try {
        dtype = dtypeFromOnnx(elem);
      } catch {
        throw new Error(`${where} has ONNX element type ${elem}, which vlreward does not handle`);
      }
      const shape: Dim[] = Array.from(dims, (d, j) => (d >= 0n ? Number(d) : symbolic[j] ? symbolic[j]! : '?'));
      out.push({ name, dtype, shape });
    } finally {
      api.ReleaseTypeInfo(ti[0]!);
    }
  }
  return out;
}

/** The model as ORT will read it: bytes (with a temporary external-data folder for big graphs) or a path. */
function prepare(model: Graph | Uint8Array | string, inlineLimit: number, tempDir?: string): { model: Uint8Array | string; folder?: string; cleanup: () => void } {
  if (typeof model === 'string' || model instanceof Uint8Array) return { model, cleanup: () => {} };
  let total = 0;
  for (const { value } of model.initializers.values()) total += byteLength(value);
  if (total <= inlineLimit) return { model: encodeModel(toModelProto(model).proto), cleanup: () => {} };
  // Big graphs: weights go to a side file ORT reads itself (no copy through a JS buffer).
  const dir = mkdtempSync(join(tempDir ?? tmpdir(), 'vlreward-capi-'));
  const { proto, externalData } = toModelProto(model, { externalData: { path: 'weights.bin' } });
  writeExternalData(externalData!, join(dir, 'weights.bin'));
  return { model: encodeModel(proto), folder: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
