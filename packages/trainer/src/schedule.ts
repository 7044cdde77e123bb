// Learning-rate schedules as pure functions of the step (nanoGPT train.py `get_lr`):
// linear warmup from 0, then constant, linear or cosine decay to minLr.

import type { Schedule } from './config.js';

export interface ScheduleOptions {
  /** peak learning rate (reached at the end of warmup). */
  lr: number;
  /** optimizer steps in the whole run. */
  totalSteps: number;
  warmupSteps: number;
  schedule: Schedule;
  /** floor after decay, as a fraction of lr. */
  minLrRatio: number;
}

/** Learning rate for optimizer step `step` (0-based). */
export function learningRate(step: number, o: ScheduleOptions): number {
  // Warmup: step 0 gets lr/warmup rather than 0, so no step is wasted (nanoGPT: (it+1)/warmup).
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  if (o.schedule === 'constant') return o.lr;
  const minLr = o.lr * o.minLrRatio;
  const decaySteps = o.totalSteps - o.warmupSteps;
  if (decaySteps <= 1) return o.lr;
  // progress 0 at the first post-warmup step, 1 at the last step of the run.
  const progress = Math.min(1, (step - o.warmupSteps) / (decaySteps - 1));
  const coeff = o.schedule === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return minLr + coeff * (o.lr - minLr);
}

/** Optimizer steps a run takes: maxSteps wins over epochs (the seed's MAX_STEPS rule). */
export function totalOptimizerSteps(o: {
  trainSamples: number;
  batchSize: number;
  gradAccum: number;
  epochs: number;
  maxSteps: number | null;
  worldSize?: number;
}): number {
  const perStep = o.batchSize * o.gradAccum * (o.worldSize ?? 1);
  const stepsPerEpoch = Math.ceil(o.trainSamples / perStep);
  const byEpochs = stepsPerEpoch * o.epochs;
  return o.maxSteps === null ? byEpochs : o.maxSteps;
}
