import type { Tensor } from '../builder.js';
import { formatShape } from '../shape.js';
import { constInt64, constNumbers } from './Constant.js';
import { normAxes } from './checks.js';
import type { OpDef } from './op.js';
import { unsqueeze } from './Unsqueeze.js';

/** Remove the given axes, which must have size 1 (symbolic dims are trusted). */
export function squeeze(x: Tensor, axes: readonly number[]): Tensor {
  const where = `Squeeze(${x.name} ${formatShape(x.shape)})`;
  const ax = normAxes(where, axes, x.rank).sort((a, b) => a - b);
  for (const a of ax) {
    const d = x.shape[a]!;
    if (typeof d === 'number' && d !== 1) throw new Error(`${where}: axis ${a} has size ${d}, not 1`);
  }
  const shape = x.shape.filter((_, i) => !ax.includes(i));
  return x.graph.node('Squeeze', [x, constInt64(x.graph, ax)], {}, [{ dtype: x.dtype, shape }])[0]!;
}

export const SqueezeOp: OpDef = {
  opType: 'Squeeze',
  nonDifferentiable: [1],
  grad: ({ inputs, dys }) => (dys[0] ? [unsqueeze(dys[0], constNumbers(inputs[1]!)!), null] : []),
};
