import type { Tensor } from '../builder.js';
import { broadcastShapes, formatShape } from '../shape.js';
import { sameDType } from './checks.js';
import type { OpDef } from './op.js';
import { constInt64 } from './Constant.js';
import { gemm } from './Gemm.js';
import { reshape, reshapeTo } from './Reshape.js';
import { transposeLast2 } from './Transpose.js';

/** numpy.matmul semantics, rank >= 2 on both sides (batch dims broadcast). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const where = `MatMul(${a.name}, ${b.name})`;
  const dtype = sameDType('MatMul', a, b);
  if (a.rank < 2 || b.rank < 2) throw new Error(`${where}: both inputs need rank >= 2, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  const k1 = a.shape[a.rank - 1]!;
  const k2 = b.shape[b.rank - 2]!;
  if (k1 !== k2) throw new Error(`${where}: inner dims differ: ${formatShape(a.shape)} x ${formatShape(b.shape)}`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), where);
  const shape = [...batch, a.shape[a.rank - 2]!, b.shape[b.rank - 1]!];
  return a.graph.node('MatMul', [a, b], {}, [{ dtype, shape }])[0]!;
}

export const MatMulOp: OpDef = {
  opType: 'MatMul',
  // dA = dY · Bᵀ, dB = Aᵀ · dY (batch broadcasting undone by autodiff).
  grad: ({ inputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [null, null];
    const a = inputs[0]!;
    const b = inputs[1]!;
    const da = needs[0] ? matmul(dy, transposeLast2(b)) : null;
    let db: Tensor | null = null;
    if (needs[1]) {
      if (b.rank === 2 && a.rank > 2) {
        // A shared weight under batched activations ([B,S,K]·[K,N]): fold the
        // batch into rows so dB is one [K,N] Gemm, not a [B,K,N] product summed later.
        const k = a.shape[a.rank - 1]!;
        const n = b.shape[1]!;
        if (typeof k === 'number' && typeof n === 'number') {
          const a2 = reshape(a, [-1, k]);
          const dy2 = reshapeTo(dy, constInt64(a.graph, [-1, n]), [a2.shape[0]!, n]);
          db = gemm(a2, dy2, null, { transA: true });
        }
      }
      db ??= matmul(transposeLast2(a), dy);
    }
    return [da, db];
  },
};
