import type { TensorData } from '@vlreward/graph';
import type { Tolerance } from './tolerances.js';

type Values = TensorData | ArrayLike<number> | ArrayLike<bigint> | number;

export interface CloseOptions extends Partial<Tolerance> {
  /** What is compared, for the error message. */
  readonly name?: string;
}

function toNumbers(v: Values): { dims?: readonly number[]; data: number[] } {
  if (typeof v === 'number') return { data: [v] };
  if ('dtype' in v && 'dims' in v) {
    if (v.dtype === 'float16' || v.dtype === 'bfloat16') throw new Error(`expectClose: convert ${v.dtype} to float32 first`);
    return { dims: v.dims, data: Array.from(v.data as ArrayLike<number | bigint>, Number) };
  }
  return { data: Array.from(v as ArrayLike<number | bigint>, Number) };
}

/**
 * Elementwise |a - e| <= atol + rtol·|e| (NaN equals NaN). Throws naming the
 * worst index, both values and the count of mismatches.
 */
export function expectClose(actual: Values, expected: Values, opts: CloseOptions = {}): void {
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-6;
  const name = opts.name ?? 'value';
  const a = toNumbers(actual);
  const e = toNumbers(expected);
  if (a.dims && e.dims && (a.dims.length !== e.dims.length || a.dims.some((d, i) => d !== e.dims![i]))) {
    throw new Error(`${name}: dims [${a.dims.join(', ')}] != expected [${e.dims.join(', ')}]`);
  }
  if (a.data.length !== e.data.length) throw new Error(`${name}: ${a.data.length} elements, expected ${e.data.length}`);
  let bad = 0;
  let worst = -1;
  let worstExcess = 0;
  a.data.forEach((av, i) => {
    const ev = e.data[i]!;
    if (Number.isNaN(av) && Number.isNaN(ev)) return;
    const err = Math.abs(av - ev);
    const lim = atol + rtol * Math.abs(ev);
    if (!(err <= lim) && !(av === ev)) {
      bad++;
      const excess = Number.isFinite(err) ? err / lim : Infinity;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  });
  if (bad > 0) {
    const av = a.data[worst]!;
    const ev = e.data[worst]!;
    throw new Error(
      `${name}: ${bad}/${a.data.length} elements differ beyond rtol=${rtol} atol=${atol}; worst at index ${worst}: ` +
        `got ${av}, expected ${ev} (|diff| ${Math.abs(av - ev).toExponential(3)})`,
    );
  }
}
