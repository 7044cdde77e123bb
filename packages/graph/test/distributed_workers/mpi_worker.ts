// Runs under `mpirun -np 2` (launch.ts): argv[2] picks the scenario.
//   ops    every collective against values computed here; prints RESULT lines
//   throw  initCollective() from mpirun's env; rank 1 throws while rank 0 waits in a
//          barrier (mpirun must end the job)
//   no-close  ends without close(): the job must still end with 0
//   bench  all-reduce bandwidth for the sizes (MB) in argv[3] (comma-separated)

import { checkReplicas, initCollective, MpiCollective, mpiBootstrap } from '@vlreward/graph/distributed';

const scenario = process.argv[2];

function report(o: Record<string, unknown>): void {
  process.stdout.write(`RESULT ${JSON.stringify(o)}\n`);
}

/** Non-integer values (so a wrong reduction order or op would show), different per rank. */
function values(rank: number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 0.37 + rank * 1.7) % 13) - 6.1;
  return a;
}

function mismatches(got: Float32Array, want: Float32Array): number {
  let bad = 0;
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) bad++;
  return bad + Math.abs(got.length - want.length);
}

async function ops(): Promise<void> {
  // Small chunks, so the buffers below also go through the multi-call path.
  const c = MpiCollective.init({ chunkElements: 1000 });
  const n = 2500;
  const others = [...Array(c.size).keys()].map((r) => values(r, n));
  // Two ranks: the float32 sum is exact whatever order MPI adds in.
  const sum = new Float32Array(n).map((_, i) => others.reduce((a, v) => Math.fround(a + v[i]!), 0));
  const mean = sum.map((s) => s / c.size);

  const a = values(c.rank, n);
  await c.allReduce(a, 'sum');
  report({ rank: c.rank, check: 'allReduce sum', size: c.size, bad: mismatches(a, sum), first: a[1] });

  const b = values(c.rank, n);
  await c.allReduce(b, 'mean');
  report({ rank: c.rank, check: 'allReduce mean', bad: mismatches(b, mean), first: b[1] });

  const empty = new Float32Array(0);
  await c.allReduce(empty, 'sum');

  const f = values(c.rank, n);
  await c.broadcast(f, 1);
  report({ rank: c.rank, check: 'broadcast float32 from 1', bad: mismatches(f, values(1, n)) });

  const bytes = new Uint8Array(128).map((_, i) => (c.rank === 0 ? (i * 7 + 3) & 255 : 0));
  await c.broadcast(bytes, 0);
  report({ rank: c.rank, check: 'broadcast bytes from 0', bytes: Array.from(bytes.subarray(0, 4)), last: bytes[127] });

  // Rank 1 arrives late: rank 0 must wait for it.
  const t0 = Date.now();
  if (c.rank === 1) await new Promise((r) => setTimeout(r, 1500));
  await c.barrier();
  report({ rank: c.rank, check: 'barrier', waitedMs: Date.now() - t0 });

  report({ rank: c.rank, check: 'allGather', values: await c.allGather(c.rank * 10 + 0.123456789012) });

  const same = [values(0, 100), values(5, 10)];
  const differs = [values(0, 100), values(5, 10)];
  if (c.rank === 1) differs[1]![3] = Math.fround(differs[1]![3]! + 1e-6);
  const replicas = await checkReplicas(c, same).then(() => 'in sync', (e: Error) => e.message);
  const diverged = await checkReplicas(c, differs).then(() => 'in sync', (e: Error) => e.message);
  report({ rank: c.rank, check: 'replicas', same: replicas, differs: diverged });

  // What NCCL's id exchange does under mpirun: rank 0's 128 bytes reach everyone.
  const boot = mpiBootstrap(c);
  const id = await boot.broadcast(c.rank === 0 ? new Uint8Array(128).map((_, i) => 255 - i) : null);
  await boot.barrier();
  report({ rank: c.rank, check: 'mpi bootstrap', length: id.length, first: id[0], last: id[127] });

  const err = await c.broadcast(new Float32Array(1), 7).then(() => 'no error', (e: Error) => e.message);
  report({ rank: c.rank, check: 'mpi error', message: err });

  await c.close();
  const after = await c.barrier().then(() => 'no error', (e: Error) => e.message);
  report({ rank: c.rank, check: 'after close', message: after });
}

async function fail(): Promise<void> {
  const c = await initCollective({ device: 'cpu' }); // mpirun's env: the MPI backend
  await c.barrier();
  report({ rank: c.rank, check: 'joined', backend: c.backend, size: c.size, localRank: c.localRank });
  if (c.rank === 1) {
    await new Promise((r) => setTimeout(r, 300));
    throw new Error('rank 1 fails on purpose');
  }
  await c.barrier(); // never completes: rank 1 is dead
  report({ rank: c.rank, check: 'passed a barrier rank 1 never reached' });
}

async function bench(): Promise<void> {
  const c = MpiCollective.init();
  const sizesMb = (process.argv[3] ?? '70,100').split(',').map(Number);
  const iters = Number(process.argv[4] ?? 5);
  for (const mb of sizesMb) {
    const buf = new Float32Array(Math.round((mb * 1e6) / 4)).fill(1);
    await c.allReduce(buf, 'sum'); // warm-up: page faults, connection setup
    const times: number[] = [];
    for (let i = 0; i < iters; i++) {
      await c.barrier();
      const t0 = performance.now();
      await c.allReduce(buf, 'sum');
      times.push((performance.now() - t0) / 1000);
    }
    times.sort((x, y) => x - y);
    if (c.rank === 0) report({ mb, bytes: buf.byteLength, size: c.size, medianS: times[Math.floor(times.length / 2)], minS: times[0], iters });
  }
  await c.close();
}

/** Ends without close(): the exit hook must finalize, or mpirun takes the clean exit for a crash. */
async function noClose(): Promise<void> {
  const c = MpiCollective.init();
  await c.barrier();
  report({ rank: c.rank, check: 'exiting without close' });
}

const scenarios: Record<string, () => Promise<void>> = { ops, throw: fail, bench, 'no-close': noClose };
const f = scenarios[scenario ?? ''];
if (!f) throw new Error(`mpi_worker: unknown scenario '${scenario}' (${Object.keys(scenarios).join(', ')})`);
await f();
