import type { Tensor } from '../builder.js';
import type { DType } from '../dtype.js';
import { formatShape, type Dim } from '../shape.js';
import { add } from '../ops/Add.js';
import { and } from '../ops/And.js';
import { cast } from '../ops/Cast.js';
import { constInt64, scalar } from '../ops/Constant.js';
import { equal } from '../ops/Equal.js';
import { lessOrEqual } from '../ops/LessOrEqual.js';
import { matmul } from '../ops/MatMul.js';
import { mul } from '../ops/Mul.js';
import { not } from '../ops/Not.js';
import { range } from '../ops/Range.js';
import { reshape, reshapeTo } from '../ops/Reshape.js';
import { concat } from '../ops/Concat.js';
import { shapeOf } from '../ops/Shape.js';
import { softmax } from '../ops/Softmax.js';
import { transposeLast2 } from '../ops/Transpose.js';
import { unsqueeze } from '../ops/Unsqueeze.js';
import { where } from '../ops/Where.js';

/** torch.finfo(dtype).min, the additive mask value HF uses. */
export const FINFO_MIN: Readonly<Partial<Record<DType, number>>> = {
  float32: -3.4028234663852886e38,
  float64: -1.7976931348623157e308,
  float16: -65504,
  bfloat16: -3.3895313892515355e38,
};

export interface AttentionArgs {
  /** [B, Hq, S, D] */
  readonly q: Tensor;
  /** [B, Hkv, T, D] */
  readonly k: Tensor;
  /** [B, Hkv, T, Dv] */
  readonly v: Tensor;
  /** Additive float mask broadcastable to [B, 1, S, T] (0 = keep, finfo.min = masked). */
  readonly mask?: Tensor | null;
  /** Default 1/√D. */
  readonly scale?: number;
  /** Hq / Hkv; inferred from the static head counts when omitted. */
  readonly numKvGroups?: number;
}

// transformers models/qwen3_vl/modeling_qwen3_vl.py eager_attention_forward (without the final transpose)
/**
 * softmax(q·kᵀ·scale + mask)·v with grouped KV heads. Returns [B, Hq, S, Dv].
 * GQA is done by viewing q as [B, Hkv, groups, S, D] and broadcasting k/v
 * over the group axis (same values as repeat_kv, no copies). The softmax
 * runs in float32 for 16-bit inputs, as HF does.
 */
export function attention(args: AttentionArgs): Tensor {
  const { q, k, v } = args;
  const where_ = `attention(q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)})`;
  for (const t of [q, k, v]) if (t.rank !== 4) throw new Error(`${where_}: '${t.name}' must be rank 4 [B, H, S, D]`);
  const hq = q.shape[1]!;
  const hkv = k.shape[1]!;
  const d = q.shape[3]!;
  const dv = v.shape[3]!;
  if (typeof d !== 'number' || typeof dv !== 'number') throw new Error(`${where_}: head dims must be static`);
  let groups = args.numKvGroups;
  if (groups === undefined) {
    if (typeof hq !== 'number' || typeof hkv !== 'number') throw new Error(`${where_}: pass numKvGroups for symbolic head counts`);
    groups = hq / hkv;
  }
  if (!Number.isInteger(groups) || groups < 1 || (typeof hq === 'number' && typeof hkv === 'number' && hq !== hkv * groups)) {
    throw new Error(`${where_}: ${hq} query heads are not ${groups} groups of ${hkv} KV heads`);
  }
  const scale = args.scale ?? 1 / Math.sqrt(d);
  let mask = args.mask ?? null;
  let qq = q;
  let kk = k;
  let vv = v;
  if (groups > 1) {
    if (typeof hkv !== 'number') throw new Error(`${where_}: KV head count must be static for GQA`);
    qq = reshape(q, [0, hkv, groups, -1, d]);
    kk = unsqueeze(k, [2]);
    vv = unsqueeze(v, [2]);
    // A per-head mask [B, Hq, S, T] splits like q; a shared one gets a group axis.
    if (mask && mask.rank === 4) {
      const m = mask;
      const [mb, , ms, mt] = m.shape as [Dim, Dim, Dim, Dim];
      mask =
        m.shape[1] === hq && hq !== 1
          ? reshapeTo(m, concat([shapeOf(m, 0, 1), constInt64(m.graph, [hkv, groups]), shapeOf(m, 2, 4)], 0), [mb, hkv, groups, ms, mt])
          : unsqueeze(m, [2]);
    }
  }
  let scores = mul(matmul(qq, transposeLast2(kk)), scale);
  const low = scores.dtype === 'float16' || scores.dtype === 'bfloat16';
  if (low) scores = cast(scores, 'float32');
  if (mask) scores = add(scores, mask.dtype === scores.dtype ? mask : cast(mask, scores.dtype));
  let probs = softmax(scores, -1);
  if (low) probs = cast(probs, q.dtype);
  const out = matmul(probs, vv);
  return groups > 1 ? reshape(out, [0, hq as number, -1, dv]) : out;
}

// transformers masking_utils.py causal_mask_function & padding_mask_function (eager 4-D float mask)
/**
 * From an int attention_mask [B, S] (1 = token, 0 = padding) build the
 * additive mask [B, 1, S, S]: 0 where key j <= query i and key j is a token,
 * finfo(dtype).min elsewhere.
 */
export function causalPaddingMask(attentionMask: Tensor, dtype: DType = 'float32'): Tensor {
  const am = attentionMask;
  if (am.rank !== 2) throw new Error(`causalPaddingMask: attention mask '${am.name}' must be [B, S], got ${formatShape(am.shape)}`);
  if (am.dtype !== 'int64' && am.dtype !== 'int32' && am.dtype !== 'bool') throw new Error(`causalPaddingMask: attention mask '${am.name}' must be int64/int32/bool, got ${am.dtype}`);
  const minVal = FINFO_MIN[dtype];
  if (minVal === undefined) throw new Error(`causalPaddingMask: dtype ${dtype} is not a float type`);
  const g = am.graph;
  const s = am.shape[1]!;
  const sT = typeof s === 'number' ? scalar(g, s, 'int64') : reshape(shapeOf(am, 1, 2), []);
  const pos = range(scalar(g, 0, 'int64'), sT, scalar(g, 1, 'int64'), s);
  const causal = lessOrEqual(unsqueeze(pos, [0]), unsqueeze(pos, [1])); // [S(query), S(key)]: key <= query
  const isToken = am.dtype === 'bool' ? am : not(equal(am, 0));
  const allowed = and(causal, unsqueeze(isToken, [1, 2])); // [B, 1, S, S]
  return where(allowed, scalar(g, 0, dtype), scalar(g, minVal, dtype));
}
