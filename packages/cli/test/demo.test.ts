// The embedded default as a user runs it (about a minute on 2 cores): runs in CI, or locally with VLREWARD_SLOW=1.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/main.js';

describe.skipIf(!process.env.VLREWARD_SLOW && !process.env.CI)('vlreward demo', () => {
  it('trains the tiny Qwen3-VL well above chance, reloads it and writes a reward curve', async () => {
    const out = mkdtempSync(join(tmpdir(), 'demo-'));
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(String(s)));
    try {
      expect(await main(['demo', '--out', out])).toBe(0);
    } finally {
      log.mockRestore();
    }
    process.stdout.write(lines.join('\n') + '\n');
    const acc = Number(/reloaded .*validation accuracy ([\d.]+)/.exec(lines.join('\n'))![1]);
    expect(acc).toBeGreaterThanOrEqual(0.7); // chance 0.333
    expect(existsSync(join(out, 'predictions'))).toBe(true);

    // The commands a user runs next, on the demo's checkpoint.
    const json: string[] = [];
    const log2 = vi.spyOn(console, 'log').mockImplementation((s: string) => void json.push(String(s)));
    try {
      expect(await main(['eval', '--ckpt', join(out, 'checkpoints'), '--json'])).toBe(0);
      expect(await main(['predict', '--ckpt', join(out, 'checkpoints'), '--out', join(out, 'curves'), '--json'])).toBe(0);
    } finally {
      log2.mockRestore();
    }
    const ev = JSON.parse(json[0]!);
    expect(ev.split).toBe('val');
    expect(ev.accuracy).toBeCloseTo(acc, 3);
    const pr = JSON.parse(json[1]!);
    expect(pr.episodes.length).toBeGreaterThan(0);
    expect(existsSync(pr.episodes[0].files.png)).toBe(true);

    // The closing hints, run exactly as printed.
    const next = lines.find((l) => l.startsWith('next: '));
    expect(next, 'the demo ends with a next: line').toBeDefined();
    const hints = next!.slice('next: '.length).split(/\s+\|\s+/);
    expect(hints.length).toBeGreaterThanOrEqual(2);
    const hintOut: string[] = [];
    const log3 = vi.spyOn(console, 'log').mockImplementation((s: string) => void hintOut.push(String(s)));
    try {
      for (const hint of hints) {
        const [cmd, ...argv] = hint.trim().split(/\s+/);
        expect(cmd).toBe('vlreward');
        expect(await main(argv), hint).toBe(0);
      }
    } finally {
      log3.mockRestore();
    }
    expect(hintOut.join('\n')).toMatch(/accuracy/);
    rmSync(out, { recursive: true, force: true });
  }, 600_000);
});
