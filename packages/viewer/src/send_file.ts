// Files (onnxruntime-web's wasm, transcoded videos, the exported model) streamed from disk,
// with single byte ranges so the browser can seek videos.

import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type ByteRange = { start: number; end: number };

/**
 * The byte range a `Range:` header asks for in a file of `size` bytes (RFC 9110 §14.1.2):
 * null when there is none or it is not a single `bytes=` range (then the whole file is sent),
 * 'unsatisfiable' when it starts at or past the end, ends before it starts, or is an empty suffix.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!m || (!m[1] && !m[2])) return null;
  if (!m[1]) {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] ? Number(m[2]) : size - 1;
  if (start >= size || last < start) return 'unsatisfiable';
  return { start, end: Math.min(last, size - 1) };
}

export function sendFile(req: IncomingMessage, res: ServerResponse, path: string, type: string): void {
  const size = statSync(path).size;
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${size}`, 'accept-ranges': 'bytes', 'content-length': 0 });
    res.end();
    return;
  }
  const head = { 'content-type': type, 'accept-ranges': 'bytes' };
  if (range) res.writeHead(206, { ...head, 'content-length': range.end - range.start + 1, 'content-range': `bytes ${range.start}-${range.end}/${size}` });
  else res.writeHead(200, { ...head, 'content-length': size });
  // headers are out: a read error can only cut the response short
  createReadStream(path, range ?? {})
    .on('error', () => res.destroy())
    .pipe(res);
}
