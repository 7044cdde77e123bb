import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALOHA_CAMERAS, DatasetError, LeRobotDataset, analyze, readParquet, verifyDataset, writeSyntheticDataset, type DatasetProblem } from '@vlreward/dataset';
import { cleanupTmp, rewriteColumns, tmp } from './helpers.js';

afterAll(cleanupTmp);

const SHARED = join(import.meta.dirname, '../../../../shared/data');
const EP0 = 'data/chunk-000/episode_000000.parquet';
const EP1 = 'data/chunk-000/episode_000001.parquet';

let clean = ''; // v2.1, 2 episodes × 6 frames, H.264
let cleanV3 = '';
beforeAll(async () => {
  [clean, cleanV3] = await Promise.all([
    writeSyntheticDataset({ root: tmp('ver'), version: 'v2.1', codec: 'h264', episodes: 2, frames: 6 }).then((s) => s.root),
    writeSyntheticDataset({ root: tmp('ver3'), version: 'v3.0', codec: 'h264', episodes: 2, frames: 6 }).then((s) => s.root),
  ]);
});

function copy(src = clean): string {
  const dst = tmp('verbad');
  cpSync(src, dst, { recursive: true });
  return dst;
}

const where = (p: DatasetProblem): unknown[] => [p.kind, p.file, p.column, p.episode, p.row];

describe('verifyDataset', () => {
  it('clean synthetic v2.1 and v3.0 datasets, and the real g1 sample: no problem, every frame decoded', async () => {
    const [a, b, g1] = await Promise.all([verifyDataset(clean), verifyDataset(cleanV3), verifyDataset(join(SHARED, 'g1_pick_bottle_v21'))]);
    expect(a.problems).toEqual([]);
    expect([a.ok, a.dataFiles, a.rows, a.videoFiles, a.decodedFrames]).toEqual([true, 2, 12, 6, 36]);
    expect(b.problems).toEqual([]);
    expect([b.dataFiles, b.rows, b.videoFiles, b.decodedFrames]).toEqual([1, 12, 3, 36]);
    expect(g1.problems).toEqual([]);
    expect([g1.rows, g1.videoFiles, g1.decodedFrames]).toEqual([499, 2, 499]);
  });

  it('the real v3.0 sample: the wrong total_frames and the absent videos are reported', async () => {
    const r = await verifyDataset(join(SHARED, 'apple_storage_v30_rerun'));
    const root = join(SHARED, 'apple_storage_v30_rerun');
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => [p.kind, p.column])).toEqual([['meta', 'total_frames'], ['file', 'observation.image']]);
    expect(r.problems[0]!.message).toBe('says 14983 frames but the episode metadata has 899');
    expect(r.problems[1]!.file).toBe(join(root, 'videos/observation.image/chunk-000/file-000.mp4'));
    expect(r.problems[1]!.message).toMatch(/video file is missing \(episodes 0, 1, 2\)/);
  });

  it('16 flipped bytes inside a snappy observation.state page: the reader and analyze see nothing, verify names file, column, episode and row', async () => {
    const root = copy();
    const file = join(root, EP1);
    const bytes = readFileSync(file);
    const md = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    const chunk = md.row_groups[0]!.columns.find((c) => c.meta_data!.path_in_schema[0] === 'observation.state')!.meta_data!;
    expect(chunk.codec).toBe('SNAPPY');
    // The values sit at the end of the data page (after the levels), as a snappy literal.
    const end = Number(chunk.data_page_offset) + Number(chunk.total_compressed_size);
    for (let i = end - 40; i < end - 24; i++) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(file, bytes);
    // The file still decodes, to other numbers.
    const before = (await readParquet(join(clean, EP1))).columns.get('observation.state')!;
    const after = (await readParquet(file)).columns.get('observation.state')!;
    expect(after).toHaveLength(6);
    expect(after).not.toEqual(before);
    await expect(LeRobotDataset.open(root)).resolves.toBeTruthy();
    const { root: _a, ...ax } = await analyze(root);
    const { root: _b, ...bx } = await analyze(clean);
    expect(ax).toEqual(bx);

    const r = await verifyDataset(root, { videos: false });
    expect(r.ok).toBe(false);
    expect(r.problems.length).toBeGreaterThan(0);
    for (const p of r.problems) {
      expect([p.file, p.column, p.episode]).toEqual([file, 'observation.state', 1]);
      expect(['stats', 'value']).toContain(p.kind);
    }
    const stats = r.problems.filter((p) => p.kind === 'stats');
    expect(stats.length).toBeGreaterThan(0);
    expect(stats[0]!.message).toMatch(/^episode 1 (min|max|mean|std)\[\d+\] is .* but .*episodes_stats.jsonl says /);
    // A min/max beyond the stored one names the row holding that value: row 5, where the flipped bytes are.
    const rows = new Set(r.problems.map((p) => p.row).filter((x) => x !== null));
    expect([...rows]).toEqual([5]);
  });

  it('wrong column types: the reader refuses them naming file, column, expected and found; verify lists each', async () => {
    const root = copy();
    await rewriteColumns(join(root, EP0), {
      timestamp: { type: 'string', data: (v) => String(v) },
      reward_bins: { type: { list: 'string' }, data: (v) => (v as number[]).map(String) },
    });
    const e = await LeRobotDataset.open(root).then(() => null, (err: unknown) => err as DatasetError);
    expect(e).toBeInstanceOf(DatasetError);
    expect([e!.file, e!.field]).toEqual([join(root, EP0), 'timestamp']);
    expect(e!.message).toMatch(/wrong column type: info.json says float32\[1\], so the column must hold float\/double or list<float\/double>, but the file has string/);
    const r = await verifyDataset(root, { videos: false });
    expect(r.problems.map(where)).toEqual([
      ['type', join(root, EP0), 'timestamp', null, null],
      ['type', join(root, EP0), 'reward_bins', null, null],
    ]);
    expect(r.problems[1]!.message).toMatch(/info.json says float32\[3\], so the column must hold list<float\/double>, but the file has list<string>/);
  });

  it('NaN and wrong lengths in a column the model does not read; rows and frame_index out of line', async () => {
    const root = copy();
    await rewriteColumns(join(root, EP0), {
      action: { data: (v, r) => (r === 3 ? (v as number[]).map((x, i) => (i === 2 ? NaN : x)) : r === 4 ? (v as number[]).slice(0, 13) : v) },
      frame_index: { data: (v, r) => (r === 5 ? 9 : v) },
    });
    const r = await verifyDataset(root, { videos: false });
    const file = join(root, EP0);
    const values = r.problems.filter((p) => p.kind === 'value');
    expect(values.map(where)).toEqual([
      ['value', file, 'action', 0, 3],
      ['value', file, 'action', 0, 4],
      ['value', file, 'frame_index', 0, 5],
    ]);
    expect(values[0]!.message).toBe('value element 2 is NaN, expected float32');
    expect(values[1]!.message).toBe('value has 13 values, expected 14 (shape [14])');
    expect(values[2]!.message).toBe('frame_index is 9, expected 5 (position in episode 0)');
    // frame_index's stats moved too (max 9 instead of 5).
    expect(r.problems.some((p) => p.kind === 'stats' && p.column === 'frame_index' && p.row === 5)).toBe(true);
  });

  it('a video with fewer frames than the episode: counted by decoding, and the rows without a frame named', async () => {
    const root = copy();
    const v = join(root, `videos/chunk-000/${ALOHA_CAMERAS[2]}/episode_000001.mp4`);
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=30', '-frames:v', '4', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', v]);
    const r = await verifyDataset(root);
    expect(r.problems.map(where)).toEqual([
      ['video', v, ALOHA_CAMERAS[2], 1, null],
      ['video', v, ALOHA_CAMERAS[2], 1, 4],
      ['video', v, ALOHA_CAMERAS[2], 1, 5],
    ]);
    expect(r.problems[0]!.message).toBe('4 frames decoded but the episode metadata says length 6');
    expect(r.problems[1]!.message).toMatch(/no frame within tolerance 0.0001s of timestamp 0.133333s/);
    expect(r.decodedFrames).toBe(34);
  });

  it('a corrupt mp4 and a row-count mismatch', async () => {
    const root = copy();
    const v = join(root, `videos/chunk-000/${ALOHA_CAMERAS[0]}/episode_000000.mp4`);
    writeFileSync(v, 'not an mp4');
    const ej = join(root, 'meta/episodes.jsonl');
    writeFileSync(ej, readFileSync(ej, 'utf8').replace('"length":6}', '"length":7}'));
    const r = await verifyDataset(root);
    const kinds = r.problems.map((p) => [p.kind, p.column, p.episode]);
    expect(kinds).toContainEqual(['meta', 'total_frames', null]);
    expect(kinds).toContainEqual(['rows', 'episode_index', 0]);
    expect(kinds).toContainEqual(['file', ALOHA_CAMERAS[0], 0]);
    expect(r.problems.find((p) => p.kind === 'rows')!.message).toBe('the episode metadata says length 7 but the file has 6 rows for episode 0');
    expect(r.problems.find((p) => p.kind === 'file')!.file).toBe(v);
  });

  it('problems beyond maxPerColumn are counted in one more', async () => {
    const root = copy();
    await rewriteColumns(join(root, EP0), { action: { data: (v) => (v as number[]).map(() => NaN) } });
    const r = await verifyDataset(root, { videos: false, maxPerColumn: 2 });
    const action = r.problems.filter((p) => p.column === 'action' && p.kind === 'value');
    expect(action).toHaveLength(3);
    expect(action[2]!.message).toBe('… 4 more value problems in this column (6 in all)');
  });

  it('unreadable metadata is one problem, not an exception', async () => {
    const r = await verifyDataset(tmp('nometa'));
    expect(r.ok).toBe(false);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.kind).toBe('meta');
    expect(r.problems[0]!.message).toMatch(/not a LeRobot dataset root/);
  });
});
