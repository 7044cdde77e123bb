// Synchronous data parallelism over worker processes.
//
// Each optimizer step: the coordinator (the process running train()) splits the
// global batch of raw samples into one contiguous shard per worker; every worker
// encodes its shard and runs forward + backward into its gradient accumulators; the
// accumulators are all-reduced (sample-weighted mean); every worker applies the same
// averaged gradients with AdamW, so all replicas stay identical, as in PyTorch DDP.
//
// Transport: there is no maintained collective-communication library for Node
// (NCCL/Gloo/MPI bindings do not exist on npm, and onnxruntime-node ships without
// ORT's NCCL AllReduce contrib op), so on one machine the reduction goes through Node's
// built-in IPC channel (child_process.fork, 'advanced' serialization): a star
// reduce-then-broadcast through the coordinator. That costs 2 × (world) × |grads|
// bytes of copying per step — fine for LoRA (a few MB) and CPU workers, wrong for
// full fine-tuning of 2B parameters on GPUs. packages/trainer/README.md ("Data parallel") describes the
// multi-GPU design (NCCL all-reduce of device buffers, one process per GPU).

import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RewardSample, TrainerSession } from '../types.js';
import type { Grads, Reply, Request } from './protocol.js';

export interface DataParallelOptions {
  /** number of worker processes (one per device on a multi-GPU box). */
  world: number;
  /** module exporting createWorkerSession(options, rank) (absolute path or file: URL). */
  factory: string;
  /** passed to createWorkerSession in every worker (structured-cloneable). */
  options: unknown;
  /** extra node flags for the workers (e.g. a TypeScript loader). */
  execArgv?: string[];
}

/** tsx's ESM loader, resolved from this package (test runners may lack import.meta.resolve). */
function tsxLoader(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    const req = createRequire(import.meta.url);
    return pathToFileURL(join(dirname(req.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
  }
}

class Worker {
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void } | null = null;
  constructor(readonly rank: number, readonly proc: ChildProcess) {
    proc.on('message', (r: Reply) => {
      const p = this.pending;
      this.pending = null;
      if (!p) return;
      if (r.ok) p.resolve(r.value);
      else p.reject(new Error(`data-parallel worker ${rank}: ${r.error}`));
    });
    proc.on('exit', (code) => {
      const p = this.pending;
      this.pending = null;
      p?.reject(new Error(`data-parallel worker ${rank} exited with code ${code}`));
    });
  }
  call<T>(req: Request): Promise<T> {
    if (this.pending) throw new Error(`data-parallel worker ${this.rank}: request while another is in flight`);
    return new Promise<T>((resolve, reject) => {
      this.pending = { resolve: resolve as (v: unknown) => void, reject };
      this.proc.send(req);
    });
  }
}

/** Contiguous shards, sizes differing by at most one: rank r gets samples [start_r, end_r). */
export function shard<T>(items: readonly T[], world: number): T[][] {
  const out: T[][] = [];
  const base = Math.floor(items.length / world);
  const extra = items.length % world;
  let start = 0;
  for (let r = 0; r < world; r++) {
    const n = base + (r < extra ? 1 : 0);
    out.push(items.slice(start, start + n));
    start += n;
  }
  return out;
}

/** Sample-weighted mean of the workers' accumulators: Σ_w (n_w / N) · g_w. */
export function reduceGradients(grads: readonly Grads[], weights: readonly number[]): Grads {
  const total = weights.reduce((a, b) => a + b, 0);
  const out: Grads = {};
  const names = Object.keys(grads[0] ?? {});
  for (const name of names) {
    const acc = new Float32Array(grads[0]![name]!.length);
    grads.forEach((g, w) => {
      const x = g[name];
      if (!x || x.length !== acc.length) throw new Error(`all-reduce: worker ${w} has no gradient '${name}' of ${acc.length} values`);
      const f = weights[w]! / total;
      if (f === 0) return;
      for (let i = 0; i < acc.length; i++) acc[i]! += f * x[i]!;
    });
    out[name] = acc;
  }
  return out;
}

/**
 * A TrainerSession whose batches are raw samples, spread over `world` worker processes.
 * Use with train({ session, encode: (s) => s }).
 */
export class DataParallelSession implements TrainerSession<readonly RewardSample[]> {
  private stepSamples: number[];
  private microSteps = 0;
  /** bytes of gradients moved through IPC so far (both directions). */
  commBytes = 0;

  private constructor(
    private readonly workers: Worker[],
    readonly numClasses: number,
  ) {
    this.stepSamples = new Array(workers.length).fill(0);
  }

  get world(): number {
    return this.workers.length;
  }

  static async create(o: DataParallelOptions): Promise<DataParallelSession> {
    if (!Number.isInteger(o.world) || o.world < 1) throw new RangeError(`DataParallelSession: world must be an integer ≥ 1, got ${o.world}`);
    const here = fileURLToPath(import.meta.url);
    const script = here.replace(/data_parallel\.(ts|js)$/, 'worker.$1');
    const isTs = script.endsWith('.ts');
    // Running from TypeScript sources: the workers need the same loader; resolved from here, not the cwd.
    const execArgv = o.execArgv ?? (isTs ? ['--import', tsxLoader(), '--conditions=@vlreward/source'] : []);
    const workers = Array.from(
      { length: o.world },
      (_, rank) => new Worker(rank, fork(script, [], { serialization: 'advanced', execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })),
    );
    try {
      const infos = await Promise.all(workers.map((w) => w.call<{ numClasses: number }>({ op: 'init', rank: w.rank, world: o.world, factory: o.factory, options: o.options })));
      const dp = new DataParallelSession(workers, infos[0]!.numClasses);
      // Replicas must start identical: broadcast rank 0's initial state.
      if (o.world > 1) await dp.setTrainableState(await workers[0]!.call({ op: 'getState' }));
      return dp;
    } catch (e) {
      for (const w of workers) w.proc.kill();
      throw e;
    }
  }

  async accumulate(samples: readonly RewardSample[]): Promise<{ loss: number }> {
    const shards = shard(samples, this.world);
    const losses = await Promise.all(
      this.workers.map((w, r) => (shards[r]!.length > 0 ? w.call<{ loss: number }>({ op: 'accumulate', samples: shards[r]! }) : Promise.resolve({ loss: 0 }))),
    );
    shards.forEach((s, r) => (this.stepSamples[r]! += s.length));
    this.microSteps++;
    return { loss: losses.reduce((a, l, r) => a + l.loss * shards[r]!.length, 0) / samples.length };
  }

  async apply(lr: number): Promise<{ gradNorm: number }> {
    const microSteps = this.microSteps;
    this.microSteps = 0;
    const grads = await Promise.all(this.workers.map((w) => w.call<Grads>({ op: 'grads' })));
    const reduced = reduceGradients(grads, this.stepSamples);
    const bytes = Object.values(reduced).reduce((a, g) => a + g.byteLength, 0);
    this.commBytes += 2 * this.world * bytes;
    this.stepSamples.fill(0);
    const norms = await Promise.all(this.workers.map((w) => w.call<{ gradNorm: number }>({ op: 'apply', grads: reduced, lr, microSteps })));
    return norms[0]!;
  }

  async step(samples: readonly RewardSample[], lr: number) {
    const { loss } = await this.accumulate(samples);
    const { gradNorm } = await this.apply(lr);
    return { loss, gradNorm };
  }

  async evaluate(samples: readonly RewardSample[]) {
    const shards = shard(samples, this.world);
    const outs = await Promise.all(
      this.workers.map((w, r) => (shards[r]!.length > 0 ? w.call<{ loss: number; logits: Float32Array }>({ op: 'evaluate', samples: shards[r]! }) : Promise.resolve(null))),
    );
    const logits: number[] = [];
    let loss = 0;
    outs.forEach((o, r) => {
      if (!o) return;
      logits.push(...o.logits);
      loss += o.loss * shards[r]!.length;
    });
    return { loss: loss / samples.length, logits };
  }

  getTrainableState(): Promise<unknown> {
    return this.workers[0]!.call({ op: 'getState' });
  }

  async setTrainableState(state: unknown): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call({ op: 'setState', state })));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call({ op: 'exit' }).catch(() => undefined)));
  }
}
