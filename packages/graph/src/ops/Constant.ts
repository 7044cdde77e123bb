import type { Graph, Tensor } from '../builder.js';
import { assertDType, type DType } from '../dtype.js';
import { numel } from '../shape.js';
import { allocTyped, type TensorData } from '../tensor_data.js';
import type { OpDef } from './op.js';
import { floatToBf16Bits, floatToF16Bits } from '../io/float16.js';

/** A Constant node holding `value` (a `value` tensor attribute). */
export function constant(g: Graph, value: TensorData, name = 'Constant'): Tensor {
  assertDType(value.dtype, `Constant '${name}'`);
  if (value.data.length !== numel(value.dims)) {
    throw new Error(`Constant '${name}': ${value.data.length} elements for dims [${value.dims.join(', ')}]`);
  }
  return g.node('Constant', [], { value }, [{ dtype: value.dtype, shape: [...value.dims] }], { name })[0]!;
}

// Small constants are shared per graph: reshape targets, axes and scalars
// would otherwise repeat thousands of times in a 28-layer graph.
const cache = new WeakMap<Graph, Map<string, Tensor>>();

function cached(g: Graph, key: string, make: () => Tensor): Tensor {
  let m = cache.get(g);
  if (!m) cache.set(g, (m = new Map()));
  let t = m.get(key);
  if (!t) m.set(key, (t = make()));
  return t;
}

/** A rank-0 constant of any dtype (16-bit floats rounded to nearest even). */
export function scalar(g: Graph, value: number, dtype: DType = 'float32'): Tensor {
  assertDType(dtype, 'scalar');
  if (!isFloatLike(dtype) && !Number.isInteger(value)) throw new Error(`scalar: ${value} is not representable as ${dtype}`);
  const key = `s:${dtype}:${Object.is(value, -0) ? '-0' : String(value)}`;
  return cached(g, key, () => constant(g, { dtype, dims: [], data: fill(dtype, [value]) }, 'Const'));
}

/** A 1-D int64 constant (axes, shapes, split sizes, slice bounds). */
export function constInt64(g: Graph, values: readonly number[]): Tensor {
  for (const v of values) if (!Number.isInteger(v)) throw new Error(`constInt64: ${v} in [${values.join(', ')}] is not an integer`);
  return cached(g, `i64:${values.join(',')}`, () => constant(g, { dtype: 'int64', dims: [values.length], data: fill('int64', values) }, 'Const'));
}

/** A rank-0 int64 constant (Range bounds, Trilu k, CumSum axis). */
export function scalarInt64(g: Graph, value: number): Tensor {
  return scalar(g, value, 'int64');
}

/** The value of a tensor known at build time (Constant node or initializer), else undefined. */
export function constValue(t: Tensor): TensorData | undefined {
  if (t.producer?.opType === 'Constant') return t.producer.attrs.value as TensorData;
  if (!t.producer) return t.graph.initializers.get(t.name)?.value;
  return undefined;
}

/** constValue as JS numbers (BigInt converted). */
export function constNumbers(t: Tensor): number[] | undefined {
  const v = constValue(t);
  if (!v) return undefined;
  if (v.dtype === 'float16' || v.dtype === 'bfloat16') return undefined;
  return Array.from(v.data as ArrayLike<number | bigint>, (x) => Number(x));
}

function isFloatLike(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

function fill(dtype: DType, values: readonly number[]): TensorData['data'] {
  const out = allocTyped(dtype, values.length);
  values.forEach((v, i) => {
    if (dtype === 'int64') (out as BigInt64Array)[i] = BigInt(v);
    else if (dtype === 'float16') (out as Uint16Array)[i] = floatToF16Bits(v);
    else if (dtype === 'bfloat16') (out as Uint16Array)[i] = floatToBf16Bits(v);
    else if (dtype === 'bool') (out as Uint8Array)[i] = v ? 1 : 0;
    else (out as Float32Array)[i] = v;
  });
  return out;
}

export const ConstantOp: OpDef = {
  opType: 'Constant',
  grad: () => [],
};
