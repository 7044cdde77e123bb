// Every gradient rule against central finite differences on ORT (float64
// unless the kernel only exists in float32), broadcasting cases included.
// All cases share two sessions (see checkGrad), which keeps this fast.
import { describe, expect, it } from 'vitest';
import * as G from '@vlreward/graph';
import { checkGrad, type GradCase } from '../../test-utils/src/index.js';

const pos = [0.5, 1.5] as const;
const i64 = (shape: number[], data: number[]) => ({ shape, dtype: 'int64' as const, data });

const OP_CASES: GradCase[] = [
  // elementwise binary, with broadcasting undone by autodiff
  { name: 'add [3,1,4]+[4]', inputs: { a: { shape: [3, 1, 4] }, b: { shape: [4] } }, build: ({ a, b }) => G.add(a!, b!) },
  { name: 'add [2,1]+[1,3]', inputs: { a: { shape: [2, 1] }, b: { shape: [1, 3] } }, build: ({ a, b }) => G.add(a!, b!) },
  { name: 'sub [2,3]-[2,1]', inputs: { a: { shape: [2, 3] }, b: { shape: [2, 1] } }, build: ({ a, b }) => G.sub(a!, b!) },
  { name: 'mul [2,3]*[3]', inputs: { a: { shape: [2, 3] }, b: { shape: [3] } }, build: ({ a, b }) => G.mul(a!, b!) },
  { name: 'mul fan-out x*x', inputs: { a: { shape: [5] } }, build: ({ a }) => G.mul(a!, a!) },
  { name: 'div [2,3]/[3]', inputs: { a: { shape: [2, 3] }, b: { shape: [3], range: pos } }, build: ({ a, b }) => G.div(a!, b!) },
  { name: 'pow x^3', inputs: { a: { shape: [4], range: pos } }, build: ({ a }) => G.pow(a!, 3) },
  { name: 'pow x^2', inputs: { a: { shape: [4] } }, build: ({ a }) => G.pow(a!, 2) },
  { name: 'pow a^b', inputs: { a: { shape: [2, 3], range: pos }, b: { shape: [3] } }, build: ({ a, b }) => G.pow(a!, b!) },
  { name: 'max broadcast', inputs: { a: { shape: [2, 3] }, b: { shape: [3] } }, build: ({ a, b }) => G.max(a!, b!) },
  { name: 'min broadcast', inputs: { a: { shape: [2, 3] }, b: { shape: [2, 1] } }, build: ({ a, b }) => G.min(a!, b!) },
  { name: 'where broadcast', inputs: { a: { shape: [2, 3] }, b: { shape: [3] }, c: { shape: [2, 3], grad: false } }, build: ({ a, b, c }) => G.where(G.greater(c!, 0), a!, b!) },
  // unary
  { name: 'neg', inputs: { a: { shape: [4] } }, build: ({ a }) => G.neg(a!) },
  { name: 'abs', inputs: { a: { shape: [4], data: [-1.5, -0.3, 0.4, 2] } }, build: ({ a }) => G.abs(a!) },
  { name: 'sqrt', inputs: { a: { shape: [4], range: pos } }, build: ({ a }) => G.sqrt(a!) },
  { name: 'reciprocal', inputs: { a: { shape: [4], range: pos } }, build: ({ a }) => G.reciprocal(a!) },
  { name: 'exp', inputs: { a: { shape: [4] } }, build: ({ a }) => G.exp(a!) },
  { name: 'log', inputs: { a: { shape: [4], range: pos } }, build: ({ a }) => G.log(a!) },
  { name: 'tanh', inputs: { a: { shape: [4] } }, build: ({ a }) => G.tanh(a!) },
  { name: 'sigmoid', inputs: { a: { shape: [4] } }, build: ({ a }) => G.sigmoid(a!) },
  { name: 'relu', inputs: { a: { shape: [4], data: [-1, -0.2, 0.3, 1.2] } }, build: ({ a }) => G.relu(a!) },
  { name: 'sin', inputs: { a: { shape: [4] } }, build: ({ a }) => G.sin(a!) },
  { name: 'cos', inputs: { a: { shape: [4] } }, build: ({ a }) => G.cos(a!) },
  { name: 'sign*x', inputs: { a: { shape: [4], data: [-1, -0.2, 0.3, 1.2] } }, build: ({ a }) => G.mul(G.sign(a!), a!) },
  { name: 'erf (float32 kernel only)', inputs: { a: { shape: [5], dtype: 'float32' } }, build: ({ a }) => G.erf(a!) },
  { name: 'cast f32->f64', inputs: { a: { shape: [4], dtype: 'float32' } }, build: ({ a }) => G.mul(G.cast(a!, 'float64'), G.cast(a!, 'float64')) },
  { name: 'floor (zero gradient) * x', inputs: { a: { shape: [4], data: [-1.3, -0.2, 0.4, 2.7] } }, build: ({ a }) => G.mul(G.floor(a!), a!) },
  { name: 'identity', inputs: { a: { shape: [3] } }, build: ({ a }) => G.mul(G.identity(a!), a!) },
  // matmul / gemm
  { name: 'matmul 2-D', inputs: { a: { shape: [2, 3] }, b: { shape: [3, 4] } }, build: ({ a, b }) => G.matmul(a!, b!) },
  { name: 'matmul [B,S,K]x[K,N] (folded dB Gemm), symbolic', inputs: { a: { shape: [2, 3, 4], dims: ['B', 'S', 4] }, b: { shape: [4, 2] } }, build: ({ a, b }) => G.matmul(a!, b!) },
  { name: 'matmul batch-broadcast b', inputs: { a: { shape: [2, 2, 3] }, b: { shape: [3, 2] } }, build: ({ a, b }) => G.matmul(a!, b!) },
  { name: 'matmul batch-broadcast [2,1,2,3]x[3,3,2]', inputs: { a: { shape: [2, 1, 2, 3] }, b: { shape: [3, 3, 2] } }, build: ({ a, b }) => G.matmul(a!, b!) },
  ...[false, true].flatMap((tA) =>
    [false, true].map(
      (tB): GradCase => ({
        name: `gemm transA=${tA} transB=${tB} alpha beta C[3]`,
        inputs: { a: { shape: tA ? [4, 2] : [2, 4] }, b: { shape: tB ? [3, 4] : [4, 3] }, c: { shape: [3] } },
        build: ({ a, b, c }) => G.gemm(a!, b!, c!, { transA: tA, transB: tB, alpha: 0.7, beta: 1.3 }),
      }),
    ),
  ),
  // softmax family and reductions
  { name: 'softmax -1', inputs: { a: { shape: [2, 4] } }, build: ({ a }) => G.softmax(a!, -1) },
  { name: 'softmax 0', inputs: { a: { shape: [3, 2] } }, build: ({ a }) => G.softmax(a!, 0) },
  { name: 'logSoftmax', inputs: { a: { shape: [2, 4] } }, build: ({ a }) => G.logSoftmax(a!, 1) },
  { name: 'reduceSum [1] no keepdims', inputs: { a: { shape: [2, 3, 2] } }, build: ({ a }) => G.reduceSum(a!, [1], false) },
  { name: 'reduceSum all', inputs: { a: { shape: [2, 3] } }, build: ({ a }) => G.reduceSum(a!, [], false) },
  { name: 'reduceMean [0,2]', inputs: { a: { shape: [2, 3, 2] } }, build: ({ a }) => G.reduceMean(a!, [0, 2], true) },
  { name: 'reduceMax [-1]', inputs: { a: { shape: [3, 4] } }, build: ({ a }) => G.reduceMax(a!, [-1], false) },
  { name: 'reduceSumSquare', inputs: { a: { shape: [2, 3] } }, build: ({ a }) => G.reduceSumSquare(a!, [1], true) },
  { name: 'reduceL2', inputs: { a: { shape: [2, 3] } }, build: ({ a }) => G.reduceL2(a!, [0], false) },
  // shape ops
  { name: 'reshape', inputs: { a: { shape: [2, 6] } }, build: ({ a }) => G.mul(G.reshape(a!, [3, -1]), G.reshape(a!, [3, 4])) },
  { name: 'transpose', inputs: { a: { shape: [2, 3, 2] } }, build: ({ a }) => G.transpose(a!, [2, 0, 1]) },
  { name: 'concat axis 1', inputs: { a: { shape: [2, 1] }, b: { shape: [2, 3] }, c: { shape: [2, 2] } }, build: ({ a, b, c }) => G.concat([a!, b!, c!], 1) },
  { name: 'split (middle unused)', inputs: { a: { shape: [2, 6] } }, build: ({ a }) => { const [p, , r] = G.split(a!, [2, 1, 3], 1); return G.concat([p!, r!], 1); } },
  { name: 'slice step 1, negative start', inputs: { a: { shape: [3, 5] } }, build: ({ a }) => G.slice(a!, [1, -3], [3, G.SLICE_END], [0, 1]) },
  { name: 'slice step 2', inputs: { a: { shape: [2, 7] } }, build: ({ a }) => G.slice(a!, [1], [7], [1], [2]) },
  { name: 'slice step -1', inputs: { a: { shape: [5] } }, build: ({ a }) => G.slice(a!, [3], [0], [0], [-1]) },
  {
    name: 'slice runtime starts (dynamic grad path)',
    inputs: { a: { shape: [3, 5] }, s: i64([2], [1, 1]), e: i64([2], [3, 4]) },
    build: ({ a, s, e }) => G.slice(a!, s!, e!, [0, 1], undefined, [2, 3]),
  },
  { name: 'pad', inputs: { a: { shape: [2, 3] } }, build: ({ a }) => G.pad(a!, [1, 0, 0, 2], 0.5) },
  { name: 'squeeze/unsqueeze', inputs: { a: { shape: [2, 1, 3] } }, build: ({ a }) => G.unsqueeze(G.squeeze(a!, [1]), [0]) },
  { name: 'expand [3,1]->[2,3,4]', inputs: { a: { shape: [3, 1] } }, build: ({ a }) => G.expand(a!, [2, 3, 4]) },
  { name: 'flatten', inputs: { a: { shape: [2, 3, 2] } }, build: ({ a }) => G.flatten(a!, 2) },
  // indexing
  { name: 'gather axis 0, repeated + negative', inputs: { a: { shape: [4, 3] }, i: i64([3], [1, -1, 1]) }, build: ({ a, i }) => G.gather(a!, i!, 0) },
  { name: 'gather axis 1, 2-D indices', inputs: { a: { shape: [2, 4, 2] }, i: i64([2, 2], [0, 3, 3, 1]) }, build: ({ a, i }) => G.gather(a!, i!, 1) },
  { name: 'gather int32 indices', inputs: { a: { shape: [3, 2] }, i: { shape: [2], dtype: 'int32', data: [2, 2] } }, build: ({ a, i }) => G.gather(a!, i!, 0) },
  { name: 'gemm without C', inputs: { a: { shape: [2, 3] }, b: { shape: [3, 2] } }, build: ({ a, b }) => G.gemm(a!, b!, null, { alpha: 2 }) },
  { name: 'gatherElements', inputs: { a: { shape: [3, 4] }, i: i64([3, 2], [0, 3, 1, 1, 2, 0]) }, build: ({ a, i }) => G.gatherElements(a!, i!, 1) },
  { name: 'gatherND', inputs: { a: { shape: [3, 4] }, i: i64([2, 2], [0, 1, 2, 3]) }, build: ({ a, i }) => G.gatherND(a!, i!) },
  {
    name: 'scatterND data+updates',
    inputs: { a: { shape: [4, 2] }, u: { shape: [2, 2] }, i: i64([2, 1], [3, 0]) },
    build: ({ a, u, i }) => G.scatterND(a!, i!, u!),
  },
  {
    name: 'scatterElements data+updates',
    inputs: { a: { shape: [2, 4] }, u: { shape: [2, 2] }, i: i64([2, 2], [1, 3, 0, 2]) },
    build: ({ a, u, i }) => G.scatterElements(a!, i!, u!, 1),
  },
  {
    name: 'scatterElements add',
    inputs: { a: { shape: [2, 3] }, u: { shape: [2, 2] }, i: i64([2, 2], [1, 1, 0, 2]) },
    build: ({ a, u, i }) => G.scatterElements(a!, i!, u!, 1, 'add'),
  },
  { name: 'cumsum', inputs: { a: { shape: [2, 4] } }, build: ({ a }) => G.cumsum(a!, 1) },
  { name: 'cumsum exclusive reverse', inputs: { a: { shape: [3, 2] } }, build: ({ a }) => G.cumsum(a!, 0, { exclusive: true, reverse: true }) },
  { name: 'trilu lower k=1', inputs: { a: { shape: [3, 3] } }, build: ({ a }) => G.trilu(a!, false, 1) },
  { name: 'trilu upper', inputs: { a: { shape: [2, 3, 3] } }, build: ({ a }) => G.trilu(a!, true) },
  // symbolic dims exercise the runtime-shape gradient paths
  { name: 'slice on symbolic dims (dynamic pad)', inputs: { a: { shape: [2, 5], dims: ['B', 'S'] } }, build: ({ a }) => G.slice(a!, [1], [-1], [1]) },
  { name: 'concat on a symbolic axis (runtime offsets)', inputs: { a: { shape: [2, 3], dims: ['B', 'S'] }, b: { shape: [2, 2], dims: ['B', 'T'] } }, build: ({ a, b }) => G.concat([a!, b!, a!], 1) },
  { name: 'split on a symbolic axis', inputs: { a: { shape: [2, 5], dims: [2, 'S'] } }, build: ({ a }) => { const [p, q] = G.split(a!, [2, 3], 1); return G.mul(G.reduceSum(p!, [1], true), G.reduceSum(q!, [1], true)); } },
  { name: 'gather on symbolic axis', inputs: { a: { shape: [2, 4, 3], dims: ['B', 'S', 3] }, i: i64([2], [-1, 2]) }, build: ({ a, i }) => G.gather(a!, i!, 1) },
  { name: 'expand with runtime shape', inputs: { a: { shape: [1, 3] }, b: { shape: [4, 3], dims: ['N', 3] } }, build: ({ a, b }) => G.mul(G.expand(a!, G.shapeOf(b!), b!.shape), b!) },
  // symbolic batch dim: the projection falls back to sum(y²)/2
  {
    name: 'symbolic dims: [B,S,4]+[4] -> reshape/reduceMean',
    inputs: { a: { shape: [2, 3, 4], dims: ['B', 'S', 4] }, b: { shape: [4] } },
    build: ({ a, b }) => {
      const x = G.reshape(G.add(a!, b!), [0, 0, 2, 2]);
      expect(x.shape).toEqual([...a!.shape.slice(0, 2), 2, 2]);
      expect(typeof x.shape[0]).toBe('string');
      return G.reduceMean(x, [-1, 1], false);
    },
  },
];

describe('gradient rules vs finite differences (ORT, float64)', () => {
  it('every op rule', async () => {
    const reports = await checkGrad(OP_CASES);
    expect(reports).toHaveLength(OP_CASES.length);
  });
});
