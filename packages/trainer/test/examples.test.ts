// The examples/ scripts, run the way CI runs them: through their exported main() on the
// embedded default (few steps: this checks they work, e2e.test.ts checks accuracy).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main as trainLora } from '../../../examples/train-lora.js';
import { main as trainFull } from '../../../examples/train-full.js';
import { main as evaluate } from '../../../examples/evaluate.js';
import { main as predictCurve } from '../../../examples/predict-curve.js';

const out = mkdtempSync(join(tmpdir(), 'examples-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

// ~1 min on 2 cores: run in CI (CI=true) and with VLREWARD_SLOW=1; e2e.test.ts covers the same path locally.
describe.skipIf(!process.env.CI && !process.env.VLREWARD_SLOW)('examples/', () => {
  it('train-lora, evaluate and predict-curve run end to end', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const r = await trainLora(['--out', out, '--steps', '8', '--quiet']);
      expect(r.steps).toBe(8);
      const report = await evaluate(['--ckpt', r.ckptDir]);
      expect(report.count).toBeGreaterThan(0);
      const curve = await predictCurve(['--ckpt', r.ckptDir, '--out', out]);
      expect(curve.rows.length).toBeGreaterThan(0);
      expect(existsSync(curve.png)).toBe(true);
    } finally {
      log.mockRestore();
    }
  }, 180_000);
  it('train-full runs', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const r = await trainFull(['--out', out, '--steps', '4', '--quiet']);
      expect(r.steps).toBe(4);
      expect(existsSync(join(r.checkpointDirs.last!, 'model.safetensors'))).toBe(true);
    } finally {
      log.mockRestore();
    }
  }, 180_000);
});
