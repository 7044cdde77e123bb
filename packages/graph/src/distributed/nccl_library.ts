// NCCL's and the CUDA runtime's C APIs through koffi: what the NCCL collective needs.
// Declarations follow nccl.h (NCCL 2.x) and cuda_runtime_api.h. Device memory is
// passed as integer addresses (bigint), the form a device-resident runtime hands out.

import koffi from 'koffi';
import { loadForeignLibrary } from '../foreign.js';
import type { IKoffiLib } from 'koffi';

type Fn = ReturnType<IKoffiLib['func']>;

export const NCCL_LIBRARY = 'libnccl.so.2';
/** The CUDA runtime NCCL was built against is one of these (newest first). */
export const CUDART_LIBRARIES = ['libcudart.so.13', 'libcudart.so.12', 'libcudart.so.11.0'] as const;
export const NCCL_INSTALL_HINT =
  'install NCCL 2 for your CUDA version: the libnccl2 package of NVIDIA\'s CUDA apt repository, or pip install nvidia-nccl-cu12 (cu13 for CUDA 13) and add its nvidia/nccl/lib folder to LD_LIBRARY_PATH; ' +
  'or name the file with VLREWARD_NCCL_LIBRARY. NCCL needs NVIDIA GPUs: CPU ranks use the MPI backend (mpirun)';

// nccl.h enums.
export const NCCL_SUCCESS = 0;
export const NCCL_UNIQUE_ID_BYTES = 128;
export const ncclDataType = { uint8: 1, float32: 7, float64: 8 } as const;
export const ncclRedOp = { sum: 0, avg: 4 } as const;
// cuda_runtime_api.h.
export const CUDA_SUCCESS = 0;
export const CUDA_ERROR_NOT_READY = 600;
export const cudaMemcpyKind = { hostToDevice: 1, deviceToHost: 2 } as const;

/** The library cannot be loaded here: the message names it and the install step. */
export class NcclUnavailableError extends Error {
  constructor(library: string, detail: string) {
    super(`NCCL backend: cannot load ${library}: ${detail}. To fix: ${NCCL_INSTALL_HINT}`);
    this.name = 'NcclUnavailableError';
  }
}

export interface NcclLibrary {
  readonly path: string;
  readonly getVersion: Fn;
  readonly getUniqueId: Fn;
  readonly commInitRank: Fn;
  readonly commDestroy: Fn;
  readonly commAbort: Fn;
  readonly commGetAsyncError: Fn;
  readonly allReduce: Fn;
  readonly broadcast: Fn;
  readonly allGather: Fn;
  readonly getErrorString: Fn;
  readonly getLastError: Fn;
}

export interface CudaRuntime {
  readonly path: string;
  readonly setDevice: Fn;
  readonly getDeviceCount: Fn;
  readonly streamCreate: Fn;
  readonly streamDestroy: Fn;
  readonly streamQuery: Fn;
  readonly malloc: Fn;
  readonly free: Fn;
  readonly memcpyHostToDevice: Fn;
  readonly memcpyDeviceToHost: Fn;
  readonly getErrorString: Fn;
}

/** nccl.h's functions, by the name NcclLibrary gives them (device memory as uintptr_t). */
export const NCCL_FUNCTIONS: Record<keyof Omit<NcclLibrary, 'path'>, string> = {
  getVersion: 'int ncclGetVersion(_Out_ int *version)',
  getUniqueId: 'int ncclGetUniqueId(_Out_ uint8_t *uniqueId)',
  commInitRank: 'int ncclCommInitRank(_Out_ void **comm, int nranks, ncclUniqueId commId, int rank)',
  commDestroy: 'int ncclCommDestroy(void *comm)',
  commAbort: 'int ncclCommAbort(void *comm)',
  commGetAsyncError: 'int ncclCommGetAsyncError(void *comm, _Out_ int *asyncError)',
  allReduce: 'int ncclAllReduce(uintptr_t sendbuff, uintptr_t recvbuff, size_t count, int datatype, int op, void *comm, void *stream)',
  broadcast: 'int ncclBroadcast(uintptr_t sendbuff, uintptr_t recvbuff, size_t count, int datatype, int root, void *comm, void *stream)',
  allGather: 'int ncclAllGather(uintptr_t sendbuff, uintptr_t recvbuff, size_t sendcount, int datatype, void *comm, void *stream)',
  getErrorString: 'const char *ncclGetErrorString(int result)',
  getLastError: 'const char *ncclGetLastError(void *comm)',
};

/** cuda_runtime_api.h's functions. cudaMemcpyAsync appears twice: one direction each, so device addresses stay integers. */
export const CUDART_FUNCTIONS: Record<keyof Omit<CudaRuntime, 'path'>, string> = {
  setDevice: 'int cudaSetDevice(int device)',
  getDeviceCount: 'int cudaGetDeviceCount(_Out_ int *count)',
  streamCreate: 'int cudaStreamCreate(_Out_ void **stream)',
  streamDestroy: 'int cudaStreamDestroy(void *stream)',
  streamQuery: 'int cudaStreamQuery(void *stream)',
  malloc: 'int cudaMalloc(_Out_ void **devPtr, size_t size)',
  free: 'int cudaFree(uintptr_t devPtr)',
  memcpyHostToDevice: 'int cudaMemcpyAsync(uintptr_t dst, const void *src, size_t count, int kind, void *stream)',
  memcpyDeviceToHost: 'int cudaMemcpyAsync(void *dst, uintptr_t src, size_t count, int kind, void *stream)',
  getErrorString: 'const char *cudaGetErrorString(int error)',
};

let uniqueIdType: unknown = null;

/** Registers `ncclUniqueId` (128 bytes, passed by value to ncclCommInitRank) with koffi, once. */
export function registerNcclTypes(): void {
  uniqueIdType ??= koffi.struct('ncclUniqueId', { internal: koffi.array('uint8_t', NCCL_UNIQUE_ID_BYTES) });
}

function bind<K extends string>(lib: IKoffiLib, table: Record<K, string>): Record<K, Fn> {
  return Object.fromEntries(Object.entries<string>(table).map(([k, decl]) => [k, lib.func(decl)])) as Record<K, Fn>;
}

let nccl: NcclLibrary | null = null;
let cudart: CudaRuntime | null = null;

function open(path: string): IKoffiLib {
  try {
    return loadForeignLibrary(path);
  } catch (e) {
    // koffi's message is dlerror's, which does not say which library.
    throw new NcclUnavailableError(path, (e as Error).message);
  }
}

export function loadNccl(path = process.env.VLREWARD_NCCL_LIBRARY || NCCL_LIBRARY): NcclLibrary {
  if (nccl) return nccl;
  const lib = open(path);
  registerNcclTypes();
  nccl = { path, ...bind(lib, NCCL_FUNCTIONS) };
  return nccl;
}

export function loadCudaRuntime(): CudaRuntime {
  if (cudart) return cudart;
  const tried: string[] = [];
  for (const name of CUDART_LIBRARIES) {
    try {
      const lib = loadForeignLibrary(name);
      cudart = { path: name, ...bind(lib, CUDART_FUNCTIONS) };
      return cudart;
    } catch (e) {
      tried.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new NcclUnavailableError(CUDART_LIBRARIES.join(' / '), `the CUDA runtime NCCL needs is not on the library path (${tried.join('; ')})`);
}
