import { open } from 'node:fs/promises';

/**
 * Frame times and size of the first video track of an MP4, read from the `moov` box
 * (stts/ctts/elst/mdhd/stsd) without starting a process. The decoder uses this instead of
 * ffprobe: with small videos, process start-up — not decoding — is what costs.
 * Timestamps follow ffmpeg's mov demuxer: pts = dts + ctts − edit-list media_time
 * (+ any leading empty edit), in seconds. Returns null for anything it does not understand;
 * the caller then falls back to ffprobe.
 */
export interface Mp4VideoTrack {
  readonly codec: string;
  readonly width: number;
  readonly height: number;
  readonly frameTimes: Float64Array;
}

const CODECS: Record<string, string> = { avc1: 'h264', avc3: 'h264', hvc1: 'hevc', hev1: 'hevc', av01: 'av1', vp09: 'vp9', mp4v: 'mpeg4' };

interface Box { type: string; start: number; end: number } // payload range within buf

function children(buf: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  let p = start;
  while (p + 8 <= end) {
    let size = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    let hdr = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(p + 8));
      hdr = 16;
    } else if (size === 0) size = end - p;
    if (size < hdr || p + size > end) return out;
    out.push({ type, start: p + hdr, end: p + size });
    p += size;
  }
  return out;
}

const find = (buf: Buffer, b: Box | undefined, type: string): Box | undefined => (b ? children(buf, b.start, b.end).find((c) => c.type === type) : undefined);

async function readMoov(file: string): Promise<Buffer | null> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const hdr = Buffer.alloc(16);
    let p = 0;
    while (p + 8 <= size) {
      await fh.read(hdr, 0, 16, p);
      let len = hdr.readUInt32BE(0);
      const type = hdr.toString('latin1', 4, 8);
      let h = 8;
      if (len === 1) {
        len = Number(hdr.readBigUInt64BE(8));
        h = 16;
      } else if (len === 0) len = size - p;
      if (len < h) return null;
      if (type === 'moov') {
        if (p + len > size) return null; // truncated
        const b = Buffer.alloc(len - h);
        await fh.read(b, 0, b.length, p + h);
        return b;
      }
      p += len;
    }
    return null;
  } finally {
    await fh.close();
  }
}

export async function readMp4VideoTrack(file: string): Promise<Mp4VideoTrack | null> {
  let moov: Buffer | null;
  try {
    moov = await readMoov(file);
  } catch {
    return null;
  }
  if (!moov) return null;
  const buf = moov;
  const top: Box = { type: 'moov', start: 0, end: buf.length };
  const mvhd = find(buf, top, 'mvhd');
  if (!mvhd) return null;
  const movieTimescale = buf[mvhd.start] === 1 ? buf.readUInt32BE(mvhd.start + 20) : buf.readUInt32BE(mvhd.start + 12);
  for (const trak of children(buf, 0, buf.length).filter((b) => b.type === 'trak')) {
    const mdia = find(buf, trak, 'mdia');
    const hdlr = find(buf, mdia, 'hdlr');
    if (!hdlr || buf.toString('latin1', hdlr.start + 8, hdlr.start + 12) !== 'vide') continue;
    const mdhd = find(buf, mdia, 'mdhd');
    const stbl = find(buf, find(buf, mdia, 'minf'), 'stbl');
    const stsd = find(buf, stbl, 'stsd');
    const stts = find(buf, stbl, 'stts');
    if (!mdhd || !stbl || !stsd || !stts) return null;
    const timescale = buf[mdhd.start] === 1 ? buf.readUInt32BE(mdhd.start + 20) : buf.readUInt32BE(mdhd.start + 12);
    const entry = stsd.start + 8;
    const fourcc = buf.toString('latin1', entry + 4, entry + 8);
    const width = buf.readUInt16BE(entry + 8 + 24);
    const height = buf.readUInt16BE(entry + 8 + 26);
    // Decode timestamps from stts.
    const dts: number[] = [];
    let t = 0;
    for (let i = 0, n = buf.readUInt32BE(stts.start + 4); i < n; i++) {
      const count = buf.readUInt32BE(stts.start + 8 + i * 8), delta = buf.readUInt32BE(stts.start + 12 + i * 8);
      for (let k = 0; k < count; k++) (dts.push(t), (t += delta));
    }
    const pts = dts.slice();
    const ctts = find(buf, stbl, 'ctts');
    if (ctts) {
      const v1 = buf[ctts.start] === 1;
      let s = 0;
      for (let i = 0, n = buf.readUInt32BE(ctts.start + 4); i < n; i++) {
        const count = buf.readUInt32BE(ctts.start + 8 + i * 8);
        const off = v1 ? buf.readInt32BE(ctts.start + 12 + i * 8) : buf.readUInt32BE(ctts.start + 12 + i * 8);
        for (let k = 0; k < count && s < pts.length; k++) pts[s++]! += off;
      }
    }
    // Edit list: leading empty edits delay the track; the first real edit's media_time is where it starts.
    let shift = 0; // in track timescale
    const elst = find(buf, find(buf, trak, 'edts'), 'elst');
    if (elst) {
      const v1 = buf[elst.start] === 1;
      const n = buf.readUInt32BE(elst.start + 4);
      const sz = v1 ? 20 : 12;
      for (let i = 0; i < n; i++) {
        const e = elst.start + 8 + i * sz;
        const dur = v1 ? Number(buf.readBigUInt64BE(e)) : buf.readUInt32BE(e);
        const mediaTime = v1 ? Number(buf.readBigInt64BE(e + 8)) : buf.readInt32BE(e + 4);
        if (mediaTime === -1) shift += (dur * timescale) / movieTimescale;
        else {
          shift -= mediaTime;
          break;
        }
      }
      if (n > 1 && !(n === 2 && buf.readInt32BE(elst.start + 8 + (v1 ? 8 : 4)) === -1)) return null; // complex edit lists: let ffprobe decide
    }
    const times = pts.map((p) => (p + shift) / timescale).filter((x) => x >= -1e-9).sort((a, b) => a - b);
    if (times.length === 0 || !(width > 0 && height > 0)) return null;
    return { codec: CODECS[fourcc] ?? fourcc, width, height, frameTimes: Float64Array.from(times) };
  }
  return null;
}
