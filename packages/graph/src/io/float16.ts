import type { DType, TypedArray } from '../dtype.js';
import { allocTyped, type TensorData } from '../tensor_data.js';

// 16-bit floats are stored as raw bits (Uint16Array). These helpers convert
// them to and from float32 with the same rounding as torch / numpy
// (round to nearest, ties to even; NaN stays NaN, overflow goes to ±Inf).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 bits → float32 value (exact: bf16 is the top half of an f32). */
export function bf16BitsToFloat(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** float32 value → bfloat16 bits, round to nearest even (torch `.to(torch.bfloat16)`). */
export function floatToBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x007fffff) !== 0) {
    return ((x >>> 16) | 0x0040) & 0xffff; // quiet NaN, keep sign
  }
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** IEEE half bits → float32 value (exact). */
export function f16BitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 value → IEEE half bits, round to nearest even (numpy `astype(float16)`). */
export function floatToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the full mantissa (with implicit 1) right.
    if (e < -10) return sign; // too small even for a subnormal → ±0
    mant |= 0x800000;
    const shift = 14 - e; // 24-bit mantissa → 10-bit subnormal
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let r = mant >>> shift;
    if (rem > half || (rem === half && (r & 1) === 1)) r += 1;
    return sign | r; // r may carry into the exponent field: still correct
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r += 1; // may carry to Inf: correct
  return sign | r;
}

/**
 * 16-bit float bits → float32 values, `out[i] = value(src[i])`. `src` may be
 * a separate array or lie in the upper half of `out`'s own bytes (bytes
 * [2n, 4n) of an n-element `out`): the forward loop reads element i before
 * its write reaches any element not yet read, so a loader can read a file's
 * 16-bit tensor straight into its f32 buffer and widen it there, with no
 * second buffer.
 */
export function widen16ToFloat32(dtype: 'bfloat16' | 'float16', src: Uint16Array, out: Float32Array): void {
  const n = src.length;
  if (out.length !== n) throw new Error(`widen16ToFloat32: ${n} source elements, ${out.length} output elements`);
  if (dtype === 'bfloat16') {
    // bf16 is the top half of an f32: one shift per element. Int32 view: `s << 16`
    // is already an int32, so the store needs no conversion.
    const o = new Int32Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) o[i] = src[i]! << 16;
  } else {
    for (let i = 0; i < n; i++) out[i] = f16BitsToFloat(src[i]!);
  }
}

/** Any tensor → Float32Array of its values (bf16/f16 decoded, ints converted, a copy for float32). */
export function toFloat32(t: TensorData): Float32Array {
  const src = t.data;
  const n = src.length;
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'float32':
      out.set(src as Float32Array);
      return out;
    case 'bfloat16':
    case 'float16':
      widen16ToFloat32(t.dtype, src as Uint16Array, out);
      return out;
    case 'int64': {
      const s = src as BigInt64Array;
      for (let i = 0; i < n; i++) out[i] = Number(s[i]!);
      return out;
    }
    default:
      for (let i = 0; i < n; i++) out[i] = Number(src[i]!);
      return out;
  }
}

function readNumber(t: TensorData, i: number): number {
  switch (t.dtype) {
    case 'bfloat16':
      return bf16BitsToFloat((t.data as Uint16Array)[i]!);
    case 'float16':
      return f16BitsToFloat((t.data as Uint16Array)[i]!);
    case 'int64':
      return Number((t.data as BigInt64Array)[i]!);
    default:
      return Number(t.data[i]!);
  }
}

/**
 * Convert a tensor to another dtype. Floats → 16-bit floats round to nearest
 * even; floats → integers truncate toward zero (torch `.to(int)`); anything
 * → bool is `x != 0`. Returns a new tensor (a copy even when dtypes match).
 */
export function castTensorData(t: TensorData, dtype: DType): TensorData {
  const n = t.data.length;
  const dims = [...t.dims];
  if (t.dtype === dtype) {
    const data = allocTyped(dtype, n);
    (data as Uint8Array).set(t.data as Uint8Array);
    return { dtype, dims, data };
  }
  if (dtype === 'float32') return { dtype, dims, data: toFloat32(t) };
  const out: TypedArray = allocTyped(dtype, n);
  switch (dtype) {
    case 'bfloat16': {
      const o = out as Uint16Array;
      if (t.dtype === 'float32') {
        // Hot path (fp32 master weights → bf16 files): floatToBf16Bits inlined on the raw bits.
        const u = new Uint32Array(t.data.buffer, t.data.byteOffset, n);
        for (let i = 0; i < n; i++) {
          const x = u[i]!;
          o[i] = (x & 0x7f800000) === 0x7f800000 && (x & 0x007fffff) !== 0 ? (x >>> 16) | 0x0040 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
        }
      } else {
        for (let i = 0; i < n; i++) o[i] = floatToBf16Bits(readNumber(t, i));
      }
      break;
    }
    case 'float16': {
      const o = out as Uint16Array;
      for (let i = 0; i < n; i++) o[i] = floatToF16Bits(readNumber(t, i));
      break;
    }
    case 'float64': {
      const o = out as Float64Array;
      if (t.dtype === 'int64') {
        const s = t.data as BigInt64Array;
        for (let i = 0; i < n; i++) o[i] = Number(s[i]!);
      } else {
        for (let i = 0; i < n; i++) o[i] = readNumber(t, i);
      }
      break;
    }
    case 'int64': {
      const o = out as BigInt64Array;
      for (let i = 0; i < n; i++) {
        const v = readNumber(t, i);
        if (!Number.isFinite(v)) throw new Error(`castTensorData: element ${i} is ${v}, cannot convert to int64`);
        o[i] = BigInt(Math.trunc(v));
      }
      break;
    }
    case 'bool': {
      const o = out as Uint8Array;
      for (let i = 0; i < n; i++) o[i] = readNumber(t, i) !== 0 ? 1 : 0;
      break;
    }
    default: {
      // int32 / int8 / uint8: typed-array assignment wraps like a C cast.
      for (let i = 0; i < n; i++) (out as Int32Array)[i] = Math.trunc(readNumber(t, i));
    }
  }
  return { dtype, dims, data: out };
}
