// Rotary tables computed on the host, in float32 the way transformers does
// (values rounded to f32 at the same steps), so the graph only multiplies.
import type { Qwen3VLConfig } from './config.js';

const f = Math.fround;

/** 1 / theta^(arange(0, dim, 2) / dim) in float32 (RotaryEmbedding.inv_freq). */
export function invFreq(theta: number, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let j = 0; j < dim / 2; j++) out[j] = f(1 / f(Math.pow(theta, f((2 * j) / dim))));
  return out;
}

/**
 * Text M-RoPE cos/sin [B, S, headDim] from 3-D position ids [3, B, S]
 * (modeling_qwen3_vl.py Qwen3VLTextRotaryEmbedding.forward + apply_interleaved_mrope):
 * frequency j uses axis H when j%3==1 and j < 3*section[1], axis W when j%3==2
 * and j < 3*section[2], axis T otherwise; the table is cat(freqs, freqs).
 */
export function textRopeCosSin(
  config: Qwen3VLConfig,
  positionIds: ArrayLike<number | bigint>,
  batch: number,
  seq: number,
): { cos: Float32Array; sin: Float32Array } {
  const { headDim, ropeTheta, mropeSection } = config.text;
  const half = headDim / 2;
  const inv = invFreq(ropeTheta, headDim);
  const axisOf = new Int32Array(half);
  for (let j = 0; j < half; j++) {
    if (j % 3 === 1 && j < 3 * mropeSection[1]) axisOf[j] = 1;
    else if (j % 3 === 2 && j < 3 * mropeSection[2]) axisOf[j] = 2;
    else axisOf[j] = 0;
  }
  const n = batch * seq;
  const cos = new Float32Array(n * headDim);
  const sin = new Float32Array(n * headDim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < half; j++) {
      const pos = Number(positionIds[axisOf[j]! * n + i]!);
      const a = f(pos * inv[j]!);
      const c = f(Math.cos(a));
      const s = f(Math.sin(a));
      cos[i * headDim + j] = c;
      cos[i * headDim + j + half] = c;
      sin[i * headDim + j] = s;
      sin[i * headDim + j + half] = s;
    }
  }
  return { cos, sin };
}
