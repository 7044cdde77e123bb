import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlohaRewardDataset, DatasetError, analyze, checkLabel, formatAnalysis, labelFromValue, writeSyntheticDataset } from '@vlreward/dataset';
import { cleanupTmp, rewriteColumns, tmp } from './helpers.js';

afterAll(cleanupTmp);

// A v2.1 dataset (2 episodes × 6 frames, 3 bins) whose episode 1 has garbage labels:
// reward_bins all NaN, and a scalar column `next.reward` holding 7, NaN, −1 in episode 1.
let clean = '';
let bad = '';
const EP1 = 'data/chunk-000/episode_000001.parquet';
beforeAll(async () => {
  clean = (await writeSyntheticDataset({ root: tmp('lab'), version: 'v2.1', codec: 'h264', episodes: 2, frames: 6 })).root;
  bad = tmp('labbad');
  cpSync(clean, bad, { recursive: true });
  await rewriteColumns(join(bad, EP1), {
    reward_bins: { data: () => [NaN, NaN, NaN] },
    'next.reward': { data: (_, r) => [0, 7, NaN, -1, 0, 0][r] },
  });
  // Episode 0's next.reward: class ids 0 (valid scalars).
  await rewriteColumns(join(bad, 'data/chunk-000/episode_000000.parquet'), { 'next.reward': { data: () => 0 } });
});

async function failure(p: Promise<unknown>): Promise<DatasetError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e, 'expected a DatasetError').toBeInstanceOf(DatasetError);
  return e as DatasetError;
}

describe('label values', () => {
  it('valid values keep the seed rule; garbage is named, never class 0', () => {
    expect(labelFromValue([0, 0, 1, 0])).toBe(2);
    expect(labelFromValue([0, 0, 0])).toBe(0); // all-zero vector → 0
    expect(labelFromValue([])).toBe(0);
    expect(labelFromValue(null)).toBe(0); // missing → 0
    expect(labelFromValue(0)).toBe(0);
    expect(labelFromValue(2, 'argmax', 3)).toBe(2); // a scalar is a class id
    expect(labelFromValue(true)).toBe(1);
    expect(labelFromValue(-3, { edges: [0] })).toBe(0); // binning takes any finite value
    expect(checkLabel([NaN, NaN, NaN])).toEqual({ ok: false, reason: 'element 0 of the vector is NaN' });
    expect(checkLabel([0, Infinity, 0])).toEqual({ ok: false, reason: 'element 1 of the vector is Infinity' });
    expect(checkLabel([0, -1, 1])).toEqual({ ok: false, reason: 'element 1 of the vector is negative (-1)' });
    expect(checkLabel(['a', 'b'])).toMatchObject({ ok: false, reason: expect.stringMatching(/element 0 of the vector is string "a", not a number/) });
    expect(checkLabel(NaN)).toEqual({ ok: false, reason: 'the scalar is NaN' });
    expect(checkLabel(-1)).toEqual({ ok: false, reason: 'the scalar is negative (-1)' });
    expect(checkLabel(7, 'argmax', 1)).toMatchObject({ ok: false, reason: expect.stringMatching(/^label 7 is outside 0..0/) });
    expect(checkLabel(0.7)).toMatchObject({ ok: false, reason: expect.stringMatching(/not a class id.*--bin-edges/) });
    expect(checkLabel(NaN, { edges: [0.5] })).toEqual({ ok: false, reason: 'the value to digitize is NaN' });
    expect(checkLabel('x')).toMatchObject({ ok: false });
    expect(() => labelFromValue([NaN, 1])).toThrow(/label value \[NaN, 1\]: element 0 of the vector is NaN/);
  });
});

describe('invalid labels in a dataset', () => {
  it('all-NaN reward_bins: an error naming file, column, episode, row and value', async () => {
    const e = await failure(AlohaRewardDataset.open(bad));
    expect(e.file).toBe(join(bad, EP1));
    expect(e.field).toBe('reward_bins');
    expect(e.message).toMatch(/episode 1 frame 0 \(dataset row 6\): value \[NaN, NaN, NaN\]: element 0 of the vector is NaN \(6 rows of this view have invalid labels\)/);
    expect(e.message).toMatch(/--skip-invalid-labels/);
  });

  it('skipInvalidLabels: rows left out and counted; split and maxSamples see only valid rows', async () => {
    const ds = await AlohaRewardDataset.open(bad, { skipInvalidLabels: true });
    expect(ds.length).toBe(6);
    expect(ds.episodeIndices()).toEqual([0]);
    expect(ds.labelHistogram()).toEqual([2, 2, 2]);
    expect(ds.skippedLabels.count).toBe(6);
    expect(ds.skippedLabels.examples[0]).toMatchObject({ file: join(bad, EP1), column: 'reward_bins', episodeIndex: 1, frameIndex: 0, row: 6, value: '[NaN, NaN, NaN]' });
    const few = await AlohaRewardDataset.open(bad, { skipInvalidLabels: true, shuffle: true, seed: 1, maxSamples: 4 });
    expect(few.length).toBe(4);
    for (let i = 0; i < few.length; i++) expect(few.base.episodeAt(few.indices[i]!).meta.episodeIndex).toBe(0);
    // The clean copy is unchanged: same labels as before.
    const ok = await AlohaRewardDataset.open(clean);
    expect(ok.skippedLabels.count).toBe(0);
    expect(ok.labelHistogram()).toEqual([4, 4, 4]);
  });

  it('a scalar label column with 7, NaN, −1: each is an error, not class 0', async () => {
    const e = await failure(AlohaRewardDataset.open(bad, { labelColumn: 'next.reward' }));
    expect(e.field).toBe('next.reward');
    expect(e.message).toMatch(/episode 1 frame 1 \(dataset row 7\): value 7: label 7 is outside 0..0.*\(3 rows of this view/);
    const ds = await AlohaRewardDataset.open(bad, { labelColumn: 'next.reward', skipInvalidLabels: true });
    expect(ds.skippedLabels.count).toBe(3);
    expect(ds.skippedLabels.examples.map((x) => [x.frameIndex, x.value])).toEqual([[1, '7'], [2, 'NaN'], [3, '-1']]);
    expect(ds.labelHistogram()).toEqual([9]);
  });

  it('analyze reports invalid labels instead of counting them as class 0, and says it did not verify', async () => {
    const a = await analyze(bad);
    expect(a.labels!.histogram).toEqual([2, 2, 2]);
    expect(a.labels!.invalid.count).toBe(6);
    expect(a.labels!.invalid.examples[0]).toMatchObject({ episodeIndex: 1, frameIndex: 0, value: '[NaN, NaN, NaN]' });
    expect(a.verified).toBe(false);
    const text = formatAnalysis(a);
    expect(text).toMatch(/invalid\s+6 of 12 frames have no valid label/);
    expect(text).toMatch(/episode 1 frame 0 \(dataset row 6\): value \[NaN, NaN, NaN\]/);
    expect(text).toMatch(/vlreward dataset verify --root/);
    expect((await analyze(clean)).labels!.invalid.count).toBe(0);
  });
});
