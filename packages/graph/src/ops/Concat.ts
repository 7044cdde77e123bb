import type { Tensor } from '../builder.js';
import { formatShape, isStatic, normAxis, type Dim } from '../shape.js';
import { add } from './Add.js';
import { sameDType } from './checks.js';
import { constInt64 } from './Constant.js';
import type { OpDef } from './op.js';
import { shapeOf } from './Shape.js';
import { slice } from './Slice.js';

/**
 * Join along `axis`; other dims must agree. The joined dim is the sum when
 * static; otherwise `outDim` names it (e.g. a known sequence symbol) or it
 * gets a fresh symbol.
 */
export function concat(xs: readonly Tensor[], axis: number, outDim?: Dim): Tensor {
  if (xs.length === 0) throw new Error('Concat: no inputs');
  const first = xs[0]!;
  const where = `Concat(${xs.map((x) => `${x.name} ${formatShape(x.shape)}`).join(', ')}; axis ${axis})`;
  const dtype = sameDType('Concat', ...xs);
  const a = normAxis(axis, first.rank, where);
  for (const x of xs) {
    if (x.rank !== first.rank) throw new Error(`${where}: ranks differ`);
    x.shape.forEach((d, i) => {
      if (i !== a && d !== first.shape[i]) throw new Error(`${where}: dim ${i} differs (${first.shape[i]} vs ${d})`);
    });
  }
  const parts = xs.map((x) => x.shape[a]!);
  let total: Dim;
  if (xs.length === 1) total = parts[0]!;
  else if (isStatic(parts) && outDim !== undefined && outDim !== (parts as number[]).reduce((p, d) => p + d, 0)) {
    throw new Error(`${where}: outDim ${outDim} but the parts sum to ${(parts as number[]).reduce((p, d) => p + d, 0)}`);
  } else if (outDim !== undefined) total = outDim;
  else if (isStatic(parts)) total = (parts as number[]).reduce((p, d) => p + d, 0);
  else total = first.graph.freshDim('concat');
  const shape = first.shape.map((d, i) => (i === a ? total : d));
  return first.graph.node('Concat', xs, { axis: a }, [{ dtype, shape }])[0]!;
}

export const ConcatOp: OpDef = {
  opType: 'Concat',
  // Each input's gradient is its slab of dy; offsets are constants when the
  // sizes are static, else sums of runtime Shape values.
  grad: ({ node, inputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    const axis = node.attrs.axis as number;
    const g = node.inputs[0]!.graph;
    let off: number | Tensor = 0;
    return inputs.map((x, i) => {
      const d = x!.shape[axis]!;
      const len: number | Tensor = typeof d === 'number' ? d : shapeOf(x!, axis, axis + 1);
      const start: number | Tensor = off;
      const end: number | Tensor = typeof start === 'number' && typeof len === 'number' ? start + len : add(toT(g, start), toT(g, len));
      off = end;
      if (!needs[i]) return null;
      if (typeof start === 'number' && typeof end === 'number') return slice(dy, [start], [end], [axis], undefined, x!.shape);
      return slice(dy, toT(g, start), toT(g, end), [axis], undefined, x!.shape);
    });
  },
};

function toT(g: Tensor['graph'], v: number | Tensor): Tensor {
  return typeof v === 'number' ? constInt64(g, [v]) : v;
}
