// The whole product path as library calls (the CLI and the examples are thin shells
// over these): base model on disk → dataset → processor → reward session → train →
// checkpoints; and checkpoint → reward model → evaluate / predict / reward curve.

import { existsSync, mkdirSync, copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CheckpointManager, loadCheckpoint, PROCESSOR_FILES, type LoadedCheckpoint } from '@vlreward/checkpoint';
import { AlohaRewardDataset, type AlohaRewardDatasetOptions } from '@vlreward/dataset';
import { writeSafetensors, type TensorData } from '@vlreward/graph';
import { initCollective, type Collective } from '@vlreward/graph/distributed';
import {
  loadQwen3VL,
  loraConfigFromPeft,
  peftFieldsFromLora,
  parseQwen3VLConfig,
  randomQwen3VLWeights,
  tinyQwen3VLConfig,
  type LoraConfig,
  type Qwen3VLConfigJson,
  type Qwen3VLConfigOverrides,
} from '@vlreward/model';
import { Qwen3VLProcessor, resolveModelDir } from '@vlreward/processor';
import { rewardCheckpointStore, trainedParamsFromCheckpoint } from './checkpoints.js';
import { resolveConfig, type TrainConfig } from './config.js';
import { evaluate } from './evaluate.js';
import { classWeightsFromHistogram, labelHistogram, type ClassificationReport } from './metrics.js';
import { predictionFromLogits, writeRewardCurve, type CurveRow, type Prediction } from './predict.js';
import { RewardModelSession } from './reward_model.js';
import { alohaSource } from './sources.js';
import { firstBatchIndices, planSamples, train, type TrainOptions, type TrainResult } from './train.js';
import type { EncodeFn, RewardSample } from './types.js';

export interface BaseModel {
  readonly dir: string;
  readonly configJson: Qwen3VLConfigJson;
  readonly weights: Map<string, TensorData>;
}

/** Loads a Qwen3-VL model folder (HF layout) or hub id (HF cache) as float32 weights: model's loadQwen3VL, the one loader. */
export async function loadBaseModel(model: string): Promise<BaseModel> {
  const { dir, configJson, weights } = await loadQwen3VL(model);
  return { dir, configJson, weights };
}

/**
 * Writes a tiny, randomly initialised Qwen3-VL (real architecture, real tokenizer) as an
 * ordinary HF model folder: config.json, model.safetensors and the processor files.
 * Everything downstream then treats it like any real model directory.
 */
export async function writeTinyModel(dir: string, o: { processorDir: string; seed?: number; overrides?: Qwen3VLConfigOverrides }): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const configJson = tinyQwen3VLConfig(o.overrides ?? {});
  const weights = randomQwen3VLWeights(parseQwen3VLConfig(configJson), o.seed ?? 0);
  await writeSafetensors(join(dir, 'model.safetensors'), weights, { format: 'pt' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson, null, 2) + '\n');
  const present = new Set(readdirSync(o.processorDir));
  const files = PROCESSOR_FILES.filter((f) => present.has(f) && f !== 'config.json');
  if (!files.includes('tokenizer.json')) throw new Error(`processor dir ${o.processorDir}: no tokenizer.json (expected the Qwen3-VL processor files)`);
  for (const f of files) copyFileSync(join(o.processorDir, f), join(dir, f));
  return dir;
}

export interface ImageOptions {
  /** processor min/max pixels per image (fewer = fewer image tokens = faster; default the model's preprocessor_config). */
  readonly minPixels?: number;
  readonly maxPixels?: number;
}

/** Dataset view options that training, evaluation and prediction must share. */
export type DatasetOptions = Pick<AlohaRewardDatasetOptions, 'cameras' | 'labelColumn' | 'binning' | 'frameStride' | 'skipInvalidLabels'>;

export interface TrainRewardOptions extends ImageOptions {
  /** LeRobot dataset root. */
  readonly root: string;
  /** Base model folder or hub id (QWEN3VL_MODEL). */
  readonly model: string;
  /** Processor files (default: the model folder). */
  readonly processor?: string;
  readonly config?: Partial<TrainConfig>;
  readonly dataset?: DatasetOptions;
  readonly resume?: boolean;
  readonly signal?: AbortSignal;
  readonly progress?: TrainOptions<unknown>['progress'];
  readonly onStep?: TrainOptions<unknown>['onStep'];
  readonly onEval?: TrainOptions<unknown>['onEval'];
  readonly stopWhen?: TrainOptions<unknown>['stopWhen'];
  readonly intraOpThreads?: number;
  /** LoRA hyper-parameters (mode 'lora'; default the seed's r=16, alpha=32, dropout 0.05, seven projections). */
  readonly lora?: Partial<LoraConfig>;
  /**
   * Data parallel: this process's rank in a group (mpirun / torchrun-style launch).
   * Default: initCollective() from the environment (a single process when not launched).
   */
  readonly collective?: Collective;
}

export interface TrainRewardResult extends TrainResult {
  readonly ckptDir: string;
  readonly numClasses: number;
  readonly classWeights: readonly number[] | null;
  /** Where the time went, in seconds (time to first step = the sum up to firstStep). */
  readonly phases: TrainPhases;
}

export interface TrainPhases {
  /** resolve + read config.json + weights as float32. */
  readonly loadModel: number;
  /** processor files. */
  readonly openData: number;
  /** training graphs (autodiff included). */
  readonly buildArtifacts: number;
  /** the ORT session(s) the first step runs (graph optimisation, memory planning); on CPU created for the first batch's shape. */
  readonly createSessions: number;
  /** ORT's optimized-graph cache for those sessions: 'hit' (rewrites skipped), 'written' (first run), 'off'. */
  readonly graphCache: 'hit' | 'written' | 'off';
  /** from the loop's start to the end of the first step (first batch decode + encode + step). */
  readonly firstStep: number;
  /** median of the later steps (NaN with fewer than 2 steps). */
  readonly steadyStep: number;
  /** peak resident memory of this process (VmHWM), MiB. */
  readonly peakRssMiB: number;
}

/** Seconds since the previous call (the first call: since creation). */
function phaseClock(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const s = (now - last) / 1000;
    last = now;
    return s;
  };
}

/** VmHWM of this process in MiB (Linux), else the current RSS. */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss / 2 ** 20;
}

/**
 * Sequence lengths are padded up to a multiple of this: prompts of different tasks (a few
 * tokens apart) then share one batch shape, so one shape-specialized session serves them.
 */
export const SEQ_PAD_MULTIPLE = 64;

/** Processor encode as an EncodeFn over trainer samples. */
export function processorEncode(proc: Qwen3VLProcessor): EncodeFn<ReturnType<Qwen3VLProcessor['encode']>> {
  return (samples: readonly RewardSample[]) => proc.encode(samples, { padToMultipleOf: SEQ_PAD_MULTIPLE });
}

export async function trainRewardModel(o: TrainRewardOptions): Promise<TrainRewardResult> {
  const cfg = resolveConfig(o.config);
  const ckptDir = resolve(cfg.ckptDir);
  const ds = await AlohaRewardDataset.open(o.root, { ...(o.dataset ?? {}), ...(cfg.numClasses !== null ? { numClasses: cfg.numClasses } : {}) });
  const numClasses = ds.numClasses;
  if (numClasses < 2) throw new Error(`${o.root}: the label column gives ${numClasses} class(es); a classifier needs at least 2 (set NUM_CLASSES / --num-classes)`);
  const source = alohaSource(ds);
  const clock = phaseClock();
  const plan = planSamples(cfg, source);
  // The first batch's frames decode (ffmpeg) while the weights load; the loop's first read joins the
  // decode in flight or finds the frames in the dataset's cache. Not awaited, and a failure here is
  // ignored: the loop's own read reports it, naming the file.
  if (!o.resume) void source.getMany?.(firstBatchIndices(cfg, plan.trainIdx))?.catch(() => undefined);
  const base = await loadBaseModel(o.model);
  const loadModel = clock();
  const processorDir = o.processor ? await resolveModelDir(o.processor) : base.dir;
  const proc = await Qwen3VLProcessor.fromPretrained(processorDir, { ...(o.minPixels ? { minPixels: o.minPixels } : {}), ...(o.maxPixels ? { maxPixels: o.maxPixels } : {}) });
  const openData = clock();

  const episodes = Array.from({ length: source.length }, (_, i) => source.episodeOf(i));
  const { split } = plan;
  let classWeights: number[] | null = null;
  if (cfg.classWeights) {
    const trainEps = new Set(split.train);
    const labels = episodes.flatMap((e, i) => (trainEps.has(e) ? [ds.labelAt(i)] : []));
    classWeights = classWeightsFromHistogram(labelHistogram(labels, numClasses));
  }
  const optimizer = { weightDecay: cfg.weightDecay, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, maxGradNorm: cfg.clipNorm > 0 ? cfg.clipNorm : null };
  // One process per device; under mpirun (or a torchrun-style env with CUDA) this process is one rank.
  const collective = o.collective ?? (await initCollective({ device: cfg.device }));
  const rank = collective.rank;
  let session: RewardModelSession | undefined;
  try {
    session = await RewardModelSession.create({
      config: base.configJson,
      weights: base.weights,
      mode: cfg.mode,
      numClasses,
      seed: cfg.seed,
      // Same initialisation on every rank; each rank its own dropout masks (rank 0's are a single process's).
      dropoutSeed: cfg.seed + rank * 1_000_003,
      ...(o.lora ? { lora: o.lora } : {}),
      ...(cfg.gradientCheckpointing ? { checkpointing: true } : {}),
      classWeights,
      optimizer,
      precision: cfg.precision,
      device: cfg.device,
      ...(o.intraOpThreads ? { intraOpThreads: o.intraOpThreads } : {}),
    });
    const buildArtifacts = clock();
    // Create the sessions the first step runs now, so their cost is reported apart from the step's.
    // Shape-specialized sessions (CPU) are created for the first batch's dims, inside the first step;
    // the runner's creation seconds take them out of that step below.
    const fused = cfg.gradAccum === 1 && collective.size === 1;
    const firstKinds = fused ? (['train'] as const) : (['gradient', 'optimizer'] as const);
    if (!session.shapeSpecialized) await session.runner.prepare(firstKinds);
    const createdBeforeLoop = session.runner.sessionCreationSeconds;
    let createdByFirstStep = createdBeforeLoop;
    const encode: EncodeFn<unknown> = processorEncode(proc) as EncodeFn<unknown>;
    // adapter_config.json describes the adapter this session trains (not the defaults).
    const lora = session.lora;
    const best = bestMetricOf(cfg.bestMetric);
    const store = rewardCheckpointStore({
      root: ckptDir,
      mode: cfg.mode,
      ...(lora
        ? { lora: { ...peftFieldsFromLora(lora), task_type: 'CAUSAL_LM' } }
        : {}),
      baseModel: resolve(base.dir),
      modelConfig: base.configJson as unknown as Record<string, unknown>,
      processorDir,
      config: { train: cfg, dataset: resolve(o.root), datasetOptions: o.dataset ?? {}, split, numClasses, classWeights, minPixels: o.minPixels ?? null, maxPixels: o.maxPixels ?? null },
      metric: best.metric,
      metricMode: best.mode,
    });
    const stepEnds: number[] = [];
    const loopStart = performance.now();
    const result = await train({
      session,
      source,
      encode,
      config: cfg,
      split,
      checkpoints: store,
      ...(o.resume ? { resume: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.progress !== undefined ? { progress: o.progress } : {}),
      ...(collective.size > 1 ? { collective } : {}),
      onStep: (r) => {
        stepEnds.push(performance.now());
        if (stepEnds.length === 1) createdByFirstStep = session!.runner.sessionCreationSeconds;
        o.onStep?.(r);
      },
      ...(o.onEval ? { onEval: o.onEval } : {}),
      ...(o.stopWhen ? { stopWhen: o.stopWhen } : {}),
    });
    const gaps = stepEnds.slice(1).map((t, i) => (t - stepEnds[i]!) / 1000).sort((a, b) => a - b);
    const phases: TrainPhases = {
      loadModel,
      openData,
      buildArtifacts,
      createSessions: createdByFirstStep,
      graphCache: (await session.runner.optimizedCache(firstKinds[0])) ?? 'off',
      firstStep: stepEnds.length ? (stepEnds[0]! - loopStart) / 1000 - (createdByFirstStep - createdBeforeLoop) : NaN,
      steadyStep: gaps.length ? gaps[Math.floor(gaps.length / 2)]! : NaN,
      peakRssMiB: peakRssMiB(),
    };
    return { ...result, ckptDir, numClasses, classWeights, phases };
  } finally {
    // Whatever failed (session creation, the run), the sessions and the collective are released.
    await session?.dispose();
    if (!o.collective) await collective.close();
  }
}

/** A trained reward model loaded for scoring (every parameter frozen: the label-free infer graph, and eval for a loss). */
export interface RewardModel {
  readonly session: RewardModelSession;
  readonly processor: Qwen3VLProcessor;
  readonly encode: EncodeFn<ReturnType<Qwen3VLProcessor['encode']>>;
  readonly checkpoint: LoadedCheckpoint;
  readonly numClasses: number;
  /** per-image pixel budget the model was trained with. */
  readonly imageOptions: ImageOptions;
  /** cameras / label column / binning the model was trained with (from the manifest). */
  readonly datasetOptions: DatasetOptions;
  dispose(): Promise<void>;
}

/** The manifest metric and direction that rank "best" for a training config (one rule for the store and for resolving). */
export function bestMetricOf(bestMetric: TrainConfig['bestMetric']): { metric: string; mode: 'max' | 'min' } {
  return bestMetric === 'loss' ? { metric: 'val_loss', mode: 'min' } : { metric: bestMetric === 'macroF1' ? 'val_macro_f1' : 'val_accuracy', mode: 'max' };
}

/**
 * A checkpoint directory, or a CKPT_DIR holding checkpoint-<step> dirs: the best by
 * the metric the run ranked with (its manifests' train.bestMetric; ties go to the
 * earlier step, as the trainer records it), else the latest.
 */
export async function resolveCheckpointDir(path: string): Promise<string> {
  const dir = resolve(path);
  if (existsSync(join(dir, 'vlreward.json'))) return dir;
  const latest = await new CheckpointManager({ root: dir }).latest('size');
  if (!latest) throw new Error(`${dir}: no checkpoint here (expected vlreward.json, or checkpoint-<step> folders written by 'vlreward train')`);
  const train = (latest.entry.manifest?.config as { train?: Partial<TrainConfig> } | undefined)?.train;
  const { metric, mode } = bestMetricOf(train?.bestMetric ?? 'accuracy');
  const best = await new CheckpointManager({ root: dir, metric, mode }).best('size').catch(() => undefined);
  return (best ?? latest).entry.dir;
}

export async function loadRewardModel(path: string, o: { model?: string; device?: string; intraOpThreads?: number } & ImageOptions = {}): Promise<RewardModel> {
  const dir = await resolveCheckpointDir(path);
  const ck = await loadCheckpoint(dir, { optimizer: false });
  const modelRef = o.model ?? ck.manifest.baseModel;
  if (!modelRef) throw new Error(`${dir}: the manifest names no base model; pass --model`);
  const base = await loadBaseModel(modelRef);
  const trained = await trainedParamsFromCheckpoint(ck);
  const cfgRec = (ck.manifest.config ?? {}) as { minPixels?: number | null; maxPixels?: number | null };
  const imageOptions: ImageOptions = {
    ...(o.minPixels ?? cfgRec.minPixels ? { minPixels: (o.minPixels ?? cfgRec.minPixels)! } : {}),
    ...(o.maxPixels ?? cfgRec.maxPixels ? { maxPixels: (o.maxPixels ?? cfgRec.maxPixels)! } : {}),
  };
  const processor = await Qwen3VLProcessor.fromPretrained(ck.processorDir ?? base.dir, imageOptions);
  const numClasses = ck.head.numClasses;
  // The one PEFT → LoraConfig conversion (rsLoRA, regex targets, patterns honoured or refused, as chat does).
  const lora = ck.adapter ? loraConfigFromPeft(ck.adapter.config, parseQwen3VLConfig(base.configJson), join(dir, 'adapter_config.json'), ck.adapter.modules.keys()) : undefined;
  // Scoring: every parameter frozen, label-free infer graph (+ eval for a loss); no optimizer state.
  const session = await RewardModelSession.create({
    config: base.configJson,
    weights: base.weights,
    mode: ck.mode === 'full' ? 'full' : 'lora',
    numClasses,
    initial: new Map(Object.entries(trained)),
    ...(lora ? { lora } : {}),
    inference: true,
    device: o.device ?? 'cpu',
    ...(o.intraOpThreads ? { intraOpThreads: o.intraOpThreads } : {}),
  });
  return {
    session,
    processor,
    encode: processorEncode(processor),
    checkpoint: ck,
    numClasses,
    imageOptions,
    datasetOptions: ((ck.manifest.config ?? {}) as { datasetOptions?: DatasetOptions }).datasetOptions ?? {},
    dispose: () => session.dispose(),
  };
}

/** Metrics of a model on a dataset (all of it, or the validation episodes of a split). */
export async function evaluateRewardModel(
  m: RewardModel,
  root: string,
  o: { episodes?: readonly number[]; batchSize?: number; dataset?: DatasetOptions } = {},
): Promise<ClassificationReport & { loss: number }> {
  const ds = await AlohaRewardDataset.open(root, { ...(o.dataset ?? m.datasetOptions), numClasses: m.numClasses, ...(o.episodes ? { episodes: o.episodes } : {}) });
  return evaluate({ session: m.session, source: alohaSource(ds), encode: m.encode, batchSize: o.batchSize ?? 2 });
}

/** Class probabilities, predicted bin and expected reward for images + task text. */
export async function predictSample(m: RewardModel, images: RewardSample['images'], text: string): Promise<Prediction> {
  const r = await m.session.infer(m.processor.encode([{ images, text }], { padToMultipleOf: SEQ_PAD_MULTIPLE }));
  return predictionFromLogits(r.logits, m.numClasses)[0]!;
}

/** Per-frame reward curve of one episode; writes CSV / JSON / PNG into `outDir` when given. */
export async function predictEpisode(
  m: RewardModel,
  root: string,
  episode: number,
  o: { outDir?: string; batchSize?: number; frameStride?: number; dataset?: DatasetOptions } = {},
): Promise<{ rows: CurveRow[]; files?: { csv: string; json: string; png: string }; accuracy: number }> {
  const ds = await AlohaRewardDataset.open(root, { ...(o.dataset ?? m.datasetOptions), numClasses: m.numClasses, episodes: [episode], frameStride: o.frameStride ?? (o.dataset ?? m.datasetOptions).frameStride ?? 1 });
  if (ds.length === 0) throw new Error(`${root}: episode ${episode} has no frames (episodes: ${(await AlohaRewardDataset.open(root, { ...(o.dataset ?? m.datasetOptions), numClasses: m.numClasses })).episodeIndices().join(', ')})`);
  const rows: CurveRow[] = [];
  const bs = o.batchSize ?? 4;
  for (let s = 0; s < ds.length; s += bs) {
    const idx = Array.from({ length: Math.min(bs, ds.length - s) }, (_, k) => s + k);
    const samples = await ds.getMany(idx);
    const r = await m.session.infer(await m.encode(samples));
    predictionFromLogits(r.logits, m.numClasses).forEach((p, k) => {
      const smp = samples[k]!;
      rows.push({ episode, frame: smp.frameIndex, timestamp: smp.timestamp, label: smp.label, predicted: p.predicted, expected: p.expectedReward, probs: p.probs });
    });
  }
  const accuracy = rows.filter((r) => r.label === r.predicted).length / rows.length;
  const files = o.outDir ? await writeRewardCurve(o.outDir, `episode_${String(episode).padStart(6, '0')}`, rows, { numClasses: m.numClasses, title: `episode ${episode}: reward per frame (accuracy ${accuracy.toFixed(3)})` }) : undefined;
  return { rows, ...(files ? { files } : {}), accuracy };
}
