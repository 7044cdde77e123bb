// OrtValue: a tensor owned by ORT (an output ORT allocated, possibly in GPU
// memory) or a tensor over a JS typed array (CreateTensorWithDataAsOrtValue on
// CPU memory; no copy, and the array is kept alive as long as the value).
import koffi from 'koffi';
import { BYTES_PER_ELEMENT, dtypeFromOnnx, ONNX_DTYPE, type DType, type TypedArray } from '../../dtype.js';
import { numel } from '../../shape.js';
import type { TensorData } from '../../tensor_data.js';
import { checkHostArray, HOST_ARRAY } from '../convert.js';
import type { OrtMemoryInfoPtr, OrtTensorInfoPtr, OrtValuePtr, RawPtr } from './api_table.js';
import { ortLibrary } from './library.js';
import { check } from './status.js';

/** OrtMemoryInfo names: host memory, CUDA device memory, WebGPU buffers. */
export type MemoryKind = 'Cpu' | 'Cuda' | 'WebGPU_Buf';

/**
 * Where a value came from, which decides what crossing the host/device
 * boundary means for it: 'host' values live in JS (or were downloaded to
 * the host) and are uploaded when a device session reads them; 'device'
 * values were allocated by ORT in the session's device memory and stay there.
 */
export type ValueOrigin = 'host' | 'device';

/**
 * The session whose run produced a value: it copies device values to the
 * host, and releases the values it still tracks before itself (a WebGPU
 * buffer released after its session asserts inside ORT).
 */
export interface ValueOwner {
  download(value: CapiValue): Promise<TensorData>;
  forget(value: CapiValue): void;
}

let nextId = 0;

const memoryInfos = new Map<string, OrtMemoryInfoPtr>();

/** A cached OrtMemoryInfo (device allocator, default memory type); kept for the process lifetime. */
export function memoryInfo(kind: MemoryKind, deviceId = 0): OrtMemoryInfoPtr {
  const key = `${kind}:${deviceId}`;
  let m = memoryInfos.get(key);
  if (!m) {
    const { api } = ortLibrary();
    const out: [OrtMemoryInfoPtr | null] = [null];
    // OrtDeviceAllocator = 0, OrtMemTypeDefault = 0.
    check(api.CreateMemoryInfo(kind, 0, deviceId, 0, out), 'CreateMemoryInfo', `memory '${kind}' device ${deviceId}`);
    m = out[0]!;
    memoryInfos.set(key, m);
  }
  return m;
}

/** Element type (ONNX code) and dims (-1 for a symbolic one) of a tensor type-and-shape info: for values and for session inputs/outputs. */
export function tensorInfoShape(info: OrtTensorInfoPtr, where: string): { elem: number; dims: BigInt64Array } {
  const { api } = ortLibrary();
  const elem: [number] = [0];
  const rank: [number] = [0];
  check(api.GetTensorElementType(info, elem), 'GetTensorElementType', where);
  check(api.GetDimensionsCount(info, rank), 'GetDimensionsCount', where);
  const dims = new BigInt64Array(rank[0]);
  check(api.GetDimensions(info, dims, rank[0]), 'GetDimensions', where);
  return { elem: elem[0], dims };
}

// Backstop for values nobody disposed: ReleaseValue once the wrapper is collected.
const released = new FinalizationRegistry<OrtValuePtr>((p) => ortLibrary().api.ReleaseValue(p));

export class CapiValue {
  private ptr: OrtValuePtr | null;
  /** The session whose run produced this value (see ValueOwner). */
  private owner: ValueOwner | null = null;
  /** Process-unique, for owners that track their values. */
  readonly id = nextId++;
  /** The JS array under a host value: ORT reads it in place, so it must outlive the OrtValue. */
  private hostData: TypedArray | null;

  private constructor(
    ptr: OrtValuePtr,
    readonly dtype: DType,
    readonly dims: readonly number[],
    readonly memory: MemoryKind,
    readonly deviceId: number,
    readonly origin: ValueOrigin,
    hostData: TypedArray | null,
  ) {
    this.ptr = ptr;
    this.hostData = hostData;
    released.register(this, ptr, this);
  }

  /** A tensor over `t.data` in CPU memory (no copy). */
  static fromHost(t: TensorData, where = 'tensor'): CapiValue {
    checkHostArray(t, where);
    const { api } = ortLibrary();
    const out: [OrtValuePtr | null] = [null];
    const data = t.data as TypedArray;
    check(
      api.CreateTensorWithDataAsOrtValue(memoryInfo('Cpu'), data, data.byteLength, BigInt64Array.from(t.dims, BigInt), t.dims.length, ONNX_DTYPE[t.dtype], out),
      'CreateTensorWithDataAsOrtValue',
      `${where} (${t.dtype}[${t.dims.join(', ')}])`,
    );
    return new CapiValue(out[0]!, t.dtype, [...t.dims], 'Cpu', 0, 'host', data);
  }

  /** Take ownership of an OrtValue ORT returned (an output); reads its type, shape and memory. */
  static adopt(ptr: OrtValuePtr, origin: ValueOrigin, where: string, owner: ValueOwner | null = null): CapiValue {
    const { api } = ortLibrary();
    const info: [OrtTensorInfoPtr | null] = [null];
    try {
      check(api.GetTensorTypeAndShape(ptr, info), 'GetTensorTypeAndShape', where);
      const { elem, dims } = tensorInfoShape(info[0]!, where);
      const mem: [OrtMemoryInfoPtr | null] = [null];
      check(api.GetTensorMemoryInfo(ptr, mem), 'GetTensorMemoryInfo', where);
      const name: [string | null] = [null];
      const id: [number] = [0];
      check(api.MemoryInfoGetName(mem[0]!, name), 'MemoryInfoGetName', where);
      check(api.MemoryInfoGetId(mem[0]!, id), 'MemoryInfoGetId', where);
      const v = new CapiValue(ptr, dtypeFromOnnx(elem), Array.from(dims, Number), memoryKind(name[0]!), id[0], origin, null);
      v.owner = owner;
      return v;
    } catch (e) {
      api.ReleaseValue(ptr);
      throw e;
    } finally {
      if (info[0]) api.ReleaseTensorTypeAndShapeInfo(info[0]);
    }
  }

  /** The OrtValue*, for binding (throws once disposed). */
  get handle(): OrtValuePtr {
    if (!this.ptr) throw new Error(`CapiValue ${this.dtype}[${this.dims.join(', ')}] was disposed`);
    return this.ptr;
  }

  /** The JS array ORT reads in place (host values), for holders that must keep it alive. */
  get keepAlive(): TypedArray | null {
    return this.hostData;
  }

  get disposed(): boolean {
    return this.ptr === null;
  }

  get byteLength(): number {
    return BYTES_PER_ELEMENT[this.dtype] * numel(this.dims);
  }

  /** Whether JS can read the bytes directly (CPU memory). */
  get onHost(): boolean {
    return this.memory === 'Cpu';
  }

  /** A host copy of a CPU-memory tensor (device tensors go through CapiSession.download). */
  readHost(): TensorData {
    if (!this.onHost) throw new Error(`CapiValue ${this.dtype}[${this.dims.join(', ')}] lives in '${this.memory}' memory; download it through its session`);
    const n = numel(this.dims);
    const data = new HOST_ARRAY[this.dtype](n);
    if (n > 0) {
      const { api } = ortLibrary();
      const p: [RawPtr | null] = [null];
      check(api.GetTensorMutableData(this.handle, p), 'GetTensorMutableData', `value ${this.dtype}[${this.dims.join(', ')}]`);
      new Uint8Array(data.buffer).set(new Uint8Array(koffi.view(p[0], data.byteLength)));
    }
    return { dtype: this.dtype, dims: [...this.dims], data };
  }

  /** A host copy, through the producing session when the value lives in device memory (counted there). */
  async download(): Promise<TensorData> {
    if (this.owner) return this.owner.download(this);
    return this.readHost();
  }

  dispose(): void {
    if (!this.ptr) return;
    released.unregister(this);
    ortLibrary().api.ReleaseValue(this.ptr);
    this.ptr = null;
    this.hostData = null;
    this.owner?.forget(this);
    this.owner = null;
  }
}

function memoryKind(name: string): MemoryKind {
  if (name === 'Cpu' || name === 'Cuda' || name === 'WebGPU_Buf') return name;
  // CUDA pinned host memory and the like are host-readable.
  if (/pinned|cpu/i.test(name)) return 'Cpu';
  throw new Error(`ORT returned a tensor in memory '${name}', which this backend does not handle`);
}
