// What the launcher told this process, read from the environment, and which backend
// that means. The rule (docs/DISTRIBUTED.md):
//   size 1, or no launcher          → single (no library is loaded)
//   device cuda[:N]                 → NCCL (id bootstrap over MPI under mpirun/srun, else TCP)
//   mpirun / srun --mpi=pmix, CPU   → MPI
//   RANK/WORLD_SIZE env, CPU        → error: tensors between CPU ranks go through MPI only

import type { CollectiveBackend } from './collective.js';

export interface LaunchInfo {
  /** mpi: mpirun (OMPI_COMM_WORLD_*) or srun with PMIx; env: torchrun-style RANK/WORLD_SIZE; none: plain `node …`. */
  readonly launcher: 'mpi' | 'env' | 'none';
  readonly rank: number;
  /** NaN under srun without SLURM_NTASKS: MPI knows it after init. */
  readonly size: number;
  readonly localRank: number;
  /** launcher 'env' with size > 1: rank 0's rendezvous (MASTER_PORT, or VLREWARD_RENDEZVOUS_PORT when set). */
  readonly masterAddr?: string;
  readonly masterPort?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function int(env: Env, name: string, fallback?: number): number {
  const v = env[name];
  if (v === undefined || v === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`distributed launch: ${name} is not set`);
  }
  if (!/^\d+$/.test(v.trim())) throw new Error(`distributed launch: ${name}=${JSON.stringify(v)} is not a non-negative integer`);
  return Number(v);
}

export function readLaunch(env: Env = process.env): LaunchInfo {
  if (env.OMPI_COMM_WORLD_SIZE !== undefined)
    return { launcher: 'mpi', rank: int(env, 'OMPI_COMM_WORLD_RANK'), size: int(env, 'OMPI_COMM_WORLD_SIZE'), localRank: int(env, 'OMPI_COMM_WORLD_LOCAL_RANK', 0) };
  if (env.PMIX_RANK !== undefined)
    return { launcher: 'mpi', rank: int(env, 'PMIX_RANK'), size: env.SLURM_NTASKS ? int(env, 'SLURM_NTASKS') : Number.NaN, localRank: int(env, 'SLURM_LOCALID', 0) };
  if (env.WORLD_SIZE !== undefined) {
    const size = int(env, 'WORLD_SIZE');
    if (size < 1) throw new Error('distributed launch: WORLD_SIZE must be ≥ 1');
    const rank = int(env, 'RANK', size === 1 ? 0 : undefined);
    if (rank >= size) throw new Error(`distributed launch: RANK=${rank} is not below WORLD_SIZE=${size}`);
    const localRank = int(env, 'LOCAL_RANK', 0);
    if (size === 1) return { launcher: 'env', rank, size, localRank };
    const masterAddr = env.MASTER_ADDR;
    if (!masterAddr) throw new Error(`distributed launch: WORLD_SIZE=${size} needs MASTER_ADDR (rank 0's host) and MASTER_PORT`);
    if (env.VLREWARD_RENDEZVOUS_PORT) return { launcher: 'env', rank, size, localRank, masterAddr, masterPort: int(env, 'VLREWARD_RENDEZVOUS_PORT') };
    // torchrun's agent already serves its own TCPStore on MASTER_PORT (rank 0 could not listen there).
    if (env.TORCHELASTIC_USE_AGENT_STORE === 'True')
      throw new Error('distributed launch: under torchrun, MASTER_PORT is taken by torchrun\'s own store; set VLREWARD_RENDEZVOUS_PORT to a free port, the same on every node');
    return { launcher: 'env', rank, size, localRank, masterAddr, masterPort: int(env, 'MASTER_PORT') };
  }
  return { launcher: 'none', rank: 0, size: 1, localRank: 0 };
}

/** The CUDA device index of a `cuda` / `cuda:N` device string (cuda alone: the local rank's GPU); null for others. */
export function cudaDeviceIndex(device: string, localRank: number): number | null {
  const m = /^cuda(?::(\d+))?$/.exec(device);
  if (!m) return null;
  return m[1] === undefined ? localRank : Number(m[1]);
}

export function chooseBackend(launch: LaunchInfo, device: string): CollectiveBackend {
  if (launch.launcher === 'none' || launch.size === 1) return 'single';
  if (cudaDeviceIndex(device, launch.localRank) !== null) return 'nccl';
  if (launch.launcher === 'mpi') return 'mpi';
  throw new Error(
    `distributed launch: WORLD_SIZE=${launch.size} (RANK/MASTER_ADDR env) with device '${device}': only NCCL (device cuda) uses that rendezvous; ` +
      `CPU ranks communicate through MPI, so launch them with mpirun -np ${launch.size} node … (there is no TCP fallback for tensors)`,
  );
}
