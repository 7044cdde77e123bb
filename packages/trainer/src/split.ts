// Train/validation split by episode: every frame of a validation episode stays out of
// training (frames of one episode are near-duplicates, so a frame-level split would
// report memorisation as accuracy).

import { Rng } from './rng.js';

export interface EpisodeSplit {
  readonly train: readonly number[];
  readonly val: readonly number[];
}

/**
 * Seeded split of episode ids. `valFraction` of the episodes (rounded, at least one
 * when there are two or more episodes and valFraction > 0) go to validation.
 */
export function splitEpisodes(episodes: readonly number[], valFraction: number, seed: number): EpisodeSplit {
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`splitEpisodes: valFraction must be in [0, 1), got ${valFraction}`);
  const unique = [...new Set(episodes)].sort((a, b) => a - b);
  if (unique.length === 0) throw new RangeError('splitEpisodes: no episodes to split');
  let nVal = Math.round(unique.length * valFraction);
  if (valFraction > 0 && unique.length >= 2) nVal = Math.min(Math.max(nVal, 1), unique.length - 1);
  const order = Rng.fromSeed(seed, 1).shuffle([...unique]);
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
