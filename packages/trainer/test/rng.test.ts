import { describe, expect, it } from 'vitest';
import { Rng, splitEpisodes, samplesOfEpisodes } from '@vlreward/trainer';

describe('Rng', () => {
  it('is deterministic per seed and differs between seeds and streams', () => {
    const a = Rng.fromSeed(42);
    const b = Rng.fromSeed(42);
    const xs = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs);
    const c = Rng.fromSeed(43);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs);
    const d = Rng.fromSeed(42, 1);
    expect(Array.from({ length: 8 }, () => d.nextUint32())).not.toEqual(xs);
  });
  it('matches the xoshiro128** reference for state [1,2,3,4]', () => {
    // First outputs of the reference C implementation seeded s = {1, 2, 3, 4}.
    const r = Rng.fromState([1, 2, 3, 4]);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([11520, 0, 5927040]);
  });
  it('resumes from a serialized state exactly', () => {
    const a = Rng.fromSeed(7);
    for (let i = 0; i < 100; i++) a.uniform();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const rest = Array.from({ length: 50 }, () => a.uniform());
    const b = Rng.fromState(saved);
    expect(Array.from({ length: 50 }, () => b.uniform())).toEqual(rest);
  });
  it('rejects a malformed state', () => {
    expect(() => Rng.fromState([1, 2, 3] as never)).toThrow(/4 uint32/);
    expect(() => Rng.fromState([1, 2, 3, -1])).toThrow(/4 uint32/);
  });
  it('int is unbiased enough and in range; uniform in [0,1)', () => {
    const r = Rng.fromSeed(1);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[r.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
    for (let i = 0; i < 1000; i++) {
      const u = r.uniform();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
    }
  });
  it('shuffle is a permutation', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i);
    const s = Rng.fromSeed(3).shuffle([...xs]);
    expect(s).not.toEqual(xs);
    expect([...s].sort((a, b) => a - b)).toEqual(xs);
  });
});

describe('splitEpisodes', () => {
  it('splits by episode, deterministically, with no overlap', () => {
    const eps = Array.from({ length: 10 }, (_, i) => i);
    const s1 = splitEpisodes(eps, { valFraction: 0.2, seed: 0 });
    const s2 = splitEpisodes(eps, { valFraction: 0.2, seed: 0 });
    expect(s1).toEqual(s2);
    expect(s1.val).toHaveLength(2);
    expect(s1.train).toHaveLength(8);
    expect(s1.train.filter((e) => s1.val.includes(e))).toEqual([]);
    expect(splitEpisodes(eps, { valFraction: 0.2, seed: 1 }).val).not.toEqual(s1.val);
  });
  it('keeps at least one episode on each side', () => {
    expect(splitEpisodes([5, 9], { valFraction: 0.1, seed: 0 }).val).toHaveLength(1);
    expect(splitEpisodes([5, 9, 11], { valFraction: 0.9, seed: 0 }).train).toHaveLength(1);
    expect(splitEpisodes([5, 9], { valFraction: 0, seed: 0 }).val).toEqual([]);
  });
  it('maps episodes to sample indices', () => {
    expect(samplesOfEpisodes([0, 0, 1, 1, 2, 2], [0, 2])).toEqual([0, 1, 4, 5]);
  });
});
