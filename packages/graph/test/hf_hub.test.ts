// The one hub resolver: cache lookup, offline errors, and downloads landing in the
// huggingface_hub layout (blobs named by ETag, relative snapshot symlinks, refs).
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitBlobSha1, hubRepoDir, readSafetensors, resolveHubModel, serializeSafetensors, writeSafetensors, writeSafetensorsStreaming } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'vlr-hfhub-'));
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const FILES: Record<string, Buffer> = {
  'config.json': Buffer.from('{"model_type":"qwen3_vl"}\n'),
  'model.safetensors': Buffer.from(serializeSafetensors({ w: { dtype: 'float32', dims: [2], data: new Float32Array([1, 2]) } })),
  'tokenizer.json': Buffer.from('{}'),
};
let server: Server;
let endpoint = '';
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.url} ${req.headers.authorization ?? '-'}`);
    const f = /^\/Org\/Tiny\/resolve\/main\/(.+)$/.exec(req.url ?? '')?.[1];
    const body = f ? FILES[f] : undefined;
    if (!body) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('x-repo-commit', COMMIT);
    // LFS files carry their sha256 in X-Linked-Etag; git files a quoted sha1 ETag.
    if (f === 'model.safetensors') res.setHeader('x-linked-etag', `"${createHash('sha256').update(body).digest('hex')}"`);
    else res.setHeader('etag', `W/"${gitBlobSha1(body)}"`);
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => {
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

const MODEL = { what: 'model', required: ['config.json'], optional: ['tokenizer.json', 'vocab.json'], weights: true } as const;

describe('resolveHubModel', () => {
  it('downloads into blobs/<etag> with relative snapshot symlinks and refs/main, then resolves offline', async () => {
    const cacheDir = join(tmp, 'dl');
    const snap = await resolveHubModel('Org/Tiny', MODEL, { cacheDir, endpoint, token: 'hf_x' });
    const repo = hubRepoDir('Org/Tiny', cacheDir);
    expect(snap).toBe(join(repo, 'snapshots', COMMIT));
    expect(readFileSync(join(repo, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    for (const [f, body] of Object.entries(FILES)) {
      expect(lstatSync(join(snap, f)).isSymbolicLink()).toBe(true);
      const id = f === 'model.safetensors' ? createHash('sha256').update(body).digest('hex') : gitBlobSha1(body);
      expect(readlinkSync(join(snap, f))).toBe(`../../blobs/${id}`);
      expect(readFileSync(join(snap, f)).equals(body)).toBe(true);
    }
    expect(requests.every((r) => r.endsWith(' Bearer hf_x'))).toBe(true);
    expect(requests.some((r) => r.includes('/vocab.json'))).toBe(true); // optional: asked for, 404 is fine
    const n = requests.length;
    expect(await resolveHubModel('Org/Tiny', MODEL, { cacheDir, localFilesOnly: true })).toBe(snap);
    expect(await resolveHubModel('Org/Tiny', MODEL, { cacheDir, endpoint })).toBe(snap); // complete: no request
    expect(requests.length).toBe(n);
  });

  it('a missing required file is an error naming it and the hub; a file path is not a folder', async () => {
    const cacheDir = join(tmp, 'dl2');
    await expect(resolveHubModel('Org/Tiny', { what: 'processor', required: ['config.json', 'preprocessor_config.json'] }, { cacheDir, endpoint })).rejects.toThrow(
      `model 'Org/Tiny': preprocessor_config.json not found on ${endpoint} (HTTP 404)`,
    );
    const file = join(tmp, 'file.txt');
    writeFileSync(file, 'x');
    await expect(resolveHubModel(file, MODEL)).rejects.toThrow(/expected a directory in Hugging Face layout, found a file/);
    await expect(resolveHubModel('not a hub id', MODEL)).rejects.toThrow(/no such directory, and not a hub id of the form 'org\/name'/);
  });
});

describe('writeSafetensorsStreaming', () => {
  const a = { dtype: 'float32' as const, dims: [3], data: new Float32Array([1, 2, 3]) };
  const b = { dtype: 'bfloat16' as const, dims: [2, 2], data: new Uint16Array([1, 2, 3, 4]) };
  const bytes = (t: { data: ArrayBufferView }): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

  it('writes the same bytes as writeSafetensors from per-tensor chunks, reporting every chunk', async () => {
    const ref = join(tmp, 'ref.safetensors');
    await writeSafetensors(ref, { b, a }, { format: 'pt' }, { fsync: false });
    const out = join(tmp, 'stream.safetensors');
    let seen = 0;
    const n = await writeSafetensorsStreaming(
      out,
      [{ name: 'b', dtype: 'bfloat16', dims: [2, 2] }, { name: 'a', dtype: 'float32', dims: [3] }],
      function* (spec) {
        const all = bytes(spec.name === 'a' ? a : b);
        for (let i = 0; i < all.length; i += 3) yield all.subarray(i, i + 3); // odd chunk sizes
      },
      { format: 'pt' },
      { fsync: false, onWrite: (c) => void (seen += c.byteLength) },
    );
    expect(readFileSync(out).equals(readFileSync(ref))).toBe(true);
    expect(seen).toBe(n);
    expect((await readSafetensors(out)).tensors.get('a')!.data).toEqual(a.data);
  });

  it('a producer that yields the wrong byte count fails and leaves no file', async () => {
    const out = join(tmp, 'short.safetensors');
    await expect(writeSafetensorsStreaming(out, [{ name: 'a', dtype: 'float32', dims: [3] }], () => [new Uint8Array(8)])).rejects.toThrow(
      /tensor 'a': produced 8 bytes, its dtype and dims need 12/,
    );
    expect(() => lstatSync(out)).toThrow();
  });
});
