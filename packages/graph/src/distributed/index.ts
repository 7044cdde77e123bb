// @vlreward/graph/distributed: collectives for data-parallel training, behind one
// interface (Collective) whatever runs underneath: nothing, Open MPI, or NCCL.
// docs/DISTRIBUTED.md says how to launch and which backend runs where.
export type { BroadcastBuffer, Collective, CollectiveBackend, ReduceOp } from './collective.js';
export { initCollective, mpiBootstrap } from './init.js';
export type { InitCollectiveOptions } from './init.js';
export { chooseBackend, cudaDeviceIndex, readLaunch } from './launch_env.js';
export type { LaunchInfo } from './launch_env.js';
export { chunkRanges, MpiCollective } from './mpi.js';
export type { MpiCollectiveOptions } from './mpi.js';
export { MPI_INSTALL_HINT, MPI_LIBRARY } from './mpi_library.js';
export { NcclCollective } from './nccl.js';
export type { DevicePointer, NcclBootstrap, NcclCollectiveOptions } from './nccl.js';
export { CUDART_FUNCTIONS, loadNccl, NCCL_FUNCTIONS, NCCL_INSTALL_HINT, NCCL_LIBRARY, NcclUnavailableError, registerNcclTypes } from './nccl_library.js';
export { checkReplicas, checkSameOnAllRanks, parameterChecksum } from './replicas.js';
export { SingleProcessCollective } from './single.js';
export { TcpRendezvous } from './tcp_rendezvous.js';
export type { TcpRendezvousOptions } from './tcp_rendezvous.js';
export { findMpirun, localRanksCommand, mpirunArgs } from './local_launch.js';
