/** Seeded Fisher–Yates shuffle (mulberry32), so every run with the same seed sees the same order. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = mulberry32((seed >>> 0) ^ 0x9e3779b9);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface EpisodeSplit {
  readonly train: readonly number[];
  readonly val: readonly number[];
}

/**
 * Splits episode indices into train/validation by episode (no frame of a validation episode
 * is ever a training frame). With ≥ 2 episodes and valFraction > 0, both sides get at least one.
 */
export function splitEpisodes(episodes: readonly number[], opts: { valFraction?: number; seed?: number } = {}): EpisodeSplit {
  const frac = opts.valFraction ?? 0.2;
  if (!(frac >= 0 && frac < 1)) throw new RangeError(`splitEpisodes: valFraction must be in [0, 1), got ${frac}`);
  const order = seededShuffle([...episodes].sort((a, b) => a - b), opts.seed ?? 0);
  let nVal = Math.round(order.length * frac);
  if (frac > 0 && order.length >= 2) nVal = Math.min(order.length - 1, Math.max(1, nVal));
  const val = order.slice(0, nVal).sort((a, b) => a - b);
  const train = order.slice(nVal).sort((a, b) => a - b);
  return { train, val };
}

/** mulberry32, a small seedable PRNG (the same generator @vlreward/graph exports; this package does not depend on graph). */
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
