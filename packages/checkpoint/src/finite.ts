import type { TensorData } from '@vlreward/graph/io';

// Non-finite weights (NaN / ±Inf, e.g. after a diverged step or an fp16
// overflow) load without complaint and then poison every prediction. So a
// checkpoint holding one is refused on save and on load, naming the tensor and
// the first bad element. 16-bit floats are raw bits: an all-ones exponent is
// Inf (zero mantissa) or NaN.

export interface NonFiniteElement {
  /** Flat (row-major) index of the first non-finite element. */
  readonly index: number;
  readonly value: number;
}

function firstBadBits(bits: Uint16Array, expMask: number, fracMask: number): NonFiniteElement | undefined {
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    if ((b & expMask) === expMask) {
      const value = (b & fracMask) !== 0 ? NaN : b & 0x8000 ? -Infinity : Infinity;
      return { index: i, value };
    }
  }
  return undefined;
}

/** The first NaN / ±Inf element of a float tensor; undefined when all are finite (or the dtype is not a float). */
export function firstNonFinite(t: TensorData): NonFiniteElement | undefined {
  switch (t.dtype) {
    case 'float32':
    case 'float64': {
      const d = t.data as Float32Array | Float64Array;
      for (let i = 0; i < d.length; i++) {
        const x = d[i]!;
        // x - x is 0 for every finite x and NaN for NaN and ±Inf (one comparison per element).
        if (x - x !== 0) return { index: i, value: x };
      }
      return undefined;
    }
    case 'float16':
      return firstBadBits(t.data as Uint16Array, 0x7c00, 0x03ff);
    case 'bfloat16':
      return firstBadBits(t.data as Uint16Array, 0x7f80, 0x007f);
    default:
      return undefined;
  }
}

/** "tensor 'x' has NaN at flat index 12 (of 64)". */
export function describeNonFinite(tensor: string, t: TensorData, bad: NonFiniteElement): string {
  return `tensor '${tensor}' [${t.dims.join(', ')}] ${t.dtype} has ${bad.value} at flat index ${bad.index} (of ${t.data.length})`;
}

/** Thrown by saveCheckpoint for a NaN / Inf weight; nothing has been written when it is thrown. */
export class NonFiniteTensorError extends Error {
  override readonly name = 'NonFiniteTensorError';
  constructor(
    /** Where it was found (the checkpoint dir being written). */
    readonly where: string,
    /** The checkpoint file the tensor belongs to (e.g. adapter_model.safetensors). */
    readonly file: string,
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
    detail: string,
  ) {
    super(`${where}: ${file}: ${detail}; refusing to save non-finite weights (nothing was written, a previous checkpoint there is unchanged)`);
  }
}

/** Throw NonFiniteTensorError for the first tensor (in iteration order) holding a NaN / Inf. */
export function assertFiniteTensors(where: string, file: string, tensors: Iterable<readonly [string, TensorData]>): void {
  for (const [name, t] of tensors) {
    const bad = firstNonFinite(t);
    if (bad) throw new NonFiniteTensorError(where, file, name, bad.index, bad.value, describeNonFinite(name, t, bad));
  }
}
