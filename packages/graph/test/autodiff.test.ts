// autodiff planning and bookkeeping: errors, dead branches, stopGradient,
// naming, seeds, symbolic broadcasting, and recompute (activation checkpointing).
import { describe, expect, it } from 'vitest';
import * as G from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import { expectClose, rng, uniform } from '../../test-utils/src/index.js';

const f64 = (dims: number[], data: number[]) => G.tensorData('float64', dims, Float64Array.from(data));

async function run(g: G.Graph, feeds: Record<string, G.TensorData>) {
  const s = await createSession(g, { intraOpThreads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.dispose();
  }
}

const sum = (t: G.Tensor) => G.reduceSum(t, [], false);

describe('grad: bad use', () => {
  it('refuses integer wrt, integer paths, missing rules, unrelated inputs, non-scalar loss', () => {
    const g = new G.Graph('t');
    const x = g.input('x', 'float32', [3]);
    const i = g.input('i', 'int64', [3]);
    const loss = sum(G.mul(x, G.cast(i, 'float32')));
    expect(() => G.grad(loss, [i])).toThrow(/grad: cannot differentiate w\.r\.t\. 'i': it is int64, not a float tensor/);

    const viaInt = sum(G.cast(G.cast(x, 'int64'), 'float32'));
    expect(() => G.grad(viaInt, [x])).toThrow(/no differentiable path from 'x' to loss .*: it passes through Cast node 'Cast(_\d+)?', whose output 'Cast(_\d+)?:0' is int64/);

    const viaShape = sum(G.cast(G.shapeOf(x), 'float32'));
    expect(() => G.grad(viaShape, [x])).toThrow(/passes through Shape node 'Shape(_\d+)?' \(input 0 \('x'\) is not differentiable\)/);

    const stopped = sum(G.stopGradient(x));
    expect(() => G.grad(stopped, [x])).toThrow(/passes through Identity node 'StopGradient(_\d+)?' \(a stopGradient\)/);

    const [custom] = g.node('MyCustomOp', [x], {}, [{ dtype: 'float32', shape: [3] }], { name: 'my_block/custom' });
    expect(() => G.grad(sum(custom!), [x])).toThrow(/no gradient rule for op 'MyCustomOp' at node 'my_block\/custom'/);

    const y = g.input('y', 'float32', [3]);
    expect(() => G.grad(loss, [y])).toThrow(/no differentiable path from 'y' .*: the loss does not depend on it \(pass allowUnused: true/);
    const [zero] = G.grad(loss, [y], { allowUnused: true });
    expect(zero!.shape).toEqual([3]);

    expect(() => G.grad(G.mul(x, 2), [x])).toThrow(/loss 'Mul(_\d+)?:0' has shape \[3\]; reduce it to a scalar or pass options\.seed/);
    const badSeed = g.input('s', 'float32', [4]);
    expect(() => G.grad(G.mul(x, 2), [x], { seed: badSeed })).toThrow(/seed 's' float32\[4\] must match loss/);
  });

  it('sumToShape refuses broadcasts it cannot prove', () => {
    const g = new G.Graph('t');
    const gi = g.input('gi', 'float32', ['T', 3]);
    const x = g.input('x', 'float32', ['S', 3]);
    const node = G.identity(x).producer!;
    expect(() => G.sumToShape(gi, x, node, 0)).toThrow(/Identity node 'Identity': gradient \[T, 3\] for input 0 'x' \[S, 3\]: cannot prove dim 0 \(T vs S\) is a broadcast/);
  });
});

describe('grad: planning and naming', () => {
  it('does no work for dead branches or parameters not asked for', () => {
    const g = new G.Graph('t');
    const x = g.input('x', 'float32', [2, 3]);
    const w1 = g.input('w1', 'float32', [3]);
    const w2 = g.input('w2', 'float32', [3]);
    const a = G.mul(x, w1);
    const b = G.mul(G.exp(x), w2); // reaches the loss but not from w1
    const dead = G.tanh(a); // from w1 but never reaches the loss
    g.output(dead, 'dead');
    const loss = sum(G.add(a, b));
    const before = g.nodes.length;
    const [gw1] = G.grad(loss, [w1]);
    const added = g.nodes.slice(before);
    expect(gw1!.name).toBe('grad/w1');
    expect(added.every((n) => n.name.startsWith('grad/') || n.opType === 'Constant')).toBe(true);
    const expNode = b.producer!.inputs[0]!.producer!;
    expect(expNode.opType).toBe('Exp');
    for (const fwd of [b.producer!, dead.producer!, expNode]) {
      expect(added.some((n) => n.name.startsWith(`grad/${fwd.name}/`))).toBe(false);
    }
    expect(added.some((n) => n.name.startsWith(`grad/${a.producer!.name}/`))).toBe(true);
  });

  it('stopGradient blocks one path; fan-out accumulates; explicit seed; grad names', async () => {
    const g = new G.Graph('t');
    const x = g.input('x', 'float64', [3]);
    const seed = g.input('seed', 'float64', [3]);
    const [dStop] = G.grad(sum(G.mul(x, G.stopGradient(x))), [x]); // d/dx x·c = c = x
    const [dBoth] = G.grad(sum(G.mul(x, x)), [x]); // 2x
    const [dSeed] = G.grad(G.mul(G.mul(x, x), 3), [x], { seed }); // 6x·seed
    expect(dStop!.name).toBe('grad/x');
    expect(dBoth!.name).toBe('grad/x_1');
    g.output(dStop!);
    g.output(dBoth!);
    g.output(dSeed!);
    const r = await run(g, { x: f64([3], [1, -2, 0.5]), seed: f64([3], [1, 10, 100]) });
    expectClose(r[dStop!.name]!, [1, -2, 0.5], { rtol: 0, atol: 0 });
    expectClose(r[dBoth!.name]!, [2, -4, 1], { rtol: 0, atol: 0 });
    expectClose(r[dSeed!.name]!, [6, -120, 300], { rtol: 1e-15 });
  });

  it('differentiates w.r.t. intermediate tensors together with their inputs', async () => {
    const g = new G.Graph('t');
    const x = g.input('x', 'float64', [3]);
    const h = G.exp(x);
    const loss = sum(G.mul(h, h)); // dL/dh = 2h, dL/dx = 2h·h
    const [gx, gh] = G.grad(loss, [x, h]);
    g.output(gx!);
    g.output(gh!);
    const xv = [0.1, -0.5, 1];
    const r = await run(g, { x: f64([3], xv) });
    expectClose(r[gh!.name]!, xv.map((v) => 2 * Math.exp(v)), { rtol: 1e-14 });
    expectClose(r[gx!.name]!, xv.map((v) => 2 * Math.exp(2 * v)), { rtol: 1e-14 });
  });

  it('undoes broadcasting over symbolic batch dims at run time', async () => {
    const g = new G.Graph('t');
    const x = g.input('x', 'float64', ['B', 'S', 3]);
    const b = g.input('b', 'float64', [3]);
    const s = g.input('s', 'float64', ['B', 1, 1]);
    const [gb, gs] = G.grad(sum(G.mul(G.add(x, b), s)), [b, s]);
    expect(gb!.shape).toEqual([3]);
    expect(gs!.shape).toEqual(['B', 1, 1]);
    g.output(gb!);
    g.output(gs!);
    const sess = await createSession(g, { intraOpThreads: 1 });
    for (const [B, S] of [
      [2, 1],
      [3, 4],
    ] as const) {
      const xv = Array.from({ length: B * S * 3 }, (_, i) => i);
      const sv = Array.from({ length: B }, (_, i) => i + 1);
      const r = await sess.run({ x: f64([B, S, 3], xv), b: f64([3], [1, 2, 3]), s: f64([B, 1, 1], sv) });
      const wantB = [0, 1, 2].map((c) => sv.reduce((a, sb) => a + sb * S, 0) + 0 * c);
      expectClose(r['grad/b']!, wantB, { name: `grad b (B=${B}, S=${S})` });
      const wantS = sv.map((_, bi) => {
        let t = 0;
        for (let k = 0; k < S * 3; k++) t += xv[bi * S * 3 + k]! + [1, 2, 3][k % 3]!;
        return t;
      });
      expectClose(r['grad/s']!, wantS, { name: `grad s (B=${B}, S=${S})` });
    }
    await sess.dispose();
  });
});

describe('grad: recompute (activation checkpointing)', () => {
  it('re-emits marked blocks in the backward pass with identical gradients', async () => {
    const g = new G.Graph('t');
    const x = g.input('x', 'float32', ['B', 4]);
    const ws = [0, 1, 2].map((i) => g.input(`w${i}`, 'float32', [4, 4]));
    const mask = g.input('m', 'bool', ['B', 4]);
    const gamma = g.input('gamma', 'float32', [4]);
    let h = x;
    ws.forEach((w, i) => {
      h = g.scope(`layers.${i}`, () => G.add(h, G.dropout(G.silu(G.rmsNorm(G.linear(h, w), gamma)), 0.1, mask)));
    });
    const loss = G.reduceMean(G.mul(h, h), [], false);
    const plain = G.grad(loss, ws);
    const before = g.nodes.length;
    const viaPrefix = G.grad(loss, ws, { recompute: ['layers.0', 'layers.1'] });
    const added = g.nodes.slice(before);
    const copies = added.filter((n) => n.name.startsWith('recompute/'));
    expect(copies.length).toBeGreaterThan(5);
    expect(copies.every((n) => /^recompute\/layers\.[01]\//.test(n.name))).toBe(true);
    // The backward reads the copies, not the stored block activations.
    const copyOut = new Set(copies.flatMap((n) => n.outputs));
    expect(added.some((n) => n.name.startsWith('grad/') && n.inputs.some((t) => t && copyOut.has(t)))).toBe(true);
    // Recomputing layer i starts from the stored output of layer i-1: no copy reads another layer's copy.
    for (const c of copies) {
      const layer = c.name.split('/')[1];
      for (const t of c.inputs) {
        if (t?.producer?.name.startsWith('recompute/')) expect(t.producer.name.split('/')[1]).toBe(layer);
      }
    }
    const viaPredicate = G.grad(loss, ws, { recompute: (n) => n.opType !== 'MatMul' && n.name.startsWith('layers.') });
    const viaBlockIds = G.grad(loss, ws, { recompute: (n) => (n.name.startsWith('layers.2/') ? 'last' : null) });
    [...plain, ...viaPrefix, ...viaPredicate, ...viaBlockIds].forEach((t) => g.output(t));
    const next = rng(11);
    const B = 3;
    const feeds: Record<string, G.TensorData> = {
      x: G.tensorData('float32', [B, 4], Float32Array.from(uniform(next, B * 4))),
      gamma: G.tensorData('float32', [4], Float32Array.from([1, 0.5, 2, 1.5])),
      m: G.tensorData('bool', [B, 4], Uint8Array.from({ length: B * 4 }, (_, i) => (i % 5 === 0 ? 0 : 1))),
    };
    ws.forEach((_, i) => (feeds[`w${i}`] = G.tensorData('float32', [4, 4], Float32Array.from(uniform(next, 16, -0.5, 0.5)))));
    const r = await run(g, feeds);
    plain.forEach((p, i) => {
      expect(Array.from(r[p.name]!.data as Float32Array).some((v) => v !== 0)).toBe(true);
      expectClose(r[viaPrefix[i]!.name]!, r[p.name]!, { rtol: 0, atol: 0, name: `recompute prefix w${i}` });
      expectClose(r[viaPredicate[i]!.name]!, r[p.name]!, { rtol: 0, atol: 0, name: `recompute predicate w${i}` });
      expectClose(r[viaBlockIds[i]!.name]!, r[p.name]!, { rtol: 0, atol: 0, name: `recompute block ids w${i}` });
    });
  });
});

describe('grad: recompute survives ORT graph optimization', () => {
  it('keeps both the forward block and its backward copy after ORT CSE (session level "all")', async () => {
    const { ort } = await import('@vlreward/graph/runtime');
    const { serialize, decodeModel } = await import('../src/serialize.js');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const g = new G.Graph('t');
    const x = g.input('x', 'float32', ['B', 4]);
    const w = g.input('w', 'float32', [4, 4]);
    let h = x;
    for (let i = 0; i < 2; i++) h = g.scope(`layers.${i}`, () => G.tanh(G.matmul(G.sigmoid(h), w)));
    const loss = G.reduceSum(h, [], false);
    g.output(loss, 'loss');
    g.output(G.grad(loss, [w], { recompute: ['layers.0', 'layers.1'] })[0]!);
    const dir = mkdtempSync(join(tmpdir(), 'vlreward-cse-'));
    try {
      const path = join(dir, 'opt.onnx');
      const s = await ort.InferenceSession.create(serialize(g), { graphOptimizationLevel: 'all', optimizedModelFilePath: path });
      await s.release();
      const names = decodeModel(readFileSync(path)).graph!.node!.map((n) => String(n.name));
      for (const op of ['Sigmoid', 'Tanh']) {
        for (const layer of ['layers.0', 'layers.1']) {
          expect(names).toContain(`${layer}/${op}`);
          expect(names).toContain(`recompute/${layer}/${op}`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('grad drives training', () => {
  it('plain SGD on a 2-layer MLP (gelu, layerNorm, softmax cross-entropy) lowers the loss', async () => {
    const g = new G.Graph('mlp');
    const x = g.input('x', 'float32', ['B', 4]);
    const y = g.input('y', 'int64', ['B']);
    const w1 = g.input('w1', 'float32', [16, 4]);
    const b1 = g.input('b1', 'float32', [16]);
    const w2 = g.input('w2', 'float32', [3, 16]);
    const ln = g.input('ln', 'float32', [16]);
    const h = G.layerNorm(G.gelu(G.linear(x, w1, b1)), ln);
    const loss = G.crossEntropy(G.linear(h, w2), y);
    const params = [w1, b1, w2, ln];
    const grads = G.grad(loss, params);
    g.output(loss, 'loss');
    grads.forEach((t) => g.output(t));
    const next = rng(1);
    const B = 24;
    const xs = uniform(next, B * 4);
    // Class = which of the first three features is largest.
    const ys = Array.from({ length: B }, (_, i) => [0, 1, 2].reduce((best, c) => (xs[i * 4 + c]! > xs[i * 4 + best]! ? c : best), 0));
    const values = [uniform(next, 64, -0.5, 0.5), new Array(16).fill(0), uniform(next, 48, -0.5, 0.5), new Array(16).fill(1)].map((v) => Float32Array.from(v));
    const sess = await createSession(g, { intraOpThreads: 1 });
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      const feeds: Record<string, G.TensorData> = {
        x: G.tensorData('float32', [B, 4], Float32Array.from(xs)),
        y: G.tensorData('int64', [B], BigInt64Array.from(ys.map(BigInt))),
      };
      params.forEach((p, i) => (feeds[p.name] = G.tensorData('float32', p.shape as number[], values[i]!)));
      const r = await sess.run(feeds);
      losses.push((r.loss!.data as Float32Array)[0]!);
      grads.forEach((gt, i) => {
        const d = r[gt.name]!.data as Float32Array;
        values[i]!.forEach((_, k) => (values[i]![k]! -= 0.5 * d[k]!));
      });
    }
    await sess.dispose();
    expect(losses[0]!).toBeGreaterThan(0.9);
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
  });
});
