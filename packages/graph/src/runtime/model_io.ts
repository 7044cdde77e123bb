// Model inputs/outputs as declared in the ModelProto, and the bfloat16
// boundary rewrite: onnxruntime-node cannot create or return bf16 tensors
// (its JS type table has no bfloat16), so bf16 graph inputs become float32
// inputs followed by Cast(to=bf16), and bf16 outputs get Cast(to=float32).
// Both casts are exact; convert.ts does the matching host conversion.
import { dtypeFromOnnx, ONNX_DTYPE, type DType } from '../dtype.js';
import type { Dim } from '../shape.js';
import type { onnx as P } from 'onnx-proto';
import { onnx, type ModelProto } from '../serialize.js';

export interface IOInfo {
  readonly name: string;
  readonly dtype: DType;
  /** Static dims as numbers, symbolic ones by name, unknown ones as '?'. */
  readonly shape: readonly Dim[];
}

type ValueInfo = P.IValueInfoProto;
type NodeProto = P.INodeProto;

/** int64 fields decode as Long when protobufjs finds the 'long' package. */
export function toNumber(x: number | { toNumber(): number }): number {
  return typeof x === 'number' ? x : x.toNumber();
}

function ioInfo(v: ValueInfo, where: string): IOInfo {
  const tt = v.type?.tensorType;
  if (!tt || tt.elemType == null) throw new Error(`${where} '${v.name}' is not a tensor; only tensor inputs/outputs are supported`);
  const dims = tt.shape?.dim ?? [];
  return {
    name: v.name ?? '',
    dtype: dtypeFromOnnx(tt.elemType),
    shape: dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? toNumber(d.dimValue) : '?')),
  };
}

/** The graph with every repeated field present, as decode and create leave them. */
function graphOf(proto: ModelProto) {
  const g = proto.graph;
  if (!g) throw new Error('model has no graph');
  g.node ??= [];
  g.input ??= [];
  g.output ??= [];
  g.initializer ??= [];
  return g as P.IGraphProto & { node: NodeProto[]; input: ValueInfo[]; output: ValueInfo[]; initializer: P.ITensorProto[] };
}

export function modelIO(proto: ModelProto): { inputs: IOInfo[]; outputs: IOInfo[] } {
  const g = graphOf(proto);
  const inits = new Set(g.initializer.map((t) => t.name));
  return {
    // IR < 4 models may list initializers as inputs too; they need no feed.
    inputs: g.input.filter((v) => !inits.has(v.name)).map((v) => ioInfo(v, 'input')),
    outputs: g.output.map((v) => ioInfo(v, 'output')),
  };
}

function setElemType(v: ValueInfo, code: number): void {
  v.type!.tensorType!.elemType = code;
}

/** Rewrite bf16 inputs/outputs to float32 carriers in place; returns whether anything changed. */
export function rewriteBf16Boundary(proto: ModelProto): boolean {
  const g = graphOf(proto);
  const BF16 = ONNX_DTYPE.bfloat16;
  const F32 = ONNX_DTYPE.float32;
  const inits = new Set(g.initializer.map((t) => t.name));
  const taken = new Set<string>();
  for (const n of g.node) for (const o of n.output ?? []) taken.add(o);
  for (const v of [...g.input, ...g.output]) taken.add(v.name ?? '');
  const fresh = (base: string) => {
    let s = base;
    for (let i = 1; taken.has(s); i++) s = `${base}_${i}`;
    taken.add(s);
    return s;
  };
  const castIn: NodeProto[] = [];
  const castOut: NodeProto[] = [];
  const renameUse = new Map<string, string>();
  for (const v of g.input) {
    if (!v.name || inits.has(v.name) || v.type?.tensorType?.elemType !== BF16) continue;
    const inner = fresh(`${v.name}/bf16`);
    renameUse.set(v.name, inner);
    setElemType(v, F32);
    castIn.push(
      onnx.NodeProto.create({
        name: fresh(`${v.name}/CastToBf16`),
        opType: 'Cast',
        input: [v.name],
        output: [inner],
        attribute: [onnx.AttributeProto.create({ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: BF16 })],
      }),
    );
  }
  const renameDef = new Map<string, string>();
  const bf16Inputs = new Set(renameUse.keys());
  for (const v of g.output) {
    if (!v.name || v.type?.tensorType?.elemType !== BF16) continue;
    setElemType(v, F32);
    // A bf16 input returned as an output is now the float32 input itself.
    if (bf16Inputs.has(v.name)) continue;
    const inner = fresh(`${v.name}/bf16`);
    renameDef.set(v.name, inner);
    castOut.push(
      onnx.NodeProto.create({
        name: fresh(`${v.name}/CastToFloat`),
        opType: 'Cast',
        input: [inner],
        output: [v.name],
        attribute: [onnx.AttributeProto.create({ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: F32 })],
      }),
    );
  }
  for (const t of g.initializer) t.name = renameDef.get(t.name ?? '') ?? t.name;
  if (castIn.length === 0 && castOut.length === 0) return false;
  for (const n of g.node) {
    n.input = (n.input ?? []).map((x) => renameUse.get(x) ?? renameDef.get(x) ?? x);
    n.output = (n.output ?? []).map((x) => renameDef.get(x) ?? x);
  }
  g.node = [...castIn, ...g.node, ...castOut];
  return true;
}
