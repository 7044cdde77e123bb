// initCollective(): the backend the launcher implies (launch_env.ts), ready to use.

import type { Collective, CollectiveBackend } from './collective.js';
import { chooseBackend, cudaDeviceIndex, readLaunch } from './launch_env.js';
import { MpiCollective } from './mpi.js';
import { NcclCollective, type NcclBootstrap } from './nccl.js';
import { loadCudaRuntime, loadNccl } from './nccl_library.js';
import { SingleProcessCollective } from './single.js';
import { TcpRendezvous } from './tcp_rendezvous.js';

export interface InitCollectiveOptions {
  /** The trainer's device: cpu | cuda | cuda:N | webgpu (default cpu). 'cuda' means the GPU of the local rank. */
  readonly device?: string;
  /** Overrides the choice (e.g. 'mpi' to test MPI with one process). */
  readonly backend?: CollectiveBackend;
  /** Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** TCP rendezvous deadline (join and each exchange; default 120 s). */
  readonly rendezvousTimeoutMs?: number;
  /** NCCL operation timeout (default 600 s). */
  readonly ncclTimeoutMs?: number;
}

export async function initCollective(o: InitCollectiveOptions = {}): Promise<Collective> {
  const device = o.device ?? 'cpu';
  const launch = readLaunch(o.env ?? process.env);
  const backend = o.backend ?? chooseBackend(launch, device);
  if (backend === 'single') return new SingleProcessCollective();
  if (backend === 'mpi') return MpiCollective.init();
  const gpu = cudaDeviceIndex(device, launch.localRank);
  if (gpu === null) throw new Error(`initCollective: the NCCL backend needs a cuda device, got '${device}'`);
  // Fail here, before any rendezvous, when NCCL or the CUDA runtime is missing.
  loadNccl();
  loadCudaRuntime();
  if (launch.launcher === 'mpi') {
    const mpi = MpiCollective.init();
    return NcclCollective.init({ rank: mpi.rank, size: mpi.size, localRank: mpi.localRank, device: gpu, bootstrap: mpiBootstrap(mpi), ...timeout(o) });
  }
  if (launch.launcher !== 'env' || !launch.masterAddr || launch.masterPort === undefined)
    throw new Error('initCollective: NCCL needs a launcher: mpirun, or RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT in the environment (torchrun style)');
  const rdv = await TcpRendezvous.join({
    rank: launch.rank,
    size: launch.size,
    addr: launch.masterAddr,
    port: launch.masterPort,
    ...(o.rendezvousTimeoutMs !== undefined ? { timeoutMs: o.rendezvousTimeoutMs } : {}),
  });
  try {
    return await NcclCollective.init({ rank: launch.rank, size: launch.size, localRank: launch.localRank, device: gpu, bootstrap: rdv, ...timeout(o) });
  } catch (e) {
    rdv.close();
    throw e;
  }
}

function timeout(o: InitCollectiveOptions): { timeoutMs?: number } {
  return o.ncclTimeoutMs !== undefined ? { timeoutMs: o.ncclTimeoutMs } : {};
}

/** Under mpirun, MPI carries the ncclUniqueId (mpirun itself aborts the job when a rank dies). */
export function mpiBootstrap(mpi: MpiCollective): NcclBootstrap {
  return {
    async broadcast(bytes) {
      const buf = bytes ?? new Uint8Array(128);
      await mpi.broadcast(buf, 0);
      return buf;
    },
    barrier: () => mpi.barrier(),
    close: () => mpi.close(),
  };
}
