import { describe, expect, it } from 'vitest';
import {
  add,
  applyRotary,
  attention,
  causalPaddingMask,
  crossEntropy,
  gather,
  linear,
  mulberry32,
  mul,
  reshape,
  rmsNorm,
  silu,
  tensorData,
  transpose,
  type Tensor,
  type TensorData,
} from '@vlreward/graph';
import { buildArtifacts, TrainingSession, type ForwardBuilder, type ParamSpec } from '../src/artifacts/index.js';

// One Qwen3-style decoder block (RMSNorm, GQA attention with rotary and a
// causal+padding mask, SwiGLU MLP) under a tiny LM head, trained to output
// the previous token, which only attention can see; through the one training
// path (buildArtifacts → TrainingSession's fused step), as vlreward train runs.
const B = 4;
const S = 8;
const V = 12;
const H = 32;
const HQ = 4;
const HKV = 2;
const D = 8;
const I = 64;

const rng = mulberry32;

const SHAPES: Record<string, number[]> = {
  embed: [V, H],
  'attn_norm.weight': [H],
  'q_proj.weight': [HQ * D, H],
  'k_proj.weight': [HKV * D, H],
  'v_proj.weight': [HKV * D, H],
  'o_proj.weight': [H, HQ * D],
  'mlp_norm.weight': [H],
  'gate_proj.weight': [I, H],
  'up_proj.weight': [I, H],
  'down_proj.weight': [H, I],
  'final_norm.weight': [H],
  'lm_head.weight': [V, H],
};

function heads(x: Tensor, n: number): Tensor {
  return transpose(reshape(x, [0, 0, n, D]), [0, 2, 1, 3]);
}

const forward: ForwardBuilder = (g, params) => {
  const ids = g.input('input_ids', 'int64', [B, S]);
  const am = g.input('attention_mask', 'int64', [B, S]);
  const labels = g.input('labels', 'int64', [B * S]);
  const p: Record<string, Tensor> = {};
  for (const [name, dims] of Object.entries(SHAPES)) p[name] = params(name, 'float32', dims);
  const cos = new Float32Array(S * D);
  const sin = new Float32Array(S * D);
  for (let s = 0; s < S; s++)
    for (let i = 0; i < D; i++) {
      const f = s / 10000 ** ((2 * (i % (D / 2))) / D);
      cos[s * D + i] = Math.cos(f);
      sin[s * D + i] = Math.sin(f);
    }
  const cosT = g.initializer('rope.cos', tensorData('float32', [S, D], cos));
  const sinT = g.initializer('rope.sin', tensorData('float32', [S, D], sin));
  const x = gather(p.embed!, ids);
  const h = rmsNorm(x, p['attn_norm.weight']!);
  const q = applyRotary(heads(linear(h, p['q_proj.weight']!), HQ), cosT, sinT);
  const k = applyRotary(heads(linear(h, p['k_proj.weight']!), HKV), cosT, sinT);
  const v = heads(linear(h, p['v_proj.weight']!), HKV);
  const a = attention({ q, k, v, mask: causalPaddingMask(am) });
  const r1 = add(x, linear(reshape(transpose(a, [0, 2, 1, 3]), [0, 0, HQ * D]), p['o_proj.weight']!));
  const h2 = rmsNorm(r1, p['mlp_norm.weight']!);
  const mlp = linear(mul(silu(linear(h2, p['gate_proj.weight']!)), linear(h2, p['up_proj.weight']!)), p['down_proj.weight']!);
  const r2 = add(r1, mlp);
  const logits = linear(rmsNorm(r2, p['final_norm.weight']!), p['lm_head.weight']!);
  const flat = reshape(logits, [B * S, V]);
  return { loss: crossEntropy(flat, labels), logits: flat };
};

function data(seed: number): Record<string, TensorData> {
  const r = rng(seed);
  const ids = BigInt64Array.from({ length: B * S }, () => BigInt(Math.floor(r() * V)));
  const mask = new BigInt64Array(B * S).fill(1n);
  // The last sequence is right-padded: its padding is masked and its labels ignored.
  for (let s = 6; s < S; s++) mask[(B - 1) * S + s] = 0n;
  const labels = new BigInt64Array(B * S);
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++) labels[b * S + s] = s === 0 || mask[b * S + s] === 0n ? -100n : ids[b * S + s - 1]!;
  return {
    input_ids: tensorData('int64', [B, S], ids),
    attention_mask: tensorData('int64', [B, S], mask),
    labels: tensorData('int64', [B * S], labels),
  };
}

async function train(steps: number): Promise<number[]> {
  const r = rng(7);
  const specs: ParamSpec[] = Object.entries(SHAPES).map(([name, dims]) => {
    const n = dims.reduce((a, b) => a * b, 1);
    return { name, shape: dims, trainable: true, init: tensorData('float32', dims, dims.length === 1 ? new Float32Array(n).fill(1) : Float32Array.from({ length: n }, () => (r() - 0.5) * 0.2)) };
  });
  const art = buildArtifacts(forward, specs, { name: 'block_train', graphs: ['train'], optimizer: { maxGradNorm: 1.0, weightDecay: 0 } });
  const runner = await TrainingSession.create(art, { intraOpThreads: 1 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    // A fresh batch each step, cycling through 8, so the task is learned rather than memorized.
    losses.push((await runner.step(data(s % 8), 0.01)).loss);
  }
  await runner.dispose();
  return losses;
}

describe('fused train step on a transformer block (attention + RMSNorm + rotary + SwiGLU)', () => {
  it('learns the previous-token task; two runs are bit-identical', async () => {
    const a = await train(STEPS);
    const first = a.slice(0, 8).reduce((x, y) => x + y, 0) / 8;
    const last = a.slice(-8).reduce((x, y) => x + y, 0) / 8;
    expect(first).toBeGreaterThan(2.2); // ≈ ln 12 = 2.48 at init
    expect(last).toBeLessThan(LAST8_MEAN_BELOW);
    const b = await train(STEPS);
    expect(b).toEqual(a);
  });
});

const STEPS = 150;
// Measured (seed 7, 1 intra-op thread): first 8 steps mean 2.31, last 8 of 150 mean 0.168.
const LAST8_MEAN_BELOW = 0.3;
