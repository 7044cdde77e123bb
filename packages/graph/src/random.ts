// The seeded generators of vlreward, one place for both: mulberry32 streams for
// random weights, LoRA/head init, dropout masks, sampling and test data; Rng
// (xoshiro128**, resumable state) for the episode split, the epoch sampler and
// augmentation. A seed means the same numbers in every package.

/** mulberry32: small, fast, seedable; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a hash of a string to a 32-bit seed, starting from `basis` (default FNV offset). */
export function fnv1a(s: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// Rng: seeded random numbers whose whole state is four uint32s, so a checkpoint can store
// it and a resumed run draws exactly the numbers the uninterrupted run would have.
// Generator: xoshiro128** 1.1 (Blackman & Vigna, xoshiro128starstar.c), seeded by
// splitmix32 so nearby seeds give unrelated streams.

export type RngState = readonly [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private s: Uint32Array;

  private constructor(state: Uint32Array) {
    this.s = state;
  }

  /** A generator for `seed`; `stream` derives independent generators from one seed (e.g. split vs augment). */
  static fromSeed(seed: number, stream = 0): Rng {
    const sm = splitmix32((seed >>> 0) ^ Math.imul(stream + 1, 0x632be5ab));
    const s = new Uint32Array([sm(), sm(), sm(), sm()]);
    if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1; // all-zero is xoshiro's one bad state
    return new Rng(s);
  }

  static fromState(state: RngState): Rng {
    if (!Array.isArray(state) || state.length !== 4 || state.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff))
      throw new TypeError(`Rng.fromState: expected 4 uint32 numbers, got ${JSON.stringify(state)}`);
    return new Rng(new Uint32Array(state));
  }

  /** The state, JSON-serializable. */
  state(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  clone(): Rng {
    return new Rng(new Uint32Array(this.s));
  }

  /** Next uint32. */
  nextUint32(): number {
    const s = this.s;
    let s0 = s[0]!, s1 = s[1]!, s2 = s[2]!, s3 = s[3]!;
    const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
    return result;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n), without modulo bias (Lemire-style rejection). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`Rng.int: n must be in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = tmp;
    }
    return xs;
  }

  /** A uint32 to seed something else (an ONNX dropout mask, a worker). */
  seed(): number {
    return this.nextUint32();
  }
}
