import { describe, expect, it } from 'vitest';
import { trainMlp } from '../../../examples/graph-mlp.js';

describe('fused train step through the one training path (buildArtifacts → TrainingSession)', () => {
  it('trains an MLP on two spirals: loss falls, the result is deterministic, state never leaves the runner', async () => {
    const a = await trainMlp({ steps: 150, seed: 0 });
    expect(a.losses[0]).toBeGreaterThan(0.6);
    expect(a.losses.at(-1)!).toBeLessThan(LOSS_AFTER_150);
    expect(a.accuracy).toBeGreaterThan(0.9);
    expect(a.stateBytes).toBe(3 * 4 * (32 * 2 + 32 + 32 * 32 + 32 + 2 * 32 + 2));
    const b = await trainMlp({ steps: 150, seed: 0 });
    expect(b.losses).toEqual(a.losses);
    expect(Array.from(b.params['fc2.weight']!.data as Float32Array)).toEqual(Array.from(a.params['fc2.weight']!.data as Float32Array));
  });
});

// Measured: 0.7003 at step 0, 0.0224 after 150 steps (seed 0, 1 intra-op thread).
const LOSS_AFTER_150 = 0.05;

describe('examples/graph-mlp.ts under plain Node (what `pnpm demo`, the CLI and `pnpm bench` use)', () => {
  it('runs and prints a falling loss', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    // Plain Node ESM evaluates modules in import order, so an import cycle that
    // vitest's module runner tolerates (e.g. a TDZ error on a `const` read at
    // module top level) shows up here and nowhere else.
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=@vlreward/source', '--import', 'tsx', 'examples/graph-mlp.ts', '60'], {
      cwd: root,
      timeout: 120_000,
    }).catch((e: { stderr?: string; message: string }) => {
      throw new Error(`node examples/graph-mlp.ts failed:\n${(e.stderr ?? e.message).split('\n').slice(0, 8).join('\n')}`);
    });
    const m = /loss (\d+\.\d+) -> (\d+\.\d+)/.exec(stdout);
    expect(m, stdout).not.toBeNull();
    expect(Number(m![2])).toBeLessThan(Number(m![1]));
  });
});
