import { fnv1a, mulberry32 } from '@vlreward/graph';

/** The project's seeded PRNG, so test data is identical on every run. */
export const rng = mulberry32;

/** n uniform values in [lo, hi). */
export function uniform(next: () => number, n: number, lo = -1, hi = 1): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * next());
}

/** A stable 32-bit seed from a string (FNV-1a). */
export function seedOf(s: string): number {
  return fnv1a(s);
}
