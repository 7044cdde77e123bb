// `vlreward train`: fine-tune the reward classifier. Flags win over the seed's
// environment variables, which win over the trainer's defaults. Without --root
// (and LEROBOT_ROOT) it trains on the embedded default: a synthetic LeRobot dataset
// and the tiny Qwen3-VL, both written once under ~/.cache/vlreward/embedded.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { writeSyntheticDataset } from '@vlreward/dataset';
import { localRanksCommand, readLaunch } from '@vlreward/graph/distributed';
import type { LoraConfig, LoraModule } from '@vlreward/model';
import {
  DEFAULT_AUGMENT,
  DEFAULT_CONFIG,
  trainRewardModel,
  vlrewardCacheDir,
  writeTinyModel,
  type MetricName,
  type TrainConfig,
  type DatasetOptions,
  type TrainRewardResult,
} from '@vlreward/trainer';
import { numberFlag, parseFlags, UsageError, type Command } from '../command.js';
import { DEFAULT_MODEL, ENV_HELP, defaultProcessorDir, readSeedEnv } from '../env.js';

export const TRAIN_FLAGS = {
  root: { type: 'string' },
  model: { type: 'string' },
  processor: { type: 'string' },
  mode: { type: 'string' },
  'num-classes': { type: 'string' },
  'max-train-samples': { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  epochs: { type: 'string' },
  'max-steps': { type: 'string' },
  'ckpt-dir': { type: 'string' },
  'log-dir': { type: 'string' },
  schedule: { type: 'string' },
  warmup: { type: 'string' },
  'grad-accum': { type: 'string' },
  seed: { type: 'string' },
  'val-fraction': { type: 'string' },
  'eval-every': { type: 'string' },
  'early-stopping': { type: 'string' },
  'best-metric': { type: 'string' },
  'class-weights': { type: 'boolean' },
  'gradient-checkpointing': { type: 'boolean' },
  augment: { type: 'boolean' },
  precision: { type: 'string' },
  device: { type: 'string' },
  'min-pixels': { type: 'string' },
  'max-pixels': { type: 'string' },
  'frame-stride': { type: 'string' },
  cameras: { type: 'string' },
  'label-column': { type: 'string' },
  'bin-edges': { type: 'string' },
  'skip-invalid-labels': { type: 'boolean' },
  resume: { type: 'boolean' },
  'nproc-per-node': { type: 'string' },
  workers: { type: 'string' },
  'lora-r': { type: 'string' },
  'lora-alpha': { type: 'string' },
  'lora-dropout': { type: 'string' },
  'lora-targets': { type: 'string' },
  'use-rslora': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const TRAIN_FLAGS_HELP = `data and model:
  --root DIR             LeRobot dataset root (env LEROBOT_ROOT; none: the embedded synthetic dataset)
  --model DIR|ID         Qwen3-VL folder or hub id (env QWEN3VL_MODEL; default ${DEFAULT_MODEL},
                         or the embedded tiny model when --root is not given either)
  --processor DIR        processor files for the tiny model (default ../shared/models/qwen3vl-processor)
  --mode lora|full       (env FINETUNE_MODE; default lora)
  --lora-r N, --lora-alpha X, --lora-dropout P   (16, 32, 0.05)  --use-rslora   (alpha/sqrt(r))
  --lora-targets A,B     projections to adapt (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)
  --num-classes N        (env NUM_CLASSES; default: length of the first reward_bins)
  --min-pixels N, --max-pixels N   per-image pixel budget of the processor
  --frame-stride N       use every N-th frame                     (default 1)
  --cameras A,B,C        camera features in order (default the three ALOHA cameras)
  --label-column C       label column (default reward_bins: argmax of the vector, as the seed)
  --bin-edges X,Y        digitize a scalar label column into len+1 bins (e.g. timestamp 2.5,5)
  --skip-invalid-labels  leave out rows whose label is NaN, ±inf, negative or out of range (default: error)
optimisation:
  --lr X (env LR, ${DEFAULT_CONFIG.lr})  --batch-size N (env BATCH_SIZE, ${DEFAULT_CONFIG.batchSize})  --grad-accum N (1)
  --epochs N (env EPOCHS, ${DEFAULT_CONFIG.epochs})  --max-steps N (env MAX_STEPS, ${DEFAULT_CONFIG.maxSteps}; wins over epochs)
  --max-train-samples N (env MAX_TRAIN_SAMPLES; all)
  --schedule constant|cosine|linear (${DEFAULT_CONFIG.schedule})  --warmup STEPS (0)  --seed N (0)
  --precision fp32|bf16|fp16 (fp32)  --device cpu|cuda|cuda:N|webgpu (cpu)
  --class-weights        weight the loss by inverse class frequency
  --gradient-checkpointing  recompute decoder layers / vision blocks in the backward pass (less memory)
  --augment              flip / colour jitter / resized crop (seeded)
validation and checkpoints:
  --val-fraction X (0.2 of the episodes)  --eval-every N (0 = at the end)
  --early-stopping METRIC:PATIENCE   e.g. accuracy:3, macroF1:2, loss:2
  --best-metric accuracy|macroF1|loss (accuracy)
  --ckpt-dir DIR (env CKPT_DIR; ${DEFAULT_CONFIG.ckptDir})  --log-dir DIR (<ckpt-dir>/logs)
  --resume               continue from the newest checkpoint in --ckpt-dir
  --nproc-per-node N     data parallel: start N local ranks under mpirun (or launch yourself:
                         mpirun -np N vlreward train …, torchrun-style env on GPUs; docs/DISTRIBUTED.md).
                         --batch-size is per rank; rank 0 logs and writes checkpoints
  --workers N            the same as --nproc-per-node N
  --json                 print the result as one JSON object`;

type TrainValues = ReturnType<typeof parseFlags<typeof TRAIN_FLAGS>>['values'];

const METRICS: readonly MetricName[] = ['accuracy', 'macroF1', 'loss'];

/** Flags + seed env → a partial TrainConfig (flags win). */
export function trainConfigFrom(v: TrainValues, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Partial<TrainConfig> {
  const e = readSeedEnv(env, cwd, { mode: false });
  const int = (name: string, raw: string | undefined, min = 1) => numberFlag(name, raw, { integer: true, min });
  const c: Partial<TrainConfig> = {};
  const set = <K extends keyof TrainConfig>(k: K, v: TrainConfig[K] | undefined) => {
    if (v !== undefined) c[k] = v;
  };
  const mode = v.mode ?? e.finetuneMode;
  if (mode !== undefined && mode !== 'lora' && mode !== 'full') throw new UsageError(`--mode '${mode}': expected lora or full`);
  set('mode', mode);
  set('numClasses', int('num-classes', v['num-classes'], 2) ?? e.numClasses);
  set('maxTrainSamples', int('max-train-samples', v['max-train-samples']) ?? e.maxTrainSamples);
  set('batchSize', int('batch-size', v['batch-size']) ?? e.batchSize);
  set('lr', numberFlag('lr', v.lr, { min: 0 }) ?? e.lr);
  set('epochs', int('epochs', v.epochs) ?? e.epochs);
  set('maxSteps', int('max-steps', v['max-steps']) ?? e.maxSteps);
  set('ckptDir', v['ckpt-dir'] ? resolve(cwd, v['ckpt-dir']) : e.ckptDir);
  set('logDir', v['log-dir'] ? resolve(cwd, v['log-dir']) : undefined);
  if (v.schedule !== undefined && !['constant', 'cosine', 'linear'].includes(v.schedule)) throw new UsageError(`--schedule '${v.schedule}': expected constant, cosine or linear`);
  set('schedule', v.schedule as TrainConfig['schedule'] | undefined);
  set('warmupSteps', int('warmup', v.warmup, 0));
  set('gradAccum', int('grad-accum', v['grad-accum']));
  set('seed', int('seed', v.seed, 0));
  set('valFraction', numberFlag('val-fraction', v['val-fraction'], { min: 0 }));
  set('evalEvery', int('eval-every', v['eval-every'], 0));
  if (v['early-stopping'] !== undefined) {
    const m = /^(accuracy|macroF1|loss):(\d+)$/.exec(v['early-stopping']);
    if (!m) throw new UsageError(`--early-stopping '${v['early-stopping']}': expected METRIC:PATIENCE with METRIC accuracy, macroF1 or loss (e.g. accuracy:3)`);
    const metric = m[1] as MetricName;
    c.earlyStopping = { metric, patience: Number(m[2]), mode: metric === 'loss' ? 'min' : 'max', minDelta: 0 };
  }
  if (v['best-metric'] !== undefined) {
    if (!METRICS.includes(v['best-metric'] as MetricName)) throw new UsageError(`--best-metric '${v['best-metric']}': expected ${METRICS.join(', ')}`);
    c.bestMetric = v['best-metric'] as MetricName;
  }
  if (v['class-weights']) c.classWeights = true;
  if (v['gradient-checkpointing']) c.gradientCheckpointing = true;
  if (v.augment) c.augment = DEFAULT_AUGMENT;
  if (v.precision !== undefined && !['fp32', 'bf16', 'fp16'].includes(v.precision)) throw new UsageError(`--precision '${v.precision}': expected fp32, bf16 or fp16`);
  set('precision', v.precision as TrainConfig['precision'] | undefined);
  if (v.device !== undefined && !/^(cpu|cuda(:\d+)?|webgpu)$/.test(v.device)) throw new UsageError(`--device '${v.device}': expected cpu, cuda, cuda:N or webgpu`);
  set('device', v.device);
  return c;
}

/** --cameras / --label-column / --bin-edges / --frame-stride → dataset view options. */
export function datasetOptionsFrom(v: { cameras?: string; 'label-column'?: string; 'bin-edges'?: string; 'frame-stride'?: string; 'skip-invalid-labels'?: boolean }): DatasetOptions {
  // skipInvalidLabels is an AlohaRewardDatasetOptions key the trainer passes through to AlohaRewardDataset.open.
  const o: { cameras?: string[]; labelColumn?: string; binning?: { edges: number[] }; frameStride?: number; skipInvalidLabels?: boolean } = {};
  if (v['skip-invalid-labels']) o.skipInvalidLabels = true;
  if (v.cameras) o.cameras = v.cameras.split(',').map((c) => c.trim()).filter(Boolean);
  if (v['label-column']) o.labelColumn = v['label-column'];
  if (v['bin-edges']) {
    const edges = v['bin-edges'].split(',').map((x) => numberFlag('bin-edges', x)!);
    if (edges.some((e, i) => i > 0 && e <= edges[i - 1]!)) throw new UsageError(`--bin-edges '${v['bin-edges']}': expected ascending numbers`);
    o.binning = { edges };
  }
  const stride = numberFlag('frame-stride', v['frame-stride'], { integer: true, min: 1 });
  if (stride) o.frameStride = stride;
  return o;
}

export interface EmbeddedAssets {
  readonly root: string;
  readonly model: string;
}

/** The embedded default: a synthetic LeRobot dataset and the tiny Qwen3-VL under `dir` (written once, reused). */
export async function embeddedAssets(dir: string, processorDir: string, o: { episodes?: number; frames?: number; codec?: 'av1' | 'h264'; log?: (s: string) => void } = {}): Promise<EmbeddedAssets> {
  const root = join(dir, 'dataset');
  const model = join(dir, 'tiny-qwen3vl');
  if (!existsSync(join(root, 'meta', 'info.json'))) {
    o.log?.(`writing a synthetic LeRobot dataset to ${root} …`);
    await writeSyntheticDataset({ root, episodes: o.episodes ?? 10, frames: o.frames ?? 20, codec: o.codec ?? 'h264', size: 64, numClasses: 3, seed: 1 });
  }
  if (!existsSync(join(model, 'model.safetensors'))) {
    o.log?.(`writing the tiny Qwen3-VL (random weights, real tokenizer) to ${model} …`);
    await writeTinyModel(model, { processorDir, seed: 0 });
  }
  return { root, model };
}

/** The image budget the embedded tiny model trains with (64×64 frames: 4 tokens per image). */
export const EMBEDDED_PIXELS = { minPixels: 64 * 64, maxPixels: 64 * 64 };

export function printTrainResult(r: TrainRewardResult, log: (s: string) => void = console.log): void {
  log('');
  log(`trained ${r.steps} steps (${r.resumedFrom > 0 ? `resumed from ${r.resumedFrom}, ` : ''}${r.trainSamples} training / ${r.valSamples} validation samples, ${r.samplesPerSecond.toFixed(2)} samples/s, data wait ${(100 * r.dataWaitShare).toFixed(0)}%)`);
  if (r.final) {
    log(`validation accuracy ${r.final.accuracy.toFixed(3)}, macro-F1 ${r.final.macroF1.toFixed(3)}, loss ${r.final.loss!.toFixed(4)} (chance ≈ ${(1 / r.numClasses).toFixed(3)})`);
  }
  if (r.best) log(`best ${r.best.metric} ${r.best.value.toFixed(3)} at step ${r.best.step}`);
  const p = r.phases;
  const ttfs = p.loadModel + p.openData + p.buildArtifacts + p.createSessions + p.firstStep;
  log(
    `time to first step ${ttfs.toFixed(1)} s (weights ${p.loadModel.toFixed(1)} s, processor ${p.openData.toFixed(1)} s, graphs ${p.buildArtifacts.toFixed(1)} s, ` +
      `ORT sessions ${p.createSessions.toFixed(1)} s (optimized-graph cache: ${p.graphCache}), first step ${p.firstStep.toFixed(1)} s); steady step ${Number.isFinite(p.steadyStep) ? `${p.steadyStep.toFixed(2)} s` : 'n/a'}; peak RSS ${(p.peakRssMiB / 1024).toFixed(2)} GiB`,
  );
  if (r.evalSecondsPerSample !== null || r.checkpointWriteSeconds !== null) {
    log(`evaluation ${r.evalSecondsPerSample === null ? 'n/a' : `${r.evalSecondsPerSample.toFixed(2)} s/sample`}, checkpoint write ${r.checkpointWriteSeconds === null ? 'n/a' : `${r.checkpointWriteSeconds.toFixed(2)} s`}`);
  }
  log(`checkpoints: ${r.ckptDir}${r.checkpointDirs.best ? ` (best: ${r.checkpointDirs.best})` : ''}`);
  log(`logs: ${r.logDir}/metrics.jsonl and TensorBoard event files (tensorboard --logdir ${r.logDir})`);
}

/** --lora-* flags → LoRA overrides (validated by the model's makeLoraConfig). */
function loraFrom(v: TrainValues): Partial<LoraConfig> | undefined {
  const o: { -readonly [K in keyof LoraConfig]?: LoraConfig[K] } = {};
  const r = numberFlag('lora-r', v['lora-r'], { integer: true, min: 1 });
  const alpha = numberFlag('lora-alpha', v['lora-alpha']);
  const dropout = numberFlag('lora-dropout', v['lora-dropout'], { min: 0 });
  if (r !== undefined) o.r = r;
  if (alpha !== undefined) o.alpha = alpha;
  if (dropout !== undefined) o.dropout = dropout;
  if (v['lora-targets'] !== undefined) o.targetModules = v['lora-targets'].split(',').map((t) => t.trim()).filter(Boolean) as LoraModule[];
  if (v['use-rslora']) o.useRslora = true;
  return Object.keys(o).length ? o : undefined;
}

/** `--nproc-per-node N`: the same command as N local ranks under mpirun; its exit status is ours. */
async function runLocalRanks(np: number, argv: readonly string[]): Promise<number> {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--nproc-per-node' || a === '--workers') i++;
    else if (!a.startsWith('--nproc-per-node=') && !a.startsWith('--workers=')) rest.push(a);
  }
  const { command, args } = localRanksCommand(np, [process.execPath, ...process.execArgv, process.argv[1]!, 'train', ...rest]);
  console.error(`starting ${np} ranks: ${command} ${args.join(' ')}`);
  const child = spawn(command, args, { stdio: 'inherit' });
  // Ctrl-C reaches every rank through mpirun; the ranks agree on the step to stop at.
  const forward = () => child.kill('SIGINT');
  process.on('SIGINT', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      // Killed by a signal: the shell's convention, 128 + its number.
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)));
    });
  } finally {
    process.removeListener('SIGINT', forward);
  }
}

export const train: Command = {
  name: 'train',
  summary: 'fine-tune Qwen3-VL into a reward classifier (LoRA or full) on a LeRobot dataset',
  help: `usage: vlreward train [--root DIR] [--model DIR|ID] [flags]
       MODE=train MAX_STEPS=100 vlreward      (the seed's style)

${TRAIN_FLAGS_HELP}

${ENV_HELP}`,
  async run(argv) {
    const { values: v } = parseFlags(argv, TRAIN_FLAGS);
    const nproc = numberFlag('nproc-per-node', v['nproc-per-node'], { integer: true, min: 1 }) ?? numberFlag('workers', v.workers, { integer: true, min: 1 });
    if (nproc !== undefined && nproc > 1) {
      if (readLaunch(process.env).launcher !== 'none') throw new UsageError(`--nproc-per-node ${nproc}: this process was already started by a launcher (mpirun / torchrun-style env); drop the flag`);
      return runLocalRanks(nproc, argv);
    }
    const config = trainConfigFrom(v);
    const env = readSeedEnv(process.env, process.cwd(), { mode: false });
    let root = v.root ?? process.env.LEROBOT_ROOT;
    let model = v.model ?? env.model;
    let processor = v.processor;
    let pixels: { minPixels?: number; maxPixels?: number } = {};
    if (!root) {
      const proc = defaultProcessorDir(v.processor);
      const assets = await embeddedAssets(join(vlrewardCacheDir(), 'embedded'), proc, { log: (s) => console.error(s) });
      root = assets.root;
      if (!model) {
        model = assets.model;
        pixels = EMBEDDED_PIXELS;
        console.error(`no --root: training the embedded tiny Qwen3-VL on the synthetic dataset (real data: --root DIR, real model: --model DIR|ID)`);
      }
    }
    const minPixels = numberFlag('min-pixels', v['min-pixels'], { integer: true, min: 1 }) ?? pixels.minPixels;
    const maxPixels = numberFlag('max-pixels', v['max-pixels'], { integer: true, min: 1 }) ?? pixels.maxPixels;
    const dataset = datasetOptionsFrom(v);
    const ac = new AbortController();
    const onSignal = () => {
      console.error('\ninterrupt: finishing this step and saving a resumable checkpoint (Ctrl-C again to abort at once)');
      ac.abort();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    try {
      const r = await trainRewardModel({
        root,
        model: model ?? DEFAULT_MODEL,
        ...(processor ? { processor } : {}),
        config,
        ...(minPixels ? { minPixels } : {}),
        ...(maxPixels ? { maxPixels } : {}),
        dataset,
        ...(v.resume ? { resume: true } : {}),
        ...(loraFrom(v) ? { lora: loraFrom(v)! } : {}),
        signal: ac.signal,
      });
      if (readLaunch(process.env).rank !== 0) return r.interrupted ? 130 : 0; // rank 0 alone reports
      if (v.json) console.log(JSON.stringify({ steps: r.steps, final: r.final, best: r.best, evals: r.evals, losses: r.losses, ckptDir: r.ckptDir, checkpoints: r.checkpointDirs, logDir: r.logDir, samplesPerSecond: r.samplesPerSecond, dataWaitShare: r.dataWaitShare, phases: r.phases, evalSecondsPerSample: r.evalSecondsPerSample, checkpointWriteSeconds: r.checkpointWriteSeconds, interrupted: r.interrupted, stoppedEarly: r.stoppedEarly }));
      else printTrainResult(r);
      return r.interrupted ? 130 : 0;
    } finally {
      process.removeListener('SIGINT', onSignal);
    }
  },
};
