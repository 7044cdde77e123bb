// nn composites: forward values against plain-JS references (ports of the
// HF/PyTorch formulas) and gradients against finite differences.
import { describe, expect, it } from 'vitest';
import * as G from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import { checkGrad, expectClose, rng, uniform, type GradCase } from '../../test-utils/src/index.js';

const f64 = (dims: number[], data: number[]) => G.tensorData('float64', dims, Float64Array.from(data));
const i64 = (dims: number[], data: number[]) => G.tensorData('int64', dims, BigInt64Array.from(data.map(BigInt)));

async function run(g: G.Graph, feeds: Record<string, G.TensorData>): Promise<Record<string, G.TensorData>> {
  const s = await createSession(g, { intraOpThreads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.dispose();
  }
}

// --- JS references -------------------------------------------------------

/** Additive mask [B,1,S,S] as HF builds it from attention_mask [B,S]. */
function refMask(am: number[][], min: number): number[][][] {
  return am.map((row) => row.map((_, i) => row.map((tok, j) => (j <= i && tok !== 0 ? 0 : min))));
}

/** eager_attention_forward with repeat_kv, on nested arrays [B][H][S][D]. */
function refAttention(q: number[][][][], k: number[][][][], v: number[][][][], mask: number[][][] | null, scale: number): number[][][][] {
  const groups = q[0]!.length / k[0]!.length;
  return q.map((qb, b) =>
    qb.map((qh, h) => {
      const kh = k[b]![Math.floor(h / groups)]!;
      const vh = v[b]![Math.floor(h / groups)]!;
      return qh.map((qi, i) => {
        const s = kh.map((kj, j) => qi.reduce((acc, x, d) => acc + x * kj[d]!, 0) * scale + (mask ? mask[b]![i]![j]! : 0));
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, x) => a + x, 0);
        return vh[0]!.map((_, d) => e.reduce((acc, p, j) => acc + (p / z) * vh[j]![d]!, 0));
      });
    }),
  );
}

function nest(flat: number[], dims: number[]): any {
  if (dims.length === 1) return flat.slice(0, dims[0]);
  const step = flat.length / dims[0]!;
  return Array.from({ length: dims[0]! }, (_, i) => nest(flat.slice(i * step, (i + 1) * step), dims.slice(1)));
}

const refRms = (x: number[], w: number[], eps: number) => {
  const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
  return x.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]!);
};

function refCrossEntropy(logits: number[][], labels: number[], w: number[] | null, ignore = -100): number {
  let num = 0;
  let den = 0;
  logits.forEach((row, i) => {
    const y = labels[i]!;
    if (y === ignore) return;
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    const wi = w ? w[y]! : 1;
    num += wi * (lse - row[y]!);
    den += wi;
  });
  return num / den;
}

function erfRef(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse; use a series/continued fraction via high-precision Taylor for |x|<3.
  let sum = 0;
  let term = x;
  for (let n = 0; n < 60; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

// --- forward values ---------------------------------------------------------

describe('nn forward values vs JS references', () => {
  it('attention (GQA 4 q heads / 2 kv heads) with causal+padding mask, float64', async () => {
    const [B, Hq, Hkv, S, D] = [2, 4, 2, 3, 4];
    const next = rng(7);
    const qv = uniform(next, B * Hq * S * D);
    const kv = uniform(next, B * Hkv * S * D);
    const vv = uniform(next, B * Hkv * S * D);
    const am = [
      [1, 1, 1],
      [1, 1, 0],
    ];
    const g = new G.Graph('attn');
    const q = g.input('q', 'float64', ['B', Hq, 'S', D]);
    const k = g.input('k', 'float64', ['B', Hkv, 'S', D]);
    const v = g.input('v', 'float64', ['B', Hkv, 'S', D]);
    const m = g.input('am', 'int64', ['B', 'S']);
    const mask = G.causalPaddingMask(m, 'float64');
    expect(mask.shape).toEqual(['B', 1, 'S', 'S']);
    const out = G.attention({ q, k, v, mask });
    expect(out.shape).toEqual(['B', Hq, 'S', D]);
    g.output(out, 'out');
    g.output(mask, 'mask');
    const r = await run(g, { q: f64([B, Hq, S, D], qv), k: f64([B, Hkv, S, D], kv), v: f64([B, Hkv, S, D], vv), am: i64([B, S], am.flat()) });
    const maskRef = refMask(am, G.FINFO_MIN.float64!);
    expectClose(r.mask!, maskRef.flat(2), { rtol: 0, atol: 0, name: 'mask' });
    const ref = refAttention(nest(qv, [B, Hq, S, D]), nest(kv, [B, Hkv, S, D]), nest(vv, [B, Hkv, S, D]), maskRef, 1 / Math.sqrt(D));
    expectClose(r.out!, ref.flat(3), { rtol: 1e-12, atol: 1e-12, name: 'attention' });
  });

  it('attention with a per-head mask matches per-head JS attention', async () => {
    const [Hq, Hkv, S, D] = [4, 2, 3, 2];
    const next = rng(9);
    const qv = uniform(next, Hq * S * D);
    const kv = uniform(next, Hkv * S * D);
    const vv = uniform(next, Hkv * S * D);
    const mv = uniform(next, Hq * S * S, -3, 0);
    const g = new G.Graph('attn_heads');
    const q = g.input('q', 'float64', [1, Hq, S, D]);
    const k = g.input('k', 'float64', [1, Hkv, S, D]);
    const v = g.input('v', 'float64', [1, Hkv, S, D]);
    const m = g.input('m', 'float64', [1, Hq, S, S]);
    g.output(G.attention({ q, k, v, mask: m }), 'out');
    const r = await run(g, { q: f64([1, Hq, S, D], qv), k: f64([1, Hkv, S, D], kv), v: f64([1, Hkv, S, D], vv), m: f64([1, Hq, S, S], mv) });
    const Q = nest(qv, [1, Hq, S, D]);
    const K = nest(kv, [1, Hkv, S, D]);
    const V = nest(vv, [1, Hkv, S, D]);
    const M = nest(mv, [Hq, S, S]);
    // Head h alone, with its own mask, against KV head floor(h / groups).
    const ref = Array.from({ length: Hq }, (_, h) => refAttention([[Q[0][h]]], [[K[0][Math.floor(h / 2)]]], [[V[0][Math.floor(h / 2)]]], [M[h]], 1 / Math.sqrt(D)).flat(3));
    // ORT's MatMulScaleFusion folds the 1/√2 scale into a FusedMatMul float32 alpha: ~1e-8 relative in float64.
    expectClose(r.out!, ref.flat(), { rtol: 1e-7, atol: 1e-12, name: 'per-head mask attention' });
  });

  it('causalPaddingMask float32 uses finfo(float32).min and allows 0', async () => {
    const g = new G.Graph('mask');
    const m = g.input('am', 'int64', [1, 4]);
    g.output(G.causalPaddingMask(m), 'mask');
    const r = await run(g, { am: i64([1, 4], [0, 1, 1, 0]) });
    expect(r.mask!.dtype).toBe('float32');
    expectClose(r.mask!, refMask([[0, 1, 1, 0]], Math.fround(-3.4028234663852886e38)).flat(2), { rtol: 0, atol: 0 });
  });

  it('rmsNorm (float32 compute for float32/bfloat16-style inputs), layerNorm, activations, crossEntropy', async () => {
    const next = rng(3);
    const xv = uniform(next, 2 * 5, -2, 2);
    const wv = uniform(next, 5, 0.5, 1.5);
    const bv = uniform(next, 5);
    const logitsV = uniform(next, 4 * 3, -3, 3);
    const labels = [2, 0, -100, 1];
    const cw = [0.2, 1.0, 3.0];
    const g = new G.Graph('nn');
    const x = g.input('x', 'float64', ['N', 5]);
    const w = g.input('w', 'float64', [5]);
    const b = g.input('b', 'float64', [5]);
    const logits = g.input('logits', 'float64', [4, 3]);
    const lab = g.input('labels', 'int64', [4]);
    const cwT = g.input('cw', 'float64', [3]);
    g.output(G.rmsNorm(x, w, 1e-6), 'rms');
    g.output(G.layerNorm(x, w, b, 1e-5), 'ln');
    g.output(G.geluTanh(x), 'geluTanh');
    g.output(G.silu(x), 'silu');
    g.output(G.cast(G.gelu(G.cast(x, 'float32')), 'float64'), 'gelu');
    g.output(G.crossEntropy(logits, lab), 'ce');
    g.output(G.crossEntropy(logits, lab, cwT), 'ceW');
    g.output(G.linear(x, G.reshape(G.concat([w, b], 0), [2, 5]), null), 'lin');
    const r = await run(g, { x: f64([2, 5], xv), w: f64([5], wv), b: f64([5], bv), logits: f64([4, 3], logitsV), labels: i64([4], labels), cw: f64([3], cw) });
    const rows = [xv.slice(0, 5), xv.slice(5)];
    expectClose(r.rms!, rows.flatMap((row) => refRms(row, wv, 1e-6)), { rtol: 1e-12, name: 'rmsNorm' });
    const ln = rows.flatMap((row) => {
      const mu = row.reduce((a, v) => a + v, 0) / 5;
      const va = row.reduce((a, v) => a + (v - mu) ** 2, 0) / 5;
      return row.map((v, i) => ((v - mu) / Math.sqrt(va + 1e-5)) * wv[i]! + bv[i]!);
    });
    expectClose(r.ln!, ln, { rtol: 1e-12, name: 'layerNorm' });
    expectClose(r.geluTanh!, xv.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))), { rtol: 1e-12, name: 'geluTanh' });
    expectClose(r.silu!, xv.map((v) => v / (1 + Math.exp(-v))), { rtol: 1e-12, name: 'silu' });
    expectClose(r.gelu!, xv.map((v) => 0.5 * v * (1 + erfRef(v / Math.SQRT2))), { rtol: 1e-5, atol: 1e-6, name: 'gelu' });
    const lg = nest(logitsV, [4, 3]);
    expectClose(r.ce!, refCrossEntropy(lg, labels, null), { rtol: 1e-12, name: 'crossEntropy' });
    expectClose(r.ceW!, refCrossEntropy(lg, labels, cw), { rtol: 1e-12, name: 'weighted crossEntropy' });
    expect(r.ce!.dims).toEqual([]);
    const lin = rows.flatMap((row) => [wv, bv].map((wr) => row.reduce((a, v, i) => a + v * wr[i]!, 0)));
    expectClose(r.lin!, lin, { rtol: 1e-12, name: 'linear' });
  });

  it('rotateHalf / applyRotary match HF rotate_half', async () => {
    const g = new G.Graph('rope');
    const x = g.input('x', 'float64', [1, 1, 2, 4]);
    const cos = g.input('cos', 'float64', [1, 1, 2, 4]);
    const sin = g.input('sin', 'float64', [1, 1, 2, 4]);
    g.output(G.rotateHalf(x), 'rot');
    g.output(G.applyRotary(x, cos, sin), 'y');
    const xv = [1, 2, 3, 4, 5, 6, 7, 8];
    const c = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
    const s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
    const r = await run(g, { x: f64([1, 1, 2, 4], xv), cos: f64([1, 1, 2, 4], c), sin: f64([1, 1, 2, 4], s) });
    const rot = [-3, -4, 1, 2, -7, -8, 5, 6];
    expectClose(r.rot!, rot, { rtol: 0, atol: 0 });
    expectClose(r.y!, xv.map((v, i) => v * c[i]! + rot[i]! * s[i]!), { rtol: 1e-15 });
  });

  it('dropout: deterministic mask input scales kept values; seeded mask keeps ~1-p', async () => {
    const g = new G.Graph('drop');
    const x = g.input('x', 'float32', [1000]);
    const m = g.input('m', 'bool', [1000]);
    g.output(G.dropout(x, 0.25, m), 'masked');
    g.output(G.dropout(x, 0.25, { seed: 42 }), 'seeded');
    const ones = G.tensorData('float32', [1000], new Float32Array(1000).fill(1));
    const mask = G.tensorData('bool', [1000], Uint8Array.from({ length: 1000 }, (_, i) => (i % 4 === 0 ? 0 : 1)));
    const r = await run(g, { x: ones, m: mask });
    const md = r.masked!.data as Float32Array;
    expect(md[0]).toBe(0);
    expect(md[1]).toBeCloseTo(1 / 0.75, 6);
    const kept = Array.from(r.seeded!.data as Float32Array).filter((v) => v !== 0).length;
    expect(kept).toBeGreaterThan(650);
    expect(kept).toBeLessThan(850);
  });

  it('dropout from a seed tensor: same seed same mask, new seed new mask, P(keep) = 1-p', async () => {
    const g = new G.Graph('drop');
    const x = g.input('x', 'float32', ['B', 'S', 64]);
    const seed = g.input('seed', 'int64', []);
    g.output(G.dropout(x, 0.3, seed), 'a');
    g.output(G.dropout(x, 0.3, { seed }), 'b');
    const s = await createSession(g, { intraOpThreads: 1 });
    const feeds = (k: number) => ({ x: G.tensorData('float32', [4, 50, 64], new Float32Array(4 * 50 * 64).fill(1)), seed: i64([], [k]) });
    const r1 = await s.run(feeds(1));
    const r1b = await s.run(feeds(1));
    const r2 = await s.run(feeds(2));
    await s.dispose();
    const a1 = Array.from(r1.a!.data as Float32Array);
    expect(Array.from(r1.b!.data as Float32Array)).toEqual(a1);
    expect(Array.from(r1b.a!.data as Float32Array)).toEqual(a1);
    const a2 = Array.from(r2.a!.data as Float32Array);
    const n = a1.length;
    const keep1 = a1.filter((v) => v !== 0).length / n;
    const same = a1.filter((v, i) => (v !== 0) === (a2[i] !== 0)).length / n;
    expect(Math.abs(keep1 - 0.7)).toBeLessThan(0.02);
    expect(Math.abs(same - (0.7 * 0.7 + 0.3 * 0.3))).toBeLessThan(0.02); // independent masks
    // Neighbouring elements are not correlated: P(both kept) ≈ 0.49.
    const pairs = a1.slice(1).filter((v, i) => v !== 0 && a1[i] !== 0).length / (n - 1);
    expect(Math.abs(pairs - 0.49)).toBeLessThan(0.02);
    expect(a1.find((v) => v !== 0)).toBeCloseTo(1 / 0.7, 6);
  });
});

// --- gradients ----------------------------------------------------------------

const NN_CASES: GradCase[] = [
  { name: 'linear 3-D with bias', inputs: { x: { shape: [2, 2, 3] }, w: { shape: [4, 3] }, b: { shape: [4] } }, build: ({ x, w, b }) => G.linear(x!, w!, b!) },
  { name: 'linear 2-D (Gemm) with bias', inputs: { x: { shape: [2, 3] }, w: { shape: [4, 3] }, b: { shape: [4] } }, build: ({ x, w, b }) => G.linear(x!, w!, b!) },
  { name: 'rmsNorm', inputs: { x: { shape: [2, 5] }, w: { shape: [5] } }, build: ({ x, w }) => G.rmsNorm(x!, w!, 1e-6) },
  { name: 'layerNorm', inputs: { x: { shape: [2, 5] }, w: { shape: [5] }, b: { shape: [5] } }, build: ({ x, w, b }) => G.layerNorm(x!, w!, b!, 1e-5) },
  { name: 'gelu (erf, float32)', inputs: { x: { shape: [6], dtype: 'float32', range: [-2, 2] } }, build: ({ x }) => G.gelu(x!) },
  { name: 'geluTanh', inputs: { x: { shape: [6], range: [-2, 2] } }, build: ({ x }) => G.geluTanh(x!) },
  { name: 'silu float32 (QuickGelu fusion in ORT)', inputs: { x: { shape: [6], dtype: 'float32', range: [-2, 2] } }, build: ({ x }) => G.silu(x!) },
  { name: 'silu', inputs: { x: { shape: [6], range: [-2, 2] } }, build: ({ x }) => G.silu(x!) },
  {
    name: 'applyRotary',
    inputs: { x: { shape: [1, 2, 3, 4] }, cos: { shape: [1, 1, 3, 4] }, sin: { shape: [1, 1, 3, 4] } },
    build: ({ x, cos, sin }) => G.applyRotary(x!, cos!, sin!),
  },
  {
    name: 'attention GQA + causal/padding mask',
    inputs: {
      q: { shape: [2, 4, 3, 2], dims: ['B', 4, 'S', 2] },
      k: { shape: [2, 2, 3, 2], dims: ['B', 2, 'S', 2] },
      v: { shape: [2, 2, 3, 2], dims: ['B', 2, 'S', 2] },
      am: { shape: [2, 3], dims: ['B', 'S'], dtype: 'int64', data: [1, 1, 1, 1, 1, 0] },
    },
    build: ({ q, k, v, am }) => G.attention({ q: q!, k: k!, v: v!, mask: G.causalPaddingMask(am!, 'float64') }),
  },
  {
    name: 'attention GQA with a per-head float mask [B,Hq,S,T]',
    inputs: { q: { shape: [1, 4, 2, 2] }, k: { shape: [1, 2, 3, 2] }, v: { shape: [1, 2, 3, 2] }, m: { shape: [1, 4, 2, 3], range: [-2, 0] } },
    build: ({ q, k, v, m }) => G.attention({ q: q!, k: k!, v: v!, mask: m! }),
  },
  {
    name: 'attention MHA, explicit scale, no mask',
    inputs: { q: { shape: [1, 2, 3, 2] }, k: { shape: [1, 2, 4, 2] }, v: { shape: [1, 2, 4, 3] } },
    build: ({ q, k, v }) => G.attention({ q: q!, k: k!, v: v!, scale: 0.3 }),
  },
  {
    name: 'crossEntropy weighted + ignore_index',
    inputs: { logits: { shape: [4, 3], range: [-2, 2] }, y: { shape: [4], dtype: 'int64', data: [2, 0, -100, 1] }, w: { shape: [3], range: [0.5, 2] } },
    build: ({ logits, y, w }) => G.crossEntropy(logits!, y!, w!),
  },
  {
    name: 'dropout with mask input',
    inputs: { x: { shape: [6] }, m: { shape: [6], dtype: 'bool', data: [1, 0, 1, 1, 0, 1] } },
    build: ({ x, m }) => G.dropout(x!, 0.4, m!),
  },
];

describe('nn composites: gradients vs finite differences', () => {
  it('all composites', async () => {
    await checkGrad(NN_CASES);
  });
});
