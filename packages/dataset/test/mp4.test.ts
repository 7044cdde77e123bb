import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VideoDecoder, probeVideo } from '@vlreward/dataset';
import { readMp4VideoTrack } from '../src/video/mp4.js';
import { cleanupTmp, tmp } from './helpers.js';

afterAll(cleanupTmp);

const G1 = join(import.meta.dirname, '../../../../shared/data/g1_pick_bottle_v21/videos/chunk-000/observation.images.cam_high');

describe('in-process MP4 frame table', () => {
  it('matches ffprobe on real AV1, and on H.264 with B-frames, faststart and a start offset', async () => {
    const dir = tmp('mp4');
    const lavfi = ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=30', '-frames:v', '20', '-c:v', 'libx264', '-pix_fmt', 'yuv420p'];
    execFileSync('ffmpeg', [...lavfi, '-bf', '3', '-g', '12', join(dir, 'b.mp4')]);
    execFileSync('ffmpeg', [...lavfi, '-bf', '2', '-movflags', '+faststart', join(dir, 'fs.mp4')]);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-itsoffset', '0.5', '-i', join(dir, 'b.mp4'), '-c', 'copy', join(dir, 'off.mp4')]);
    for (const f of [join(G1, 'episode_000028.mp4'), join(dir, 'b.mp4'), join(dir, 'fs.mp4'), join(dir, 'off.mp4')]) {
      const mine = (await readMp4VideoTrack(f))!;
      const ref = await probeVideo(f);
      expect([mine.codec, mine.width, mine.height]).toEqual([ref.codec, ref.width, ref.height]);
      expect(mine.frameTimes.length).toBe(ref.frameTimes.length);
      mine.frameTimes.forEach((t, i) => expect(t).toBeCloseTo(ref.frameTimes[i]!, 9));
    }
    // With a start offset the decoder still picks frames by absolute timestamp.
    const d = new VideoDecoder();
    const [a] = await d.decodeAt(join(dir, 'off.mp4'), [0.5 + 7 / 30]);
    const [b] = await new VideoDecoder().decodeAt(join(dir, 'b.mp4'), [7 / 30]);
    expect(a!.data).toEqual(b!.data);
    await expect(d.decodeAt(join(dir, 'off.mp4'), [0.2])).rejects.toThrow(/no frame within tolerance/);
  });

  it('selected frames equal the same frames from a full sequential decode', async () => {
    const dir = tmp('mp4sel');
    const f = join(dir, 'v.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=30', '-frames:v', '60', '-c:v', 'libx264', '-bf', '2', '-g', '15', '-pix_fmt', 'yuv420p', f]);
    const all = execFileSync('ffmpeg', ['-v', 'error', '-i', f, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 26 });
    const fb = 64 * 64 * 3;
    const want = [59, 3, 17, 18, 40, 3, 0];
    for (const workers of [0, 2]) {
      // In this thread and through worker threads: the same bytes.
      const d = new VideoDecoder({ maxGap: 5, cacheBytes: 0, workers });
      const got = await d.decodeIndices(f, want);
      got.forEach((img, k) => expect(Buffer.from(img.data).equals(all.subarray(want[k]! * fb, (want[k]! + 1) * fb))).toBe(true));
      expect(d.stats.processes).toBe(4); // gaps > 5 frames split the runs: {0,3} {17,18} {40} {59}
      await d.close();
    }
  });
});
