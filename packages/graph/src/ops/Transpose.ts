import type { Tensor } from '../builder.js';
import type { OpDef } from './op.js';

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  const where = `Transpose(${x.name})`;
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`${where}: perm [${perm.join(', ')}] is not a permutation of rank ${x.rank}`);
  }
  const shape = perm.map((p) => x.shape[p]!);
  return x.graph.node('Transpose', [x], { perm: [...perm] }, [{ dtype: x.dtype, shape }])[0]!;
}

/** Swap the last two axes. */
export function transposeLast2(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return transpose(x, perm);
}

export const TransposeOp: OpDef = {
  opType: 'Transpose',
  grad: ({ node, dys }) => {
    const dy = dys[0];
    if (!dy) return [null];
    const perm = node.attrs.perm as number[];
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(dy, inv)];
  },
};
