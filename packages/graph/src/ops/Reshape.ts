import type { Tensor } from '../builder.js';
import { formatShape, type Dim, type Shape } from '../shape.js';
import { constInt64 } from './Constant.js';
import { shapeTensor } from './checks.js';
import type { OpDef } from './op.js';

/**
 * ONNX Reshape with constant dims: 0 copies the input dim at that index,
 * -1 is inferred. Symbolic dims propagate when they cancel (e.g. [B,S,H*D]
 * -> [0,0,H,D]); otherwise the inferred dim gets a fresh symbol.
 */
export function reshape(x: Tensor, dims: readonly number[]): Tensor {
  const where = `Reshape(${x.name} ${formatShape(x.shape)} -> [${dims.join(', ')}])`;
  const out: (Dim | null)[] = dims.map((d, i) => {
    if (!Number.isInteger(d) || d < -1) throw new Error(`${where}: invalid dim ${d} at index ${i}`);
    if (d === 0) {
      if (i >= x.rank) throw new Error(`${where}: 0 at index ${i} copies an input dim, but the input has rank ${x.rank}`);
      return x.shape[i]!;
    }
    return d === -1 ? null : d;
  });
  const holes = out.filter((d) => d === null).length;
  if (holes > 1) throw new Error(`${where}: at most one -1 allowed`);
  const inCount = countOf(x.shape);
  const known = countOf(out.filter((d): d is Dim => d !== null));
  // Cancel symbols that appear on both sides; what is left must be explained by the -1.
  const leftIn = [...inCount.syms];
  const leftOut: string[] = [];
  for (const s of known.syms) {
    const k = leftIn.indexOf(s);
    if (k >= 0) leftIn.splice(k, 1);
    else leftOut.push(s);
  }
  if (holes === 1) {
    let inferred: Dim;
    if (leftOut.length === 0 && leftIn.length === 0) {
      if (known.n === 0 || inCount.n % known.n !== 0) throw new Error(`${where}: ${inCount.n} elements cannot be split into known dims of product ${known.n}`);
      inferred = inCount.n / known.n;
    } else if (leftOut.length === 0 && leftIn.length === 1 && inCount.n === known.n) inferred = leftIn[0]!;
    else inferred = x.graph.freshDim('reshape');
    out[out.indexOf(null)] = inferred;
  } else if (leftOut.length === 0 && leftIn.length === 0 && inCount.n !== known.n) {
    throw new Error(`${where}: element count differs (${inCount.n} vs ${known.n})`);
  }
  return x.graph.node('Reshape', [x, constInt64(x.graph, dims)], {}, [{ dtype: x.dtype, shape: out as Dim[] }])[0]!;
}

/** Reshape to a runtime shape tensor (1-D int64); the caller states the resulting shape. */
export function reshapeTo(x: Tensor, shape: Tensor, outShape: Shape): Tensor {
  const where = `Reshape(${x.name}, ${shape.name})`;
  if (shape.dtype !== 'int64' || shape.rank !== 1) throw new Error(`${where}: shape tensor must be 1-D int64, got ${shape.dtype}${formatShape(shape.shape)}`);
  if (typeof shape.shape[0] === 'number' && shape.shape[0] !== outShape.length) {
    throw new Error(`${where}: shape tensor has ${shape.shape[0]} entries but outShape ${formatShape(outShape)} has rank ${outShape.length}`);
  }
  return x.graph.node('Reshape', [x, shape], {}, [{ dtype: x.dtype, shape: outShape }])[0]!;
}

function countOf(s: readonly Dim[]): { n: number; syms: string[] } {
  let n = 1;
  const syms: string[] = [];
  for (const d of s) {
    if (typeof d === 'number') n *= d;
    else syms.push(d);
  }
  return { n, syms };
}

export const ReshapeOp: OpDef = {
  opType: 'Reshape',
  nonDifferentiable: [1],
  grad: ({ inputs, dys }) => {
    const x = inputs[0]!;
    return dys[0] ? [reshapeTo(dys[0], shapeTensor(x), x.shape), null] : [];
  },
};
