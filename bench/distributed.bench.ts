// @vlreward/graph/distributed benchmarks: MPI all-reduce bandwidth with 2 ranks on
// this machine for a LoRA-2B gradient (17.4M fp32 parameters, 69.6 MB) and a 100 MB
// buffer, over each Open MPI transport a single node can use. Figures are algorithm
// bandwidth (bytes / median time); for 2 ranks NCCL's "bus bandwidth" is the same
// number (factor 2(n-1)/n = 1). NCCL needs GPUs: it gets one row saying why it did not run.
// Run: pnpm bench --only distributed, or node --conditions=@vlreward/source --import tsx bench/distributed.bench.ts
import { pathToFileURL } from 'node:url';
import { findMpirun, results, runMpi } from '../packages/graph/test/distributed_workers/launch.js';
import { loadNccl } from '../packages/graph/src/distributed/index.js';
import type { BenchResult } from './types.js';

const SIZES = [
  { mb: 69.6, label: '69.6 MB (LoRA-2B, 17.4M fp32)' },
  { mb: 100, label: '100 MB' },
];
const ITERS = 10;

/** Open MPI byte-transfer layers within one node. */
const TRANSPORTS = [
  { name: 'shared memory', mca: [] as string[], note: 'vader, CMA single copy' },
  { name: 'shared memory, copy-in/out', mca: ['btl_vader_single_copy_mechanism', 'none'], note: 'vader without CMA, as containers without ptrace need (the tests use it)' },
  { name: 'tcp loopback', mca: ['btl', 'self,tcp'], note: 'what two nodes without InfiniBand use' },
];

interface Row {
  mb: number;
  bytes: number;
  size: number;
  medianS: number;
  minS: number;
  iters: number;
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  if (!findMpirun()) out.push({ name: 'mpi: not run', value: NaN, unit: '', note: 'mpirun not found (scripts/setup.sh installs Open MPI)' });
  else
    for (const t of TRANSPORTS) {
      const r = await runMpi(2, ['bench', SIZES.map((s) => s.mb).join(','), String(ITERS)], 300_000, t.mca);
      const rows = results<Row>(r.stdout);
      if (r.code !== 0 || rows.length !== SIZES.length) {
        out.push({ name: `mpi allreduce, 2 ranks, ${t.name}: failed`, value: NaN, unit: '', note: (r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`).slice(0, 200) });
        continue;
      }
      rows.forEach((row, i) => {
        out.push({
          name: `mpi allreduce sum ${SIZES[i]!.label}, 2 ranks, ${t.name}`,
          value: round(row.bytes / row.medianS / 1e9, 2),
          unit: 'GB/s',
          note: `median of ${row.iters} (${round(row.medianS * 1000, 1)} ms; best ${round(row.bytes / row.minS / 1e9, 2)} GB/s), ${t.note}`,
        });
      });
    }
  out.push(...(await trainerThroughput()));
  try {
    loadNccl();
    out.push({ name: 'nccl: not run', value: NaN, unit: '', note: 'libnccl.so.2 loads, but this bench has no multi-GPU launch yet (docs/DISTRIBUTED.md)' });
  } catch (e) {
    out.push({ name: 'nccl: not run', value: NaN, unit: '', note: (e as Error).message.split('. To fix')[0]! });
  }
  return out;
}

/**
 * The trainer itself: the tiny Qwen3-VL (LoRA) on a synthetic dataset, one process ×
 * batch 2 against `mpirun -np 2` × batch 1 (the same global batch), samples/s of the loop.
 * On 2 cores two ranks share them, so this measures the data-parallel overhead, not a speed-up.
 */
async function trainerThroughput(): Promise<BenchResult[]> {
  if (!findMpirun()) return [];
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const { writeSyntheticDataset } = await import('../packages/dataset/src/index.js');
  const { writeTinyModel } = await import('../packages/trainer/src/index.js');
  const { PROCESSOR_DIR } = await import('../packages/test-utils/src/index.js');
  const { mpirunArgs, NODE_TS, run: runCmd } = await import('../packages/graph/test/distributed_workers/launch.js');
  const work = mkdtempSync(join(tmpdir(), 'vlreward-dp-bench-'));
  try {
    const root = join(work, 'data');
    const model = join(work, 'tiny');
    await writeSyntheticDataset({ root, episodes: 6, frames: 16, codec: 'h264', size: 64, numClasses: 3, seed: 1 });
    await writeTinyModel(model, { processorDir: PROCESSOR_DIR, seed: 0 });
    const worker = fileURLToPath(new URL('../packages/trainer/test/dp_workers/train_rank.ts', import.meta.url));
    const steps = '30';
    const parse = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { rank: number; samplesPerSecond: number; dataWaitShare: number });
    const one = parse((await runCmd(process.execPath, [...NODE_TS, worker, root, model, join(work, 'one'), '2', steps], { killAfterMs: 600_000 })).stdout)[0];
    const two = parse((await runCmd(findMpirun()!, [...mpirunArgs(2), process.execPath, ...NODE_TS, worker, root, model, join(work, 'two'), '1', steps], { killAfterMs: 600_000 })).stdout).find((r) => r.rank === 0);
    if (!one || !two) return [{ name: 'trainer data parallel: failed', value: NaN, unit: '', note: 'a run printed no result' }];
    const note = `tiny Qwen3-VL LoRA, global batch 2, ${steps} steps, 3 cameras 64x64 H.264, 2 cores shared by the ranks`;
    return [
      { name: 'trainer 1 process x batch 2', value: round(one.samplesPerSecond, 2), unit: 'samples/s', note: `${note}; data wait ${round(100 * one.dataWaitShare, 0)}%` },
      { name: 'trainer 2 ranks x batch 1 (mpirun)', value: round(two.samplesPerSecond, 2), unit: 'samples/s', note: `${note}; data wait ${round(100 * two.dataWaitShare, 0)}%; ratio to 1 process ${round(two.samplesPerSecond / one.samplesPerSecond, 2)}` },
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function round(v: number, d: number): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.table(await run());
