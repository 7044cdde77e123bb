// Next-token choice from vocabulary logits, in the order transformers'
// generate applies its processors (generation/utils.py _get_logits_processor):
// repetition penalty → temperature → top-k → top-p → softmax → multinomial;
// greedy (temperature 0, or topK 1) is argmax after the repetition penalty.
import { mulberry32 } from '@vlreward/graph';

export interface SamplingOptions {
  /** 0 (default) = greedy. */
  readonly temperature?: number;
  /** Keep the k most likely tokens (0 / undefined = off). */
  readonly topK?: number;
  /** Keep the smallest set whose probability reaches p (1 / undefined = off). */
  readonly topP?: number;
  /** HF RepetitionPenaltyLogitsProcessor: logit / p if > 0, logit · p if < 0, for every token already in the sequence (1 = off). */
  readonly repetitionPenalty?: number;
  /** Seed of the sampling RNG (default 0). */
  readonly seed?: number;
}

export class SamplingError extends Error {
  override readonly name = 'SamplingError';
}

/** Validate options; errors name the option and the accepted range. */
export function checkSamplingOptions(o: SamplingOptions): void {
  const bad = (what: string): never => {
    throw new SamplingError(what);
  };
  if (o.temperature !== undefined && !(o.temperature >= 0 && Number.isFinite(o.temperature))) bad(`temperature ${o.temperature}: expected a number >= 0`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) bad(`topK ${o.topK}: expected an integer >= 0`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) bad(`topP ${o.topP}: expected 0 < p <= 1`);
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0 && Number.isFinite(o.repetitionPenalty))) bad(`repetitionPenalty ${o.repetitionPenalty}: expected a number > 0`);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) bad(`seed ${o.seed}: expected an integer`);
}

/** Index of the first maximum (torch.argmax). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** A seeded next-token picker; one per generation so a seed reproduces the whole sequence. */
export class Sampler {
  private readonly rng: () => number;

  constructor(readonly opts: SamplingOptions = {}) {
    checkSamplingOptions(opts);
    this.rng = mulberry32((opts.seed ?? 0) >>> 0);
  }

  get greedy(): boolean {
    return !this.opts.temperature || this.opts.topK === 1;
  }

  /** Pick the next token. `logits` is modified in place; `seen` = tokens of the sequence so far (for the penalty). */
  next(logits: Float32Array, seen: Iterable<number>): number {
    const rp = this.opts.repetitionPenalty ?? 1;
    if (rp !== 1) {
      for (const t of new Set(seen)) {
        const v = logits[t]!;
        logits[t] = v < 0 ? v * rp : v / rp;
      }
    }
    if (this.greedy) return argmax(logits);
    const temp = this.opts.temperature!;
    // Candidates sorted by logit, descending; top-k cuts the list, top-p cuts it further.
    const k = this.opts.topK && this.opts.topK > 0 ? Math.min(this.opts.topK, logits.length) : logits.length;
    const p = this.opts.topP ?? 1;
    let idx: Uint32Array;
    // Denominator of the top-p cumulative: the mass of every token top-k left (all of them without top-k).
    let mass = 0;
    const max = logits[argmax(logits)]!;
    if (k === logits.length && p < 1) {
      // Nucleus only: the 1024 best usually hold it; fall back to a full sort when they do not.
      for (let i = 0; i < logits.length; i++) mass += Math.exp((logits[i]! - max) / temp);
      idx = topIndices(logits, Math.min(1024, logits.length));
      let top = 0;
      for (const i of idx) top += Math.exp((logits[i]! - max) / temp);
      if (top / mass < p) idx = topIndices(logits, logits.length);
    } else idx = topIndices(logits, k);
    const probs = new Float64Array(idx.length);
    let sum = 0;
    for (let i = 0; i < idx.length; i++) sum += probs[i] = Math.exp((logits[idx[i]!]! - max) / temp);
    if (mass === 0) mass = sum;
    let n = idx.length;
    if (p < 1) {
      // HF TopPLogitsWarper keeps tokens until the cumulative probability reaches top_p (at least one).
      let cum = 0;
      for (let i = 0; i < idx.length; i++) {
        cum += probs[i]! / mass;
        if (cum >= p) {
          n = i + 1;
          break;
        }
      }
      sum = 0;
      for (let i = 0; i < n; i++) sum += probs[i]!;
    }
    let u = this.rng() * sum;
    for (let i = 0; i < n; i++) {
      u -= probs[i]!;
      if (u < 0) return idx[i]!;
    }
    return idx[n - 1]!;
  }
}

/** Indices of the k largest values, descending (ties: lower index first). A size-k min-heap for small k, a full sort otherwise. */
export function topIndices(x: Float32Array, k: number): Uint32Array {
  const n = x.length;
  if (k >= n / 16) {
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    all.sort((a, b) => x[b]! - x[a]! || a - b);
    return k < n ? all.slice(0, k) : all;
  }
  // heap[0] is the worst kept element: smallest value, then largest index.
  const heap = new Uint32Array(k);
  const worse = (a: number, b: number): boolean => x[a]! < x[b]! || (x[a]! === x[b]! && a > b);
  const down = (i: number, size: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heap[l]!, heap[m]!)) m = l;
      if (r < size && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  for (let i = 0; i < k; i++) heap[i] = i;
  for (let i = (k >> 1) - 1; i >= 0; i--) down(i, k);
  for (let i = k; i < n; i++) {
    if (x[i]! > x[heap[0]!]!) {
      heap[0] = i;
      down(0, k);
    }
  }
  return Uint32Array.from(heap).sort((a, b) => x[b]! - x[a]! || a - b);
}
