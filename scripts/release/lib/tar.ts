// Reads an npm tarball (.tgz) in memory: entry names, sizes and contents. npm/pnpm
// tarballs are plain ustar (+ pax headers for long names), so 40 lines beat a dependency.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface TarEntry {
  /** path inside the package, without the leading `package/` */
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  readonly data: Buffer;
}

function field(buf: Buffer, start: number, len: number): string {
  const s = buf.subarray(start, start + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul < 0 ? s.length : nul).toString('utf8');
}

export function readTarball(file: string): TarEntry[] {
  const tar = gunzipSync(readFileSync(file));
  const out: TarEntry[] = [];
  let off = 0;
  let paxPath: string | undefined;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const name = field(header, 0, 100);
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const mode = parseInt(field(header, 100, 8).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 48);
    const prefix = field(header, 345, 155);
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      paxPath = m?.[1];
      continue;
    }
    if (type === 'g') continue;
    const full = paxPath ?? (prefix ? `${prefix}/${name}` : name);
    paxPath = undefined;
    if (type !== '0' && type !== '\0') continue; // directories, links: npm tarballs hold files only
    out.push({ path: full.replace(/^[^/]+\//, ''), size, mode, data: Buffer.from(data) });
  }
  if (out.length === 0) throw new Error(`${file}: not a tarball with files (empty or unreadable)`);
  return out;
}
