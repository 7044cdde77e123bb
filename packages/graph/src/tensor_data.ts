import { BYTES_PER_ELEMENT, type DType, type TypedArray } from './dtype.js';
import { numel } from './shape.js';

/**
 * A concrete tensor on the host: what initializers hold and what sessions
 * return. 16-bit floats are raw bits in a Uint16Array; bool is Uint8Array.
 */
export interface TensorData {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TypedArray;
}

export function tensorData(dtype: DType, dims: readonly number[], data: TypedArray): TensorData {
  const n = numel(dims);
  if (data.length !== n) {
    throw new Error(`tensorData(${dtype}): ${data.length} elements for dims [${dims.join(', ')}] (expected ${n})`);
  }
  return { dtype, dims: [...dims], data };
}

export function allocTyped(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
  }
}

export function zeros(dtype: DType, dims: readonly number[]): TensorData {
  return { dtype, dims: [...dims], data: allocTyped(dtype, numel(dims)) };
}

export function byteLength(t: TensorData): number {
  return numel(t.dims) * BYTES_PER_ELEMENT[t.dtype];
}
