import type { Tensor } from '../builder.js';
import { broadcastShapes, formatShape } from '../shape.js';
import { requireFloat, requireRank, sameDType } from './checks.js';
import { mul } from './Mul.js';
import type { OpDef } from './op.js';

export interface GemmOptions {
  readonly transA?: boolean;
  readonly transB?: boolean;
  readonly alpha?: number;
  readonly beta?: number;
}

/** Y = alpha * A' B' + beta * C, with A' = transA ? Aᵀ : A (2-D only; C broadcasts to Y). */
export function gemm(a: Tensor, b: Tensor, c: Tensor | null = null, opts: GemmOptions = {}): Tensor {
  const where = `Gemm(${a.name}, ${b.name}${c ? `, ${c.name}` : ''})`;
  requireRank('Gemm', a, 2);
  requireRank('Gemm', b, 2);
  const dtype = c ? sameDType('Gemm', a, b, c) : sameDType('Gemm', a, b);
  requireFloat('Gemm', a);
  const [m, ka] = opts.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [kb, n] = opts.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (ka !== kb) throw new Error(`${where}: inner dims differ: ${formatShape(a.shape)}${opts.transA ? 'ᵀ' : ''} x ${formatShape(b.shape)}${opts.transB ? 'ᵀ' : ''}`);
  const shape = [m, n];
  if (c) {
    const bc = broadcastShapes(c.shape, shape, where);
    if (bc.length !== 2 || bc[0] !== m || bc[1] !== n) throw new Error(`${where}: C ${formatShape(c.shape)} does not broadcast to ${formatShape(shape)}`);
  }
  const attrs = {
    transA: opts.transA ? 1 : 0,
    transB: opts.transB ? 1 : 0,
    alpha: { float: opts.alpha ?? 1 },
    beta: { float: opts.beta ?? 1 },
  };
  return a.graph.node('Gemm', c ? [a, b, c] : [a, b], attrs, [{ dtype, shape }])[0]!;
}

function fl(v: unknown): number {
  return v === undefined ? 1 : typeof v === 'number' ? v : (v as { float: number }).float;
}

export const GemmOp: OpDef = {
  opType: 'Gemm',
  // With A' = op(A), B' = op(B): dA' = alpha dY B'ᵀ, dB' = alpha A'ᵀ dY, dC = beta dY
  // (C's broadcast undone by autodiff). Each case is again one Gemm.
  grad: ({ node, inputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    const a = inputs[0]!;
    const b = inputs[1]!;
    const tA = node.attrs.transA === 1;
    const tB = node.attrs.transB === 1;
    const alpha = fl(node.attrs.alpha);
    const beta = fl(node.attrs.beta);
    const da = !needs[0] ? null : tA ? gemm(b, dy, null, { transA: tB, transB: true, alpha }) : gemm(dy, b, null, { transB: !tB, alpha });
    const db = !needs[1] ? null : tB ? gemm(dy, a, null, { transA: true, transB: tA, alpha }) : gemm(a, dy, null, { transA: !tA, alpha });
    const dc = needs[2] ? (beta === 1 ? dy : mul(dy, beta)) : null;
    return [da, db, dc];
  },
};
