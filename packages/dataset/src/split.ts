// Train/validation split by episode, the one split of vlreward (the trainer, the
// CLI and AlohaRewardDataset.split all call this): every frame of a validation
// episode stays out of training, because frames of one episode are near-duplicates
// and a frame-level split would report memorisation as accuracy.
import { mulberry32, Rng } from '@vlreward/graph';

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
 * Seeded split of episode ids (duplicates allowed: one entry per sample is fine).
 * `valFraction` (default 0.2) of the distinct episodes, rounded, go to validation;
 * with two or more episodes and valFraction > 0 both sides get at least one.
 * Drawn from Rng(seed, stream 1), so a seed gives one split everywhere.
 */
export function splitEpisodes(episodes: readonly number[], opts: { valFraction?: number; seed?: number } = {}): EpisodeSplit {
  const valFraction = opts.valFraction ?? 0.2;
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`splitEpisodes: valFraction must be in [0, 1), got ${valFraction}`);
  const unique = [...new Set(episodes)].sort((a, b) => a - b);
  if (unique.length === 0) throw new RangeError('splitEpisodes: no episodes to split');
  let nVal = Math.round(unique.length * valFraction);
  if (valFraction > 0 && unique.length >= 2) nVal = Math.min(Math.max(nVal, 1), unique.length - 1);
  const order = Rng.fromSeed(opts.seed ?? 0, 1).shuffle([...unique]);
  const val = order.slice(0, nVal).sort((a, b) => a - b);
  const valSet = new Set(val);
  return { train: unique.filter((e) => !valSet.has(e)), val };
}

/** Indices of samples whose episode is in `keep`, in order. */
export function samplesOfEpisodes(sampleEpisodes: ArrayLike<number>, keep: readonly number[]): number[] {
  const set = new Set(keep);
  const out: number[] = [];
  for (let i = 0; i < sampleEpisodes.length; i++) if (set.has(sampleEpisodes[i]!)) out.push(i);
  return out;
}
