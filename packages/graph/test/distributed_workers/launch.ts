// Starts the distributed test workers: under mpirun, or as plain processes with
// torchrun-style env. Shared by test/distributed_*.test.ts and bench/distributed.bench.ts.

import { spawn } from 'node:child_process';
import { findMpirun, mpirunArgs } from '../../src/distributed/local_launch.js';

export { findMpirun, mpirunArgs };
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** packages/graph: tsx resolves from here (the workspace root's node_modules). */
const graphDir = join(here, '..', '..');

/** node flags that run a TypeScript worker from sources. */
export const NODE_TS = ['--conditions=@vlreward/source', '--import', 'tsx'];

export function workerPath(name: 'mpi_worker' | 'tcp_worker'): string {
  return join(here, `${name}.ts`);
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  /** true when we had to kill it after `killAfterMs`. */
  readonly killed: boolean;
}

/** Runs a command to its end (or kills it after killAfterMs), collecting its output. */
export function run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; killAfterMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd: graphDir, env: { ...process.env, NO_COLOR: '1', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '', stderr = '', killed = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      killed = true;
      try {
        process.kill(-child.pid!, 'SIGKILL'); // its whole process group: mpirun and the ranks
      } catch {
        /* already gone */
      }
    }, o.killAfterMs);
    child.on('error', (e) => {
      // e.g. ENOENT: no such command. 'close' may not follow, so settle here.
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}${cmd}: ${e.message}`, seconds: (Date.now() - t0) / 1000, killed });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, seconds: (Date.now() - t0) / 1000, killed });
    });
  });
}

/** `mpirun -np N node <worker> …args`; `mca`: name/value pairs (default: no single-copy shared memory). */
export function runMpi(np: number, args: string[], killAfterMs: number, mca?: readonly string[]): Promise<RunResult> {
  return run(findMpirun() ?? 'mpirun', [...mpirunArgs(np, mca), process.execPath, ...NODE_TS, workerPath('mpi_worker'), ...args], { killAfterMs });
}

/** The JSON objects a worker printed on lines starting with RESULT. */
export function results<T>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('RESULT '))
    .map((l) => JSON.parse(l.slice(7)) as T);
}

/** A TCP port free right now on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** `size` plain processes of tcp_worker with torchrun-style env (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT). */
export async function runTcpRanks(size: number, args: string[], killAfterMs: number): Promise<RunResult[]> {
  const port = await freePort();
  return Promise.all(
    [...Array(size).keys()].map((rank) =>
      run(process.execPath, [...NODE_TS, workerPath('tcp_worker'), ...args], {
        env: { RANK: String(rank), WORLD_SIZE: String(size), LOCAL_RANK: String(rank), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) },
        killAfterMs,
      }),
    ),
  );
}
