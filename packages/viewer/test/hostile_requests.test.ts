// The viewer server against a hostile client (issue 16): concurrent requests for the 11 MB
// processor JSON, foreign Host names (DNS rebinding), unsatisfiable ranges, prototype keys as
// camera names, and a dataset video symlinked outside the dataset folder.
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMeta, writeSyntheticDataset } from '@vlreward/dataset';
import { startViewer, type Viewer } from '@vlreward/viewer';
import { hasProcessor, makeFixture } from './fixture.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
  body: string;
}

/** GET with the given headers; keeps at most the first 64 KB of the body as text (large bodies are only counted). */
function get(url: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', headers }, (res) => {
      let bytes = 0;
      const head: Buffer[] = [];
      res.on('data', (b: Buffer) => {
        if (bytes < 65536) head.push(b);
        bytes += b.length;
      });
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, bytes, body: Buffer.concat(head).toString('utf8') }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

const ORT_WASM = '/ort/ort-wasm-simd-threaded.jsep.wasm';

describe.skipIf(!hasProcessor)('viewer server under hostile requests', () => {
  let fx: Awaited<ReturnType<typeof makeFixture>>;
  let viewer: Viewer;
  const log: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'vlreward-viewer-hostile-'));
  const others: Viewer[] = [];

  beforeAll(async () => {
    fx = await makeFixture({ episodes: 2, frames: 4 });
    viewer = await startViewer({ root: fx.root, ckpt: fx.ckpt!, port: 0, cacheDir: join(tmp, 'main'), log: (s) => log.push(s) });
  });
  afterAll(async () => {
    await viewer?.close();
    for (const v of others) await v.close();
    for (const d of [fx?.dir, tmp]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('50 concurrent /api/processor requests: one cached body, bounded memory, ETag revalidation', async () => {
    const first = await get(viewer.url, '/api/processor');
    expect(first.status).toBe(200);
    expect(first.bytes).toBeGreaterThan(10e6); // the Qwen tokenizer.json alone is 11 MB
    const before = process.memoryUsage().rss;
    let peak = before;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const replies = await Promise.all(Array.from({ length: 50 }, () => get(viewer.url, '/api/processor')));
    clearInterval(sample);
    peak = Math.max(peak, process.memoryUsage().rss);
    for (const r of replies) expect([r.status, r.bytes]).toEqual([200, first.bytes]);
    // 50 × 11 MB = 570 MB went out; rebuilding the body per request grew this process by ~2 GB
    const grownMB = (peak - before) / 2 ** 20;
    console.log(`50 concurrent /api/processor (${(first.bytes / 1e6).toFixed(1)} MB each): RSS ${(before / 2 ** 20).toFixed(0)} → peak +${grownMB.toFixed(0)} MB`);
    expect(grownMB).toBeLessThan(200);
    // the same bytes every time, so the browser can revalidate instead of downloading again
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await get(viewer.url, '/api/processor', { 'if-none-match': etag });
    expect([again.status, again.bytes]).toEqual([304, 0]);
    expect((await get(viewer.url, '/', { 'if-none-match': etag })).status).toBe(200);
  });

  it('answers only loopback Host names with its port, the bind address and the configured --host-name', async () => {
    const port = new URL(viewer.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) expect((await get(viewer.url, '/api/info', { host })).status, host).toBe(200);
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost:${Number(port) + 1}`, 'localhost', `[::1]x:${port}`]) {
      const r = await get(viewer.url, '/api/info', { host });
      expect(r.status, host).toBe(403);
      expect(r.body, host).not.toMatch(/"root"|"fps"/);
      expect(JSON.parse(r.body).error).toMatch(/is not allowed \(DNS rebinding protection\).*--host-name/);
    }
    expect(log.some((l) => /\[viewer\] 403 GET \/api\/info: Host 'evil\.example' is not allowed/.test(l))).toBe(true);

    const named = await startViewer({ root: fx.root, port: 0, hostName: 'Viewer.Lan', cacheDir: join(tmp, 'named'), log: () => undefined });
    others.push(named);
    const namedPort = new URL(named.url).port;
    expect((await get(named.url, '/api/info', { host: `viewer.lan:${namedPort}` })).status).toBe(200);
    expect((await get(named.url, '/api/info', { host: `localhost:${namedPort}` })).status).toBe(200);
    expect((await get(named.url, '/api/info', { host: `other.lan:${namedPort}` })).status).toBe(403);
  });

  it('byte ranges: 206 for satisfiable ones, 416 with Content-Range bytes */SIZE otherwise', async () => {
    const size = (await get(viewer.url, ORT_WASM)).bytes;
    expect(size).toBeGreaterThan(1000);
    const cases: [string, number, string | undefined, number][] = [
      ['bytes=0-9', 206, `bytes 0-9/${size}`, 10],
      ['bytes=-10', 206, `bytes ${size - 10}-${size - 1}/${size}`, 10],
      [`bytes=${size - 5}-${size + 100}`, 206, `bytes ${size - 5}-${size - 1}/${size}`, 5],
      ['bytes=-99999999999', 206, `bytes 0-${size - 1}/${size}`, size],
      [`bytes=${size}-`, 416, `bytes */${size}`, 0],
      [`bytes=${size + 10}-${size + 20}`, 416, `bytes */${size}`, 0],
      ['bytes=99999999999999999999-', 416, `bytes */${size}`, 0],
      ['bytes=20-10', 416, `bytes */${size}`, 0],
      ['bytes=-0', 416, `bytes */${size}`, 0],
      ['bytes=0-1,5-6', 200, undefined, size], // multiple ranges are not supported: the whole file
    ];
    for (const [range, status, contentRange, bytes] of cases) {
      const r = await get(viewer.url, ORT_WASM, { range });
      expect([r.status, r.headers['content-range'], r.bytes], range).toEqual([status, contentRange, bytes]);
    }
  });

  it('prototype keys and unknown names are a plain 404, never a 500 with an internal message', async () => {
    for (const cam of ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', 'no_such_camera']) {
      const r = await get(viewer.url, `/video/0/${cam}.webm`);
      expect(r.status, cam).toBe(404);
      expect(JSON.parse(r.body).error, cam).toMatch(/has no video '.*' for episode 0 \(videos: observation\.images\./);
    }
    for (const p of ['/video/6/__proto__.webm', '/ort/__proto__', '/ort/constructor', '/api/episode/6/curve', '/__proto__', '/api/constructor']) {
      const r = await get(viewer.url, p);
      expect(r.status, p).toBe(404);
      expect(r.body, p).not.toMatch(/TypeError|Cannot read|argument|undefined|at .*\.ts:/);
    }
    expect(log.some((l) => /\[viewer\] 500 /.test(l))).toBe(false);
  });

  it('an unexpected failure is a 500 whose details (paths, stack) stay in the log', async () => {
    const root = join(tmp, 'broken', 'dataset');
    await writeSyntheticDataset({ root, episodes: 1, frames: 4, codec: 'h264', size: 64, numClasses: 3, seed: 4 });
    const v = Object.values((await readMeta(root)).episodes[0]!.videos)[0]!;
    writeFileSync(join(root, v.path), 'not a video');
    const l: string[] = [];
    const broken = await startViewer({ root, port: 0, cacheDir: join(tmp, 'broken-cache'), log: (s) => l.push(s) });
    others.push(broken);
    const r = await get(broken.url, '/api/episode/0/frames/0');
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body)).toEqual({ error: "internal error (the viewer's log has the details)" });
    expect(l.find((s) => s.startsWith('[viewer] 500 GET /api/episode/0/frames/0: '))).toContain(root);
  });

  it('refuses a dataset video symlinked outside the dataset folder (video and decoded frames)', async () => {
    const dir = join(tmp, 'symlinked');
    const root = join(dir, 'dataset');
    await writeSyntheticDataset({ root, episodes: 2, frames: 4, codec: 'h264', size: 64, numClasses: 3, seed: 3 });
    const meta = await readMeta(root);
    const [cam, v] = Object.entries(meta.episodes[0]!.videos)[0]!;
    // a real video, so that following the link would serve it
    const outside = join(dir, 'outside', 'secret.mp4');
    mkdirSync(dirname(outside), { recursive: true });
    renameSync(join(root, v.path), outside);
    symlinkSync(outside, join(root, v.path));
    expect(statSync(join(root, v.path)).size).toBeGreaterThan(0);
    const l: string[] = [];
    const sym = await startViewer({ root, port: 0, cacheDir: join(tmp, 'symlinked-cache'), log: (s) => l.push(s) });
    others.push(sym);
    for (const p of [`/video/0/${cam}.webm`, '/api/episode/0/frames/0', '/api/episode/0/curve']) {
      const r = await get(sym.url, p);
      expect(r.status, p).toBe(403);
      expect(JSON.parse(r.body).error, p).toMatch(/resolves outside the dataset folder/);
    }
    expect(l.some((s) => /403 GET \/video\/0\/.* resolves outside the dataset folder/.test(s))).toBe(true);
    // the other episode's files are inside the folder and still served
    const ok = await get(sym.url, `/video/1/${cam}.webm`);
    expect([ok.status, ok.headers['content-type']]).toEqual([200, 'video/webm']);
    expect((await get(sym.url, '/api/episode/1/frames/0')).status).toBe(200);
  });
});
