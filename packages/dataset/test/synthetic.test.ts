import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALOHA_CAMERAS, AlohaRewardDataset, LeRobotDataset, RewardDataLoader, analyze, channelMeans, clipToTensor, fromChwFloat, probeVideo,
  readParquet, toChwFloat, type SyntheticDatasetSummary,
} from '@vlreward/dataset';
import { cleanupTmp, dominantClass, synth } from './helpers.js';

afterAll(cleanupTmp);

const combos = [
  ['v2.1', 'av1'],
  ['v2.1', 'h264'],
  ['v3.0', 'av1'],
  ['v3.0', 'h264'],
] as const;

const made = new Map<string, SyntheticDatasetSummary>();
beforeAll(async () => {
  // 2 episodes × 8 frames per combination; a 4-episode v3.0 one for the option tests.
  const all = await Promise.all([
    ...combos.map(([version, codec]) => synth({ version, codec, seed: 3, episodes: 2 })),
    synth({ version: 'v3.0', codec: 'h264', seed: 4 }),
  ]);
  combos.forEach(([version, codec], i) => made.set(`${version}/${codec}`, all[i]!));
  made.set('options', all[4]!);
});

// One open dataset per root, so tests share the decoder's frame cache (each ffmpeg start costs).
const opened = new Map<string, Promise<LeRobotDataset>>();
function open(root: string): Promise<LeRobotDataset> {
  let p = opened.get(root);
  if (!p) opened.set(root, (p = LeRobotDataset.open(root)));
  return p;
}

describe.each(combos)('synthetic %s %s', (version, codec) => {
  const get = () => made.get(`${version}/${codec}`)!;

  it('is genuine LeRobot layout with consistent meta', async () => {
    const s = get();
    const info = JSON.parse(readFileSync(join(s.root, 'meta/info.json'), 'utf8'));
    expect(info.codebase_version).toBe(version);
    expect(info.total_frames).toBe(16);
    expect(info.features['reward_bins']).toEqual({ dtype: 'float32', shape: [3], names: { bins: ['bin_0', 'bin_1', 'bin_2'] } });
    const warnings: string[] = [];
    const ds = await LeRobotDataset.open(s.root, { strict: true, onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    expect(ds.length).toBe(16);
    expect(ds.cameraKeys).toEqual([...ALOHA_CAMERAS]);
    const dataFile = version === 'v2.1' ? 'data/chunk-000/episode_000001.parquet' : 'data/chunk-000/file-000.parquet';
    const t = await readParquet(join(s.root, dataFile));
    // The Arrow schema pyarrow would read: fixed_size_list<float>[3] for reward_bins.
    expect(t.kv['ARROW:schema']).toBeTruthy();
    expect(JSON.parse(t.kv.huggingface!).info.features.reward_bins).toEqual({ feature: { dtype: 'float32', _type: 'Value' }, length: 3, _type: 'Sequence' });
    expect(t.names).toEqual(['observation.state', 'action', 'timestamp', 'frame_index', 'episode_index', 'index', 'task_index', 'reward_bins', 'next.reward', 'next.success', 'next.done']);
    const cam = version === 'v2.1' ? `videos/chunk-000/${ALOHA_CAMERAS[2]}/episode_000001.mp4` : `videos/${ALOHA_CAMERAS[2]}/chunk-000/file-000.mp4`;
    const p = await probeVideo(join(s.root, cam));
    expect(p.codec).toBe(codec);
    expect(p.frameTimes.length).toBe(version === 'v2.1' ? 8 : 16);
  });

  it('labels follow reward_bins and can be read off every camera image', async () => {
    const s = get();
    const ds = await AlohaRewardDataset.open(await open(s.root));
    expect(ds.numClasses).toBe(3);
    expect(ds.length).toBe(16);
    const samples = await ds.getMany([...Array(16).keys()]);
    for (const smp of samples) {
      const want = s.episodes[smp.episodeIndex]!.labels[smp.frameIndex]!;
      expect(smp.label).toBe(want);
      expect(smp.images).toHaveLength(3);
      for (const img of smp.images) expect(dominantClass(img, 3)).toBe(want);
      expect(smp.text).toBe(`Task: ${s.tasks[smp.episodeIndex % 2]}`);
    }
    expect(ds.labelHistogram()).toEqual([6, 6, 4]); // bins of 8 frames: 0,0,0,1,1,1,2,2
  });

  it('v3.0 from_timestamp offsets pick the same frames as per-episode files', async () => {
    const other = made.get(`${version === 'v2.1' ? 'v3.0' : 'v2.1'}/${codec}`)!;
    const a = await open(get().root);
    const b = await open(other.root);
    const xs = await a.getItems([0, 7, 9, 15]);
    const ys = await b.getItems([0, 7, 9, 15]);
    for (let k = 0; k < 4; k++) {
      const [x, y] = [xs[k]!, ys[k]!];
      expect([x.episodeIndex, x.frameIndex]).toEqual([y.episodeIndex, y.frameIndex]);
      const mx = channelMeans(x.images[ALOHA_CAMERAS[1]]!), my = channelMeans(y.images[ALOHA_CAMERAS[1]]!);
      mx.forEach((v, c) => expect(Math.abs(v - my[c]!)).toBeLessThan(4));
    }
  });
});

describe('AlohaRewardDataset options', () => {
  const root = () => made.get('options')!.root;

  it('episode split never leaks a validation episode into training', async () => {
    const all = await AlohaRewardDataset.open(root(), { shuffle: true, seed: 5 });
    const { train, val } = all.split({ valFraction: 0.25, seed: 1 });
    expect(val.episodeIndices()).toHaveLength(1);
    expect(train.episodeIndices()).toHaveLength(3);
    const valEps = new Set(val.episodeIndices());
    for (const e of train.episodeIndices()) expect(valEps.has(e)).toBe(false);
    expect(train.length + val.length).toBe(32);
    expect(all.split({ valFraction: 0.25, seed: 1 }).val.episodeIndices()).toEqual(val.episodeIndices());
  });

  it('MAX_TRAIN_SAMPLES, frame stride and seeded shuffle', async () => {
    const a = await AlohaRewardDataset.open(root(), { shuffle: true, seed: 9, maxSamples: 5 });
    const b = await AlohaRewardDataset.open(root(), { shuffle: true, seed: 9, maxSamples: 5 });
    const c = await AlohaRewardDataset.open(root(), { shuffle: true, seed: 10, maxSamples: 5 });
    expect(a.length).toBe(5);
    expect(a.indices).toEqual(b.indices);
    expect(a.indices).not.toEqual(c.indices);
    const strided = await AlohaRewardDataset.open(await open(root()), { frameStride: 3 });
    expect(strided.length).toBe(4 * 3); // frames 0, 3, 6 of each 8-frame episode
    expect((await strided.get(1)).frameIndex).toBe(3);
  });

  it('other label columns: next.success (bool) and next.reward binned; NUM_CLASSES override', async () => {
    const s = made.get('options')!;
    const succ = await AlohaRewardDataset.open(s.root, { labelColumn: 'next.success' });
    expect(succ.numClasses).toBe(2);
    expect(succ.labelHistogram()).toEqual([32 - 8, 8]); // the last bin = success
    const rew = await AlohaRewardDataset.open(s.root, { labelColumn: 'next.reward', binning: { edges: [0.25, 0.75] } });
    expect(rew.numClasses).toBe(3);
    for (let i = 0; i < 32; i++) expect(rew.labelAt(i)).toBe(s.episodes[Math.floor(i / 8)]!.labels[i % 8]);
    const five = await AlohaRewardDataset.open(s.root, { numClasses: 5 });
    expect(five.numClasses).toBe(5);
    // A continuous scalar column without binning is an error (it used to make every label class 0).
    await expect(AlohaRewardDataset.open(s.root, { labelColumn: 'next.reward' })).rejects.toThrow(/episode 0 frame 3 .*value 0.5: the scalar 0.5 is not a class id.*--bin-edges/);
  });

  it('configurable camera order', async () => {
    const order = [ALOHA_CAMERAS[2], ALOHA_CAMERAS[0]];
    const base = await open(root());
    const ds = await AlohaRewardDataset.open(base, { cameras: order });
    const smp = await ds.get(0);
    const item = await base.getItem(0);
    expect(smp.images).toHaveLength(2);
    expect(smp.images[0]!.data).toEqual(item.images[ALOHA_CAMERAS[2]]!.data);
    expect(smp.images[1]!.data).toEqual(item.images[ALOHA_CAMERAS[0]]!.data);
  });

  it('delta_timestamps clips [T,C,H,W] with padding masks; float CHW round-trips to uint8', async () => {
    const s = made.get('options')!;
    const cam = ALOHA_CAMERAS[2];
    const ds = await LeRobotDataset.open(s.root, {
      deltaTimestamps: { [cam]: [-2 / 30, -1 / 30, 0], 'observation.state': [0, 1 / 30] },
      decoder: (await open(s.root)).decoder,
    });
    const first = await ds.getItem(8, { cameras: [cam] }); // episode 1, frame 0
    expect(first.clips[cam]!.isPad).toEqual([true, true, false]);
    expect(first.clips[cam]!.frames[0]!.data).toEqual(first.images[cam]!.data);
    expect(first.rowIsPad['observation.state']).toEqual([false, false]);
    const later = await ds.getItem(8 + 7, { cameras: [cam] }); // last frame of episode 1
    expect(later.clips[cam]!.isPad).toEqual([false, false, false]);
    expect(later.rowIsPad['observation.state']).toEqual([false, true]);
    expect(later.clips[cam]!.timestamps.map((t) => Math.round(t * 30))).toEqual([5, 6, 7]);
    const img = later.images[cam]!;
    const t = toChwFloat(img);
    expect(t.shape).toEqual([3, 64, 64]);
    expect(Math.max(...t.data)).toBeLessThanOrEqual(1);
    expect(t.data[64 * 64]).toBeCloseTo(img.data[1]! / 255, 6); // G plane starts at H·W
    expect(fromChwFloat(t).data).toEqual(img.data);
    const clip = clipToTensor(later.clips[cam]!.frames);
    expect(clip.shape).toEqual([3, 3, 64, 64]);
    expect(fromChwFloat(clip, 2).data).toEqual(img.data); // offset 0 is the last of the three
  });

  it('the loader yields every sample once per epoch in batches, reshuffled per epoch', async () => {
    const ds = await AlohaRewardDataset.open(await open(root()));
    const loader = new RewardDataLoader(ds, { batchSize: 3, shuffle: true, seed: 4, prefetch: 2 });
    expect(loader.length).toBe(11);
    const epoch = async () => {
      const seen: number[] = [];
      let batches = 0;
      for await (const batch of loader) {
        batches++;
        expect(batch.length).toBeLessThanOrEqual(3);
        for (const smp of batch) {
          seen.push(smp.index);
          expect(smp.images).toHaveLength(3);
          expect(smp.images[0]!.data.length).toBe(64 * 64 * 3);
        }
      }
      expect(batches).toBe(11);
      return seen;
    };
    const e0 = await epoch();
    const e1 = await epoch();
    expect([...e0].sort((a, b) => a - b)).toEqual([...Array(32).keys()]);
    expect(e1).not.toEqual(e0);
    const again = new RewardDataLoader(ds, { batchSize: 3, shuffle: true, seed: 4 });
    expect(again.order(0).map((i) => ds.indices[i])).toEqual(e0);
    // Episode blocks: each run of 16 samples (2 episodes × 8) comes from two episodes only.
    const blocked = new RewardDataLoader(ds, { batchSize: 4, shuffle: true, seed: 4, blockEpisodes: 2 }).order(0);
    expect([...blocked].sort((a, b) => a - b)).toEqual([...Array(32).keys()]);
    for (let b = 0; b < 32; b += 16) expect(new Set(blocked.slice(b, b + 16).map((i) => Math.floor(i / 8))).size).toBe(2);
    const dropped = new RewardDataLoader(ds, { batchSize: 5, dropLast: true });
    expect(dropped.length).toBe(6);
  });

  it('analyze: versions, cameras, tasks, balanced histogram', async () => {
    const a = await analyze(made.get('options')!.root);
    expect(a.codebaseVersion).toBe('v3.0');
    expect(a.cameras.map((c) => [c.key, c.codec, c.width, c.height])).toEqual(ALOHA_CAMERAS.map((k) => [k, 'h264', 64, 64]));
    expect(a.labels!.histogram.reduce((x, y) => x + y)).toBe(32);
    expect(a.labels!.numClasses).toBe(3);
    expect(a.tasks.map((t) => t.frames)).toEqual([16, 16]);
    expect(a.warnings).toEqual([]);
  });
});
