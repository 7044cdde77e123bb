// Next-token choice from vocabulary logits, in the order transformers'
// generate applies its processors (generation/utils.py _get_logits_processor):
// repetition penalty → temperature → top-k → top-p → softmax → multinomial;
// greedy (temperature 0, or topK 1) is argmax after the repetition penalty.
import { mulberry32 } from '../qwen3_vl/weights.js';

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
    const idx = topIndices(logits, k);
    const max = logits[idx[0]!]!;
    const probs = new Float64Array(idx.length);
    let sum = 0;
    for (let i = 0; i < idx.length; i++) sum += probs[i] = Math.exp((logits[idx[i]!]! - max) / temp);
    let n = idx.length;
    const p = this.opts.topP ?? 1;
    if (p < 1) {
      // HF TopPLogitsWarper keeps tokens until the cumulative probability reaches top_p (at least one).
      let cum = 0;
      for (let i = 0; i < idx.length; i++) {
        cum += probs[i]! / sum;
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

/** Indices of the k largest values, descending (ties: lower index first). */
function topIndices(x: Float32Array, k: number): Uint32Array {
  if (k < x.length / 8) {
    // Threshold from a partial pass, then sort only the survivors.
    const sample = Float32Array.from(x).sort();
    const thr = sample[x.length - k]!;
    const keep: number[] = [];
    for (let i = 0; i < x.length; i++) if (x[i]! >= thr) keep.push(i);
    keep.sort((a, b) => x[b]! - x[a]! || a - b);
    return Uint32Array.from(keep.slice(0, k));
  }
  const all = new Uint32Array(x.length);
  for (let i = 0; i < all.length; i++) all[i] = i;
  all.sort((a, b) => x[b]! - x[a]! || a - b);
  return k < all.length ? all.slice(0, k) : all;
}
