import type { Tensor } from '../builder.js';
import { formatShape, normAxis } from '../shape.js';
import { add } from './Add.js';
import { cast } from './Cast.js';
import { requireDType, zerosLike } from './checks.js';
import { scalar } from './Constant.js';
import { less } from './Less.js';
import type { OpDef } from './op.js';
import { reshape } from './Reshape.js';
import { scatterND } from './ScatterND.js';
import { shapeOf } from './Shape.js';
import { transpose } from './Transpose.js';
import { unsqueeze } from './Unsqueeze.js';
import { where } from './Where.js';

/** numpy.take: out = x[:axis] + indices.shape + x[axis+1:]; negative indices count from the end. */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  const where_ = `Gather(${x.name} ${formatShape(x.shape)}, ${indices.name})`;
  requireDType('Gather', indices, ['int64', 'int32']);
  const a = normAxis(axis, x.rank, where_);
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return x.graph.node('Gather', [x, indices], { axis: a }, [{ dtype: x.dtype, shape }])[0]!;
}

export const GatherOp: OpDef = {
  opType: 'Gather',
  nonDifferentiable: [1],
  // Scatter-add dy into zeros (duplicate indices accumulate), with the
  // gathered axis moved to the front so one ScatterND does it.
  grad: ({ node, inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    const x = inputs[0]!;
    const g = x.graph;
    const a = node.attrs.axis as number;
    let idx = inputs[1]!.dtype === 'int64' ? inputs[1]! : cast(inputs[1]!, 'int64');
    const d = x.shape[a]!;
    const dimT = typeof d === 'number' ? scalar(g, d, 'int64') : reshape(shapeOf(x, a, a + 1), []);
    idx = where(less(idx, 0), add(idx, dimT), idx);
    const ri = idx.rank;
    if (a === 0) return [scatterND(zerosLike(x), unsqueeze(idx, [-1]), dy, 'add'), null];
    const permX = [a, ...x.shape.map((_, i) => i).filter((i) => i !== a)];
    const permDy = [
      ...Array.from({ length: ri }, (_, i) => a + i),
      ...Array.from({ length: a }, (_, i) => i),
      ...Array.from({ length: x.rank - a - 1 }, (_, i) => a + ri + i),
    ];
    const inv = new Array<number>(permX.length);
    permX.forEach((p, i) => (inv[p] = i));
    const dxT = scatterND(zerosLike(transpose(x, permX)), unsqueeze(idx, [-1]), transpose(dy, permDy), 'add');
    return [transpose(dxT, inv), null];
  },
};
