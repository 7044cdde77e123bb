// The embedded default as a user runs it (minutes on 2 cores): VLREWARD_SLOW=1.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/main.js';

describe.skipIf(!process.env.VLREWARD_SLOW)('vlreward demo', () => {
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
  }, 600_000);
});
