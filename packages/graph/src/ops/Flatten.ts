import type { Tensor } from '../builder.js';
import { shapeTensor, dimProduct } from './checks.js';
import type { OpDef } from './op.js';
import { reshapeTo } from './Reshape.js';

/** 2-D view: [prod(dims < axis), prod(dims >= axis)]. */
export function flatten(x: Tensor, axis = 1): Tensor {
  const a = axis < 0 ? axis + x.rank : axis;
  if (a < 0 || a > x.rank) throw new Error(`Flatten(${x.name}): axis ${axis} out of range for rank ${x.rank}`);
  const shape = [dimProduct(x.graph, x.shape.slice(0, a), 'flatten'), dimProduct(x.graph, x.shape.slice(a), 'flatten')];
  return x.graph.node('Flatten', [x], { axis: a }, [{ dtype: x.dtype, shape }])[0]!;
}

export const FlattenOp: OpDef = {
  opType: 'Flatten',
  grad: ({ inputs, dys }) => (dys[0] ? [reshapeTo(dys[0], shapeTensor(inputs[0]!), inputs[0]!.shape)] : []),
};
