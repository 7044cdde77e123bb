import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlLogger, Progress, formatDuration, parseJsonl } from '@vlreward/trainer';

describe('JsonlLogger', () => {
  it('appends one JSON object per line, NaN as null', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'jsonl-')), 'sub', 'metrics.jsonl');
    const log = new JsonlLogger(path);
    log.log({ step: 1, loss: 0.5 });
    log.log({ step: 2, loss: Number.NaN });
    const rows = parseJsonl(readFileSync(path, 'utf8'), path);
    expect(rows.map((r) => r.step)).toEqual([1, 2]);
    expect(rows[1]!.loss).toBeNull();
    expect(typeof rows[0]!.time).toBe('string');
  });
  it('names the bad line', () => {
    expect(() => parseJsonl('{"a":1}\n{oops\n', 'm.jsonl')).toThrow(/m\.jsonl:2: not a JSON line/);
  });
});

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 200, write: (s: string) => chunks.push(s) } };
}

describe('Progress', () => {
  it('plain mode prints lines every N steps with rate and ETA', () => {
    let t = 0;
    const { chunks, stream } = sink(false);
    const p = new Progress({ total: 20, stream, every: 10, now: () => t });
    for (let step = 1; step <= 20; step++) {
      t = step * 0.5; // 0.5 s per step, batch 2 ⇒ 4 samples/s
      p.update({ step, loss: 1 / step, lr: 1e-4, samples: step * 2 });
    }
    expect(chunks).toHaveLength(3); // first step, step 10, step 20
    expect(chunks[1]).toMatch(/^step 10\/20 loss 0\.1000 lr 1\.00e-4 4\.00 samples\/s elapsed 00:05 eta 00:05\n$/);
    expect(chunks.every((c) => !c.includes('\r'))).toBe(true);
  });
  it('TTY mode redraws one line and keeps logs on their own lines', () => {
    const { chunks, stream } = sink(true);
    const p = new Progress({ total: 4, stream, now: () => 1 });
    p.update({ step: 1, loss: 1, lr: 1e-4, samples: 2 });
    p.log('eval: accuracy 0.5');
    p.update({ step: 2, loss: 1, lr: 1e-4, samples: 4 });
    p.done();
    expect(chunks[0]).toMatch(/^\r\x1b\[2K█+░+ step 1\/4/);
    expect(chunks[2]).toBe('eval: accuracy 0.5\n');
    expect(chunks.at(-1)).toBe('\n');
  });
  it('formats durations', () => {
    expect(formatDuration(65)).toBe('01:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('--:--');
  });
});
