import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { SummaryWriter, crc32c, maskedCrc32c, tfrecord } from '@vlreward/trainer';

const READER = fileURLToPath(new URL('./read_tfevents.py', import.meta.url));
const hasPython = spawnSync('python3', ['--version']).status === 0;

describe('crc32c', () => {
  it('matches the standard check values', () => {
    // RFC 3720 B.4 / the CRC catalogue's check value for "123456789".
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });
  it('masks as TensorFlow does', () => {
    const crc = crc32c(new TextEncoder().encode('abc'));
    const expected = ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
    expect(maskedCrc32c(new TextEncoder().encode('abc'))).toBe(expected);
  });
});

describe('tfrecord framing', () => {
  it('lays out length, crcs and payload', () => {
    const rec = tfrecord(new Uint8Array([1, 2, 3]));
    expect(rec.length).toBe(3 + 16);
    const v = new DataView(rec.buffer);
    expect(Number(v.getBigUint64(0, true))).toBe(3);
    expect(v.getUint32(8, true)).toBe(maskedCrc32c(rec.subarray(0, 8)));
    expect([...rec.subarray(12, 15)]).toEqual([1, 2, 3]);
    expect(v.getUint32(15, true)).toBe(maskedCrc32c(new Uint8Array([1, 2, 3])));
  });
});

describe.skipIf(!hasPython)('SummaryWriter read back by an independent Python reader', () => {
  it('writes scalars, text and an image that the reader decodes with valid CRCs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-'));
    const w = new SummaryWriter(dir);
    for (let step = 1; step <= 5; step++) w.addScalar('train/loss', 1 / step, step);
    w.addScalars({ 'val/accuracy': 0.75, 'val/macro_f1': 0.5 }, 5);
    w.addText('confusion', '| a | b |\n|---|---|\n| 1 | 2 |', 5);
    const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#f00' } }).png().toBuffer();
    w.addImage('confusion_image', png, { width: 4, height: 3 }, 5);
    w.close();
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^events\.out\.tfevents\.\d+\./);
    const out = execFileSync('python3', [READER, join(dir, files[0]!)], { encoding: 'utf8' });
    const events = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0].file_version).toBe('brain.Event:2');
    const losses = events.filter((e: any) => e.values?.[0]?.tag === 'train/loss');
    expect(losses.map((e: any) => e.step)).toEqual([1, 2, 3, 4, 5]);
    losses.forEach((e: any, i: number) => expect(e.values[0].simple_value).toBeCloseTo(1 / (i + 1), 6));
    const multi = events.find((e: any) => e.values?.length === 2);
    expect(multi.values.map((v: any) => v.tag)).toEqual(['val/accuracy', 'val/macro_f1']);
    const text = events.find((e: any) => e.values?.[0]?.tag === 'confusion').values[0];
    expect(text.plugin).toBe('text');
    expect(text.tensor.dtype).toBe(7);
    expect(text.tensor.string_val[0]).toContain('| 1 | 2 |');
    const img = events.find((e: any) => e.values?.[0]?.tag === 'confusion_image').values[0].image;
    expect(img).toEqual({ height: 3, width: 4, png_magic_ok: true, bytes: png.length });
    expect(events.every((e: any) => e.wall_time > 1.6e9)).toBe(true);
  });

  it('the reader rejects a corrupted file (so the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-'));
    const w = new SummaryWriter(dir);
    w.addScalar('x', 1, 1);
    w.close();
    const path = join(dir, readdirSync(dir)[0]!);
    const bytes = readFileSync(path);
    bytes[bytes.length - 6] = bytes[bytes.length - 6]! ^ 0xff; // flip a payload byte of the last record
    const corrupt = join(dir, 'corrupt.tfevents');
    writeFileSync(corrupt, bytes);
    const r = spawnSync('python3', [READER, corrupt], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/bad data crc/);
  });
});
