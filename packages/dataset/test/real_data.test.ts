import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlohaRewardDataset, DatasetError, LeRobotDataset, analyze, channelMeans, decodeRun, probeVideo, readMeta } from '@vlreward/dataset';

// Ground truth: ../../shared/data/README.md
const DATA = join(import.meta.dirname, '../../../../shared/data');
const G1 = join(DATA, 'g1_pick_bottle_v21');
const APPLE = join(DATA, 'apple_storage_v30_rerun');
const CAM = 'observation.images.cam_high';

describe('g1_pick_bottle_v21 (LeRobot v2.1, AV1)', () => {
  it('reads episode lengths, non-zero episode indices and the global index', async () => {
    const ds = await LeRobotDataset.open(G1);
    expect(ds.meta.info.codebaseVersion).toBe('v2.1');
    expect(ds.length).toBe(499);
    expect(ds.episodes.map((e) => [e.meta.episodeIndex, e.end - e.start, e.meta.length])).toEqual([
      [28, 278, 278],
      [29, 221, 221],
    ]);
    expect(ds.getRow(0).index).toBe(10362);
    expect(ds.getRow(498).index).toBe(10860);
    expect(ds.getRow(277).timestamp).toBeCloseTo(9.2333335876, 9);
    expect(ds.getRow(498).timestamp).toBeCloseTo(7.3333334923, 9);
    expect(ds.cameraKeys).toEqual([CAM]);
  });

  it('has the one task with its trailing period', async () => {
    const meta = await readMeta(G1);
    expect([...meta.tasks]).toEqual([[0, 'Pick up the yellow bottle on the table.']]);
    const ds = await LeRobotDataset.open(G1);
    expect(ds.taskOf(300).task).toBe('Pick up the yellow bottle on the table.');
  });

  it('reads fixed_size_list<float> parquet vectors exactly', async () => {
    const ds = await LeRobotDataset.open(G1, { episodes: [29] });
    const row = ds.getRow(0);
    expect(row.episode_index).toBe(29);
    const state = row['observation.state'] as number[];
    expect(state).toHaveLength(26);
    expect(state.slice(0, 3).map((v) => +v.toFixed(8))).toEqual([-0.77941805, 0.42963448, -0.56056213]);
    expect((row.action as number[]).slice(0, 3).map((v) => +v.toFixed(8))).toEqual([-0.77191246, 0.43436477, -0.56425798]);
    const meanOf = (d: LeRobotDataset): number => {
      let s = 0, n = 0;
      for (const v of d.columns.get('observation.state')!) for (const x of v as number[]) (s += x), n++;
      return s / n;
    };
    expect(meanOf(ds)).toBeCloseTo(0.3174, 4);
    expect(meanOf(await LeRobotDataset.open(G1, { episodes: [28] }))).toBeCloseTo(0.334551, 5);
  });

  it('decodes every AV1 frame the parquet promises (278 and 221)', async () => {
    for (const [ep, n] of [[28, 278], [29, 221]] as const) {
      const p = await probeVideo(join(G1, `videos/chunk-000/${CAM}/episode_0000${ep}.mp4`));
      expect(p.codec).toBe('av1');
      expect([p.width, p.height, p.pixFmt]).toEqual([640, 480, 'yuv420p']);
      expect(p.frameTimes.length).toBe(n);
    }
    // All 221 frames of episode 29 really decode, and not one more.
    const file = join(G1, `videos/chunk-000/${CAM}/episode_000029.mp4`);
    const run = (count: number) => decodeRun({ file, width: 640, height: 480, seek: 7.2, select: null, count, pixFmt: 'yuv420p' });
    expect(await run(5)).toHaveLength(5); // 7.2 s is frame 216 → frames 216..220
    await expect(run(6)).rejects.toThrow(/decoded 5 of 6 frames/);
  });

  it('frame 0 pixel means match ffmpeg (RGB within ±2, Y plane exact)', async () => {
    const ds = await LeRobotDataset.open(G1);
    const [f28, f29, last29] = await ds.getItems([0, 278, 498]);
    const m29 = channelMeans(f29!.images[CAM]!);
    const m28 = channelMeans(f28!.images[CAM]!);
    [114.184, 118.502, 116.101].forEach((v, c) => expect(Math.abs(m29[c]! - v)).toBeLessThan(2));
    [114.329, 116.397, 112.784].forEach((v, c) => expect(Math.abs(m28[c]! - v)).toBeLessThan(2));
    expect(last29!.frameIndex).toBe(220);
    const [y] = await decodeRun({ file: join(G1, `videos/chunk-000/${CAM}/episode_000029.mp4`), width: 640, height: 480, seek: 0, select: null, count: 1, pixFmt: 'yuv420p' });
    let s = 0;
    for (let i = 0; i < 640 * 480; i++) s += y![i]!;
    expect((s / (640 * 480)).toFixed(3)).toBe('117.470');
  });

  it('optional decode-time resize keeps the picture (means within ±2)', async () => {
    const ds = await LeRobotDataset.open(G1, { decoder: { resize: { width: 160, height: 120 } } });
    const img = (await ds.getItem(278)).images[CAM]!;
    expect([img.width, img.height, img.data.length]).toEqual([160, 120, 160 * 120 * 3]);
    channelMeans(img).forEach((v, c) => expect(Math.abs(v - [114.184, 118.502, 116.101][c]!)).toBeLessThan(2));
  });

  it('the seed wrapper refuses it: the three ALOHA cameras are not there', async () => {
    const err = await AlohaRewardDataset.open(G1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).file).toMatch(/meta\/info\.json$/);
    expect((err as DatasetError).field).toBe('features.observation.images.cam_right_wrist');
    expect((err as Error).message).toMatch(/camera 'observation.images.cam_right_wrist' is missing.*cam_high/);
  });
});

describe('apple_storage_v30_rerun (LeRobot v3.0, inconsistent info.json)', () => {
  it('reads episode row ranges, task parquet and vectors', async () => {
    const warnings: string[] = [];
    const ds = await LeRobotDataset.open(APPLE, { onWarning: (w) => warnings.push(w) });
    expect(ds.length).toBe(899);
    expect(ds.episodes.map((e) => [e.meta.episodeIndex, e.end - e.start, e.meta.datasetFromIndex, e.meta.datasetToIndex])).toEqual([
      [0, 299, 0, 299],
      [1, 300, 299, 599],
      [2, 300, 599, 899],
    ]);
    expect(ds.taskOf(0).task).toBe('place the apple in the plate');
    const s = ds.getRow(0)['observation.state'] as number[];
    expect(s).toHaveLength(19);
    expect(s.slice(0, 3).map((v) => +v.toFixed(8))).toEqual([0.1054159, 0.17775288, -0.03482822]);
    expect(ds.episodes[1]!.meta.videos['observation.image']!.path).toBe('videos/observation.image/chunk-000/file-000.mp4');
    // The documented policy: totals in info.json that disagree with the files warn…
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/info\.json: field 'total_frames': says 14983 frames but the episodes hold 899/);
  });

  it('…and are errors in strict mode', async () => {
    const err = await LeRobotDataset.open(APPLE, { strict: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).field).toBe('total_frames');
  });

  it('names the absent video file when a frame is asked for', async () => {
    const ds = await LeRobotDataset.open(APPLE, { onWarning: () => {} });
    const err = await ds.getItem(310).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).file).toMatch(/videos\/observation\.image\/chunk-000\/file-000\.mp4$/);
    expect((err as Error).message).toMatch(/video file is missing.*episode 1, frame 11/);
    // Tabular access still works without the video.
    expect(ds.getRow(310).episode_index).toBe(1);
  });

  it('analyze reports the numbers and the warning', async () => {
    const a = await analyze(APPLE);
    expect([a.codebaseVersion, a.episodes, a.frames, a.fps]).toEqual(['v3.0', 3, 899, 30]);
    expect(a.episodeLengths).toMatchObject({ min: 299, max: 300 });
    expect(a.cameras[0]).toMatchObject({ key: 'observation.image', codec: 'h264', width: 960, height: 720 });
    expect(a.cameras[0]!.problem).toMatch(/missing/);
    expect(a.labels).toBeNull();
    expect(a.warnings.join()).toMatch(/total_frames/);
  });
});
