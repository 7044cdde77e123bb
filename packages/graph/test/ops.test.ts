// Op builders: shape/dtype inference (symbolic dims included), forward values
// on ORT against plain-JS computations, and the errors bad use gets.
import { describe, expect, it } from 'vitest';
import * as G from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import { expectClose } from '../../test-utils/src/index.js';

const f32 = (dims: number[], data: number[]) => G.tensorData('float32', dims, Float32Array.from(data));
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('shape inference', () => {
  it('reshape propagates symbolic dims through 0 and -1', () => {
    const g = new G.Graph('t');
    const x = g.input('x', 'float32', ['B', 'S', 64]);
    const h = G.reshape(x, [0, 0, 4, 16]);
    expect(h.shape).toEqual(['B', 'S', 4, 16]);
    expect(G.reshape(h, [0, 0, -1]).shape).toEqual(['B', 'S', 64]);
    const merged = G.reshape(h, [0, -1, 16]).shape; // S*4: not provable, a fresh symbol
    expect(merged[0]).toBe('B');
    expect(typeof merged[1] === 'string' && merged[1] !== 'S').toBe(true);
    const flat = G.reshape(x, [-1, 64]);
    expect(typeof flat.shape[0]).toBe('string'); // B*S: a fresh symbol
    expect(flat.shape[1]).toBe(64);
    expect(G.reshape(g.input('y', 'float32', [2, 3, 4]), [4, -1]).shape).toEqual([4, 6]);
    expect(() => G.reshape(g.input('z', 'float32', [2, 3]), [4, -1])).toThrow(/6 elements cannot be split/);
    expect(() => G.reshape(g.input('w', 'float32', [2, 3]), [5])).toThrow(/element count differs/);
  });

  it('concat sums static dims and gives a fresh symbol otherwise', () => {
    const g = new G.Graph('t');
    const a = g.input('a', 'float32', ['B', 2]);
    const b = g.input('b', 'float32', ['B', 3]);
    expect(G.concat([a, b], 1).shape).toEqual(['B', 5]);
    const c = G.concat([a, a], 0);
    expect(c.shape[1]).toBe(2);
    expect(typeof c.shape[0]).toBe('string');
    expect(c.shape[0]).not.toBe('B');
    expect(() => G.concat([a, g.input('d', 'float32', ['C', 2])], 1)).toThrow(/Concat\(a \[B, 2\], d \[C, 2\]; axis 1\): dim 0 differs \(B vs C\)/);
  });

  it('slice, split, squeeze, unsqueeze, expand, gather, flatten, matmul shapes', () => {
    const g = new G.Graph('t');
    const x = g.input('x', 'float32', [4, 'S', 6]);
    expect(G.slice(x, [1, 0], [3, G.SLICE_END], [0, 1]).shape).toEqual([2, 'S', 6]);
    expect(G.slice(x, [-1], [-5], [2], [-2]).shape).toEqual([4, 'S', 2]); // picks 5, 3
    expect(G.slice(x, [1], [3], [1]).shape[1]).not.toBe('S');
    expect(G.split(x, [2, 4], -1).map((t) => t.shape)).toEqual([[4, 'S', 2], [4, 'S', 4]]);
    expect(G.unsqueeze(x, [0, -1]).shape).toEqual([1, 4, 'S', 6, 1]);
    expect(G.squeeze(G.unsqueeze(x, [1]), [1]).shape).toEqual([4, 'S', 6]);
    expect(G.expand(g.input('e', 'float32', [3, 1]), [2, 1, 5]).shape).toEqual([2, 3, 5]);
    expect(G.gather(x, g.input('i', 'int64', [2, 3]), 1).shape).toEqual([4, 2, 3, 6]);
    expect(G.flatten(x, 1).shape[0]).toBe(4);
    expect(G.flatten(g.input('f', 'float32', [2, 3, 4]), 2).shape).toEqual([6, 4]);
    expect(G.matmul(g.input('m', 'float32', ['B', 1, 2, 3]), g.input('n', 'float32', [5, 3, 7])).shape).toEqual(['B', 5, 2, 7]);
    expect(G.shapeOf(x, 1).shape).toEqual([2]);
    expect(G.reduceMean(x, [-1, 0], false).shape).toEqual(['S']);
    expect(G.argMax(x, 1, false).dtype).toBe('int64');
  });
});

describe('bad use gets errors that say what and where', () => {
  it('shape, dtype and rank mistakes', () => {
    const g = new G.Graph('t');
    const a = g.input('a', 'float32', [3, 4]);
    const b = g.input('b', 'float32', [5]);
    expect(() => G.add(a, b)).toThrow(/Add\(a, b\): shapes \[3, 4\] and \[5\] do not broadcast \(dim 1: 4 vs 5\)/);
    expect(() => G.matmul(a, g.input('c', 'float32', [3, 2]))).toThrow(/MatMul\(a, c\): inner dims differ: \[3, 4\] x \[3, 2\]/);
    expect(() => G.add(a, g.input('d', 'float64', [3, 4]))).toThrow(/Add: dtype mismatch: a:float32, d:float64/);
    expect(() => g.input('e', 'float99' as G.DType, [1])).toThrow(/input 'e': unknown dtype 'float99'/);
    expect(() => G.cast(a, 'complex' as G.DType)).toThrow(/Cast\(a\): unknown dtype 'complex'/);
    expect(() => G.where(a, a, a)).toThrow(/Where: condition 'a' must be bool, got float32/);
    expect(() => G.split(a, [2, 3], 1)).toThrow(/sizes sum to 5 but axis 1 has size 4/);
    expect(() => G.squeeze(a, [0])).toThrow(/axis 0 has size 3, not 1/);
    expect(() => G.transpose(a, [0, 0])).toThrow(/not a permutation/);
    expect(() => G.softmax(a, 2)).toThrow(/axis 2 out of range for rank 2/);
    expect(() => G.exp(g.input('i', 'int64', [2]))).toThrow(/Exp: 'i' must be a float tensor, got int64/);
    expect(() => G.gather(a, b)).toThrow(/Gather: 'b' must be int64 or int32, got float32/);
    expect(() => G.add(1 as never, 2 as never)).toThrow(/at least one operand must be a Tensor/);
    expect(() => G.linear(a, g.input('w', 'float32', [2, 3]))).toThrow(/last input dim 4 != weight in-features 3/);
    expect(() => G.rmsNorm(a, b)).toThrow(/parameter b \[5\] must be \[4\]/);
    expect(() => G.attention({ q: g.input('q', 'float32', [1, 3, 2, 4]), k: g.input('k', 'float32', [1, 2, 2, 4]), v: g.input('v', 'float32', [1, 2, 2, 4]) })).toThrow(
      /3 query heads are not 1.5 groups of 2 KV heads/,
    );
    expect(() => G.crossEntropy(a, g.input('y', 'int32', [3]))).toThrow(/labels must be int64, got int32/);
    expect(() => G.scalar(g, 0.5, 'int64')).toThrow(/scalar: 0\.5 is not representable as int64/);
    expect(() => G.constInt64(g, [1, 2.5])).toThrow(/constInt64: 2\.5 in \[1, 2\.5\] is not an integer/);
  });
});

describe('forward values on ORT', () => {
  it('matches JS computations', async () => {
    const g = new G.Graph('fwd');
    const x = g.input('x', 'float32', [2, 3]);
    const outs: Record<string, G.Tensor> = {
      softmax: G.softmax(x, -1),
      mmBatch: G.matmul(G.reshape(G.concat([x, x], 0), [2, 2, 3]), G.transpose(x, [1, 0])),
      gatherNeg: G.gather(x, G.constInt64(g, [-1, 0]), 1),
      gatherND: G.gatherND(x, G.reshape(G.constInt64(g, [1, 2, 0, 0]), [2, 2])),
      scatterND: G.scatterND(x, G.reshape(G.constInt64(g, [1]), [1, 1]), G.mul(G.slice(x, [0], [1], [0]), 10)),
      sliceStrided: G.slice(x, [2], [-4], [1], [-2]),
      pad: G.pad(x, [0, 1, 1, 0], -1),
      cumsumExRev: G.cumsum(x, 1, { exclusive: true, reverse: true }),
      triluUpper1: G.trilu(G.reshape(G.concat([x, x, x], 0), [3, 6]), true, 1),
      range: G.range(G.scalar(g, 1), G.scalar(g, 2), G.scalar(g, 0.25)),
      oneHot: G.oneHot(G.constInt64(g, [2, 0]), 3),
      argMax: G.cast(G.argMax(x, 1, false), 'float32'),
      reduceMax: G.reduceMax(x, [0], false),
      where: G.where(G.greater(x, 2), x, G.neg(x)),
      pow: G.pow(x, 2),
      expand: G.expand(G.slice(x, [0], [1], [0]), [2, 1, 3]),
      shape: G.cast(G.shapeOf(x), 'float32'),
      size: G.cast(G.size(x), 'float32'),
      logSoftmax: G.logSoftmax(x, 0),
      minmax: G.add(G.min(x, 1.5), G.max(x, 3.5)),
    };
    expect(outs.range!.shape).toEqual([4]);
    for (const [k, t] of Object.entries(outs)) g.output(t, k);
    const s = await createSession(g, { intraOpThreads: 1 });
    const r = await s.run({ x: f32([2, 3], [0, 1, 2, 3, 4, 5]) });
    await s.dispose();
    const X = [
      [0, 1, 2],
      [3, 4, 5],
    ];
    const sm = (row: number[]) => row.map((v) => Math.exp(v) / row.reduce((a, u) => a + Math.exp(u), 0));
    expectClose(r.softmax!, X.flatMap(sm), { name: 'softmax' });
    // x @ xᵀ for both batch entries (the concat puts x twice).
    const xxT = X.flatMap((a) => X.map((b) => a.reduce((s2, v, i) => s2 + v * b[i]!, 0)));
    expectClose(r.mmBatch!, [...xxT, ...xxT], { name: 'matmul batch' });
    expectClose(r.gatherNeg!, [2, 0, 5, 3], { name: 'gather negative index' });
    expectClose(r.gatherND!, [5, 0], { name: 'gatherND' });
    expectClose(r.scatterND!, [0, 1, 2, 0, 10, 20], { name: 'scatterND' });
    expectClose(r.sliceStrided!, [2, 0, 5, 3], { name: 'strided slice' });
    expectClose(r.pad!, [-1, 0, 1, 2, -1, 3, 4, 5, -1, -1, -1, -1], { name: 'pad' });
    expectClose(r.cumsumExRev!, [3, 2, 0, 9, 5, 0], { name: 'cumsum exclusive reverse' });
    const T = [
      [0, 1, 2, 3, 4, 5],
      [0, 1, 2, 3, 4, 5],
      [0, 1, 2, 3, 4, 5],
    ];
    expectClose(r.triluUpper1!, T.flatMap((row, i) => row.map((v, j) => (j >= i + 1 ? v : 0))), { name: 'trilu' });
    expectClose(r.range!, [1, 1.25, 1.5, 1.75], { name: 'range' });
    expectClose(r.oneHot!, [0, 0, 1, 1, 0, 0], { name: 'oneHot' });
    expectClose(r.argMax!, [2, 2], { name: 'argMax' });
    expectClose(r.reduceMax!, [3, 4, 5], { name: 'reduceMax' });
    expectClose(r.where!, [0, -1, -2, 3, 4, 5], { name: 'where' });
    expectClose(r.pow!, iota(6).map((v) => v * v), { name: 'pow' });
    expectClose(r.expand!, [0, 1, 2, 0, 1, 2], { name: 'expand' });
    expectClose(r.shape!, [2, 3], { name: 'shape' });
    expectClose(r.size!, [6], { name: 'size' });
    const col = (j: number) => Math.log(Math.exp(X[0]![j]!) + Math.exp(X[1]![j]!));
    expectClose(r.logSoftmax!, X.flatMap((row) => row.map((v, j) => v - col(j))), { name: 'logSoftmax' });
    expectClose(r.minmax!, iota(6).map((v) => Math.min(v, 1.5) + Math.max(v, 3.5)), { name: 'min+max' });
  });

  it('constants encode 16-bit floats with round-to-nearest-even', () => {
    const g = new G.Graph('c');
    const bits = (v: number, d: G.DType) => (G.constValue(G.scalar(g, v, d))!.data as Uint16Array)[0];
    expect(bits(1.5, 'bfloat16')).toBe(0x3fc0);
    expect(bits(-2, 'bfloat16')).toBe(0xc000);
    expect(bits(1.5, 'float16')).toBe(0x3e00);
    expect(bits(65504, 'float16')).toBe(0x7bff);
    expect(bits(1e6, 'float16')).toBe(0x7c00);
    expect(bits(2 ** -24, 'float16')).toBe(0x0001);
    expect(bits(1 + 2 ** -11, 'float16')).toBe(0x3c00); // tie -> even
    expect(G.scalar(g, 3, 'float32')).toBe(G.scalar(g, 3, 'float32')); // shared per graph
  });
});
