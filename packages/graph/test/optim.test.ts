import { describe, expect, it } from 'vitest';
import {
  accumulateGrads,
  adamw,
  clipByGlobalNorm,
  Graph,
  scaleGrads,
  tensorData,
  unscaleGrads,
  updateLossScale,
  type TensorData,
} from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import { randn, rng, torchAdamWStep, torchClipGradNorm, torchUpdateScale, type AdamWHyper } from './optim_reference.js';

const f32 = (dims: number[], data: Float32Array): TensorData => tensorData('float32', dims, data);
const scalar = (x: number): TensorData => f32([], Float32Array.of(x));

/** Largest |a-b| in units of float32 spacing at b (0 = bit-identical). */
function maxUlp(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const spacing = Math.max(Math.abs(b[i]!) * 2 ** -23, 2 ** -149);
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / spacing);
  }
  return worst;
}

describe('adamw (torch.optim.AdamW semantics)', () => {
  const shapes = [[3, 5], [7], [2, 2, 3]];
  const hyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const weightDecays = [0.01, 0, 0.1];

  function adamGraph(skip = false): Graph {
    const g = new Graph('adamw');
    const p = shapes.map((s, i) => g.input(`p${i}`, 'float32', s));
    const gr = shapes.map((s, i) => g.input(`g${i}`, 'float32', s));
    const m = shapes.map((s, i) => g.input(`m${i}`, 'float32', s));
    const v = shapes.map((s, i) => g.input(`v${i}`, 'float32', s));
    const step = g.input('step', 'float32', []);
    const lr = g.input('lr', 'float32', []);
    const out = adamw({ params: p, grads: gr, m, v, step, lr, ...hyper, weightDecay: weightDecays, ...(skip ? { skip: g.input('skip', 'bool', []) } : {}) });
    out.params.forEach((t, i) => g.output(t, `p${i}.out`));
    out.m.forEach((t, i) => g.output(t, `m${i}.out`));
    out.v.forEach((t, i) => g.output(t, `v${i}.out`));
    return g;
  }

  it('matches a float32 port of torch _single_tensor_adam over 6 steps with a changing lr', async () => {
    const s = await createSession(adamGraph(), { intraOpThreads: 1 });
    const r = rng(7);
    const n = shapes.map((sh) => sh.reduce((a, b) => a * b, 1));
    const ref: { p: Float32Array[]; m: Float32Array[]; v: Float32Array[] } = { p: n.map((k) => randn(k, r)), m: n.map((k) => new Float32Array(k)), v: n.map((k) => new Float32Array(k)) };
    let cur: { p: Float32Array[]; m: Float32Array[]; v: Float32Array[] } = { p: ref.p.map((x) => x.slice()), m: ref.m.map((x) => x.slice()), v: ref.v.map((x) => x.slice()) };
    let worst = 0;
    for (let step = 1; step <= 6; step++) {
      const lr = [1e-3, 3e-4, 1e-2, 1e-4, 5e-3, 2e-3][step - 1]!;
      // Gradients of mixed magnitude, incl. exact zeros (denominator = eps).
      const grads = n.map((k, i) => randn(k, r, i === 1 ? 1e-3 : 1).map((x, j) => (j % 5 === 0 ? 0 : x)));
      const feeds: Record<string, TensorData> = { step: scalar(step), lr: scalar(lr) };
      shapes.forEach((sh, i) => {
        feeds[`p${i}`] = f32(sh, cur.p[i]!);
        feeds[`g${i}`] = f32(sh, grads[i]!);
        feeds[`m${i}`] = f32(sh, cur.m[i]!);
        feeds[`v${i}`] = f32(sh, cur.v[i]!);
      });
      const out = await s.run(feeds);
      cur = {
        p: shapes.map((_, i) => out[`p${i}.out`]!.data as Float32Array),
        m: shapes.map((_, i) => out[`m${i}.out`]!.data as Float32Array),
        v: shapes.map((_, i) => out[`v${i}.out`]!.data as Float32Array),
      };
      shapes.forEach((_, i) => {
        const h: AdamWHyper = { lr: Math.fround(lr), ...hyper, weightDecay: weightDecays[i]! };
        torchAdamWStep(ref.p[i]!, grads[i]!, ref.m[i]!, ref.v[i]!, step, h);
        worst = Math.max(worst, maxUlp(cur.p[i]!, ref.p[i]!), maxUlp(cur.m[i]!, ref.m[i]!), maxUlp(cur.v[i]!, ref.v[i]!));
      });
    }
    // Same operation order as torch's kernels: bit-identical on x86-64 (0 ulp measured); allow 1 for pow rounding elsewhere.
    expect(worst).toBeLessThanOrEqual(1);
    await s.dispose();
  });

  it('first step moves each weight by ~lr·sign(g) (bias correction), weight decay decoupled', async () => {
    const s = await createSession(adamGraph(), { intraOpThreads: 1 });
    const feeds: Record<string, TensorData> = { step: scalar(1), lr: scalar(0.1) };
    shapes.forEach((sh, i) => {
      const k = sh.reduce((a, b) => a * b, 1);
      feeds[`p${i}`] = f32(sh, new Float32Array(k).fill(1));
      feeds[`g${i}`] = f32(sh, new Float32Array(k).fill(i === 0 ? 0.5 : -2));
      feeds[`m${i}`] = f32(sh, new Float32Array(k));
      feeds[`v${i}`] = f32(sh, new Float32Array(k));
    });
    const out = await s.run(feeds);
    // p0: 1·(1 - 0.1·0.01) - 0.1 ; p1: 1 + 0.1 (wd 0) ; p2: 1·(1 - 0.1·0.1) + 0.1
    expect((out['p0.out']!.data as Float32Array)[0]).toBeCloseTo(0.999 - 0.1, 6);
    expect((out['p1.out']!.data as Float32Array)[0]).toBeCloseTo(1.1, 6);
    expect((out['p2.out']!.data as Float32Array)[0]).toBeCloseTo(0.99 + 0.1, 6);
    await s.dispose();
  });

  it('skip=true returns params and moments bit-identical', async () => {
    const s = await createSession(adamGraph(true), { intraOpThreads: 1 });
    const r = rng(3);
    const feeds: Record<string, TensorData> = { step: scalar(3), lr: scalar(0.5) };
    shapes.forEach((sh, i) => {
      const k = sh.reduce((a, b) => a * b, 1);
      for (const x of ['p', 'g', 'm']) feeds[`${x}${i}`] = f32(sh, randn(k, r));
      feeds[`v${i}`] = f32(sh, randn(k, r).map(Math.abs));
    });
    const skipped = await s.run({ ...feeds, skip: tensorData('bool', [], Uint8Array.of(1)) });
    const taken = await s.run({ ...feeds, skip: tensorData('bool', [], Uint8Array.of(0)) });
    shapes.forEach((_, i) => {
      for (const x of ['p', 'm', 'v']) {
        expect(skipped[`${x}${i}.out`]!.data).toEqual(feeds[`${x}${i}`]!.data);
        expect(taken[`${x}${i}.out`]!.data).not.toEqual(feeds[`${x}${i}`]!.data);
      }
    });
    await s.dispose();
  });

  it('rejects mismatched state with a message naming the tensors', () => {
    const g = new Graph('bad');
    const p = g.input('w', 'float32', [2, 3]);
    const gr = g.input('gw', 'float32', [3, 2]);
    const step = g.input('step', 'float32', []);
    const lr = g.input('lr', 'float32', []);
    expect(() => adamw({ params: [p], grads: [gr], m: [p], v: [p], step, lr })).toThrow(/grad 'gw' is float32\[3, 2\] but param 'w' is float32\[2, 3\]/);
    expect(() => adamw({ params: [p], grads: [p], m: [p], v: [], step, lr })).toThrow(/1 params but 1 grads, 1 m, 0 v/);
    expect(() => adamw({ params: [p], grads: [p], m: [p], v: [p], step: p, lr })).toThrow(/step and lr must be scalars/);
  });
});

describe('clipByGlobalNorm (torch.nn.utils.clip_grad_norm_)', () => {
  async function runClip(values: Float32Array[], dims: number[][], maxNorm: number) {
    const g = new Graph('clip');
    const ins = dims.map((d, i) => g.input(`g${i}`, 'float32', d));
    const { clipped, norm } = clipByGlobalNorm(ins, maxNorm);
    clipped.forEach((t, i) => g.output(t, `c${i}`));
    g.output(norm, 'norm');
    const s = await createSession(g, { intraOpThreads: 1 });
    const out = await s.run(Object.fromEntries(values.map((v, i) => [`g${i}`, f32(dims[i]!, v)])));
    await s.dispose();
    return out;
  }

  it('scales by max_norm/(norm+1e-6) above the threshold and returns the pre-clip norm', async () => {
    const r = rng(11);
    const dims = [[4, 6], [10], [3, 1, 2]];
    const vals = dims.map((d) => randn(d.reduce((a, b) => a * b, 1), r, 3));
    const out = await runClip(vals, dims, 1.0);
    const ref = vals.map((v) => v.slice());
    const norm = torchClipGradNorm(ref, 1.0);
    expect((out.norm!.data as Float32Array)[0]).toBeCloseTo(norm, 4);
    expect(norm).toBeGreaterThan(1);
    ref.forEach((v, i) => expect(maxUlp(out[`c${i}`]!.data as Float32Array, v)).toBeLessThanOrEqual(4));
    let ss = 0;
    for (let i = 0; i < dims.length; i++) for (const x of out[`c${i}`]!.data as Float32Array) ss += x * x;
    expect(Math.sqrt(ss)).toBeCloseTo(1.0, 5);
  });

  it('leaves gradients unchanged (coef clamped to 1) below the threshold', async () => {
    const vals = [Float32Array.of(0.3, -0.4), Float32Array.of(0)];
    const out = await runClip(vals, [[2], [1]], 1.0);
    expect((out.norm!.data as Float32Array)[0]).toBeCloseTo(0.5, 6);
    expect(out.c0!.data).toEqual(vals[0]);
  });

  it('a NaN gradient makes every clipped gradient NaN, as torch does', async () => {
    const out = await runClip([Float32Array.of(NaN, 1), Float32Array.of(2)], [[2], [1]], 1.0);
    expect(Number.isNaN((out.c1!.data as Float32Array)[0])).toBe(true);
  });
});

describe('gradient accumulation and loss scaling helpers', () => {
  it('accumulateGrads adds, scaleGrads multiplies (number or tensor scale)', async () => {
    const g = new Graph('acc');
    const a = g.input('a', 'float32', [3]);
    const b = g.input('b', 'float32', [3]);
    const k = g.input('k', 'float32', []);
    const [sum] = accumulateGrads([a], [b]);
    g.output(scaleGrads([sum!], 0.5)[0]!, 'half');
    g.output(scaleGrads([sum!], k)[0]!, 'scaled');
    const s = await createSession(g, { intraOpThreads: 1 });
    const out = await s.run({ a: f32([3], Float32Array.of(1, 2, 3)), b: f32([3], Float32Array.of(3, 2, 1)), k: scalar(0.25) });
    expect(Array.from(out.half!.data as Float32Array)).toEqual([2, 2, 2]);
    expect(Array.from(out.scaled!.data as Float32Array)).toEqual([1, 1, 1]);
    await s.dispose();
    expect(() => accumulateGrads([a], [k])).toThrow(/accumulator 'a' \[3\] vs gradient 'k' \[\]/);
  });

  it('unscaleGrads flags Inf/NaN; updateLossScale follows GradScaler over a sequence of steps', async () => {
    const g = new Graph('amp');
    const gr = g.input('g', 'float32', [4]);
    const scale = g.input('scale', 'float32', []);
    const tracker = g.input('tracker', 'float32', []);
    const { grads, foundInf } = unscaleGrads([gr], scale);
    const o = { growthFactor: 2, backoffFactor: 0.5, growthInterval: 3 };
    const next = updateLossScale({ scale, growthTracker: tracker, foundInf, ...o });
    g.output(grads[0]!, 'unscaled');
    g.output(foundInf, 'found_inf');
    g.output(next.scale, 'scale.out');
    g.output(next.growthTracker, 'tracker.out');
    const s = await createSession(g, { intraOpThreads: 1 });
    const state = { scale: 1024, tracker: 0 };
    const overflow = [false, true, false, false, false, false, true, false, false, false];
    for (const inf of overflow) {
      const vals = Float32Array.of(1024, -2048, 512, inf ? Infinity : 3);
      const out = await s.run({ g: f32([4], vals), scale: scalar(state.scale), tracker: scalar(state.tracker) });
      expect((out.found_inf!.data as Uint8Array)[0]).toBe(inf ? 1 : 0);
      if (!inf) expect((out.unscaled!.data as Float32Array)[1]).toBe(-2048 / state.scale);
      torchUpdateScale(state, inf, o);
      expect((out['scale.out']!.data as Float32Array)[0]).toBe(state.scale);
      expect((out['tracker.out']!.data as Float32Array)[0]).toBe(state.tracker);
    }
    expect(state.scale).toBe(1024); // 1024 → 512 → 1024 (grow) → 512 → 512 … exercised both paths
    const nan = await s.run({ g: f32([4], Float32Array.of(NaN, 0, 0, 0)), scale: scalar(8), tracker: scalar(0) });
    expect((nan.found_inf!.data as Uint8Array)[0]).toBe(1);
    await s.dispose();
  });
});
