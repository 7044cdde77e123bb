import type { Tensor } from '../builder.js';
import { formatShape, isStatic, numel, type Dim, type Shape } from '../shape.js';
import { add } from './Add.js';
import { normAxes } from './checks.js';
import { concat } from './Concat.js';
import { constInt64, constNumbers, constant } from './Constant.js';
import { max } from './Max.js';
import { min } from './Min.js';
import { less } from './Less.js';
import type { OpDef } from './op.js';
import { pad } from './Pad.js';
import { reshape } from './Reshape.js';
import { scatterND } from './ScatterND.js';
import { shapeOf } from './Shape.js';
import { sub } from './Sub.js';
import { where } from './Where.js';
import { zerosLike } from './checks.js';

/** Ends at or beyond this mean "to the end" (numpy x[a:]). */
export const SLICE_END = 2 ** 31 - 1;

/**
 * ONNX Slice. starts/ends are numbers (shape inferred exactly on static
 * dims) or 1-D int64 tensors (pass outShape, else sliced dims get fresh
 * symbols). `axes` defaults to 0..n-1, `steps` to 1.
 */
export function slice(
  x: Tensor,
  starts: readonly number[] | Tensor,
  ends: readonly number[] | Tensor,
  axes?: readonly number[],
  steps?: readonly number[],
  outShape?: Shape,
): Tensor {
  const where_ = `Slice(${x.name} ${formatShape(x.shape)})`;
  const g = x.graph;
  const n = axes?.length ?? (Array.isArray(starts) ? starts.length : (starts as Tensor).shape[0]);
  if (typeof n !== 'number') throw new Error(`${where_}: pass axes when starts is a tensor of unknown length`);
  const ax = normAxes(where_, axes ?? Array.from({ length: n }, (_, i) => i), x.rank);
  const st = steps ?? ax.map(() => 1);
  const check = (v: readonly number[] | Tensor, what: string) => {
    if (Array.isArray(v) && v.length !== n) throw new Error(`${where_}: ${what} has ${v.length} entries, axes has ${n}`);
    if (!Array.isArray(v) && ((v as Tensor).dtype !== 'int64' || (v as Tensor).rank !== 1)) throw new Error(`${where_}: ${what} must be 1-D int64, got ${(v as Tensor).toString()}`);
  };
  check(starts, 'starts');
  check(ends, 'ends');
  if (st.length !== n || st.some((s) => s === 0 || !Number.isInteger(s))) throw new Error(`${where_}: steps [${st.join(', ')}] must be ${n} non-zero integers`);
  let shape: Dim[];
  if (outShape) {
    if (outShape.length !== x.rank) throw new Error(`${where_}: outShape ${formatShape(outShape)} has the wrong rank`);
    shape = [...outShape];
  } else {
    shape = [...x.shape];
    ax.forEach((a, k) => {
      const d = x.shape[a]!;
      if (Array.isArray(starts) && Array.isArray(ends)) {
        const s = starts[k]!;
        const e = ends[k]!;
        if (typeof d === 'number') shape[a] = sliceLen(d, s, e, st[k]!);
        else if (!(s === 0 && e >= SLICE_END && st[k] === 1)) shape[a] = g.freshDim('slice');
      } else shape[a] = g.freshDim('slice');
    });
  }
  const startsT = Array.isArray(starts) ? constInt64(g, starts) : (starts as Tensor);
  const endsT = Array.isArray(ends) ? constInt64(g, ends) : (ends as Tensor);
  const inputs = [x, startsT, endsT, constInt64(g, ax)];
  if (st.some((s) => s !== 1)) inputs.push(constInt64(g, st));
  return g.node('Slice', inputs, {}, [{ dtype: x.dtype, shape }])[0]!;
}

/** Clamped [start, end) of one sliced axis per the ONNX spec. */
export function sliceBounds(d: number, s: number, e: number, step: number): [number, number] {
  if (step > 0) {
    const cs = Math.min(Math.max(s < 0 ? s + d : s, 0), d);
    const ce = Math.min(Math.max(e < 0 ? e + d : e, 0), d);
    return [cs, ce];
  }
  const cs = Math.min(Math.max(s < 0 ? s + d : s, 0), d - 1);
  const ce = Math.min(Math.max(e < 0 ? e + d : e, -1), d - 1);
  return [cs, ce];
}

function sliceLen(d: number, s: number, e: number, step: number): number {
  const [cs, ce] = sliceBounds(d, s, e, step);
  return Math.max(0, Math.ceil((ce - cs) / step));
}

export const SliceOp: OpDef = {
  opType: 'Slice',
  nonDifferentiable: [1, 2, 3, 4],
  grad: ({ inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const x = inputs[0]!;
    const g = x.graph;
    const ax = constNumbers(inputs[3]!)!;
    const st = inputs[4] ? constNumbers(inputs[4])! : ax.map(() => 1);
    const s = constNumbers(inputs[1]!);
    const e = constNumbers(inputs[2]!);
    const dims = ax.map((a) => x.shape[a]!);
    if (st.every((k) => k === 1)) {
      // Zero-pad dy back to x's extent on each sliced axis.
      if (s && e && isStatic(dims)) {
        const b = ax.map((_, k) => sliceBounds(dims[k]!, s[k]!, e[k]!, 1));
        const pads = [...b.map(([cs]) => cs), ...b.map(([cs, ce], k) => dims[k]! - Math.max(ce, cs))];
        return [pad(dy, pads, 0, ax, x.shape)];
      }
      const begins: Tensor[] = [];
      const endPads: Tensor[] = [];
      ax.forEach((a, k) => {
        const d = typeof dims[k] === 'number' ? constInt64(g, [dims[k] as number]) : shapeOf(x, a, a + 1);
        const pick = (c: number[] | undefined, t: Tensor) => (c ? constInt64(g, [c[k]!]) : slice(t, [k], [k + 1], [0]));
        const norm = (v: Tensor) => max(min(where(less(v, 0), add(v, d), v), d), 0);
        const cs = norm(pick(s, inputs[1]!));
        const ce = max(norm(pick(e, inputs[2]!)), cs);
        begins.push(cs);
        endPads.push(sub(d, ce));
      });
      return [pad(dy, concat([...begins, ...endPads], 0), 0, ax, x.shape)];
    }
    if (s && e && isStatic(x.shape)) return [scatterSlice(dy, x, ax, s, e, st)];
    throw new Error(`Slice gradient: steps [${st.join(', ')}] need static input shape and constant starts/ends (input '${x.name}' ${formatShape(x.shape)})`);
  },
};

/** Strided slice gradient: scatter dy's elements to their flat positions in x. */
function scatterSlice(dy: Tensor, x: Tensor, ax: number[], s: number[], e: number[], st: number[]): Tensor {
  const xs = x.shape as number[];
  const ranges = xs.map((d) => Array.from({ length: d }, (_, i) => i));
  ax.forEach((a, k) => {
    const [cs] = sliceBounds(xs[a]!, s[k]!, e[k]!, st[k]!);
    const len = sliceLen(xs[a]!, s[k]!, e[k]!, st[k]!);
    ranges[a] = Array.from({ length: len }, (_, i) => cs + i * st[k]!);
  });
  const strides = xs.map((_, i) => numel(xs.slice(i + 1)));
  let flat = [0];
  ranges.forEach((r, i) => {
    flat = flat.flatMap((f) => r.map((v) => f + v * strides[i]!));
  });
  const idx = constant(x.graph, { dtype: 'int64', dims: [flat.length, 1], data: BigInt64Array.from(flat, BigInt) });
  const scattered = scatterND(reshape(zerosLike(x), [-1]), idx, reshape(dy, [-1]));
  return reshape(scattered, xs);
}
