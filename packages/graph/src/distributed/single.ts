// The collective of a run that is not distributed: one rank, every operation a no-op,
// so the trainer's data-parallel code path is the same with or without a launcher.

import type { BroadcastBuffer, Collective, ReduceOp } from './collective.js';

export class SingleProcessCollective implements Collective {
  readonly backend = 'single' as const;
  readonly rank = 0;
  readonly size = 1;
  readonly localRank = 0;
  private closed = false;

  async allReduce(buf: Float32Array, op: ReduceOp): Promise<void> {
    this.check('allReduce');
    // The sum and the mean over one rank are the buffer itself.
    void buf;
    void op;
  }

  async broadcast(buf: BroadcastBuffer, root: number): Promise<void> {
    this.check('broadcast');
    if (root !== 0) throw new RangeError(`broadcast: root ${root} is not a rank of a single-process group (size 1)`);
    void buf;
  }

  async barrier(): Promise<void> {
    this.check('barrier');
  }

  async allGather(value: number): Promise<number[]> {
    this.check('allGather');
    return [value];
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(what: string): void {
    if (this.closed) throw new Error(`${what}: the collective was closed`);
  }
}
