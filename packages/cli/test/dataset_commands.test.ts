import { existsSync, mkdtempSync as mkdtemp, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { readImage } from '@vlreward/dataset';
import { analyzeCommand } from '../src/commands/analyze.js';
import { datasetShowCommand, datasetSynthCommand } from '../src/commands/dataset.js';
import { UsageError } from '../src/command.js';

const G1 = join(import.meta.dirname, '../../../../shared/data/g1_pick_bottle_v21');

function capture(): { out: () => string } {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  return { out: () => lines.join('\n') };
}
afterEach(() => vi.restoreAllMocks());
const dirs: string[] = [];
const mkdtempSync = (prefix: string): string => {
  const d = mkdtemp(prefix);
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('vlreward dataset synth / show / analyze', () => {
  it('synth writes a dataset that analyze and show read back', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vlreward-cli-')), 'ds');
    let c = capture();
    expect(await datasetSynthCommand.run(['--out', out, '--version', 'v3.0', '--codec', 'h264', '--episodes', '2', '--frames', '6', '--classes', '2'])).toBe(0);
    expect(c.out()).toMatch(/LeRobot v3.0, h264, 2 episodes × 6 frames, 3 cameras 64x64, 2 classes/);
    await expect(datasetSynthCommand.run(['--out', out])).rejects.toThrow(UsageError); // never overwrites silently
    vi.restoreAllMocks();

    c = capture();
    expect(await analyzeCommand.run(['--root', out, '--json'])).toBe(0);
    const a = JSON.parse(c.out());
    expect([a.codebaseVersion, a.episodes, a.frames]).toEqual(['v3.0', 2, 12]);
    expect(a.labels.histogram).toEqual([6, 6]);
    vi.restoreAllMocks();

    const shown = join(out, '..', 'show');
    c = capture();
    expect(await datasetShowCommand.run(['--root', out, '--index', '7', '--out', shown])).toBe(0);
    const sample = JSON.parse(readFileSync(join(shown, 'sample.json'), 'utf8'));
    expect(sample).toMatchObject({ label: 0, episode_index: 1, frame_index: 1 });
    expect(sample.text).toMatch(/^Task: /);
    for (const cam of ['cam_right_wrist', 'cam_left_wrist', 'cam_high']) {
      const img = await readImage(join(shown, `observation.images.${cam}.png`));
      expect([img.width, img.height]).toEqual([64, 64]);
    }
  });

  it('show and analyze on the real v2.1 sample', async () => {
    const shown = mkdtempSync(join(tmpdir(), 'vlreward-show-'));
    capture();
    expect(await datasetShowCommand.run(['--root', G1, '--index', '278', '--out', shown])).toBe(0);
    const sample = JSON.parse(readFileSync(join(shown, 'sample.json'), 'utf8'));
    expect(sample).toEqual({
      text: 'Task: Pick up the yellow bottle on the table.',
      label: null,
      episode_index: 29,
      frame_index: 0,
      timestamp: 0,
      cameras: ['observation.images.cam_high'],
    });
    expect(existsSync(join(shown, 'observation.images.cam_high.png'))).toBe(true);
    vi.restoreAllMocks();
    const c = capture();
    expect(await analyzeCommand.run(['--root', G1])).toBe(0);
    expect(c.out()).toMatch(/version\s+v2.1/);
    expect(c.out()).toMatch(/episodes\s+2\s+frames 499/);
    expect(c.out()).toMatch(/observation.images.cam_high\s+video av1 640x480 yuv420p/);
  });

  it('bad flags are usage errors', async () => {
    await expect(analyzeCommand.run([])).rejects.toThrow(/--root DIR is required/);
    await expect(datasetShowCommand.run(['--root', G1, '--index', '9999', '--out', tmpdir()])).rejects.toThrow(/the dataset has 499 frames/);
    await expect(datasetSynthCommand.run(['--out', join(tmpdir(), 'x'), '--codec', 'vp9'])).rejects.toThrow(/expected av1 or h264/);
  });
});
