// `vlreward train --nproc-per-node 2` starts two local ranks under mpirun: the run
// trains data parallel, rank 0 alone prints the result and writes checkpoints, and
// the command's exit status is the job's. Runs under CI (setup.sh installs Open MPI).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSyntheticDataset } from '@vlreward/dataset';
import { findMpirun } from '@vlreward/graph/distributed';
import { writeTinyModel } from '@vlreward/trainer';
import { hasShared, PROCESSOR_DIR } from '../../test-utils/src/index.js';

const mpirun = findMpirun();
if (!mpirun && process.env.CI) throw new Error('mpirun not found: scripts/setup.sh installs openmpi-bin (CI=true runs every test)');
if (!mpirun) console.warn('skipping --nproc-per-node test: mpirun not found (bash scripts/setup.sh installs Open MPI)');
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'vlreward-nproc-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!mpirun || !hasShared(PROCESSOR_DIR, 'Qwen3-VL processor files'))('vlreward train --nproc-per-node', () => {
  it('2 local ranks train together; one result, checkpoints from rank 0', async () => {
    const root = join(work, 'data');
    const model = join(work, 'tiny');
    await writeSyntheticDataset({ root, episodes: 4, frames: 4, codec: 'h264', size: 64, numClasses: 3, seed: 4 });
    await writeTinyModel(model, { processorDir: PROCESSOR_DIR, seed: 0 });
    const ckpt = join(work, 'ck');
    const r = spawnSync(
      process.execPath,
      ['--conditions=@vlreward/source', '--import', 'tsx', main, 'train', '--nproc-per-node', '2', '--root', root, '--model', model,
        '--min-pixels', '4096', '--max-pixels', '4096', '--batch-size', '1', '--max-steps', '2', '--eval-every', '0', '--val-fraction', '0.25', '--ckpt-dir', ckpt, '--json'],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toMatch(/starting 2 ranks: .*mpirun/);
    const results = r.stdout.split('\n').filter((l) => l.startsWith('{'));
    expect(results).toHaveLength(1);
    expect(JSON.parse(results[0]!)).toMatchObject({ steps: 2 });
    expect(readdirSync(ckpt).filter((d) => d.startsWith('checkpoint-'))).toEqual(['checkpoint-2']);
  }, 300_000);
});
