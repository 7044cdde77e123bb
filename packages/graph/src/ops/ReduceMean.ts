import type { Tensor } from '../builder.js';
import { isStatic } from '../shape.js';
import { cast } from './Cast.js';
import { div } from './Div.js';
import type { OpDef } from './op.js';
import { broadcastBack, reduce, reducedAxes } from './reduce.js';
import { size } from './Size.js';

/** Mean over `axes` (empty = all). */
export function reduceMean(x: Tensor, axes: readonly number[], keepdims = true): Tensor {
  return reduce('ReduceMean', x, axes, keepdims);
}

export const ReduceMeanOp: OpDef = {
  opType: 'ReduceMean',
  nonDifferentiable: [1],
  // dx = broadcast(dy) / N, N = number of reduced elements (from Size at run time when symbolic).
  grad: ({ node, outputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const x = node.inputs[0]!;
    const dims = reducedAxes(node).map((a) => x.shape[a]!);
    const n: number | Tensor = isStatic(dims) ? (dims as number[]).reduce((p, d) => p * d, 1) : div(cast(size(x), x.dtype), cast(size(outputs[0]!), x.dtype));
    return [div(broadcastBack(dy, node), n), null];
  },
};
