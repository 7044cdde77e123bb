import type { Tensor } from '../builder.js';
import { formatShape, normAxis } from '../shape.js';
import { requireDType, zerosLike } from './checks.js';
import type { OpDef } from './op.js';
import { scatterElements } from './ScatterElements.js';

/** torch.gather: out[i][j] = x[index[i][j]][j] (axis 0); out has the indices' shape. */
export function gatherElements(x: Tensor, indices: Tensor, axis: number): Tensor {
  const where = `GatherElements(${x.name} ${formatShape(x.shape)}, ${indices.name} ${formatShape(indices.shape)})`;
  requireDType('GatherElements', indices, ['int64', 'int32']);
  if (indices.rank !== x.rank) throw new Error(`${where}: indices must have the data's rank ${x.rank}`);
  const a = normAxis(axis, x.rank, where);
  return x.graph.node('GatherElements', [x, indices], { axis: a }, [{ dtype: x.dtype, shape: indices.shape }])[0]!;
}

export const GatherElementsOp: OpDef = {
  opType: 'GatherElements',
  nonDifferentiable: [1],
  grad: ({ node, inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    return [scatterElements(zerosLike(inputs[0]!), inputs[1]!, dy, node.attrs.axis as number, 'add'), null];
  },
};
