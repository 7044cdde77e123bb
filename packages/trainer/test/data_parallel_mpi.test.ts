// Data parallel for real: `mpirun -np 2` ranks of trainRewardModel (the MPI
// collective chosen from mpirun's environment, as `mpirun -np 2 vlreward train`
// does) against one process with the same global batch. Runs under CI (setup.sh
// installs Open MPI); elsewhere it skips, saying why, when mpirun is missing.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, verifyCheckpoint } from '@vlreward/checkpoint';
import { findMpirun, mpirunArgs } from '@vlreward/graph/distributed';
import { trainRewardModel } from '@vlreward/trainer';
import { hasShared, PROCESSOR_DIR } from '../../test-utils/src/index.js';
import { tinyRun } from './tiny_run.js';

const mpirun = findMpirun();
if (!mpirun && process.env.CI) throw new Error('mpirun not found: scripts/setup.sh installs openmpi-bin (CI=true runs every test)');
if (!mpirun) console.warn('skipping data-parallel tests: mpirun not found (bash scripts/setup.sh installs Open MPI)');

const worker = fileURLToPath(new URL('./dp_workers/train_rank.ts', import.meta.url));

interface RankResult {
  rank: number;
  losses: number[];
  last: string | null;
}

function runRanks(np: number, args: string[], killAfterMs = 240_000): Promise<{ code: number | null; out: string; err: string; seconds: number; killed: boolean }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(mpirun!, [...mpirunArgs(np), process.execPath, '--conditions=@vlreward/source', '--import', 'tsx', worker, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '', err = '', killed = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      killed = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, killAfterMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, seconds: (Date.now() - t0) / 1000, killed });
    });
  });
}

/**
 * ‖a − b‖₂ / ‖b‖₂ over all head and LoRA parameters of two checkpoints together
 * (normwise: AdamW turns last-bit differences of near-zero gradient components
 * into full-size steps of those components, so elementwise ratios mean little).
 */
async function paramDiff(a: string, b: string): Promise<number> {
  const [x, y] = [await loadCheckpoint(a), await loadCheckpoint(b)];
  let d2 = 0, n2 = 0;
  const cmp = (p: ArrayLike<number>, q: ArrayLike<number>) => {
    for (let i = 0; i < q.length; i++) {
      d2 += (p[i]! - q[i]!) ** 2;
      n2 += q[i]! ** 2;
    }
  };
  cmp(x.head.weight.data as Float32Array, y.head.weight.data as Float32Array);
  cmp(x.head.bias.data as Float32Array, y.head.bias.data as Float32Array);
  for (const [path, m] of y.adapter!.modules) {
    const n = x.adapter!.modules.get(path)!;
    cmp(n.A.data as Float32Array, m.A.data as Float32Array);
    cmp(n.B.data as Float32Array, m.B.data as Float32Array);
  }
  return Math.sqrt(d2 / n2);
}

describe.skipIf(!mpirun || !hasShared(PROCESSOR_DIR, 'Qwen3-VL processor files'))('data parallel under mpirun -np 2 (MPI collective)', () => {
  const { work, root, model } = tinyRun('dp', { episodes: 6, frames: 8, seed: 1 });

  it('2 ranks × batch 1 give the loss and parameters of 1 process × batch 2 after 5 steps; only rank 0 writes', async () => {
    const cfg = { batchSize: 2, lr: 1e-3, maxSteps: 5, evalEvery: 0, saveEvery: 2, valFraction: 0.34, seed: 0, ckptDir: join(work, 'one'), prefetch: 2 };
    const one = await trainRewardModel({ root, model, minPixels: 64 * 64, maxPixels: 64 * 64, lora: { dropout: 0 }, config: cfg, progress: null });
    const r = await runRanks(2, [root, model, join(work, 'two'), '1', '5']);
    expect(r.code, r.err.slice(-3000)).toBe(0);
    const ranks = r.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as RankResult).sort((a, b) => a.rank - b.rank);
    expect(ranks.map((x) => x.rank)).toEqual([0, 1]);
    expect(ranks[1]!.losses).toEqual(ranks[0]!.losses); // every rank logs the all-reduced loss
    console.log(`losses: 2 ranks ${ranks[0]!.losses.map((l) => l.toFixed(6)).join(' ')} | 1 process ${one.losses.map((l) => l.toFixed(6)).join(' ')}`);
    ranks[0]!.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i]!) / Math.abs(one.losses[i]!)).toBeLessThanOrEqual(1e-6));
    // Rank 0 alone wrote checkpoints and logs.
    expect(ranks[1]!.last).toBeNull();
    expect(ranks[0]!.last).toBe(join(work, 'two', 'checkpoint-5'));
    const diff = await paramDiff(ranks[0]!.last!, one.checkpointDirs.last!);
    console.log(`parameters after 5 steps: relative L2 difference ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-6);
    const events = readFileSync(join(work, 'two', 'logs', 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string });
    expect(events.filter((e) => e.event === 'start')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'step')).toHaveLength(5);
  }, 360_000);

  it('a rank that dies ends the run within a bounded time, naming it; the last checkpoint stays intact', async () => {
    const ckpt = join(work, 'dies');
    const r = await runRanks(2, [root, model, ckpt, '1', '8', '3'], 120_000);
    expect(r.killed, 'the surviving rank hung').toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.seconds).toBeLessThan(100);
    expect(r.out + r.err).toMatch(/rank 1: dying at step 3/);
    expect(r.out + r.err).toMatch(/exited|Exit code|aborted|rank 1/i);
    const dirs = readdirSync(ckpt).filter((d) => d.startsWith('checkpoint-'));
    expect(dirs).toEqual(['checkpoint-2']);
    expect(existsSync(join(ckpt, 'checkpoint-2', 'vlreward.json'))).toBe(true);
    await verifyCheckpoint(join(ckpt, 'checkpoint-2'), 'sha256');
  }, 180_000);
});
