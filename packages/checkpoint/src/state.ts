import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type TensorData } from '@vlreward/graph/io';
import { isRecord, readJsonFile, writeFileSynced } from './json.js';

// Everything besides the weights that resuming needs to continue exactly where
// training stopped: `trainer_state.json` (step, epoch, RNG / shuffle state,
// scheduler, best metric — the trainer's JSON) and `optimizer.safetensors`
// (AdamW moments per trainable parameter, named like torch's optimizer state:
// `<param>.exp_avg`, `<param>.exp_avg_sq`; other tensors under `extra/<name>`).

export const TRAINER_STATE_NAME = 'trainer_state.json';
export const OPTIMIZER_STATE_NAME = 'optimizer.safetensors';

/** The trainer's own JSON state. `step`/`epoch` are required; the rest is free-form JSON. */
export interface TrainerState {
  /** Optimizer steps completed. */
  readonly step: number;
  readonly epoch: number;
  /** e.g. samples consumed in the current epoch, position in the shuffled order. */
  readonly shuffle?: unknown;
  /** RNG states (seeds, generator words); bigints must be stored as strings. */
  readonly rng?: unknown;
  readonly scheduler?: unknown;
  readonly bestMetric?: { readonly name: string; readonly value: number; readonly step: number } | null;
  readonly [key: string]: unknown;
}

/** AdamW first/second moments of one parameter (same shape as the parameter). */
export interface AdamMoments {
  readonly m: TensorData;
  readonly v: TensorData;
}

export interface OptimizerState {
  /** By trainable parameter name (the names used in the weight files). */
  readonly moments: ReadonlyMap<string, AdamMoments>;
  /** Other tensors: fp32 master weights, loss scale, step counters … */
  readonly extra?: ReadonlyMap<string, TensorData>;
  /** Scalars (lr, betas, eps, weight decay, optimizer step) kept in the file's metadata. */
  readonly hyper?: Readonly<Record<string, number | string>>;
}

export interface ResumeState {
  readonly trainer: TrainerState;
  readonly optimizer?: OptimizerState;
}

const M = '.exp_avg';
const V = '.exp_avg_sq';
const EXTRA = 'extra/';

export async function writeResumeState(dir: string, state: ResumeState): Promise<string[]> {
  const t = state.trainer;
  if (!Number.isInteger(t.step) || t.step < 0) throw new Error(`writeResumeState: trainer.step must be an integer ≥ 0 (got ${t.step})`);
  if (typeof t.epoch !== 'number' || !(t.epoch >= 0)) throw new Error(`writeResumeState: trainer.epoch must be a number ≥ 0 (got ${t.epoch})`);
  let json: string;
  try {
    json = JSON.stringify(t, null, 2) + '\n';
  } catch (e) {
    throw new Error(`writeResumeState: trainer state is not JSON-serialisable (${(e as Error).message})`);
  }
  await writeFileSynced(join(dir, TRAINER_STATE_NAME), json);
  const files = [TRAINER_STATE_NAME];
  const opt = state.optimizer;
  if (opt) {
    const tensors = new Map<string, TensorData>();
    for (const [name, mv] of opt.moments) {
      if (mv.m.dims.join() !== mv.v.dims.join()) {
        throw new Error(`writeResumeState: moments of '${name}' differ in shape: m [${mv.m.dims.join(', ')}], v [${mv.v.dims.join(', ')}]`);
      }
      tensors.set(name + M, mv.m);
      tensors.set(name + V, mv.v);
    }
    for (const [name, x] of opt.extra ?? []) tensors.set(EXTRA + name, x);
    const metadata: Record<string, string> = { format: 'pt' };
    if (opt.hyper) metadata['hyper'] = JSON.stringify(opt.hyper);
    await writeSafetensors(join(dir, OPTIMIZER_STATE_NAME), tensors, metadata);
    files.push(OPTIMIZER_STATE_NAME);
  }
  return files;
}

export async function readResumeState(dir: string, withOptimizer: boolean): Promise<ResumeState> {
  const p = join(dir, TRAINER_STATE_NAME);
  const trainer = await readJsonFile(p);
  if (!isRecord(trainer) || typeof trainer['step'] !== 'number' || typeof trainer['epoch'] !== 'number') {
    throw new Error(`${p}: expected an object with numeric 'step' and 'epoch'`);
  }
  if (!withOptimizer) return { trainer: trainer as TrainerState };
  const op = join(dir, OPTIMIZER_STATE_NAME);
  const { tensors, metadata } = await readSafetensors(op);
  const ms = new Map<string, TensorData>();
  const vs = new Map<string, TensorData>();
  const extra = new Map<string, TensorData>();
  for (const [name, t] of tensors) {
    if (name.startsWith(EXTRA)) extra.set(name.slice(EXTRA.length), t);
    else if (name.endsWith(V)) vs.set(name.slice(0, -V.length), t);
    else if (name.endsWith(M)) ms.set(name.slice(0, -M.length), t);
    else throw new Error(`${op}: unexpected tensor '${name}' (expected <param>${M}, <param>${V} or ${EXTRA}<name>)`);
  }
  const moments = new Map<string, AdamMoments>();
  for (const [name, m] of ms) {
    const v = vs.get(name);
    if (!v) throw new Error(`${op}: '${name}${M}' has no matching '${name}${V}'`);
    moments.set(name, { m, v });
  }
  for (const name of vs.keys()) if (!ms.has(name)) throw new Error(`${op}: '${name}${V}' has no matching '${name}${M}'`);
  let hyper: Record<string, number | string> | undefined;
  if (metadata['hyper'] !== undefined) {
    try {
      hyper = JSON.parse(metadata['hyper']) as Record<string, number | string>;
    } catch (e) {
      throw new Error(`${op}: __metadata__.hyper is not valid JSON (${(e as Error).message})`);
    }
  }
  const optimizer: OptimizerState = hyper ? { moments, extra, hyper } : { moments, extra };
  return { trainer: trainer as TrainerState, optimizer };
}
