// Open MPI's C API through koffi: the dozen calls the MPI collective needs.
// Handles are pointers in Open MPI (mpi.h: `#define MPI_COMM_WORLD
// OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)`, i.e. &ompi_mpi_comm_world), so
// the predefined communicator, datatypes, op and error handler are the addresses of
// exported symbols. This is Open MPI's ABI only (MPICH's handles are ints).

import koffi from 'koffi';
import { loadForeignLibrary } from '../foreign.js';
import type { IKoffiLib } from 'koffi';

/** Debian's openmpi-bin / libopenmpi3 (Open MPI 4.x and 5.x keep this soname). */
export const MPI_LIBRARY = 'libmpi.so.40';
export const MPI_INSTALL_HINT = 'install Open MPI (Debian/Ubuntu: apt-get install -y openmpi-bin libopenmpi-dev; scripts/setup.sh does) and launch with mpirun -np N node …';

// mpi.h constants (Open MPI 4.1).
export const MPI_SUCCESS = 0;
export const MPI_THREAD_SERIALIZED = 2;
/** `#define MPI_IN_PLACE ((void *) 1)`: passed as an integer address. */
export const MPI_IN_PLACE = 1;
const MPI_MAX_ERROR_STRING = 256;

type Fn = ReturnType<IKoffiLib['func']>;

export interface MpiLibrary {
  readonly path: string;
  readonly commWorld: unknown;
  readonly float: unknown;
  readonly double: unknown;
  readonly byte: unknown;
  readonly opSum: unknown;
  readonly errorsReturn: unknown;
  readonly initThread: Fn;
  readonly initialized: Fn;
  readonly finalized: Fn;
  readonly finalize: Fn;
  readonly commRank: Fn;
  readonly commSize: Fn;
  readonly commSetErrhandler: Fn;
  readonly allreduceInPlace: Fn;
  readonly bcast: Fn;
  readonly barrier: Fn;
  readonly allgather: Fn;
  readonly errorString: Fn;
}

let loaded: MpiLibrary | null = null;

/** Loads libmpi once per process; a missing library throws with the install step. */
export function loadMpi(path = MPI_LIBRARY): MpiLibrary {
  if (loaded) return loaded;
  let lib: IKoffiLib;
  try {
    lib = loadForeignLibrary(path);
  } catch (e) {
    throw new Error(`MPI backend: cannot load ${path} (Open MPI): ${(e as Error).message}. To fix: ${MPI_INSTALL_HINT}`);
  }
  const sym = (name: string) => lib.symbol(name, 'char');
  loaded = {
    path,
    commWorld: sym('ompi_mpi_comm_world'),
    float: sym('ompi_mpi_float'),
    double: sym('ompi_mpi_double'),
    byte: sym('ompi_mpi_byte'),
    opSum: sym('ompi_mpi_op_sum'),
    errorsReturn: sym('ompi_mpi_errors_return'),
    initThread: lib.func('int MPI_Init_thread(void *argc, void *argv, int required, _Out_ int *provided)'),
    initialized: lib.func('int MPI_Initialized(_Out_ int *flag)'),
    finalized: lib.func('int MPI_Finalized(_Out_ int *flag)'),
    finalize: lib.func('int MPI_Finalize()'),
    commRank: lib.func('int MPI_Comm_rank(void *comm, _Out_ int *rank)'),
    commSize: lib.func('int MPI_Comm_size(void *comm, _Out_ int *size)'),
    commSetErrhandler: lib.func('int MPI_Comm_set_errhandler(void *comm, void *errhandler)'),
    // sendbuf is always MPI_IN_PLACE here, hence an integer rather than a pointer.
    allreduceInPlace: lib.func('int MPI_Allreduce(intptr_t sendbuf, void *recvbuf, int count, void *datatype, void *op, void *comm)'),
    bcast: lib.func('int MPI_Bcast(void *buffer, int count, void *datatype, int root, void *comm)'),
    barrier: lib.func('int MPI_Barrier(void *comm)'),
    allgather: lib.func('int MPI_Allgather(void *sendbuf, int sendcount, void *sendtype, void *recvbuf, int recvcount, void *recvtype, void *comm)'),
    errorString: lib.func('int MPI_Error_string(int errorcode, _Out_ uint8_t *string, _Out_ int *resultlen)'),
  };
  return loaded;
}

/** MPI's own text for an error code, e.g. "MPI_ERR_ROOT: invalid root". */
export function mpiErrorString(mpi: MpiLibrary, code: number): string {
  const text = new Uint8Array(MPI_MAX_ERROR_STRING);
  const len = [0];
  if (mpi.errorString(code, text, len) !== MPI_SUCCESS) return `MPI error ${code}`;
  return Buffer.from(text.subarray(0, len[0])).toString('utf8');
}

/** Runs an MPI call on koffi's worker thread, so the event loop keeps turning meanwhile. */
export function callAsync(fn: Fn, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, code: number) => (err ? reject(err) : resolve(code)));
  });
}
