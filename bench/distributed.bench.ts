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
  try {
    loadNccl();
    out.push({ name: 'nccl: not run', value: NaN, unit: '', note: 'libnccl.so.2 loads, but this bench has no multi-GPU launch yet (docs/DISTRIBUTED.md)' });
  } catch (e) {
    out.push({ name: 'nccl: not run', value: NaN, unit: '', note: (e as Error).message.split('. To fix')[0]! });
  }
  return out;
}

function round(v: number, d: number): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.table(await run());
