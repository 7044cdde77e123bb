import { cpSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALOHA_CAMERAS, AlohaRewardDataset, DatasetError, LeRobotDataset, writeSyntheticDataset } from '@vlreward/dataset';
import { cleanupTmp, tmp } from './helpers.js';

afterAll(cleanupTmp);

let clean = ''; // a pristine v2.1 dataset (2 episodes × 6 frames, H.264); each test corrupts a copy
let cleanV3 = '';
beforeAll(async () => {
  [clean, cleanV3] = await Promise.all([
    writeSyntheticDataset({ root: tmp('err'), version: 'v2.1', codec: 'h264', episodes: 2, frames: 6 }).then((s) => s.root),
    writeSyntheticDataset({ root: tmp('err3'), version: 'v3.0', codec: 'h264', episodes: 2, frames: 6 }).then((s) => s.root),
  ]);
});

function copy(src = clean): string {
  const dst = tmp('bad');
  cpSync(src, dst, { recursive: true });
  return dst;
}

async function failure(p: Promise<unknown>): Promise<DatasetError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e, 'expected a DatasetError').toBeInstanceOf(DatasetError);
  return e as DatasetError;
}

const editInfo = (root: string, f: (info: Record<string, unknown>) => void): void => {
  const p = join(root, 'meta/info.json');
  const info = JSON.parse(readFileSync(p, 'utf8'));
  f(info);
  writeFileSync(p, JSON.stringify(info));
};

describe('bad inputs give errors naming file and field', () => {
  it('missing camera', async () => {
    const e = await failure(AlohaRewardDataset.open(clean, { cameras: [...ALOHA_CAMERAS, 'observation.images.cam_low'] }));
    expect(e.file).toBe(join(clean, 'meta/info.json'));
    expect(e.field).toBe('features.observation.images.cam_low');
    expect(e.message).toMatch(/camera 'observation.images.cam_low' is missing/);
  });

  it('missing camera video file', async () => {
    const root = copy();
    rmSync(join(root, `videos/chunk-000/${ALOHA_CAMERAS[1]}/episode_000001.mp4`));
    const ds = await AlohaRewardDataset.open(root);
    const e = await failure(ds.get(7));
    expect(e.file).toMatch(/cam_left_wrist\/episode_000001\.mp4$/);
    expect(e.message).toMatch(/video file is missing \(episode 1, frame 1, camera 'observation.images.cam_left_wrist'\)/);
  });

  it('missing parquet', async () => {
    const root = copy();
    rmSync(join(root, 'data/chunk-000/episode_000001.parquet'));
    const e = await failure(LeRobotDataset.open(root));
    expect(e.file).toBe(join(root, 'data/chunk-000/episode_000001.parquet'));
    expect(e.message).toMatch(/parquet file is missing/);
  });

  it('corrupt parquet (garbage and truncated)', async () => {
    const root = copy();
    const p = join(root, 'data/chunk-000/episode_000000.parquet');
    writeFileSync(p, 'this is not parquet');
    let e = await failure(LeRobotDataset.open(root));
    expect(e.file).toBe(p);
    expect(e.message).toMatch(/not a valid parquet file/);
    cpSync(join(clean, 'data/chunk-000/episode_000000.parquet'), p);
    const bytes = readFileSync(p);
    writeFileSync(p, Buffer.concat([bytes.subarray(0, 40), Buffer.alloc(200), bytes.subarray(bytes.length - 600)]));
    e = await failure(LeRobotDataset.open(root));
    expect(e.file).toBe(p);
    expect(e.message).toMatch(/parquet/);
  });

  it('truncated mp4', async () => {
    const root = copy();
    const v = join(root, `videos/chunk-000/${ALOHA_CAMERAS[2]}/episode_000000.mp4`);
    truncateSync(v, Math.floor(statSync(v).size / 2));
    const ds = await AlohaRewardDataset.open(root);
    const e = await failure(ds.get(2));
    expect(e.file).toBe(v);
    expect(e.message).toMatch(/unreadable video|truncated or corrupt/);
  });

  it('timestamp outside the video', async () => {
    // v3.0: point episode 1 past the end of the shared video file.
    const root = copy(cleanV3);
    const { readParquet, writeParquet } = await import('@vlreward/dataset');
    const p = join(root, 'meta/episodes/chunk-000/file-000.parquet');
    const t = await readParquet(p);
    const cols = t.names.map((name) => {
      const data = [...t.columns.get(name)!];
      const type = name.startsWith('stats/') || name === 'tasks' ? { list: (name === 'tasks' ? 'string' : name.endsWith('/count') ? 'int64' : 'float64') as 'string' | 'int64' | 'float64' }
        : name.endsWith('_timestamp') ? ('float64' as const) : ('int64' as const);
      return { name, type, data: name === `videos/${ALOHA_CAMERAS[0]}/from_timestamp` ? data.map((x, i) => (i === 1 ? 5 : x)) : data };
    });
    await writeParquet(p, cols);
    const ds = await LeRobotDataset.open(root);
    const e = await failure(ds.getItem(7, { cameras: [ALOHA_CAMERAS[0]] }));
    expect(e.file).toBe(join(root, `videos/${ALOHA_CAMERAS[0]}/chunk-000/file-000.mp4`));
    expect(e.field).toBe('timestamp');
    expect(e.message).toMatch(/no frame within tolerance 0.0001s of timestamp 5.033333s \(episode 1, frame 1, camera 'observation.images.cam_right_wrist'\).*12 frames/);
    // Other cameras are fine.
    await expect(ds.getItem(7, { cameras: [ALOHA_CAMERAS[1]] })).resolves.toBeTruthy();
  });

  it('unknown codebase_version', async () => {
    const root = copy();
    editInfo(root, (i) => (i.codebase_version = 'v1.6'));
    const e = await failure(LeRobotDataset.open(root));
    expect(e.file).toBe(join(root, 'meta/info.json'));
    expect(e.field).toBe('codebase_version');
    expect(e.message).toMatch(/unsupported codebase_version "v1.6"; supported: v2.0, v2.1, v3.0/);
  });

  it('info.json that disagrees with the files', async () => {
    // A declared feature that the parquet lacks: always an error.
    let root = copy();
    editInfo(root, (i) => ((i.features as Record<string, unknown>)['observation.effort'] = { dtype: 'float32', shape: [14], names: null }));
    let e = await failure(LeRobotDataset.open(root));
    expect(e.file).toBe(join(root, 'data/chunk-000/episode_000000.parquet'));
    expect(e.field).toBe('observation.effort');
    expect(e.message).toMatch(/info.json declares feature 'observation.effort'/);
    // Totals: warnings by default, errors when strict.
    root = copy();
    editInfo(root, (i) => (i.total_episodes = 5));
    const warnings: string[] = [];
    await LeRobotDataset.open(root, { onWarning: (w) => warnings.push(w) });
    expect(warnings.join()).toMatch(/field 'total_episodes': says 5 episodes but the episode metadata lists 2/);
    e = await failure(LeRobotDataset.open(root, { strict: true }));
    expect([e.file, e.field]).toEqual([join(root, 'meta/info.json'), 'total_episodes']);
    // Episode length in episodes.jsonl vs parquet rows: always an error.
    root = copy();
    const ej = join(root, 'meta/episodes.jsonl');
    writeFileSync(ej, readFileSync(ej, 'utf8').replace('"length":6}', '"length":7}'));
    e = await failure(LeRobotDataset.open(root, { onWarning: () => {} }));
    expect(e.file).toBe(join(root, 'data/chunk-000/episode_000000.parquet'));
    expect(e.message).toMatch(/episode 0: the episode metadata says length 7 but the data file has 6 rows/);
  });

  it('a symlink loop on a metadata file says so (ELOOP), naming the path; it is not "missing"', async () => {
    for (const name of ['tasks.jsonl', 'episodes_stats.jsonl', 'info.json']) {
      const root = copy();
      const p = join(root, 'meta', name);
      rmSync(p);
      symlinkSync(name, p); // points at itself
      const e = await failure(LeRobotDataset.open(root));
      expect(e.file).toBe(p);
      expect(e.code).toBe('ELOOP');
      expect(e.message).toMatch(/symlink loop \(ELOOP\)/);
      expect(e.message).toContain(p);
      expect(e.message).not.toMatch(/missing/);
    }
  });

  it('missing meta/info.json and label out of range', async () => {
    const e = await failure(LeRobotDataset.open(tmp('empty')));
    expect(e.message).toMatch(/meta\/info.json.*not a LeRobot dataset root/);
    const e2 = await failure(AlohaRewardDataset.open(clean, { numClasses: 2 }));
    expect(e2.field).toBe('reward_bins');
    expect(e2.message).toMatch(/label 2 is outside 0..1/);
  });
});
