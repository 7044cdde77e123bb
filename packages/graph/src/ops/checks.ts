import type { Graph, Tensor } from '../builder.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import { formatShape, isStatic, normAxis, type Dim, type Shape } from '../shape.js';
import { constInt64, scalar } from './Constant.js';
import { expand } from './Expand.js';
import { shapeOf } from './Shape.js';

/** A tensor, or a JS number that becomes a scalar constant of the other operand's dtype. */
export type TensorLike = Tensor | number;

/** All inputs share one dtype; returns it. */
export function sameDType(op: string, ...ts: Tensor[]): DType {
  const d = ts[0]!.dtype;
  for (const t of ts) {
    if (t.dtype !== d) {
      throw new Error(`${op}: dtype mismatch: ${ts.map((x) => `${x.name}:${x.dtype}`).join(', ')}`);
    }
  }
  return d;
}

export function requireFloat(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new Error(`${op}: '${t.name}' must be a float tensor, got ${t.dtype}`);
}

export function requireDType(op: string, t: Tensor, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) throw new Error(`${op}: '${t.name}' must be ${allowed.join(' or ')}, got ${t.dtype}`);
}

export function requireRank(op: string, t: Tensor, rank: number): void {
  if (t.rank !== rank) throw new Error(`${op}: '${t.name}' must have rank ${rank}, got ${t.rank} ${formatShape(t.shape)}`);
}

/** Turn a (Tensor | number) pair into two tensors; numbers take the tensor's dtype. */
export function toTensors(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${op}: at least one operand must be a Tensor, got two numbers (${a}, ${b})`);
  if (typeof a === 'number') {
    const tb = b as Tensor;
    return [scalar(tb.graph, a, tb.dtype), tb];
  }
  if (typeof b === 'number') return [a, scalar(a.graph, b, a.dtype)];
  return [a, b];
}

/** Normalize and validate a list of axes (negative allowed, no duplicates). */
export function normAxes(op: string, axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => normAxis(a, rank, op));
  if (new Set(out).size !== out.length) throw new Error(`${op}: repeated axis in [${axes.join(', ')}]`);
  return out;
}

/** The runtime shape of `x` as a 1-D int64 tensor: a constant when static, else a Shape node. */
export function shapeTensor(x: Tensor): Tensor {
  return isStatic(x.shape) ? constInt64(x.graph, x.shape) : shapeOf(x);
}

/** A zero tensor with x's dtype and shape (Expand of a scalar, so no large constant). */
export function zerosLike(x: Tensor): Tensor {
  return expand(scalar(x.graph, 0, x.dtype), shapeTensor(x), x.shape);
}

/** Product of dims when it can be written down: a number, one symbol, or a fresh symbol. */
export function dimProduct(g: Graph, dims: readonly Dim[], hint: string): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else syms.push(d);
  }
  if (syms.length === 0) return n;
  if (n === 0) return 0;
  if (syms.length === 1 && n === 1) return syms[0]!;
  return g.freshDim(hint);
}

export function describeShape(s: Shape): string {
  return formatShape(s);
}
