// Messages between the data-parallel coordinator and its worker processes (Node IPC
// with the 'advanced' serializer, so typed arrays travel as binary, not JSON).

import type { RewardSample } from '../types.js';

export type Grads = Record<string, Float32Array>;

export type Request =
  | { op: 'init'; rank: number; world: number; factory: string; options: unknown }
  | { op: 'accumulate'; samples: readonly RewardSample[] }
  | { op: 'grads' }
  | { op: 'apply'; grads: Grads; lr: number; microSteps: number }
  | { op: 'evaluate'; samples: readonly RewardSample[] }
  | { op: 'getState' }
  | { op: 'setState'; state: unknown }
  | { op: 'exit' };

export type Reply =
  | { ok: true; value: unknown }
  | { ok: false; error: string };

/**
 * What a worker's factory module exports: `createWorkerSession(options, rank)` builds
 * the model session and its encoder inside the worker process.
 */
export interface GradientSession<B> {
  readonly numClasses: number;
  accumulate(batch: B): Promise<{ loss: number }>;
  /** The gradient accumulators (sums over micro-steps of mean-loss gradients). */
  readGradients(): Promise<Grads>;
  /** Replaces the accumulators (with the all-reduced ones). */
  writeGradients(g: Grads): Promise<void>;
  apply(lr: number, microSteps: number): Promise<{ gradNorm: number }>;
  evaluate(batch: B): Promise<{ loss: number; logits: ArrayLike<number> }>;
  getTrainableState(): Promise<unknown>;
  setTrainableState(s: unknown): Promise<void>;
}

export interface WorkerFactoryModule {
  createWorkerSession(options: unknown, rank: number): Promise<{ session: GradientSession<unknown>; encode: (s: readonly RewardSample[]) => unknown }>;
}
