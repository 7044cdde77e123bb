import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { AlohaRewardDataset, LeRobotDataset, channelMeans, writeSyntheticDataset } from '@vlreward/dataset';
import { cleanupTmp, tmp } from './helpers.js';

afterAll(cleanupTmp);

describe('other LeRobot layouts', () => {
  it('v2.0: stats.json instead of episodes_stats.jsonl', async () => {
    const s = await writeSyntheticDataset({ root: tmp('v20'), version: 'v2.1', codec: 'h264', episodes: 2, frames: 4, cameras: ['observation.images.cam_high'] });
    const infoPath = join(s.root, 'meta/info.json');
    const info = JSON.parse(readFileSync(infoPath, 'utf8'));
    info.codebase_version = 'v2.0';
    writeFileSync(infoPath, JSON.stringify(info));
    rmSync(join(s.root, 'meta/episodes_stats.jsonl'));
    writeFileSync(join(s.root, 'meta/stats.json'), JSON.stringify({ timestamp: { min: [0], max: [0.1] } }));
    const ds = await LeRobotDataset.open(s.root, { strict: true });
    expect(ds.meta.info.codebaseVersion).toBe('v2.0');
    expect(ds.meta.stats).toEqual({ timestamp: { min: [0], max: [0.1] } });
    expect(ds.meta.episodesStats).toBeNull();
    const it = await ds.getItem(5);
    expect([it.episodeIndex, it.frameIndex]).toEqual([1, 1]);
  });

  it('inline image features (PNG bytes in a {bytes, path} struct)', async () => {
    // A v2.1 dataset without videos, then its parquet rewritten with an image column.
    const s = await writeSyntheticDataset({ root: tmp('img'), version: 'v2.1', codec: 'h264', episodes: 2, frames: 3, cameras: [] });
    const cam = 'observation.images.cam_high';
    const infoPath = join(s.root, 'meta/info.json');
    const info = JSON.parse(readFileSync(infoPath, 'utf8'));
    const keep = ['timestamp', 'frame_index', 'episode_index', 'index', 'task_index'];
    info.features = Object.fromEntries(Object.entries(info.features).filter(([k]) => keep.includes(k)));
    info.features[cam] = { dtype: 'image', shape: [8, 10, 3], names: ['height', 'width', 'channel'] };
    info.features.reward_bins = { dtype: 'float32', shape: [3], names: null };
    writeFileSync(infoPath, JSON.stringify(info));
    const colour = (ep: number, t: number) => [40 * t + 10, 100 + ep * 50, 200 - 30 * t];
    for (const ep of [0, 1]) {
      const pngs = await Promise.all([0, 1, 2].map((t) => {
        const [r, g, b] = colour(ep, t);
        return sharp({ create: { width: 10, height: 8, channels: 3, background: { r: r!, g: g!, b: b! } } }).png().toBuffer();
      }));
      const ab = parquetWriteBuffer({
        columnData: [
          { name: cam, data: pngs.map((p, t) => ({ bytes: new Uint8Array(p), path: `frame_${t}.png` })) },
          { name: 'timestamp', data: [0, 1, 2].map((t) => Math.fround(t / 30)) },
          { name: 'frame_index', data: [0n, 1n, 2n] },
          { name: 'episode_index', data: [BigInt(ep), BigInt(ep), BigInt(ep)] },
          { name: 'index', data: [0, 1, 2].map((t) => BigInt(ep * 3 + t)) },
          { name: 'task_index', data: [BigInt(ep % 2), BigInt(ep % 2), BigInt(ep % 2)] },
          { name: 'reward_bins', data: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] },
        ],
        schema: [
          { name: 'schema', num_children: 7 },
          { name: cam, repetition_type: 'OPTIONAL', num_children: 2 },
          { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
          { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
          { name: 'timestamp', type: 'FLOAT', repetition_type: 'OPTIONAL' },
          { name: 'frame_index', type: 'INT64', repetition_type: 'OPTIONAL' },
          { name: 'episode_index', type: 'INT64', repetition_type: 'OPTIONAL' },
          { name: 'index', type: 'INT64', repetition_type: 'OPTIONAL' },
          { name: 'task_index', type: 'INT64', repetition_type: 'OPTIONAL' },
          { name: 'reward_bins', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
          { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
          { name: 'element', type: 'FLOAT', repetition_type: 'OPTIONAL' },
        ],
      });
      writeFileSync(join(s.root, `data/chunk-000/episode_00000${ep}.parquet`), new Uint8Array(ab));
    }
    const base = await LeRobotDataset.open(s.root);
    expect(base.cameraKeys).toEqual([cam]);
    expect(base.imageKeys).toEqual([cam]);
    const ds = await AlohaRewardDataset.open(base, { cameras: [cam] });
    const smp = await ds.get(4); // episode 1, frame 1
    expect([smp.episodeIndex, smp.frameIndex, smp.label]).toEqual([1, 1, 1]);
    expect([smp.images[0]!.width, smp.images[0]!.height]).toEqual([10, 8]);
    expect(channelMeans(smp.images[0]!)).toEqual(colour(1, 1));
  });
});
