import type { Tensor } from '../builder.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';

/** All inputs share one dtype; returns it. */
export function sameDType(op: string, ...ts: Tensor[]): DType {
  const d = ts[0]!.dtype;
  for (const t of ts) {
    if (t.dtype !== d) {
      throw new Error(`${op}: dtype mismatch: ${ts.map((x) => `${x.name}:${x.dtype}`).join(', ')}`);
    }
  }
  return d;
}

export function requireFloat(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new Error(`${op}: '${t.name}' must be a float tensor, got ${t.dtype}`);
}

export function requireRank(op: string, t: Tensor, rank: number): void {
  if (t.rank !== rank) throw new Error(`${op}: '${t.name}' must have rank ${rank}, got ${t.rank} ${JSON.stringify(t.shape)}`);
}
