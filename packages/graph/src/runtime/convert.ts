// TensorData <-> ort.Tensor. onnxruntime-node has no bfloat16 tensor type,
// so bf16 crosses the JS boundary as float32 (exact both ways: every bf16 is
// a float32 whose low 16 bits are zero) and the session adds Casts inside
// the model (rewriteBf16Boundary in model_io.ts).
import type { DType, TypedArray } from '../dtype.js';
import { numel } from '../shape.js';
import type { TensorData } from '../tensor_data.js';
import { castTensorData, toFloat32 } from '../io/float16.js';
import { ort, type OrtTensor, type OrtTensorType } from './ort.js';

/** bfloat16 raw bits → float32 values (exact). */
export function bf16ToFloat32(bits: Uint16Array): Float32Array {
  return toFloat32({ dtype: 'bfloat16', dims: [bits.length], data: bits });
}

/** float32 values → bfloat16 raw bits, round to nearest even (NaN kept quiet). */
export function float32ToBf16(f: Float32Array): Uint16Array {
  return castTensorData({ dtype: 'float32', dims: [f.length], data: f }, 'bfloat16').data as Uint16Array;
}

/** The ORT element type a dtype travels as across the JS boundary. */
export function ortTypeOf(dtype: DType): OrtTensorType {
  return dtype === 'bfloat16' ? 'float32' : dtype;
}

/** The host typed array each dtype lives in (16-bit floats as their raw bits). */
export const HOST_ARRAY: Record<DType, new (n: number) => TypedArray> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** Check that `data` is the host array type for `dtype`, naming `where` otherwise. */
export function checkHostArray(t: TensorData, where: string): void {
  const want = HOST_ARRAY[t.dtype];
  if (!(t.data instanceof want)) {
    throw new Error(`${where}: ${t.dtype} data must be a ${want.name}, got ${t.data.constructor.name}`);
  }
  const n = numel(t.dims);
  if (t.data.length !== n) {
    throw new Error(`${where}: ${t.data.length} elements for dims [${t.dims.join(', ')}] (expected ${n})`);
  }
}

export function toOrtTensor(t: TensorData): OrtTensor {
  const dims = [...t.dims];
  if (t.dtype === 'bfloat16') return new ort.Tensor('float32', bf16ToFloat32(t.data as Uint16Array), dims);
  return new ort.Tensor(t.dtype, t.data as never, dims);
}

/** ort.Tensor (on the CPU) → TensorData of `dtype` (the graph's declared type). */
export function fromOrtTensor(t: OrtTensor, dtype: DType, where: string): TensorData {
  if (t.location !== 'cpu' && t.location !== 'cpu-pinned') {
    throw new Error(`${where}: tensor lives on '${t.location}'; download it first (await tensor.getData())`);
  }
  const dims = [...t.dims];
  if (dtype === 'bfloat16') {
    if (t.type !== 'float32') throw new Error(`${where}: expected float32 carrier for bfloat16, got ${t.type}`);
    return { dtype, dims, data: float32ToBf16(t.data as Float32Array) };
  }
  if (t.type !== dtype) throw new Error(`${where}: ORT returned ${t.type}, graph declares ${dtype}`);
  let data = t.data as TypedArray;
  // Where Float16Array exists ORT hands float16 back as one; we keep raw bits.
  if (dtype === 'float16' && !(data instanceof Uint16Array)) {
    const v = data as unknown as ArrayBufferView;
    data = new Uint16Array(v.buffer, v.byteOffset, v.byteLength / 2);
  }
  return { dtype, dims, data };
}
