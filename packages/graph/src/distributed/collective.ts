// The one interface the trainer talks to for data parallelism. Which library runs
// underneath (none, Open MPI, NCCL) is initCollective()'s choice (init.ts), not the
// trainer's.

/** How allReduce combines the ranks' buffers. 'mean' is the sum divided by `size`. */
export type ReduceOp = 'sum' | 'mean';

export type CollectiveBackend = 'single' | 'mpi' | 'nccl';

/** What broadcast moves: parameters (float32) or raw bytes (ids, serialized state). */
export type BroadcastBuffer = Float32Array | Uint8Array;

/**
 * A group of `size` processes, one per device, that run the same program in lockstep.
 * Every rank must call the same operations in the same order with buffers of the same
 * length, as with MPI and NCCL. The operations are asynchronous so the event loop (data
 * prefetch, failure detection) keeps running while the bytes move.
 */
export interface Collective {
  readonly backend: CollectiveBackend;
  /** 0 … size-1, unique over all nodes. */
  readonly rank: number;
  readonly size: number;
  /** rank among the processes of this node: which GPU this process drives. */
  readonly localRank: number;
  /** In place: on every rank `buf` becomes the elementwise sum (or mean) over ranks. */
  allReduce(buf: Float32Array, op: ReduceOp): Promise<void>;
  /** In place: every rank's `buf` becomes rank `root`'s. */
  broadcast(buf: BroadcastBuffer, root: number): Promise<void>;
  /** Resolves once every rank has called it. */
  barrier(): Promise<void>;
  /**
   * Every rank's `value`, indexed by rank (float64, so a parameter checksum survives
   * exactly): replicas that must be identical can compare checksums.
   */
  allGather(value: number): Promise<number[]>;
  /** Ends the group (collective: every rank calls it). Operations after close throw. */
  close(): Promise<void>;
}
