import type { Tensor } from '../builder.js';
import type { Dim } from '../shape.js';
import { constInt64, constNumbers } from './Constant.js';
import { normAxes } from './checks.js';
import type { OpDef } from './op.js';
import { squeeze } from './Squeeze.js';

/** Insert size-1 axes; axes index the output (negative counts from its end). */
export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const ax = normAxes(`Unsqueeze(${x.name})`, axes, rank).sort((a, b) => a - b);
  const shape: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[j++]!);
  return x.graph.node('Unsqueeze', [x, constInt64(x.graph, ax)], {}, [{ dtype: x.dtype, shape }])[0]!;
}

export const UnsqueezeOp: OpDef = {
  opType: 'Unsqueeze',
  nonDifferentiable: [1],
  grad: ({ inputs, dys }) => (dys[0] ? [squeeze(dys[0], constNumbers(inputs[1]!)!), null] : []),
};
