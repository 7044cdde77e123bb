import type { Tensor } from '../builder.js';
import { formatShape } from '../shape.js';
import { requireDType, zerosLike } from './checks.js';
import type { OpDef } from './op.js';
import { scatterND } from './ScatterND.js';

/** ONNX GatherND: the last indices dim (static) indexes the leading data dims after batchDims. */
export function gatherND(x: Tensor, indices: Tensor, batchDims = 0): Tensor {
  const where = `GatherND(${x.name} ${formatShape(x.shape)}, ${indices.name} ${formatShape(indices.shape)})`;
  requireDType('GatherND', indices, ['int64']);
  const k = indices.shape[indices.rank - 1];
  if (typeof k !== 'number') throw new Error(`${where}: last indices dim must be static`);
  if (k + batchDims > x.rank) throw new Error(`${where}: index depth ${k} + batchDims ${batchDims} exceeds data rank ${x.rank}`);
  const shape = [...indices.shape.slice(0, -1), ...x.shape.slice(batchDims + k)];
  return x.graph.node('GatherND', [x, indices], { batch_dims: batchDims }, [{ dtype: x.dtype, shape }])[0]!;
}

export const GatherNDOp: OpDef = {
  opType: 'GatherND',
  nonDifferentiable: [1],
  grad: ({ node, inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    if ((node.attrs.batch_dims ?? 0) !== 0) throw new Error(`GatherND gradient: batch_dims != 0 is not supported (node '${node.name}')`);
    return [scatterND(zerosLike(inputs[0]!), inputs[1]!, dy, 'add'), null];
  },
};
