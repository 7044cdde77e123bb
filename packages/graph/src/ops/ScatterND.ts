import type { Tensor } from '../builder.js';
import { formatShape, shapesEqual } from '../shape.js';
import { requireDType, sameDType, zerosLike } from './checks.js';
import { gatherND } from './GatherND.js';
import type { OpDef } from './op.js';

export type ScatterReduction = 'none' | 'add' | 'mul' | 'max' | 'min';

/** Copy of data with data[indices[i]] = updates[i] (or combined by `reduction`). */
export function scatterND(data: Tensor, indices: Tensor, updates: Tensor, reduction: ScatterReduction = 'none'): Tensor {
  const where = `ScatterND(${data.name} ${formatShape(data.shape)}, ${indices.name} ${formatShape(indices.shape)}, ${updates.name} ${formatShape(updates.shape)})`;
  requireDType('ScatterND', indices, ['int64']);
  sameDType('ScatterND', data, updates);
  const k = indices.shape[indices.rank - 1];
  if (typeof k === 'number') {
    const want = [...indices.shape.slice(0, -1), ...data.shape.slice(k)];
    if (!shapesEqual(want, updates.shape)) throw new Error(`${where}: updates must have shape ${formatShape(want)}`);
  }
  const attrs = reduction === 'none' ? {} : { reduction };
  return data.graph.node('ScatterND', [data, indices, updates], attrs, [{ dtype: data.dtype, shape: data.shape }])[0]!;
}

export const ScatterNDOp: OpDef = {
  opType: 'ScatterND',
  nonDifferentiable: [1],
  grad: ({ node, inputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    const red = (node.attrs.reduction as string | undefined) ?? 'none';
    if (red !== 'none' && red !== 'add') throw new Error(`ScatterND gradient: reduction '${red}' unsupported (node '${node.name}')`);
    const idx = inputs[1]!;
    const dData = !needs[0] ? null : red === 'add' ? dy : scatterND(dy, idx, zerosLike(inputs[2]!));
    return [dData, null, needs[2] ? gatherND(dy, idx) : null];
  },
};
