import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { BYTES_PER_ELEMENT, type DType } from '../dtype.js';
import { numel } from '../shape.js';
import { allocTyped, type TensorData } from '../tensor_data.js';
import { castTensorData, widen16ToFloat32 } from './float16.js';

// The safetensors format (huggingface/safetensors, safetensors/src/tensor.rs):
//   8 bytes   u64 LE  N = header length
//   N bytes   JSON    {"__metadata__": {str: str}?, name: {dtype, shape, data_offsets: [b, e]}, ...}
//                     padded with spaces to a multiple of 8 (so data starts 8-aligned)
//   rest      raw little-endian tensor bytes; offsets are relative to the data start,
//             contiguous, no gaps, covering the whole rest of the file.

/** safetensors dtype names ↔ vlreward dtypes (the subset vlreward's graphs use). */
export const SAFETENSORS_DTYPE: Record<DType, string> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const FROM_ST = new Map<string, DType>(Object.entries(SAFETENSORS_DTYPE).map(([k, v]) => [v, k as DType]));

/** Element sizes of safetensors dtypes vlreward cannot hold, so headers with them still parse. */
const OTHER_ST_SIZES: Record<string, number> = {
  I16: 2,
  U16: 2,
  U32: 4,
  U64: 8,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
};

/** Same cap as the Rust reference (MAX_HEADER_SIZE): refuses absurd headers early. */
const MAX_HEADER_BYTES = 100_000_000;
/** fs read/write calls are capped near 2 GiB; larger tensors are moved in chunks. */
const IO_CHUNK = 1 << 30;

export type SafetensorsMetadata = Record<string, string>;

/** One tensor's header entry. Offsets are absolute file positions. */
export interface SafetensorsEntry {
  readonly name: string;
  /** The dtype as the file names it ('F32', 'BF16', …). */
  readonly safetensorsDtype: string;
  /** vlreward dtype, or undefined when the file uses one vlreward cannot hold (reading it throws). */
  readonly dtype: DType | undefined;
  readonly dims: readonly number[];
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface SafetensorsHeader {
  readonly metadata: SafetensorsMetadata;
  /** Entries in file (data offset) order. */
  readonly entries: readonly SafetensorsEntry[];
  /** 8 + header length: where tensor data starts. */
  readonly dataStart: number;
  /** Total file size the header implies. */
  readonly fileSize: number;
}

function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new Error('safetensors: big-endian hosts are not supported');
}

/**
 * Parse and validate a header. `headerBytes` is the JSON (without the 8-byte
 * length prefix); `actualSize` the real file/buffer size, checked against what
 * the header implies so truncation is reported with both numbers.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, actualSize: number, where: string): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new Error(`${where}: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${where}: header must be a JSON object`);
  }
  const dataStart = 8 + headerBytes.length;
  const metadata: SafetensorsMetadata = {};
  const raw: { name: string; st: string; dims: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        throw new Error(`${where}: __metadata__ must be an object of strings`);
      }
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') throw new Error(`${where}: __metadata__.${k} must be a string (got ${typeof s})`);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (e === null || typeof e !== 'object') throw new Error(`${where}: tensor '${name}': entry must be an object`);
    if (typeof e.dtype !== 'string') throw new Error(`${where}: tensor '${name}': missing dtype`);
    const st = e.dtype;
    if (!FROM_ST.has(st) && !(st in OTHER_ST_SIZES)) {
      throw new Error(`${where}: tensor '${name}': unknown dtype '${st}'`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new Error(`${where}: tensor '${name}': shape must be an array of non-negative integers`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new Error(`${where}: tensor '${name}': data_offsets must be [begin, end]`);
    }
    const [begin, end] = off as [number, number];
    const dims = e.shape as number[];
    const size = FROM_ST.has(st) ? BYTES_PER_ELEMENT[FROM_ST.get(st)!] : OTHER_ST_SIZES[st]!;
    const expected = numel(dims) * size;
    if (end < begin || end - begin !== expected) {
      throw new Error(
        `${where}: tensor '${name}': data_offsets [${begin}, ${end}] span ${end - begin} bytes, ` +
          `expected ${expected} for ${st} [${dims.join(', ')}]`,
      );
    }
    raw.push({ name, st, dims, begin, end });
  }
  // Offsets must tile the data section exactly (the reference rejects gaps and overlaps).
  raw.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const r of raw) {
    if (r.begin !== pos) {
      throw new Error(
        `${where}: tensor '${r.name}' starts at data byte ${r.begin}, expected ${pos} ` +
          `(${r.begin > pos ? 'gap' : 'overlap'} in data_offsets)`,
      );
    }
    pos = r.end;
  }
  const fileSize = dataStart + pos;
  if (actualSize !== fileSize) {
    const last = raw.find((r) => dataStart + r.end > actualSize);
    const what = actualSize < fileSize ? 'truncated' : 'has trailing bytes';
    const detail = last
      ? `; tensor '${last.name}' needs bytes ${dataStart + last.begin}..${dataStart + last.end}`
      : '';
    throw new Error(`${where}: file ${what}: header implies ${fileSize} bytes, actual ${actualSize}${detail}`);
  }
  const entries = raw.map(
    (r): SafetensorsEntry => ({
      name: r.name,
      safetensorsDtype: r.st,
      dtype: FROM_ST.get(r.st),
      dims: r.dims,
      byteOffset: dataStart + r.begin,
      byteLength: r.end - r.begin,
    }),
  );
  return { metadata, entries, dataStart, fileSize };
}

function checkPrefix(prefix: Uint8Array, size: number, where: string): number {
  if (size < 8) throw new Error(`${where}: file truncated: ${size} bytes, need at least 8 for the header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new Error(`${where}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  const len = Number(n);
  if (8 + len > size) throw new Error(`${where}: file truncated: header length ${len} but file has ${size} bytes`);
  return len;
}

function entryToTensor(entry: SafetensorsEntry, bytes: Uint8Array, where: string): TensorData {
  if (entry.dtype === undefined) {
    throw new Error(`${where}: tensor '${entry.name}': dtype ${entry.safetensorsDtype} is not supported by vlreward`);
  }
  const n = numel(entry.dims);
  const data = allocTyped(entry.dtype, n);
  // Copy into a fresh, aligned array (file offsets need not be aligned to the element size).
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  return { dtype: entry.dtype, dims: [...entry.dims], data };
}

async function readFully(fh: FileHandle, buf: Uint8Array, position: number, where: string): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const len = Math.min(IO_CHUNK, buf.length - done);
    const { bytesRead } = await fh.read(buf, done, len, position + done);
    if (bytesRead === 0) {
      throw new Error(`${where}: unexpected end of file at byte ${position + done} (expected ${buf.length - done} more bytes)`);
    }
    done += bytesRead;
  }
}

/** A safetensors file opened lazily: the header is parsed; tensors are read on demand by offset. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly header: SafetensorsHeader,
    private readonly byName: ReadonlyMap<string, SafetensorsEntry>,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    assertLittleEndian();
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const prefix = new Uint8Array(8);
      if (size >= 8) await readFully(fh, prefix, 0, path);
      const len = checkPrefix(prefix, size, path);
      const headerBytes = new Uint8Array(len);
      await readFully(fh, headerBytes, 8, path);
      const header = parseSafetensorsHeader(headerBytes, size, path);
      return new SafetensorsFile(path, fh, header, new Map(header.entries.map((e) => [e.name, e])));
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get metadata(): SafetensorsMetadata {
    return this.header.metadata;
  }
  /** Tensor names in file order. */
  get names(): string[] {
    return this.header.entries.map((e) => e.name);
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  entry(name: string): SafetensorsEntry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`${this.path}: no tensor named '${name}' (file holds ${this.byName.size} tensors)`);
    return e;
  }
  /** The raw little-endian bytes of one tensor. */
  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    const buf = new Uint8Array(e.byteLength);
    await readFully(this.fh, buf, e.byteOffset, `${this.path}: tensor '${name}'`);
    return buf;
  }
  async read(name: string): Promise<TensorData> {
    const e = this.entry(name);
    if (e.dtype === undefined) {
      throw new Error(`${this.path}: tensor '${name}': dtype ${e.safetensorsDtype} is not supported by vlreward`);
    }
    // Read straight into the tensor's own (aligned) storage: no intermediate copy.
    const data = allocTyped(e.dtype, numel(e.dims));
    await readFully(this.fh, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), e.byteOffset, `${this.path}: tensor '${name}'`);
    return { dtype: e.dtype, dims: [...e.dims], data };
  }
  /**
   * One tensor as float32 (what the f32 graphs take). A 16-bit float tensor
   * is read straight into the upper half of its f32 buffer and widened there
   * in one pass: one allocation per tensor, no 16-bit copy left behind.
   * float32 is read as is; other dtypes are read, then converted.
   */
  async readFloat32(name: string): Promise<TensorData> {
    const e = this.entry(name);
    if (e.dtype !== 'bfloat16' && e.dtype !== 'float16') {
      const t = await this.read(name);
      return t.dtype === 'float32' ? t : castTensorData(t, 'float32');
    }
    const n = numel(e.dims);
    const out = new Float32Array(n);
    const src = new Uint16Array(out.buffer, 2 * n, n);
    await readFully(this.fh, new Uint8Array(src.buffer, src.byteOffset, src.byteLength), e.byteOffset, `${this.path}: tensor '${name}'`);
    widen16ToFloat32(e.dtype, src, out);
    return { dtype: 'float32', dims: [...e.dims], data: out };
  }
  /** Read every tensor (or those `filter` keeps), in file order. */
  async readAll(filter?: (name: string) => boolean): Promise<Map<string, TensorData>> {
    const out = new Map<string, TensorData>();
    for (const e of this.header.entries) {
      if (filter && !filter(e.name)) continue;
      out.set(e.name, await this.read(e.name));
    }
    return out;
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Open a safetensors file lazily (header only). Call `close()` when done. */
export function openSafetensors(path: string): Promise<SafetensorsFile> {
  return SafetensorsFile.open(path);
}

/** Read a whole safetensors file (tensor by tensor; the file is never held as one buffer). */
export async function readSafetensors(
  path: string,
): Promise<{ tensors: Map<string, TensorData>; metadata: SafetensorsMetadata }> {
  const f = await openSafetensors(path);
  try {
    return { tensors: await f.readAll(), metadata: { ...f.metadata } };
  } finally {
    await f.close();
  }
}

/** Parse safetensors bytes already in memory. */
export function parseSafetensors(bytes: Uint8Array, where = '<buffer>'): {
  tensors: Map<string, TensorData>;
  metadata: SafetensorsMetadata;
} {
  assertLittleEndian();
  const len = checkPrefix(bytes, bytes.length, where);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + len), bytes.length, where);
  const tensors = new Map<string, TensorData>();
  for (const e of header.entries) {
    tensors.set(e.name, entryToTensor(e, bytes.subarray(e.byteOffset, e.byteOffset + e.byteLength), where));
  }
  return { tensors, metadata: { ...header.metadata } };
}

export type TensorMap = ReadonlyMap<string, TensorData> | Readonly<Record<string, TensorData>>;

function toEntries(tensors: TensorMap): [string, TensorData][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

interface Planned {
  header: Uint8Array;
  order: [string, TensorData][];
}

/** A tensor's place in a file before its data exists (for writeSafetensorsStreaming). */
export interface SafetensorsTensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
}

/**
 * Lay out a file like the Rust reference (`prepare`): tensors ordered by
 * element size descending (so every tensor is aligned to its own element size),
 * then by name; header keys in that order after `__metadata__`; header padded
 * with spaces to a multiple of 8. Deterministic for the same input.
 */
function planHeader<S extends SafetensorsTensorSpec>(specs: readonly S[], metadata: SafetensorsMetadata | undefined, where: string): { header: Uint8Array; order: S[] } {
  for (const t of specs) {
    if (t.name === '__metadata__') throw new Error(`${where}: '__metadata__' is reserved and cannot name a tensor`);
    if (!(t.dtype in SAFETENSORS_DTYPE)) throw new Error(`${where}: tensor '${t.name}': unsupported dtype '${t.dtype}'`);
  }
  const order = [...specs].sort(
    (a, b) => BYTES_PER_ELEMENT[b.dtype] - BYTES_PER_ELEMENT[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const head: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`${where}: metadata '${k}' must be a string (got ${typeof v})`);
    }
    head.__metadata__ = metadata;
  }
  let pos = 0;
  for (const t of order) {
    const len = numel(t.dims) * BYTES_PER_ELEMENT[t.dtype];
    head[t.name] = { dtype: SAFETENSORS_DTYPE[t.dtype], shape: [...t.dims], data_offsets: [pos, pos + len] };
    pos += len;
  }
  const json = new TextEncoder().encode(JSON.stringify(head));
  const padded = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, order };
}

function plan(tensors: TensorMap, metadata: SafetensorsMetadata | undefined, where: string): Planned {
  const entries = toEntries(tensors);
  for (const [name, t] of entries) {
    const n = numel(t.dims);
    if (t.data.length !== n) {
      throw new Error(`${where}: tensor '${name}': ${t.data.length} elements for dims [${t.dims.join(', ')}] (expected ${n})`);
    }
  }
  const byName = new Map(entries);
  const { header, order } = planHeader(entries.map(([name, t]) => ({ name, dtype: t.dtype, dims: t.dims })), metadata, where);
  return { header, order: order.map((s) => [s.name, byName.get(s.name)!]) };
}

function bytesOf(t: TensorData): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Serialize to one in-memory buffer (small tensors; use writeSafetensors for files). */
export function serializeSafetensors(tensors: TensorMap, metadata?: SafetensorsMetadata): Uint8Array {
  assertLittleEndian();
  const { header, order } = plan(tensors, metadata, 'serializeSafetensors');
  const total = order.reduce((s, [, t]) => s + t.data.byteLength, header.length);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let pos = header.length;
  for (const [, t] of order) {
    out.set(bytesOf(t), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export interface WriteSafetensorsOptions {
  /** fsync the file before returning (default true). */
  readonly fsync?: boolean;
  /** Write to `<path>.tmp-<pid>` then rename over `path`, so readers never see a partial file (default true). */
  readonly atomic?: boolean;
}

/**
 * Write tensors to a safetensors file, streaming each tensor's bytes (no
 * whole-file buffer). Returns the number of bytes written.
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorMap,
  metadata?: SafetensorsMetadata,
  options: WriteSafetensorsOptions = {},
): Promise<number> {
  const { header, order } = plan(tensors, metadata, path);
  return writeFileStreaming(path, header, order.map(([, t]) => [bytesOf(t)]), options);
}

export interface WriteStreamingOptions extends WriteSafetensorsOptions {
  /** Called with every chunk in file order, header included (e.g. to hash the file while it is written). */
  readonly onWrite?: (chunk: Uint8Array) => void;
}

/**
 * Write a safetensors file whose tensor data is produced one tensor at a time,
 * in file order, by `produce` (chunks of any size; they must add up to the
 * tensor's byte length). Only the chunk being written is held, so files larger
 * than memory can be made. Same layout as writeSafetensors. Returns the bytes written.
 */
export async function writeSafetensorsStreaming(
  path: string,
  specs: readonly SafetensorsTensorSpec[],
  produce: (spec: SafetensorsTensorSpec) => Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  metadata?: SafetensorsMetadata,
  options: WriteStreamingOptions = {},
): Promise<number> {
  const { header, order } = planHeader(specs, metadata, path);
  async function* checked(spec: SafetensorsTensorSpec): AsyncIterable<Uint8Array> {
    const want = numel(spec.dims) * BYTES_PER_ELEMENT[spec.dtype];
    let got = 0;
    for await (const chunk of produce(spec)) {
      got += chunk.byteLength;
      if (got > want) break;
      yield chunk;
    }
    if (got !== want) throw new Error(`${path}: tensor '${spec.name}': produced ${got} bytes, its dtype and dims need ${want}`);
  }
  return writeFileStreaming(path, header, order.map(checked), options);
}

async function writeFileStreaming(
  path: string,
  header: Uint8Array,
  tensors: Iterable<Iterable<Uint8Array> | AsyncIterable<Uint8Array>>,
  options: WriteStreamingOptions,
): Promise<number> {
  assertLittleEndian();
  const atomic = options.atomic ?? true;
  const target = atomic ? `${path}.tmp-${process.pid}` : path;
  const fh = await open(target, 'w');
  let pos = 0;
  try {
    const write = async (b: Uint8Array): Promise<void> => {
      options.onWrite?.(b);
      for (let off = 0; off < b.length; off += IO_CHUNK) {
        const chunk = b.subarray(off, Math.min(b.length, off + IO_CHUNK));
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, pos);
          done += bytesWritten;
          pos += bytesWritten;
        }
      }
    };
    await write(header);
    for (const chunks of tensors) for await (const b of chunks) await write(b);
    if (options.fsync ?? true) await fh.sync();
  } catch (e) {
    await fh.close();
    if (atomic) await rm(target, { force: true });
    throw e;
  }
  await fh.close();
  if (atomic) await rename(target, path);
  return pos;
}

/** Header-only summary of a file (for `inspect` tools): no tensor data is read. */
export async function inspectSafetensors(path: string): Promise<SafetensorsHeader> {
  const f = await openSafetensors(path);
  try {
    return f.header;
  } finally {
    await f.close();
  }
}
