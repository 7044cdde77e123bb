import { cpSync, mkdtempSync as mkdtemp, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readParquet, writeParquet, writeSyntheticDataset } from '@vlreward/dataset';
import { analyzeCommand } from '../src/commands/analyze.js';
import { datasetShowCommand, datasetVerifyCommand } from '../src/commands/dataset.js';
import { TRAIN_FLAGS, datasetOptionsFrom } from '../src/commands/train.js';
import { findCommand } from '../src/main.js';
import { parseFlags, UsageError } from '../src/command.js';

function capture(): { out: () => string; err: () => string } {
  const out: string[] = [], err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  return { out: () => out.join('\n'), err: () => err.join('\n') };
}
afterEach(() => vi.restoreAllMocks());
const dirs: string[] = [];
const tmp = (prefix: string): string => {
  const d = mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const EP0 = 'data/chunk-000/episode_000000.parquet';
let clean = '';
let bad = ''; // action NaN at episode 0 row 3; reward_bins NaN in every row of episode 0
beforeAll(async () => {
  clean = (await writeSyntheticDataset({ root: join(tmp('vlreward-verify-'), 'ds'), codec: 'h264', episodes: 2, frames: 6 })).root;
  bad = join(tmp('vlreward-verify-bad-'), 'ds');
  cpSync(clean, bad, { recursive: true });
  const t = await readParquet(join(bad, EP0));
  await writeParquet(join(bad, EP0), t.names.map((name) => {
    const data = [...t.columns.get(name)!];
    const ty = t.types.get(name)!;
    const type = ty.depth ? { list: 'float32' as const } : ty.kind === 'float' ? 'float32' as const : ty.kind === 'bool' ? 'bool' as const : 'int64' as const;
    if (name === 'action') return { name, type, data: data.map((v, r) => (r === 3 ? (v as number[]).map(() => NaN) : v)) };
    if (name === 'reward_bins') return { name, type, data: data.map(() => [NaN, NaN, NaN]) };
    return { name, type, data };
  }));
});

describe('vlreward dataset verify', () => {
  it('is a command: exit 0 on a clean dataset, --json gives the report', async () => {
    expect(findCommand(['dataset', 'verify', '--root', clean])?.command).toBe(datasetVerifyCommand);
    let c = capture();
    expect(await datasetVerifyCommand.run(['--root', clean])).toBe(0);
    expect(c.out()).toMatch(/^ok: .*: 2 data files, 12 rows, 6 video files, 36 frames decoded$/);
    vi.restoreAllMocks();
    c = capture();
    expect(await datasetVerifyCommand.run(['--root', clean, '--json'])).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ ok: true, rows: 12, decodedFrames: 36, problems: [] });
  });

  it('exit 1 with each problem naming file, column, episode and row', async () => {
    const c = capture();
    expect(await datasetVerifyCommand.run(['--root', bad, '--no-videos'])).toBe(1);
    expect(c.out()).toContain(`value  ${join(bad, EP0)}: column 'action' episode 0 row 3: value element 0 is NaN, expected float32`);
    expect(c.out()).toMatch(/problems: .*0 video files, 0 frames decoded$/);
    vi.restoreAllMocks();
    const j = capture();
    expect(await datasetVerifyCommand.run(['--root', bad, '--json', '--no-videos'])).toBe(1);
    const r = JSON.parse(j.out());
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual(expect.objectContaining({ kind: 'value', file: join(bad, EP0), column: 'action', episode: 0, row: 3 }));
  });

  it('bad flags are usage errors', async () => {
    await expect(datasetVerifyCommand.run([])).rejects.toThrow(/--root DIR is required/);
    await expect(datasetVerifyCommand.run(['--root', clean, '--stats-tolerance', 'x'])).rejects.toThrow(/--stats-tolerance 'x': expected a number ≥ 0/);
    await expect(datasetVerifyCommand.run(['--root', clean, 'extra'])).rejects.toThrow(UsageError);
  });
});

describe('invalid labels in analyze and train flags; dataset show --index', () => {
  it('analyze exits 1 listing invalid labels, --skip-invalid-labels counts them; it says it did not verify', async () => {
    let c = capture();
    expect(await analyzeCommand.run(['--root', bad])).toBe(1);
    expect(c.out()).toMatch(/invalid\s+6 of 12 frames have no valid label/);
    expect(c.out()).toMatch(/verified\s+no: .*vlreward dataset verify --root DIR/);
    expect(c.err()).toMatch(new RegExp(`6 rows have invalid labels in column 'reward_bins', first ${join(bad, EP0)}: episode 0 frame 0 \\(dataset row 0\\): value \\[NaN, NaN, NaN\\]`));
    vi.restoreAllMocks();
    c = capture();
    expect(await analyzeCommand.run(['--root', bad, '--skip-invalid-labels', '--json'])).toBe(0);
    const a = JSON.parse(c.out());
    expect(a.labels.histogram).toEqual([2, 2, 2]);
    expect(a.labels.invalid.count).toBe(6);
    expect(a.verified).toBe(false);
    expect(c.err()).toMatch(/6 rows with invalid labels .* are skipped/);
  });

  it('train --skip-invalid-labels becomes the dataset option', () => {
    const { values } = parseFlags(['--skip-invalid-labels'], TRAIN_FLAGS);
    expect(datasetOptionsFrom(values)).toEqual({ skipInvalidLabels: true });
    expect(datasetOptionsFrom(parseFlags([], TRAIN_FLAGS).values)).toEqual({});
  });

  it('dataset show: --index must be a decimal integer; an invalid label is shown, not class 0', async () => {
    for (const raw of [' ', '', '1.5', '0x1', '1e1', 'abc']) {
      await expect(datasetShowCommand.run(['--root', clean, '--index', raw, '--out', tmp('vlreward-show-')])).rejects.toThrow(`--index '${raw}': expected an integer ≥ 0`);
    }
    const out = tmp('vlreward-show-');
    const c = capture();
    expect(await datasetShowCommand.run(['--root', bad, '--index', ' 2 ', '--out', out])).toBe(0);
    const sample = JSON.parse((await import('node:fs')).readFileSync(join(out, 'sample.json'), 'utf8'));
    expect(sample).toMatchObject({ label: null, label_problem: 'element 0 of the vector is NaN', episode_index: 0, frame_index: 2 });
    expect(c.err()).toMatch(/episode 0 frame 2: column 'reward_bins' value \[NaN, NaN, NaN\]/);
  });
});
