// The NCCL backend: one process per GPU, all-reduce of device buffers over NVLink /
// InfiniBand / sockets, as PyTorch DDP does. NCCL calls only enqueue work on this
// rank's CUDA stream; completion is polled (cudaStreamQuery) from the event loop, so
// the loop stays free to notice a dead peer (rendezvous) or an NCCL async error, and
// then aborts the communicator and fails the operation with a message, never hangs.
//
// Every CUDA and NCCL call runs on the main thread: the CUDA runtime's current device
// is per thread, and koffi's async calls would run on threads that never set it.

import koffi from 'koffi';
import type { BroadcastBuffer, Collective, ReduceOp } from './collective.js';
import {
  CUDA_ERROR_NOT_READY,
  CUDA_SUCCESS,
  cudaMemcpyKind,
  loadCudaRuntime,
  loadNccl,
  NCCL_SUCCESS,
  NCCL_UNIQUE_ID_BYTES,
  ncclDataType,
  ncclRedOp,
  type CudaRuntime,
  type NcclLibrary,
} from './nccl_library.js';

/** A device memory address (from cudaMalloc, or a device-resident runtime's buffer). */
export type DevicePointer = bigint;

/**
 * How the ranks agree on rank 0's ncclUniqueId before NCCL has a communicator:
 * TcpRendezvous (torchrun-style env) or MPI (under mpirun) implement it.
 */
export interface NcclBootstrap {
  /** Rank 0 passes the id, the others null; every rank gets rank 0's bytes. */
  broadcast(bytes: Uint8Array | null): Promise<Uint8Array>;
  barrier(): Promise<void>;
  /** Optional liveness: called with an error naming the rank that died. */
  onPeerLost?(listener: (e: Error) => void): void;
  close(): void | Promise<void>;
}

export interface NcclCollectiveOptions {
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
  /** CUDA device index of this rank (cudaSetDevice). */
  readonly device: number;
  readonly bootstrap: NcclBootstrap;
  /** An operation that has not completed after this long aborts the communicator (default 600 s, PyTorch's NCCL timeout). */
  readonly timeoutMs?: number;
  /** libnccl to load (default libnccl.so.2, or VLREWARD_NCCL_LIBRARY). */
  readonly library?: string;
}

const DEFAULT_TIMEOUT_MS = 600_000;

export class NcclCollective implements Collective {
  readonly backend = 'nccl' as const;
  private staging: { ptr: DevicePointer; bytes: number } | null = null;
  private failure: Error | null = null;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly nccl: NcclLibrary,
    private readonly cuda: CudaRuntime,
    private readonly comm: unknown,
    private readonly stream: unknown,
    readonly rank: number,
    readonly size: number,
    readonly localRank: number,
    private readonly bootstrap: NcclBootstrap,
    private readonly timeoutMs: number,
  ) {
    bootstrap.onPeerLost?.((e) => this.abort(e));
  }

  /** Every rank calls it: rank 0 makes the id, the bootstrap carries it, NCCL builds the communicator. */
  static async init(o: NcclCollectiveOptions): Promise<NcclCollective> {
    const nccl = loadNccl(o.library);
    const cuda = loadCudaRuntime();
    const version = [0];
    ncclCheck(nccl, 'ncclGetVersion', nccl.getVersion(version), o.rank, null);
    // NCCL_VERSION(2,10,0) = 21000: ncclAvg, which 'mean' uses, came in 2.10.
    if (version[0]! < 21000) throw new Error(`NCCL backend: ${nccl.path} is NCCL version code ${version[0]}; 2.10 or newer is needed (ncclAvg)`);
    const count = [0];
    cudaCheck(cuda, 'cudaGetDeviceCount', cuda.getDeviceCount(count), o.rank);
    if (o.device < 0 || o.device >= count[0]!) throw new RangeError(`NCCL backend, rank ${o.rank}: CUDA device ${o.device} does not exist (${count[0]} visible; CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES ?? 'unset'})`);
    cudaCheck(cuda, 'cudaSetDevice', cuda.setDevice(o.device), o.rank);
    let id: Uint8Array | null = null;
    if (o.rank === 0) {
      id = new Uint8Array(NCCL_UNIQUE_ID_BYTES);
      ncclCheck(nccl, 'ncclGetUniqueId', nccl.getUniqueId(id), o.rank, null);
    }
    id = await o.bootstrap.broadcast(id);
    if (id.length !== NCCL_UNIQUE_ID_BYTES) throw new Error(`NCCL backend, rank ${o.rank}: the bootstrap delivered ${id.length} bytes, an ncclUniqueId has ${NCCL_UNIQUE_ID_BYTES}`);
    // ncclCommInitRank blocks this thread until every rank has called it; the barrier
    // first makes sure they are all alive, so it does not wait on a rank that died.
    await o.bootstrap.barrier();
    const commOut: unknown[] = [null];
    ncclCheck(nccl, 'ncclCommInitRank', nccl.commInitRank(commOut, o.size, { internal: id }, o.rank), o.rank, null);
    const streamOut: unknown[] = [null];
    cudaCheck(cuda, 'cudaStreamCreate', cuda.streamCreate(streamOut), o.rank);
    return new NcclCollective(nccl, cuda, commOut[0], streamOut[0], o.rank, o.size, o.localRank, o.bootstrap, o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  /** In place on device memory: `count` float32 values at `ptr`. What the device-resident runtime calls. */
  allReduceDevice(ptr: DevicePointer, count: number, op: ReduceOp): Promise<void> {
    return this.serial('allReduce', async () => {
      // ncclAvg (NCCL ≥ 2.10) divides inside the kernel; no extra pass over the buffer.
      const code = this.nccl.allReduce(ptr, ptr, count, ncclDataType.float32, op === 'mean' ? ncclRedOp.avg : ncclRedOp.sum, this.comm, this.stream);
      ncclCheck(this.nccl, 'ncclAllReduce', code, this.rank, this.comm);
      await this.complete('allReduce');
    });
  }

  /** In place on device memory: `bytes` bytes at `ptr` become rank `root`'s. */
  broadcastDevice(ptr: DevicePointer, bytes: number, root: number): Promise<void> {
    return this.serial('broadcast', async () => {
      ncclCheck(this.nccl, 'ncclBroadcast', this.nccl.broadcast(ptr, ptr, bytes, ncclDataType.uint8, root, this.comm, this.stream), this.rank, this.comm);
      await this.complete('broadcast');
    });
  }

  /**
   * Host-buffer convenience (copies through a device staging buffer): for checks and
   * small tensors. The trainer's gradients should stay on the device (allReduceDevice).
   */
  allReduce(buf: Float32Array, op: ReduceOp): Promise<void> {
    return this.serial('allReduce', async () => {
      const dev = this.stage(buf.byteLength);
      this.toDevice(dev, buf);
      ncclCheck(this.nccl, 'ncclAllReduce', this.nccl.allReduce(dev, dev, buf.length, ncclDataType.float32, op === 'mean' ? ncclRedOp.avg : ncclRedOp.sum, this.comm, this.stream), this.rank, this.comm);
      await this.complete('allReduce');
      this.toHost(buf, dev);
    });
  }

  broadcast(buf: BroadcastBuffer, root: number): Promise<void> {
    return this.serial('broadcast', async () => {
      const dev = this.stage(buf.byteLength);
      this.toDevice(dev, buf);
      ncclCheck(this.nccl, 'ncclBroadcast', this.nccl.broadcast(dev, dev, buf.byteLength, ncclDataType.uint8, root, this.comm, this.stream), this.rank, this.comm);
      await this.complete('broadcast');
      this.toHost(buf, dev);
    });
  }

  /** A one-value all-reduce on the device: returns once every rank's earlier work is done. */
  barrier(): Promise<void> {
    return this.serial('barrier', async () => {
      const dev = this.stage(4);
      ncclCheck(this.nccl, 'ncclAllReduce', this.nccl.allReduce(dev, dev, 1, ncclDataType.float32, ncclRedOp.sum, this.comm, this.stream), this.rank, this.comm);
      await this.complete('barrier');
    });
  }

  allGather(value: number): Promise<number[]> {
    return this.serial('allGather', async () => {
      // [own value | size gathered values] in one staging buffer.
      const dev = this.stage(8 * (this.size + 1));
      this.toDevice(dev, new Float64Array([value]));
      ncclCheck(this.nccl, 'ncclAllGather', this.nccl.allGather(dev, dev + 8n, 1, ncclDataType.float64, this.comm, this.stream), this.rank, this.comm);
      await this.complete('allGather');
      const out = new Float64Array(this.size);
      this.toHost(out, dev + 8n);
      return Array.from(out);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue.catch(() => undefined);
    this.closed = true;
    if (this.staging) this.cuda.free(this.staging.ptr);
    this.cuda.streamDestroy(this.stream);
    if (!this.failure) ncclCheck(this.nccl, 'ncclCommDestroy', this.nccl.commDestroy(this.comm), this.rank, null);
    await this.bootstrap.close();
  }

  /** Aborts the communicator (in-flight kernels stop) and fails this and every later operation with `e`. */
  private abort(e: Error): void {
    if (this.failure || this.closed) return;
    this.failure = e;
    this.nccl.commAbort(this.comm);
  }

  /** Polls the stream until the enqueued work is done, a peer is lost, NCCL reports an error, or the timeout. */
  private async complete(what: string): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (let polls = 0; ; polls++) {
      if (this.failure) throw this.failure;
      const q = this.cuda.streamQuery(this.stream);
      if (q === CUDA_SUCCESS) return;
      if (q !== CUDA_ERROR_NOT_READY) cudaCheck(this.cuda, `cudaStreamQuery after ${what}`, q, this.rank);
      const err = [0];
      this.nccl.commGetAsyncError(this.comm, err);
      if (err[0] !== NCCL_SUCCESS) {
        const e = new Error(`NCCL ${what} failed on rank ${this.rank}: ${describeNccl(this.nccl, err[0]!, this.comm)} (a peer rank probably died or lost its network)`);
        this.abort(e);
        throw e;
      }
      if (Date.now() > deadline) {
        const e = new Error(`NCCL ${what} on rank ${this.rank} did not complete within ${this.timeoutMs / 1000} s: another rank is stuck or dead; the communicator was aborted`);
        this.abort(e);
        throw e;
      }
      // Spin briefly through the event loop for small ops, then back off to 1 ms.
      await new Promise((r) => (polls < 100 ? setImmediate(r) : setTimeout(r, 1)));
    }
  }

  private stage(bytes: number): DevicePointer {
    if (this.staging && this.staging.bytes >= bytes) return this.staging.ptr;
    if (this.staging) this.cuda.free(this.staging.ptr);
    this.staging = null;
    const out: unknown[] = [null];
    cudaCheck(this.cuda, `cudaMalloc(${bytes})`, this.cuda.malloc(out, Math.max(bytes, 8)), this.rank);
    this.staging = { ptr: koffi.address(out[0]), bytes: Math.max(bytes, 8) };
    return this.staging.ptr;
  }

  private toDevice(dst: DevicePointer, src: ArrayBufferView): void {
    cudaCheck(this.cuda, 'cudaMemcpyAsync (host to device)', this.cuda.memcpyHostToDevice(dst, src, src.byteLength, cudaMemcpyKind.hostToDevice, this.stream), this.rank);
  }

  /** Pageable destination: returns once the copy is done (stream-ordered after the collective). */
  private toHost(dst: ArrayBufferView, src: DevicePointer): void {
    cudaCheck(this.cuda, 'cudaMemcpyAsync (device to host)', this.cuda.memcpyDeviceToHost(dst, src, dst.byteLength, cudaMemcpyKind.deviceToHost, this.stream), this.rank);
  }

  private serial<T>(what: string, f: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`NCCL ${what} on rank ${this.rank}: the collective was closed`));
    if (this.failure) return Promise.reject(this.failure);
    const p = this.queue.then(f, f);
    this.queue = p.catch(() => undefined);
    return p;
  }
}

function describeNccl(nccl: NcclLibrary, code: number, comm: unknown): string {
  const text = nccl.getErrorString(code) as string;
  const last = comm ? (nccl.getLastError(comm) as string | null) : null;
  return `${text}${last ? `: ${last}` : ''} (ncclResult ${code})`;
}

function ncclCheck(nccl: NcclLibrary, call: string, code: number, rank: number, comm: unknown): void {
  if (code !== NCCL_SUCCESS) throw new Error(`${call} failed on rank ${rank}: ${describeNccl(nccl, code, comm)}`);
}

function cudaCheck(cuda: CudaRuntime, call: string, code: number, rank: number): void {
  if (code !== CUDA_SUCCESS) throw new Error(`${call} failed on rank ${rank}: ${cuda.getErrorString(code) as string} (cudaError ${code})`);
}
