// A small decoder-only classifier with the shape of the real reward model
// (token embedding → pre-norm attention/SwiGLU blocks → final RMSNorm →
// last-non-padding-token pooling → linear head → mean cross-entropy), built
// from @vlreward/graph's nn composites. It exercises the artifact machinery
// (LoRA-style frozen base + trainable adapters, or full fine-tuning) without
// the Qwen3-VL forward, and is the model the artifacts benchmark times.
// Test-only: it lives beside the tests (and the benches import it from here),
// not in @vlreward/model's public API.
import {
  fnv1a,
  mulberry32,
  add,
  attention,
  causalPaddingMask,
  cast,
  crossEntropy,
  dropout,
  equal,
  gather,
  linear,
  matmul,
  mul,
  range,
  reduceSum,
  reshape,
  rmsNorm,
  scalar,
  shapeOf,
  silu,
  squeeze,
  sub,
  transpose,
  unsqueeze,
  type Tensor,
  type TensorData,
} from '@vlreward/graph';
import type { ForwardBuilder, ParamSpec } from '../src/artifacts/types.js';

export interface ToyConfig {
  readonly vocab: number;
  readonly hidden: number;
  readonly heads: number;
  readonly layers: number;
  readonly ffn: number;
  readonly classes: number;
  /** LoRA rank on q/v projections (mode 'lora'). */
  readonly loraRank: number;
  readonly loraAlpha: number;
  readonly loraDropout: number;
}

export const TOY_SMALL: ToyConfig = { vocab: 64, hidden: 32, heads: 4, layers: 2, ffn: 64, classes: 3, loraRank: 4, loraAlpha: 8, loraDropout: 0 };

export type ToyMode = 'lora' | 'full';

/** Deterministic N(0, std²) initial values (mulberry32 + Box–Muller), keyed by seed and name. */
export function seededNormal(dims: readonly number[], std: number, seed: number, name: string): TensorData {
  const next = mulberry32(fnv1a(name, 0x811c9dc5 ^ seed));
  const n = dims.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = std * Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());
  return { dtype: 'float32', dims: [...dims], data };
}

function fill(dims: readonly number[], v: number): TensorData {
  return { dtype: 'float32', dims: [...dims], data: new Float32Array(dims.reduce((x, y) => x * y, 1)).fill(v) };
}

/** The toy model's parameter inventory. 'lora': base frozen, LoRA A/B + head trainable; 'full': everything trainable. */
export function toyParams(cfg: ToyConfig, mode: ToyMode, seed = 0): ParamSpec[] {
  const H = cfg.hidden;
  const base = mode === 'full';
  const specs: ParamSpec[] = [];
  const w = (name: string, shape: number[], trainable: boolean, init: () => TensorData) => specs.push({ name, shape, trainable, init });
  const normal = (name: string, shape: number[], std: number) => () => seededNormal(shape, std, seed, name);
  w('embed.weight', [cfg.vocab, H], base, normal('embed.weight', [cfg.vocab, H], 1));
  for (let l = 0; l < cfg.layers; l++) {
    const p = `layers.${l}`;
    w(`${p}.attn_norm.weight`, [H], base, () => fill([H], 1));
    for (const proj of ['q', 'k', 'v', 'o']) w(`${p}.${proj}_proj.weight`, [H, H], base, normal(`${p}.${proj}_proj.weight`, [H, H], 1 / Math.sqrt(H)));
    w(`${p}.mlp_norm.weight`, [H], base, () => fill([H], 1));
    w(`${p}.gate_proj.weight`, [cfg.ffn, H], base, normal(`${p}.gate_proj.weight`, [cfg.ffn, H], 1 / Math.sqrt(H)));
    w(`${p}.up_proj.weight`, [cfg.ffn, H], base, normal(`${p}.up_proj.weight`, [cfg.ffn, H], 1 / Math.sqrt(H)));
    w(`${p}.down_proj.weight`, [H, cfg.ffn], base, normal(`${p}.down_proj.weight`, [H, cfg.ffn], 1 / Math.sqrt(cfg.ffn)));
    if (mode === 'lora') {
      for (const proj of ['q', 'v']) {
        // PEFT init: A Kaiming-uniform-like (here normal), B zero: the adapter starts as a no-op.
        w(`${p}.${proj}_proj.lora_A.weight`, [cfg.loraRank, H], true, normal(`${p}.${proj}_proj.lora_A.weight`, [cfg.loraRank, H], 1 / Math.sqrt(H)));
        w(`${p}.${proj}_proj.lora_B.weight`, [H, cfg.loraRank], true, () => fill([H, cfg.loraRank], 0));
      }
    }
  }
  w('norm.weight', [H], base, () => fill([H], 1));
  w('head.weight', [cfg.classes, H], true, normal('head.weight', [cfg.classes, H], 1 / Math.sqrt(H)));
  w('head.bias', [cfg.classes], true, () => fill([cfg.classes], 0));
  return specs;
}

/**
 * Forward builder. Batch inputs: input_ids [batch, seq] int64,
 * attention_mask [batch, seq] int64 (right padding), labels [batch] int64.
 */
export function toyForward(cfg: ToyConfig): ForwardBuilder {
  const shapes = new Map(toyParams(cfg, 'lora').map((p) => [p.name, p.shape]));
  return (g, params, ctx) => {
    const H = cfg.hidden;
    const D = H / cfg.heads;
    const dt = ctx.computeDType;
    const P = { get: (name: string) => params(name, dt, shapes.get(name)!), has: (name: string) => ctx.hasParam(name) };
    const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
    const am = g.input('attention_mask', 'int64', ['batch', 'seq']);
    const labels = g.input('labels', 'int64', ['batch']);
    const mask = causalPaddingMask(am, dt);
    let x = gather(P.get('embed.weight'), ids, 0); // [B, S, H]

    const proj = (h: Tensor, prefix: string, name: string): Tensor => {
      const y = linear(h, P.get(`${prefix}.${name}_proj.weight`));
      const a = `${prefix}.${name}_proj.lora_A.weight`;
      if (!P.has(a)) return y;
      const keep = ctx.dropoutMask(`${prefix}.${name}_proj`, ['batch', 'seq', H], cfg.loraDropout);
      const hd = keep ? dropout(h, cfg.loraDropout, keep) : h;
      const delta = linear(linear(hd, P.get(a)), P.get(`${prefix}.${name}_proj.lora_B.weight`));
      return add(y, mul(delta, scalar(g, cfg.loraAlpha / cfg.loraRank, dt)));
    };
    const heads = (t: Tensor) => transpose(reshape(t, [0, 0, cfg.heads, D]), [0, 2, 1, 3]); // [B, nH, S, D]

    for (let l = 0; l < cfg.layers; l++) {
      const p = `layers.${l}`;
      x = ctx.checkpoint(p, () =>
        ((): Tensor => {
          const h = rmsNorm(x, P.get(`${p}.attn_norm.weight`), 1e-6);
          const q = heads(proj(h, p, 'q'));
          const k = heads(proj(h, p, 'k'));
          const v = heads(proj(h, p, 'v'));
          const att = reshape(transpose(attention({ q, k, v, mask }), [0, 2, 1, 3]), [0, 0, H]);
          const x1 = add(x, linear(att, P.get(`${p}.o_proj.weight`)));
          const h2 = rmsNorm(x1, P.get(`${p}.mlp_norm.weight`), 1e-6);
          const act = mul(silu(linear(h2, P.get(`${p}.gate_proj.weight`))), linear(h2, P.get(`${p}.up_proj.weight`)));
          return add(x1, linear(act, P.get(`${p}.down_proj.weight`)));
        })(),
      );
    }
    const hN = rmsNorm(x, P.get('norm.weight'), 1e-6);
    // Pool the last non-padding token: one-hot(len - 1) · h (a matmul, so its gradient is one too).
    const last = sub(reduceSum(am, [1], false), scalar(g, 1, 'int64')); // [B]
    const seqLen = reshape(shapeOf(ids, 1, 2), []);
    const pos = range(scalar(g, 0, 'int64'), seqLen, scalar(g, 1, 'int64'), 'seq'); // [S]
    const onehot = cast(equal(unsqueeze(last, [1]), unsqueeze(pos, [0])), dt); // [B, S]
    const pooled = squeeze(matmul(unsqueeze(onehot, [1]), hN), [1]); // [B, H]
    let logits = linear(pooled, P.get('head.weight'), P.get('head.bias'));
    if (logits.dtype !== 'float32') logits = cast(logits, 'float32');
    const loss = crossEntropy(logits, labels);
    return { loss, logits, extra: { pooled } };
  };
}

/** A deterministic toy batch: B right-padded sequences of length S, labels in [0, classes). */
export function toyBatch(cfg: ToyConfig, B: number, S: number, seed = 0): Record<string, TensorData> {
  const ids = new BigInt64Array(B * S);
  const mask = new BigInt64Array(B * S);
  const labels = new BigInt64Array(B);
  let a = (seed * 2654435761) >>> 0;
  const rnd = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
  for (let b = 0; b < B; b++) {
    const len = Math.max(2, S - Math.floor(rnd() * (S / 2)));
    for (let s = 0; s < S; s++) {
      ids[b * S + s] = BigInt(s < len ? 1 + Math.floor(rnd() * (cfg.vocab - 1)) : 0);
      mask[b * S + s] = s < len ? 1n : 0n;
    }
    labels[b] = BigInt(Math.floor(rnd() * cfg.classes));
  }
  return {
    input_ids: { dtype: 'int64', dims: [B, S], data: ids },
    attention_mask: { dtype: 'int64', dims: [B, S], data: mask },
    labels: { dtype: 'int64', dims: [B], data: labels },
  };
}
