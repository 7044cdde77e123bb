// The training loop. It reads like nanoGPT's train.py: set lr → maybe evaluate and
// checkpoint → micro-steps → (clip + AdamW inside the fused graph) → log. Everything
// else (split, batches, logging, resume bookkeeping) is set up before the loop.

import { join, resolve } from 'node:path';
import { samplesOfEpisodes, splitEpisodes, type EpisodeSplit } from '@vlreward/dataset';
import { checkSameOnAllRanks, type Collective } from '@vlreward/graph/distributed';
import { RankSampler } from './distributed_sampler.js';
import { resolveConfig, type TrainConfig } from './config.js';
import { evaluate } from './evaluate.js';
import { loadBatch, Prefetcher, serialReads, type LoadedBatch } from './loader.js';
import { JsonlLogger } from './logging/jsonl.js';
import { Progress } from './logging/progress.js';
import { SummaryWriter } from './logging/tensorboard.js';
import { renderConfusion, renderReport, type ClassificationReport } from './metrics.js';
import { confusionSvg, svgToPng } from './plot.js';
import { Rng } from '@vlreward/graph';
import { learningRate, totalOptimizerSteps } from './schedule.js';
import type { CheckpointStore, EncodeFn, EvalRecord, SampleSource, TrainerSession, TrainerState } from './types.js';

export interface TrainOptions<B> {
  session: TrainerSession<B>;
  source: SampleSource;
  encode: EncodeFn<B>;
  config?: Partial<TrainConfig>;
  /** episode split; default: seeded split of valFraction of the episodes. */
  split?: EpisodeSplit;
  /** where checkpoints go; none = no checkpoints (and no resume). */
  checkpoints?: CheckpointStore;
  /** continue from the last checkpoint of `checkpoints`, when there is one. */
  resume?: boolean;
  /** checked before each step: an aborted run saves a resumable checkpoint and returns. */
  signal?: AbortSignal;
  /** progress output (default process.stderr); null for silence. */
  progress?: NodeJS.WritableStream | { write(s: string): unknown; isTTY?: boolean } | null;
  onStep?: (r: { step: number; loss: number; gradNorm: number; lr: number }) => void;
  onEval?: (r: EvalRecord & { report: ClassificationReport }) => void;
  /** stop after an evaluation for which this returns true (e.g. a target accuracy); counts as an early stop. */
  stopWhen?: (r: EvalRecord) => boolean;
  /**
   * Data parallel (size > 1): this process is one rank. `config.batchSize` is per
   * rank; each rank reads its slice of the global batch, gradients are all-reduced
   * (mean) before the same optimizer graph runs on every rank; rank 0 alone logs
   * and writes checkpoints. See docs/DISTRIBUTED.md.
   */
  collective?: Collective;
}

export interface TrainResult {
  /** optimizer steps completed in total (including resumed ones). */
  readonly steps: number;
  readonly losses: readonly number[];
  readonly evals: readonly EvalRecord[];
  readonly final: ClassificationReport | null;
  readonly best: TrainerState['best'];
  readonly stoppedEarly: boolean;
  readonly interrupted: boolean;
  readonly resumedFrom: number;
  readonly split: EpisodeSplit;
  readonly trainSamples: number;
  readonly valSamples: number;
  /** training throughput of this process (samples per second of loop time). */
  readonly samplesPerSecond: number;
  /** share of loop time spent waiting for batches (0 = data never stalled a step). */
  readonly dataWaitShare: number;
  readonly logDir: string | null;
  readonly checkpointDirs: { readonly last?: string; readonly best?: string };
  /** Seconds per validation sample over every evaluation of this run (session creation included); null without one. */
  readonly evalSecondsPerSample: number | null;
  /** Seconds of the slowest checkpoint write of this run (state download + files); null when none was written. */
  readonly checkpointWriteSeconds: number | null;
}

/**
 * A step whose loss, gradient norm or updated parameters were NaN/Inf. The runner
 * refused the update, nothing of that step was saved, and every checkpoint this
 * run wrote holds finite tensors (the state never took a non-finite value).
 */
export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly lastCheckpoint: string | undefined,
    readonly gradNorm: number = NaN,
  ) {
    super(
      `step ${step + 1}: loss ${loss}, gradient norm ${gradNorm}: training diverged, the update was refused and the run stopped ` +
        `(lower the learning rate, check the data, or use fp32). ` +
        (lastCheckpoint ? `The last checkpoint of this run, ${lastCheckpoint}, holds the finite state from before.` : 'No checkpoint had been written yet.'),
    );
    this.name = 'NonFiniteLossError';
  }
}

/**
 * The settings that must not change between a run and its resumption. `batchSize`
 * is the GLOBAL batch (per-rank batch × world size), so a data-parallel run may
 * resume with another world size when the global batch stays the same.
 */
function fingerprint(c: TrainConfig, world: number, total: number, nTrain: number, numClasses: number): string {
  const { seed, gradAccum, lr, schedule, warmupSteps, minLrRatio, mode, augment, classWeights } = c;
  const batchSize = c.batchSize * world;
  return JSON.stringify({ seed, batchSize, gradAccum, lr, schedule, warmupSteps, minLrRatio, mode, augment, classWeights, total, nTrain, numClasses });
}

function checkFingerprint(saved: string, now: string): void {
  if (saved === now) return;
  const a = JSON.parse(saved) as Record<string, unknown>;
  const b = JSON.parse(now) as Record<string, unknown>;
  const diff = Object.keys(b).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  throw new Error(`cannot resume: ${diff.map((k) => `${k} was ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`).join('; ')} (resume with the same settings, or train into a new checkpoint dir)`);
}

/** Whether `rec` beats every earlier evaluation on the early-stopping metric by more than minDelta. */
function earlyStoppingImproved(before: readonly EvalRecord[], rec: EvalRecord, es: TrainConfig['earlyStopping']): boolean {
  if (!es) return true;
  const sign = es.mode === 'max' ? 1 : -1;
  const best = Math.max(-Infinity, ...before.map((e) => sign * e[es.metric]));
  return sign * rec[es.metric] > best + es.minDelta;
}

/** Steps between cross-rank parameter checks (the global norm of the updated parameters; and always at the last step). */
const REPLICA_CHECK_EVERY = 10;

/** The episode split and the train / validation sample indices a run uses (caps applied). */
export function planSamples(config: Partial<TrainConfig>, source: Pick<SampleSource, 'length' | 'episodeOf'>, given?: EpisodeSplit): { split: EpisodeSplit; trainIdx: number[]; valIdx: number[] } {
  const cfg = resolveConfig(config);
  const episodes = Array.from({ length: source.length }, (_, i) => source.episodeOf(i));
  const split = given ?? splitEpisodes(episodes, { valFraction: cfg.valFraction, seed: cfg.seed });
  let trainIdx = samplesOfEpisodes(episodes, split.train);
  if (cfg.maxTrainSamples !== null && trainIdx.length > cfg.maxTrainSamples)
    trainIdx = Rng.fromSeed(cfg.seed, 2).shuffle(trainIdx).slice(0, cfg.maxTrainSamples).sort((a, b) => a - b);
  let valIdx = samplesOfEpisodes(episodes, split.val);
  if (cfg.maxValSamples !== null && valIdx.length > cfg.maxValSamples)
    valIdx = Rng.fromSeed(cfg.seed, 3).shuffle(valIdx).slice(0, cfg.maxValSamples).sort((a, b) => a - b);
  return { split, trainIdx, valIdx };
}

/** The samples of a fresh single-process run's first batch (what the loop reads first), from planSamples' trainIdx. */
export function firstBatchIndices(config: Partial<TrainConfig>, trainIdx: readonly number[]): number[] {
  const cfg = resolveConfig(config);
  if (trainIdx.length === 0) return [];
  return [...new RankSampler(trainIdx, cfg.batchSize, 1, 0, cfg.seed, { epoch: 0, cursor: 0 }).next().indices];
}

export async function train<B>(o: TrainOptions<B>): Promise<TrainResult> {
  const cfg = resolveConfig(o.config);
  const { session, source, encode } = o;
  const C = session.numClasses;
  const dist = o.collective && o.collective.size > 1 ? o.collective : null;
  const world = dist?.size ?? 1;
  const lead = (dist?.rank ?? 0) === 0; // rank 0 alone logs and writes checkpoints
  if (dist && !session.allReduceGradients) throw new Error('train: data parallel needs a session with allReduceGradients (the reward model session has it)');

  // --- data: episode split, sample cap, validation subset ----------------------
  const { split, trainIdx, valIdx } = planSamples(cfg, source, o.split);
  // Data parallel drops an epoch's incomplete global batch (distributed_sampler.ts), so epochs count full ones.
  const usable = world > 1 ? trainIdx.length - (trainIdx.length % (cfg.batchSize * world)) : trainIdx.length;
  const total = totalOptimizerSteps({ trainSamples: usable, batchSize: cfg.batchSize, gradAccum: cfg.gradAccum, epochs: cfg.epochs, maxSteps: cfg.maxSteps, worldSize: world });
  const sched = { lr: cfg.lr, totalSteps: total, warmupSteps: cfg.warmupSteps, schedule: cfg.schedule, minLrRatio: cfg.minLrRatio };

  // --- state: fresh or resumed ---------------------------------------------------
  const fp = fingerprint(cfg, world, total, trainIdx.length, C);
  let st: TrainerState = { step: 0, loader: { epoch: 0, cursor: 0 }, samplesSeen: 0, best: null, evalsWithoutImprovement: 0, losses: [], evals: [], fingerprint: fp };
  const saved = o.resume && o.checkpoints ? await o.checkpoints.loadLast() : null;
  if (saved) {
    checkFingerprint(saved.trainer.fingerprint, fp);
    await session.setTrainableState(saved.model);
    st = saved.trainer;
  }
  const resumedFrom = st.step;
  const losses: number[] = [...st.losses];
  const sampler = new RankSampler(trainIdx, cfg.batchSize, world, dist?.rank ?? 0, cfg.seed, st.loader);
  const reads = serialReads(source);
  const batches = new Prefetcher<LoadedBatch<B>>(() => loadBatch(sampler.next(), reads, encode, cfg.augment, cfg.seed), cfg.prefetch);

  // --- logging -----------------------------------------------------------------------
  const logDir = resolve(cfg.logDir ?? join(cfg.ckptDir, 'logs'));
  const jsonl = lead ? new JsonlLogger(join(logDir, 'metrics.jsonl')) : null;
  const tb = lead ? new SummaryWriter(logDir) : null;
  const progress = o.progress === null || !lead ? null : new Progress({ total, startStep: resumedFrom, stream: o.progress ?? process.stderr, every: cfg.logEvery });
  const say = (m: string) => (progress ? progress.log(m) : undefined);
  jsonl?.log({ event: 'start', resumedFrom, total, trainSamples: trainIdx.length, valSamples: valIdx.length, split, config: cfg });
  const dirs: { last?: string; best?: string } = {};

  const timing = { evalSeconds: 0, evalSamples: 0, saveSeconds: null as number | null };
  const runEval = async (step: number) => {
    const e0 = performance.now();
    const report = await evaluate({ session, source, encode, indices: valIdx, batchSize: cfg.batchSize });
    timing.evalSeconds += (performance.now() - e0) / 1000;
    timing.evalSamples += valIdx.length;
    const rec: EvalRecord = { step, loss: report.loss, accuracy: report.accuracy, macroF1: report.macroF1 };
    const value = rec[cfg.bestMetric];
    const better = (a: number, b: number) => (cfg.bestMetric === 'loss' ? a < b : a > b);
    const isBest = st.best === null || better(value, st.best.value);
    const improved = earlyStoppingImproved(st.evals, rec, cfg.earlyStopping);
    st = {
      ...st,
      evals: [...st.evals, rec],
      best: isBest ? { metric: cfg.bestMetric, value, step } : st.best,
      evalsWithoutImprovement: improved ? 0 : st.evalsWithoutImprovement + 1,
    };
    say(`eval @ step ${step}: loss ${rec.loss.toFixed(4)} accuracy ${rec.accuracy.toFixed(3)} macro-F1 ${rec.macroF1.toFixed(3)}${isBest ? ' (best)' : ''}`);
    jsonl?.log({ event: 'eval', ...rec, perClass: report.perClass, confusion: report.confusion });
    tb?.addScalars({ 'val/loss': rec.loss, 'val/accuracy': rec.accuracy, 'val/macro_f1': rec.macroF1 }, step);
    o.onEval?.({ ...rec, report });
    return { report, isBest };
  };
  const save = async (isBest: boolean, metrics: Record<string, number>) => {
    if (!o.checkpoints || !lead) return;
    const c0 = performance.now();
    const payload = { trainer: st, model: await session.getTrainableState(), metrics };
    dirs.last = await o.checkpoints.save('last', payload);
    if (isBest) dirs.best = await o.checkpoints.save('best', payload);
    timing.saveSeconds = Math.max(timing.saveSeconds ?? 0, (performance.now() - c0) / 1000);
  };

  // The TensorBoard writer is closed however the run ends (a diverged step, a data error).
  try {
    // --- the loop ------------------------------------------------------------------------
    const t0 = performance.now();
    let final: ClassificationReport | null = null;
    let stoppedEarly = false;
    let interrupted = false;
    for (let step = st.step; ; step++) {
      const lr = learningRate(step, sched);
      const last = step === total;
      let savedNow = false;
      const evalDue = (cfg.evalEvery > 0 && step > resumedFrom && step % cfg.evalEvery === 0) || last;
      if (evalDue && valIdx.length > 0) {
        savedNow = true;
        const { report, isBest } = await runEval(step);
        final = report;
        await save(isBest, { val_loss: report.loss, val_accuracy: report.accuracy, val_macro_f1: report.macroF1 });
        if (o.stopWhen?.(st.evals[st.evals.length - 1]!) && !last) {
          say(`stopping at step ${step}: the target was reached`);
          stoppedEarly = true;
          break;
        }
        if (cfg.earlyStopping && st.evalsWithoutImprovement >= cfg.earlyStopping.patience && !last) {
          say(`early stopping at step ${step}: ${cfg.earlyStopping.metric} did not improve for ${cfg.earlyStopping.patience} evaluations`);
          stoppedEarly = true;
          break;
        }
      } else if ((cfg.saveEvery > 0 && step > resumedFrom && step % cfg.saveEvery === 0) || (last && valIdx.length === 0)) {
        savedNow = true;
        await save(false, {});
      }
      if (last) break;
      // Every rank must stop at the same step: one rank's SIGINT is everyone's.
      let aborted = o.signal?.aborted ?? false;
      if (dist) {
        const flag = Float32Array.of(aborted ? 1 : 0);
        await dist.allReduce(flag, 'sum');
        aborted = flag[0]! > 0;
      }
      if (aborted) {
        // After this step's evaluation, so the resumed run does not evaluate it again.
        if (!savedNow) await save(false, {});
        interrupted = true;
        say(`interrupted at step ${step}; resumable checkpoint in ${dirs.last ?? '(no checkpoint dir)'}`);
        break;
      }

      let loss = 0;
      let gradNorm: number;
      let nonFinite: boolean | undefined;
      let samples = 0;
      if (cfg.gradAccum === 1 && !dist) {
        const b = await batches.next();
        ({ loss, gradNorm, nonFinite } = await session.step(b.batch, lr));
        samples = b.labels.length;
        st = { ...st, loader: b.plan.after };
      } else {
        for (let micro = 0; micro < cfg.gradAccum; micro++) {
          const b = await batches.next();
          loss += (await session.accumulate(b.batch)).loss / cfg.gradAccum;
          samples += b.labels.length;
          st = { ...st, loader: b.plan.after };
        }
        let paramNorm: number | undefined;
        if (dist) {
          // One flat all-reduce (mean over ranks) of the accumulated gradients, then the
          // same clip + AdamW graph as a single process runs, on every rank.
          await session.allReduceGradients!(dist);
          const l = Float32Array.of(loss);
          await dist.allReduce(l, 'mean');
          loss = l[0]!;
          samples *= world;
        }
        ({ gradNorm, nonFinite, paramNorm } = await session.apply(lr));
        if (dist && paramNorm !== undefined && ((step + 1) % REPLICA_CHECK_EVERY === 0 || step + 1 === total)) await checkSameOnAllRanks(dist, paramNorm, { what: 'parameter norms', when: `after step ${step + 1}` });
      }
      // Checked before anything of this step is recorded: a diverged step is never saved.
      if (nonFinite || !Number.isFinite(loss) || !Number.isFinite(gradNorm)) throw new NonFiniteLossError(step, loss, dirs.last, gradNorm);

      losses.push(loss); // one array for the run: no copy per step
      st = { ...st, step: step + 1, samplesSeen: st.samplesSeen + samples, losses };
      const seconds = (performance.now() - t0) / 1000;
      const runSamples = st.samplesSeen - (saved?.trainer.samplesSeen ?? 0);
      progress?.update({ step: step + 1, loss, lr, samples: runSamples });
      jsonl?.log({ event: 'step', step: step + 1, loss, lr, gradNorm, samplesPerSecond: runSamples / seconds, dataWait: batches.waitSeconds });
      tb?.addScalars({ 'train/loss': loss, 'train/lr': lr, 'train/grad_norm': gradNorm }, step + 1);
      o.onStep?.({ step: step + 1, loss, gradNorm, lr });
    }
    progress?.done();

    // --- summary -------------------------------------------------------------------------
    const seconds = (performance.now() - t0) / 1000;
    const runSamples = st.samplesSeen - (saved?.trainer.samplesSeen ?? 0);
    if (final) {
      say(renderReport(final));
      say(renderConfusion(final));
      tb?.addText('val/report', '```\n' + renderReport(final) + '\n\n' + renderConfusion(final) + '\n```', st.step);
      const img = await svgToPng(confusionSvg(final.confusion, `validation confusion @ step ${st.step}`));
      tb?.addImage('val/confusion', img.png, img, st.step);
    }
    jsonl?.log({ event: 'end', steps: st.step, stoppedEarly, interrupted, best: st.best, seconds, samplesPerSecond: runSamples / seconds, dataWaitSeconds: batches.waitSeconds });
    return {
      steps: st.step,
      losses: st.losses,
      evals: st.evals,
      final,
      best: st.best,
      stoppedEarly,
      interrupted,
      resumedFrom,
      split,
      trainSamples: trainIdx.length,
      valSamples: valIdx.length,
      samplesPerSecond: seconds > 0 ? runSamples / seconds : 0,
      dataWaitShare: seconds > 0 ? batches.waitSeconds / seconds : 0,
      logDir,
      checkpointDirs: dirs,
      evalSecondsPerSample: timing.evalSamples > 0 ? timing.evalSeconds / timing.evalSamples : null,
      checkpointWriteSeconds: timing.saveSeconds,
    };
  } catch (e) {
    jsonl?.log({ event: 'error', step: st.step, message: (e as Error).message });
    throw e;
  } finally {
    tb?.close();
  }
}
