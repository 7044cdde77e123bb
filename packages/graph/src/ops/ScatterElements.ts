import type { Tensor } from '../builder.js';
import { formatShape, normAxis, shapesEqual } from '../shape.js';
import { requireDType, sameDType, zerosLike } from './checks.js';
import { gatherElements } from './GatherElements.js';
import type { OpDef } from './op.js';
import type { ScatterReduction } from './ScatterND.js';

/** torch.scatter along `axis`: updates and indices share a shape; output has data's shape. */
export function scatterElements(data: Tensor, indices: Tensor, updates: Tensor, axis: number, reduction: ScatterReduction = 'none'): Tensor {
  const where = `ScatterElements(${data.name} ${formatShape(data.shape)}, ${indices.name} ${formatShape(indices.shape)}, ${updates.name} ${formatShape(updates.shape)})`;
  requireDType('ScatterElements', indices, ['int64', 'int32']);
  sameDType('ScatterElements', data, updates);
  if (!shapesEqual(indices.shape, updates.shape)) throw new Error(`${where}: indices and updates must have the same shape`);
  if (indices.rank !== data.rank) throw new Error(`${where}: indices must have the data's rank ${data.rank}`);
  const a = normAxis(axis, data.rank, where);
  const attrs = reduction === 'none' ? { axis: a } : { axis: a, reduction };
  return data.graph.node('ScatterElements', [data, indices, updates], attrs, [{ dtype: data.dtype, shape: data.shape }])[0]!;
}

export const ScatterElementsOp: OpDef = {
  opType: 'ScatterElements',
  nonDifferentiable: [1],
  grad: ({ node, inputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    const red = (node.attrs.reduction as string | undefined) ?? 'none';
    if (red !== 'none' && red !== 'add') throw new Error(`ScatterElements gradient: reduction '${red}' unsupported (node '${node.name}')`);
    const axis = node.attrs.axis as number;
    const idx = inputs[1]!;
    const dData = !needs[0] ? null : red === 'add' ? dy : scatterElements(dy, idx, zerosLike(inputs[2]!), axis);
    return [dData, null, needs[2] ? gatherElements(dy, idx, axis) : null];
  },
};
