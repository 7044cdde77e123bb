// The MPI backend: Open MPI's MPI_COMM_WORLD over the processes mpirun (or srun with
// PMIx) started. Host buffers only; Open MPI picks shared memory within a node and
// TCP/InfiniBand between nodes by itself.

import type { BroadcastBuffer, Collective, ReduceOp } from './collective.js';
import { callAsync, loadMpi, MPI_IN_PLACE, MPI_SUCCESS, MPI_THREAD_SERIALIZED, mpiErrorString, type MpiLibrary } from './mpi_library.js';

export interface MpiCollectiveOptions {
  /** libmpi to load (default libmpi.so.40, Open MPI). */
  readonly library?: string;
  /**
   * Most elements one MPI call moves. MPI counts are C ints, so buffers longer than
   * 2^31 - 1 elements (8.4 GB of fp32, full fine-tuning of 2B parameters) go in pieces.
   */
  readonly chunkElements?: number;
}

const DEFAULT_CHUNK = 2 ** 30;

/** [start, end) pieces of at most `max` elements covering [0, length). */
export function chunkRanges(length: number, max: number): [number, number][] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`chunk size must be a positive integer, got ${max}`);
  const out: [number, number][] = [];
  for (let start = 0; start < length; start += max) out.push([start, Math.min(length, start + max)]);
  return out;
}

let instance: MpiCollective | null = null;

export class MpiCollective implements Collective {
  readonly backend = 'mpi' as const;
  private closed = false;
  /** MPI_THREAD_SERIALIZED: one call at a time, from whichever koffi worker thread. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly mpi: MpiLibrary,
    readonly rank: number,
    readonly size: number,
    readonly localRank: number,
    private readonly chunk: number,
  ) {}

  /**
   * Initializes MPI (once per process: MPI cannot be initialized again after
   * MPI_Finalize) and returns the world communicator's collective.
   */
  static init(o: MpiCollectiveOptions = {}): MpiCollective {
    if (instance && !instance.closed) return instance;
    const mpi = loadMpi(o.library);
    const flag = [0];
    mpi.finalized(flag);
    if (flag[0]) throw new Error('MPI backend: MPI was already finalized in this process, and MPI cannot be initialized twice');
    mpi.initialized(flag);
    if (!flag[0]) {
      const provided = [0];
      const code = mpi.initThread(null, null, MPI_THREAD_SERIALIZED, provided);
      if (code !== MPI_SUCCESS) throw new Error(`MPI_Init_thread failed: ${mpiErrorString(mpi, code)}`);
      // koffi's async calls run on worker threads, which needs at least SERIALIZED.
      if (provided[0]! < MPI_THREAD_SERIALIZED)
        throw new Error(`MPI backend: ${mpi.path} provides thread level ${provided[0]}, it needs MPI_THREAD_SERIALIZED (${MPI_THREAD_SERIALIZED})`);
    }
    // Errors come back as codes (turned into Errors below) instead of aborting the job.
    check(mpi, 'MPI_Comm_set_errhandler', mpi.commSetErrhandler(mpi.commWorld, mpi.errorsReturn), -1);
    const rank = [0], size = [0];
    check(mpi, 'MPI_Comm_rank', mpi.commRank(mpi.commWorld, rank), -1);
    check(mpi, 'MPI_Comm_size', mpi.commSize(mpi.commWorld, size), rank[0]!);
    const localRank = Number(process.env.OMPI_COMM_WORLD_LOCAL_RANK ?? process.env.SLURM_LOCALID ?? 0);
    const c = new MpiCollective(mpi, rank[0]!, size[0]!, localRank, o.chunkElements ?? DEFAULT_CHUNK);
    // A process that ends with code 0 without MPI_Finalize makes mpirun abort the whole
    // job ("exiting improperly"), so finalize for a caller that forgot close(). A failing
    // process (code ≠ 0) skips it: mpirun then aborts the job, which is what we want.
    process.once('exit', (code) => {
      if (code === 0 && !c.closed) c.finalizeNow();
    });
    instance = c;
    return c;
  }

  allReduce(buf: Float32Array, op: ReduceOp): Promise<void> {
    return this.serial('allReduce', async () => {
      for (const [s, e] of chunkRanges(buf.length, this.chunk)) {
        const code = await callAsync(this.mpi.allreduceInPlace, MPI_IN_PLACE, buf.subarray(s, e), e - s, this.mpi.float, this.mpi.opSum, this.mpi.commWorld);
        check(this.mpi, 'MPI_Allreduce', code, this.rank);
      }
      // MPI has no mean op. Dividing the float32 sum rounds once, as torch's
      // `all_reduce(SUM)` followed by `/ world` does.
      if (op === 'mean' && this.size > 1) for (let i = 0; i < buf.length; i++) buf[i] = buf[i]! / this.size;
    });
  }

  broadcast(buf: BroadcastBuffer, root: number): Promise<void> {
    return this.serial('broadcast', async () => {
      const type = buf instanceof Float32Array ? this.mpi.float : this.mpi.byte;
      for (const [s, e] of chunkRanges(buf.length, this.chunk)) {
        const code = await callAsync(this.mpi.bcast, buf.subarray(s, e), e - s, type, root, this.mpi.commWorld);
        check(this.mpi, 'MPI_Bcast', code, this.rank);
      }
    });
  }

  barrier(): Promise<void> {
    return this.serial('barrier', async () => {
      check(this.mpi, 'MPI_Barrier', await callAsync(this.mpi.barrier, this.mpi.commWorld), this.rank);
    });
  }

  allGather(value: number): Promise<number[]> {
    return this.serial('allGather', async () => {
      const send = new Float64Array([value]);
      const recv = new Float64Array(this.size);
      const code = await callAsync(this.mpi.allgather, send, 1, this.mpi.double, recv, 1, this.mpi.double, this.mpi.commWorld);
      check(this.mpi, 'MPI_Allgather', code, this.rank);
      return Array.from(recv);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue.catch(() => undefined);
    this.finalizeNow();
  }

  private finalizeNow(): void {
    this.closed = true;
    check(this.mpi, 'MPI_Finalize', this.mpi.finalize(), this.rank);
  }

  /** Chains `f` after the previous call, so MPI sees one call at a time, in program order. */
  private serial<T>(what: string, f: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`MPI ${what} on rank ${this.rank}: the collective was closed`));
    const p = this.queue.then(f, f);
    this.queue = p.catch(() => undefined);
    return p;
  }
}

function check(mpi: MpiLibrary, call: string, code: number, rank: number): void {
  if (code === MPI_SUCCESS) return;
  const where = rank >= 0 ? ` on rank ${rank}` : '';
  throw new Error(`${call} failed${where}: ${mpiErrorString(mpi, code)} (error ${code})`);
}
