// Graph → ONNX ModelProto through onnx-proto's generated protobufjs classes
// (no hand-rolled protobuf). Output bytes depend only on the graph: nodes,
// inputs, outputs and initializers are written in build order, attributes
// sorted by name, and nothing time- or environment-dependent is recorded.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { AttrValue, Graph, Node, Tensor } from './builder.js';
import { ONNX_DTYPE } from './dtype.js';
import { byteLength, type TensorData } from './tensor_data.js';

export const onnx = onnxProto.onnx;
export type ModelProto = InstanceType<typeof onnxProto.onnx.ModelProto>;
export type TensorProto = InstanceType<typeof onnxProto.onnx.TensorProto>;

/** ONNX IR version written into every model (ONNX 1.16+, ORT >= 1.18). */
export const IR_VERSION = 10;
/** Protobuf messages cannot exceed 2 GiB; ORT refuses larger model files. */
const PROTO_LIMIT = 2 ** 31 - 1;

export interface ExternalDataOptions {
  /** File name of the side file, relative to the model file (stored as `location`). */
  readonly path: string;
  /** Initializers of at least this many bytes go to the side file (default 1024). */
  readonly thresholdBytes?: number;
}

export interface SerializeOptions {
  /** Store large initializers in a side file instead of inside the protobuf. */
  readonly externalData?: ExternalDataOptions;
  /** Recorded as producer_name (default 'vlreward'). */
  readonly producerName?: string;
  /** Extra metadata_props, written sorted by key. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Keep the Identity nodes that rename graph outputs (default false: producers write the output name; see outputAliases). */
  readonly keepOutputIdentities?: boolean;
}

/** The side file's content: tensors at their recorded offsets, zero padding between. */
export interface ExternalDataBlob {
  readonly path: string;
  readonly byteLength: number;
  readonly chunks: readonly { readonly offset: number; readonly bytes: Uint8Array }[];
}

export interface SerializedModel {
  readonly model: Uint8Array;
  readonly externalData: ExternalDataBlob | null;
}

/** Tensors of this size or more start on a page boundary so ORT can mmap them. */
const PAGE_ALIGN_FROM = 1 << 20;

function bytesOf(t: TensorData): Uint8Array {
  // Typed arrays are little-endian on every platform ORT ships for, which is
  // what raw_data requires.
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

export function tensorProto(name: string, value: TensorData): TensorProto {
  return onnx.TensorProto.create({
    name,
    dims: [...value.dims],
    dataType: ONNX_DTYPE[value.dtype],
    rawData: bytesOf(value),
  });
}

function valueInfo(name: string, t: Tensor) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: ONNX_DTYPE[t.dtype],
        shape: onnx.TensorShapeProto.create({
          dim: t.shape.map((d) =>
            typeof d === 'number'
              ? onnx.TensorShapeProto.Dimension.create({ dimValue: d })
              : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

const AT = onnx.AttributeProto.AttributeType;

function isTensorData(v: AttrValue): v is TensorData {
  return typeof v === 'object' && !Array.isArray(v) && 'dtype' in v && 'data' in v;
}

/**
 * AttrValue → AttributeProto. A JS number is INT when it is an integer and
 * FLOAT otherwise; `{float}` / `{floats}` force FLOAT(S) for values such as
 * epsilon = 1 that happen to be integral.
 */
export function attributeProto(name: string, v: AttrValue, where: string) {
  const A = onnx.AttributeProto;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${where}: attribute '${name}' is ${v}; wrap non-finite floats as {float: x}`);
    return Number.isInteger(v) ? A.create({ name, type: AT.INT, i: v }) : A.create({ name, type: AT.FLOAT, f: v });
  }
  if (typeof v === 'string') return A.create({ name, type: AT.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) {
    if (v.every((x): x is string => typeof x === 'string') && v.length > 0) {
      return A.create({ name, type: AT.STRINGS, strings: v.map((s) => new TextEncoder().encode(s)) });
    }
    const nums = v as number[];
    if (nums.some((x) => typeof x !== 'number')) throw new Error(`${where}: attribute '${name}' mixes numbers and strings`);
    return nums.every((x) => Number.isInteger(x))
      ? A.create({ name, type: AT.INTS, ints: [...nums] })
      : A.create({ name, type: AT.FLOATS, floats: [...nums] });
  }
  if (isTensorData(v)) return A.create({ name, type: AT.TENSOR, t: tensorProto('', v) });
  if ('floats' in v) return A.create({ name, type: AT.FLOATS, floats: [...v.floats] });
  if ('float' in v) return A.create({ name, type: AT.FLOAT, f: v.float });
  throw new Error(`${where}: attribute '${name}' has an unsupported value ${JSON.stringify(v)}`);
}

/**
 * Graph outputs added under a new name are Identity nodes in the builder. At
 * run time each one is a full copy, which for a fused train step means
 * copying every parameter and moment each step. Where the Identity's input
 * is computed by a node (not a graph input or initializer) and is not itself
 * a graph output, the producer writes the output name directly instead.
 */
function outputAliases(g: Graph): { rename: Map<string, string>; dropped: Set<Node> } {
  const rename = new Map<string, string>();
  const dropped = new Set<Node>();
  const outputNames = new Set(g.outputs.map((o) => o.name));
  for (const { tensor } of g.outputs) {
    const n = tensor.producer;
    if (!n || n.opType !== 'Identity' || n.domain !== '' || n.inputs.length !== 1) continue;
    const src = n.inputs[0];
    if (!src || !src.producer || outputNames.has(src.name) || rename.has(src.name)) continue;
    rename.set(src.name, tensor.name);
    dropped.add(n);
  }
  return { rename, dropped };
}

function nodeProto(n: Node, rename: ReadonlyMap<string, string> = new Map()) {
  const name = (t: Tensor) => rename.get(t.name) ?? t.name;
  const where = `node '${n.name}' (${n.opType})`;
  const attrs = Object.keys(n.attrs)
    .sort()
    .flatMap((k) => {
      const v = n.attrs[k];
      return v === undefined ? [] : [attributeProto(k, v, where)];
    });
  return onnx.NodeProto.create({
    name: n.name,
    opType: n.opType,
    // The default domain is written as absent so bytes match onnx's Python helper.
    ...(n.domain ? { domain: n.domain } : {}),
    input: n.inputs.map((t) => (t ? name(t) : '')),
    output: n.outputs.map(name),
    attribute: attrs,
  });
}

function opsetImports(g: Graph) {
  const domains = new Set<string>();
  for (const n of g.nodes) if (n.domain) domains.add(n.domain);
  return [
    onnx.OperatorSetIdProto.create({ domain: '', version: g.opset }),
    // Contrib domains (com.microsoft) are versioned 1 in ORT.
    ...[...domains].sort().map((domain) => onnx.OperatorSetIdProto.create({ domain, version: 1 })),
  ];
}

/**
 * Build the ModelProto and, with `externalData`, the side-file layout. The
 * returned blob references the initializers' own buffers (no copy).
 */
export function toModelProto(g: Graph, opts: SerializeOptions = {}): { proto: ModelProto; externalData: ExternalDataBlob | null } {
  const ext = opts.externalData;
  const threshold = ext?.thresholdBytes ?? 1024;
  const chunks: { offset: number; bytes: Uint8Array }[] = [];
  let fileLen = 0;
  const initializers: TensorProto[] = [];
  for (const [name, { value }] of g.initializers) {
    const n = byteLength(value);
    if (value.data.byteLength !== n) {
      throw new Error(`initializer '${name}': ${value.data.byteLength} bytes of data for ${value.dtype}[${value.dims.join(', ')}] (expected ${n})`);
    }
    if (ext && n >= threshold) {
      const align = n >= PAGE_ALIGN_FROM ? 4096 : 64;
      const offset = Math.ceil(fileLen / align) * align;
      chunks.push({ offset, bytes: bytesOf(value) });
      fileLen = offset + n;
      initializers.push(
        onnx.TensorProto.create({
          name,
          dims: [...value.dims],
          dataType: ONNX_DTYPE[value.dtype],
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            onnx.StringStringEntryProto.create({ key: 'location', value: ext.path }),
            onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
            onnx.StringStringEntryProto.create({ key: 'length', value: String(n) }),
          ],
        }),
      );
    } else {
      initializers.push(tensorProto(name, value));
    }
  }
  const graph = onnx.GraphProto.create({
    name: g.name,
    node: opts.keepOutputIdentities
      ? g.nodes.map((n) => nodeProto(n))
      : (() => {
          const { rename, dropped } = outputAliases(g);
          return g.nodes.filter((n) => !dropped.has(n)).map((n) => nodeProto(n, rename));
        })(),
    initializer: initializers,
    input: g.inputs.map((t) => valueInfo(t.name, t)),
    output: g.outputs.map((o) => valueInfo(o.name, o.tensor)),
  });
  const metadata = Object.entries(opts.metadata ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: opts.producerName ?? 'vlreward',
    producerVersion: '0.1.0',
    opsetImport: opsetImports(g),
    graph,
    metadataProps: metadata,
  });
  return { proto, externalData: ext ? { path: ext.path, byteLength: fileLen, chunks } : null };
}

export function encodeModel(proto: ModelProto): Uint8Array {
  // A quick upper bound: raw initializer bytes dominate any large model.
  let raw = 0;
  for (const t of proto.graph?.initializer ?? []) raw += t.rawData?.byteLength ?? 0;
  if (raw > PROTO_LIMIT) {
    throw new Error(
      `model '${proto.graph?.name}': ${(raw / 2 ** 30).toFixed(2)} GiB of inline initializers exceeds the 2 GiB protobuf limit; ` +
        `serialize with {externalData: {path: 'weights.bin'}} (or saveModel) to store them in a side file`,
    );
  }
  return onnx.ModelProto.encode(proto).finish();
}

export function decodeModel(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** Model bytes plus, with `externalData`, the side file's layout (not yet written). */
export function serializeModel(g: Graph, opts: SerializeOptions = {}): SerializedModel {
  const { proto, externalData } = toModelProto(g, opts);
  return { model: encodeModel(proto), externalData };
}

/**
 * Graph → ModelProto bytes. With `externalData` the returned bytes reference
 * the side file, which only `saveModel` / `writeExternalData` write.
 */
export function serialize(g: Graph, opts: SerializeOptions = {}): Uint8Array {
  return serializeModel(g, opts).model;
}

/** The side file as one buffer (for in-memory sessions and small models). */
export function externalDataBytes(blob: ExternalDataBlob): Uint8Array {
  const out = new Uint8Array(blob.byteLength);
  for (const c of blob.chunks) out.set(c.bytes, c.offset);
  return out;
}

/** Write the side file tensor by tensor, so nothing the size of the model is ever concatenated. */
export function writeExternalData(blob: ExternalDataBlob, file: string): void {
  const fd = openSync(file, 'w');
  try {
    let pos = 0;
    const zeros = new Uint8Array(4096);
    for (const c of blob.chunks) {
      while (pos < c.offset) pos += writeSync(fd, zeros, 0, Math.min(zeros.length, c.offset - pos), pos);
      let done = 0;
      // writeSync may write less than asked for multi-GiB buffers.
      while (done < c.bytes.byteLength) done += writeSync(fd, c.bytes, done, c.bytes.byteLength - done, pos + done);
      pos += c.bytes.byteLength;
    }
  } finally {
    closeSync(fd);
  }
}

export interface SavedModel {
  readonly modelPath: string;
  readonly dataPath: string | null;
  readonly modelBytes: number;
  readonly dataBytes: number;
}

/**
 * Write `<dir>/<fileName>` and, when any initializer reaches the threshold,
 * its side file `<dir>/<externalData.path>` (default `<fileName>.data`).
 * Use this for models over 2 GiB; ORT resolves `location` next to the model.
 */
export function saveModel(
  g: Graph,
  dir: string,
  fileName = 'model.onnx',
  opts: SerializeOptions & { readonly inline?: boolean } = {},
): SavedModel {
  const externalData = opts.inline ? undefined : (opts.externalData ?? { path: `${fileName}.data` });
  const { model, externalData: blob } = serializeModel(g, { ...opts, ...(externalData ? { externalData } : {}) });
  mkdirSync(dir, { recursive: true });
  const modelPath = join(dir, fileName);
  let dataPath: string | null = null;
  if (blob && blob.chunks.length > 0) {
    dataPath = join(dir, blob.path);
    writeExternalData(blob, dataPath);
  }
  const fd = openSync(modelPath, 'w');
  try {
    writeSync(fd, model);
  } finally {
    closeSync(fd);
  }
  return { modelPath, dataPath, modelBytes: model.byteLength, dataBytes: blob?.byteLength ?? 0 };
}
