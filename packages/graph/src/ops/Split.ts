import type { Tensor } from '../builder.js';
import { formatShape, normAxis } from '../shape.js';
import { shapeTensor, zerosLike } from './checks.js';
import { concat } from './Concat.js';
import { constInt64 } from './Constant.js';
import type { OpDef } from './op.js';
import { reshapeTo } from './Reshape.js';

/** Split along `axis` into pieces of the given sizes (opset 18: sizes as an input). */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const where = `Split(${x.name} ${formatShape(x.shape)}; sizes [${sizes.join(', ')}], axis ${axis})`;
  const a = normAxis(axis, x.rank, where);
  if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`${where}: sizes must be non-negative integers`);
  const total = sizes.reduce((p, s) => p + s, 0);
  const d = x.shape[a]!;
  if (typeof d === 'number' && d !== total) throw new Error(`${where}: sizes sum to ${total} but axis ${a} has size ${d}`);
  const outs = sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((dd, i) => (i === a ? s : dd)) }));
  return x.graph.node('Split', [x, constInt64(x.graph, sizes)], { axis: a }, outs);
}

export const SplitOp: OpDef = {
  opType: 'Split',
  nonDifferentiable: [1],
  // Concatenate the pieces' gradients, zeros for pieces no path reaches.
  grad: ({ node, inputs, outputs, dys }) => {
    if (dys.every((d) => !d)) return [];
    const x = inputs[0]!;
    const axis = node.attrs.axis as number;
    const joined = concat(outputs.map((o, i) => dys[i] ?? zerosLike(o)), axis);
    // A symbolic split axis: concat's static sum is that dim; restate the shape.
    const dx = joined.shape[axis] === x.shape[axis] ? joined : reshapeTo(joined, shapeTensor(x), x.shape);
    return [dx, null];
  },
};
