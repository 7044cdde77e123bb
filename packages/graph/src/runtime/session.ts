// A session over onnxruntime-node: typed options, an explicit execution
// provider that never falls back silently, feed validation that names the
// input, and TensorData in / TensorData out.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Graph } from '../builder.js';
import { formatShape, type Dim } from '../shape.js';
import { decodeModel, encodeModel, toModelProto, writeExternalData, type ModelProto } from '../serialize.js';
import { byteLength, type TensorData } from '../tensor_data.js';
import { checkHostArray, fromOrtTensor, ortTypeOf, toOrtTensor } from './convert.js';
import { downloadTensor } from './download.js';
import { modelIO, rewriteBf16Boundary, type IOInfo } from './model_io.js';
import { ort, type OrtDataLocation, type OrtSession, type OrtSessionOptions, type OrtTensor } from './ort.js';
import { assertProviderListed, explainProviderFailure, looksLikeProviderFailure, parseDevice, ProviderUnavailableError, type Provider } from './providers.js';

export declare namespace Session {
  /** CUDA EP settings. onnxruntime-node 1.30 forwards only deviceId to the CUDA EP; see `cuda` below. */
  interface CudaOptions {
    /** Cap on the CUDA memory arena in bytes (ORT `gpu_mem_limit`). */
    readonly gpuMemLimitBytes?: number;
    /** ORT `cudnn_conv_algo_search` (ORT default 'EXHAUSTIVE'). */
    readonly cudnnConvAlgoSearch?: 'EXHAUSTIVE' | 'HEURISTIC' | 'DEFAULT';
    /** ORT `use_tf32` (ORT default true). */
    readonly useTf32?: boolean;
  }

  interface Options {
    /** Execution provider (default 'cpu'). Unavailable → ProviderUnavailableError, never a fallback. */
    readonly provider?: Provider;
    /** `cpu | cuda | cuda:N | webgpu` (a `--device` value); sets provider and deviceId, and must agree with them when both are given. */
    readonly device?: string;
    /** GPU ordinal for 'cuda'. */
    readonly deviceId?: number;
    /** Threads inside one op (ORT default: physical cores). */
    readonly intraOpThreads?: number;
    readonly interOpThreads?: number;
    /** ORT graph rewrites (default 'all'). */
    readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
    /** Write an ORT profile (chrome-trace JSON, `<profileFilePrefix>_<date>.json` in the cwd); `session.endProfiling()` flushes it. */
    readonly enableProfiling?: boolean;
    readonly profileFilePrefix?: string;
    /** ORT log level (default 'error', so ORT's warnings do not flood training logs). */
    readonly logSeverity?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
    /**
     * CUDA EP options. The Node binding passes only deviceId to the EP, so any
     * value that differs from ORT's default throws instead of being ignored.
     */
    readonly cuda?: CudaOptions;
    /** Refuse to place nodes the chosen GPU provider cannot run on the CPU (default false: ORT assigns them to CPU). */
    readonly disableCpuFallback?: boolean;
    /** Where outputs stay: 'cpu' (default) or a device location for GPU providers. */
    readonly preferredOutputLocation?: OrtDataLocation | Readonly<Record<string, OrtDataLocation>>;
    /** Bind symbolic dims to sizes at session creation (enables more static planning). */
    readonly freeDimensionOverrides?: Readonly<Record<string, number>>;
    readonly enableMemPattern?: boolean;
    readonly enableCpuMemArena?: boolean;
    /** Raw ORT session config entries (`session.*` keys). */
    readonly sessionConfig?: Readonly<Record<string, string>>;
    /** Graphs with more initializer bytes than this are handed to ORT via a temporary external-data file (default 1 GiB). */
    readonly inlineLimitBytes?: number;
    /** Folder for that temporary file (default: the OS temp dir; it is deleted once ORT has loaded it). */
    readonly tempDir?: string;
    /** For model bytes whose initializers live in side files: the folder their `location`s are relative to. */
    readonly externalDataDir?: string;
  }
}

const LOG_LEVEL = { verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 } as const;

export type Feeds = Readonly<Record<string, TensorData>>;

/** A model loaded into ORT. Create with `createSession`. */
export class InferenceSession {
  /** Inputs that need a feed, as the model declares them (bf16 shown as bf16). */
  readonly inputs: readonly IOInfo[];
  readonly outputs: readonly IOInfo[];
  private readonly inputByName: Map<string, IOInfo>;
  private readonly outputByName: Map<string, IOInfo>;

  constructor(
    readonly ortSession: OrtSession,
    io: { inputs: IOInfo[]; outputs: IOInfo[] },
    readonly provider: Provider,
  ) {
    this.inputs = io.inputs;
    this.outputs = io.outputs;
    this.inputByName = new Map(io.inputs.map((i) => [i.name, i]));
    this.outputByName = new Map(io.outputs.map((o) => [o.name, o]));
  }

  input(name: string): IOInfo {
    const i = this.inputByName.get(name);
    if (!i) throw new Error(`session has no input '${name}' (inputs: ${[...this.inputByName.keys()].join(', ')})`);
    return i;
  }

  output(name: string): IOInfo {
    const o = this.outputByName.get(name);
    if (!o) throw new Error(`session has no output '${name}' (outputs: ${[...this.outputByName.keys()].join(', ')})`);
    return o;
  }

  /** Run with host tensors; returns the requested outputs (default: all) as host tensors. */
  async run(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, TensorData>> {
    this.validateFeeds(feeds);
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrtTensor(v);
    const names = this.fetchNames(fetches);
    const res = await this.ortSession.run(ortFeeds, names);
    const out: Record<string, TensorData> = {};
    for (const name of names) {
      const t = res[name];
      if (!t) throw new Error(`ORT returned no value for output '${name}'`);
      const info = this.output(name);
      out[name] = fromOrtTensor(await downloadTensor(t), info.dtype, `output '${name}'`);
    }
    return out;
  }

  /**
   * Run with a mix of host tensors and ort.Tensors (e.g. state kept from the
   * previous step); returns ort.Tensors, where they were produced. Host
   * tensors are validated; ort.Tensors are checked for type and rank only.
   */
  async runOrt(feeds: Readonly<Record<string, TensorData | OrtTensor>>, fetches?: readonly string[]): Promise<Record<string, OrtTensor>> {
    const host: Record<string, TensorData> = {};
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [k, v] of Object.entries(feeds)) {
      if (isOrtTensor(v)) {
        const info = this.input(k);
        if (v.type !== ortTypeOf(info.dtype)) throw new Error(`input '${k}': tensor of type ${v.type}, model expects ${info.dtype}`);
        checkShape(k, info.shape, v.dims);
        ortFeeds[k] = v;
      } else {
        host[k] = v;
      }
    }
    this.validateFeeds(host, new Set(Object.keys(feeds)));
    for (const [k, v] of Object.entries(host)) ortFeeds[k] = toOrtTensor(v);
    const names = this.fetchNames(fetches);
    const res = await this.ortSession.run(ortFeeds, names);
    const out: Record<string, OrtTensor> = {};
    for (const name of names) out[name] = res[name]!;
    return out;
  }

  /** Stop profiling and flush the profile file ORT writes. */
  endProfiling(): void {
    this.ortSession.endProfiling();
  }

  async dispose(): Promise<void> {
    await this.ortSession.release();
  }

  private fetchNames(fetches?: readonly string[]): string[] {
    if (!fetches) return this.outputs.map((o) => o.name);
    for (const f of fetches) this.output(f);
    return [...fetches];
  }

  /** Every input fed, with the right dtype, rank, static dims and consistent symbolic dims. */
  validateFeeds(feeds: Feeds, present: ReadonlySet<string> = new Set(Object.keys(feeds))): void {
    for (const k of present) {
      if (!this.inputByName.has(k)) {
        throw new Error(`feed '${k}' is not an input of this model (inputs: ${[...this.inputByName.keys()].join(', ')})`);
      }
    }
    const missing = this.inputs.filter((i) => !present.has(i.name));
    if (missing.length > 0) {
      throw new Error(`missing feed${missing.length > 1 ? 's' : ''}: ${missing.map((i) => `'${i.name}' (${i.dtype}${formatShape(i.shape)})`).join(', ')}`);
    }
    const bound = new Map<string, { size: number; by: string }>();
    for (const [k, t] of Object.entries(feeds)) {
      const info = this.input(k);
      if (t.dtype !== info.dtype) throw new Error(`input '${k}': got ${t.dtype}, model expects ${info.dtype}${formatShape(info.shape)}`);
      checkHostArray(t, `input '${k}'`);
      checkShape(k, info.shape, t.dims);
      info.shape.forEach((d, i) => {
        if (typeof d !== 'string' || d === '?') return;
        const size = t.dims[i]!;
        const prev = bound.get(d);
        if (prev && prev.size !== size) {
          throw new Error(`input '${k}': dim ${i} ('${d}') is ${size} but input '${prev.by}' set '${d}' = ${prev.size}`);
        }
        bound.set(d, { size, by: k });
      });
    }
  }
}

function checkShape(name: string, shape: readonly Dim[], dims: readonly number[]): void {
  if (dims.length !== shape.length) {
    throw new Error(`input '${name}': rank ${dims.length} (dims ${formatShape(dims)}), model expects rank ${shape.length} ${formatShape(shape)}`);
  }
  shape.forEach((d, i) => {
    if (typeof d === 'number' && dims[i] !== d) {
      throw new Error(`input '${name}': dim ${i} is ${dims[i]}, model expects ${d} (shape ${formatShape(shape)}, got ${formatShape(dims)})`);
    }
  });
}

export function isOrtTensor(v: unknown): v is OrtTensor {
  return v instanceof ort.Tensor;
}

/** Options with `device` resolved into provider + deviceId (a conflict with explicit ones throws). */
export function resolveDevice(o: Session.Options): Session.Options {
  if (o.device === undefined) return o;
  const d = parseDevice(o.device);
  if (o.provider !== undefined && o.provider !== d.provider) throw new Error(`Session.Options: device '${o.device}' conflicts with provider '${o.provider}'`);
  if (o.deviceId !== undefined && d.deviceId !== undefined && o.deviceId !== d.deviceId) {
    throw new Error(`Session.Options: device '${o.device}' conflicts with deviceId ${o.deviceId}`);
  }
  const deviceId = d.deviceId ?? o.deviceId;
  return { ...o, provider: d.provider, ...(deviceId !== undefined ? { deviceId } : {}) };
}

export function ortSessionOptions(opts: Session.Options): OrtSessionOptions {
  const o = resolveDevice(opts);
  const provider = o.provider ?? 'cpu';
  if (o.cuda) {
    const bad: string[] = [];
    if (o.cuda.gpuMemLimitBytes !== undefined) bad.push('gpuMemLimitBytes');
    if (o.cuda.cudnnConvAlgoSearch !== undefined && o.cuda.cudnnConvAlgoSearch !== 'EXHAUSTIVE') bad.push('cudnnConvAlgoSearch');
    if (o.cuda.useTf32 === false) bad.push('useTf32=false');
    if (bad.length) {
      throw new Error(
        `Session.Options.cuda: ${bad.join(', ')} cannot be applied: onnxruntime-node ${ort.env.versions.node} passes only deviceId to the CUDA provider ` +
          `(js/node/src/session_options_helper.cc); remove the option or run through a binding that forwards OrtCUDAProviderOptionsV2`,
      );
    }
  }
  const ep: OrtSessionOptions['executionProviders'] =
    provider === 'cpu' ? ['cpu'] : provider === 'cuda' ? [{ name: 'cuda', deviceId: o.deviceId ?? 0 }] : [{ name: 'webgpu' }];
  const extra: Record<string, string> = { ...(o.sessionConfig ?? {}) };
  if (o.disableCpuFallback) extra['session.disable_cpu_ep_fallback'] = '1';
  return {
    executionProviders: ep,
    ...(o.intraOpThreads !== undefined ? { intraOpNumThreads: o.intraOpThreads } : {}),
    ...(o.interOpThreads !== undefined ? { interOpNumThreads: o.interOpThreads } : {}),
    graphOptimizationLevel: o.graphOptimizationLevel ?? 'all',
    ...(o.enableProfiling ? { enableProfiling: true, profileFilePrefix: o.profileFilePrefix ?? 'vlreward_ort_profile' } : {}),
    logSeverityLevel: LOG_LEVEL[o.logSeverity ?? 'error'],
    ...(o.preferredOutputLocation ? { preferredOutputLocation: o.preferredOutputLocation } : {}),
    ...(o.freeDimensionOverrides ? { freeDimensionOverrides: o.freeDimensionOverrides } : {}),
    ...(o.enableMemPattern !== undefined ? { enableMemPattern: o.enableMemPattern } : {}),
    ...(o.enableCpuMemArena !== undefined ? { enableCpuMemArena: o.enableCpuMemArena } : {}),
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}

/** Where ORT reads the model from, after the bf16 boundary rewrite. */
type Source =
  | { kind: 'bytes'; bytes: Uint8Array; external?: { path: string; data: Uint8Array }[]; folder?: string }
  | { kind: 'path'; path: string };

function prepare(model: Graph | Uint8Array | string, inlineLimit: number, tempDir?: string, externalDataDir?: string): { src: Source; io: ReturnType<typeof modelIO>; cleanup: () => void } {
  if (model instanceof Graph) {
    let total = 0;
    for (const { value } of model.initializers.values()) total += byteLength(value);
    if (total <= inlineLimit) {
      const { proto } = toModelProto(model);
      const io = modelIO(proto);
      rewriteBf16Boundary(proto);
      return { src: { kind: 'bytes', bytes: encodeModel(proto) }, io, cleanup: () => {} };
    }
    // Big graphs: weights go to a temporary side file that ORT reads (and on
    // Linux may mmap) itself, so nothing is copied through a JS buffer.
    const dir = mkdtempSync(join(tempDir ?? tmpdir(), 'vlreward-session-'));
    const { proto, externalData } = toModelProto(model, { externalData: { path: 'weights.bin' } });
    const io = modelIO(proto);
    rewriteBf16Boundary(proto);
    writeExternalData(externalData!, join(dir, 'weights.bin'));
    return {
      src: { kind: 'bytes', bytes: encodeModel(proto), folder: dir },
      io,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (model instanceof Uint8Array) {
    const proto = decodeModel(model);
    const io = modelIO(proto);
    const bytes = rewriteBf16Boundary(proto) ? encodeModel(proto) : model;
    return { src: { kind: 'bytes', bytes, ...(externalDataDir ? { folder: externalDataDir } : {}) }, io, cleanup: () => {} };
  }
  let proto: ModelProto;
  try {
    proto = decodeModel(readFileSync(model));
  } catch (e) {
    throw new Error(`cannot read ONNX model '${model}': ${(e as Error).message}`);
  }
  const io = modelIO(proto);
  if (!rewriteBf16Boundary(proto)) return { src: { kind: 'path', path: model }, io, cleanup: () => {} };
  // Rewritten in memory; external data still resolves next to the original file.
  return { src: { kind: 'bytes', bytes: encodeModel(proto), folder: dirname(model) }, io, cleanup: () => {} };
}

/**
 * Load a model (a Graph, ModelProto bytes, or a .onnx path whose external
 * data sits beside it) into ORT on the chosen provider.
 */
export async function createSession(model: Graph | Uint8Array | string, opts: Session.Options = {}): Promise<InferenceSession> {
  const options = resolveDevice(opts);
  const provider = options.provider ?? 'cpu';
  assertProviderListed(provider);
  const ortOptions = ortSessionOptions(options);
  const { src, io, cleanup } = prepare(model, options.inlineLimitBytes ?? 2 ** 30, options.tempDir, options.externalDataDir);
  try {
    let session: OrtSession;
    try {
      if (src.kind === 'path') {
        session = await ort.InferenceSession.create(src.path, ortOptions);
      } else {
        const opts: OrtSessionOptions = src.folder
          ? { ...ortOptions, extra: { ...(ortOptions.extra ?? {}), 'session.model_external_initializers_file_folder_path': src.folder } }
          : ortOptions;
        session = await ort.InferenceSession.create(src.bytes, opts);
      }
    } catch (e) {
      const msg = (e as Error).message;
      if (looksLikeProviderFailure(provider, msg)) throw new ProviderUnavailableError(provider, `${explainProviderFailure(provider, msg)}: ${msg.trim()}`);
      const what = typeof model === 'string' ? `'${model}'` : model instanceof Graph ? `graph '${model.name}'` : 'model bytes';
      throw new Error(`ORT could not load ${what} on '${provider}': ${msg}`);
    }
    return new InferenceSession(session, io, provider);
  } finally {
    cleanup();
  }
}

/** Convenience for one-off evaluation: build, run once, release. */
export async function runOnce(model: Graph | Uint8Array | string, feeds: Feeds, options: Session.Options = {}): Promise<Record<string, TensorData>> {
  const s = await createSession(model, options);
  try {
    return await s.run(feeds);
  } finally {
    await s.dispose();
  }
}
