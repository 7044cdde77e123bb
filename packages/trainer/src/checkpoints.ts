// CheckpointStore over @vlreward/checkpoint's CheckpointManager: the trainer's payload
// (TrainerState + the model runner's TrainableState {step, params, m, v}) becomes a
// checkpoint Python can read — PEFT adapter (LoRA) or HF safetensors (full), the head in
// classifier.safetensors, AdamW moments in optimizer.safetensors, the trainer JSON in
// trainer_state.json, the processor files, and a manifest with metrics.

import {
  CheckpointManager,
  PEFT_PREFIX,
  parsePeftTensorName,
  type CheckpointContents,
  type LoadedCheckpoint,
  type PeftLoraConfig,
} from '@vlreward/checkpoint';
import type { TensorData } from '@vlreward/graph';
import type { CheckpointPayload, CheckpointStore, TrainerState } from './types.js';

/** The model runner's resumable state (@vlreward/model TrainingSession.getTrainableState). */
export interface ModelTrainableState {
  readonly step: number;
  readonly params: Readonly<Record<string, TensorData>>;
  readonly m: Readonly<Record<string, TensorData>>;
  readonly v: Readonly<Record<string, TensorData>>;
  readonly lossScale?: { readonly scale: number; readonly growthTracker: number };
}

export const HEAD_WEIGHT = 'classifier.weight';
export const HEAD_BIAS = 'classifier.bias';

export interface RewardCheckpointOptions {
  /** CKPT_DIR: checkpoints go to <root>/checkpoint-<step>. */
  readonly root: string;
  readonly mode: 'lora' | 'full';
  /** LoRA hyper-parameters for adapter_config.json (r, lora_alpha, lora_dropout, target_modules …). */
  readonly lora?: Partial<PeftLoraConfig>;
  /** Base model id or directory (adapter_config.json base_model_name_or_path, manifest). */
  readonly baseModel?: string;
  /** HF config.json written beside full weights. */
  readonly modelConfig?: Readonly<Record<string, unknown>>;
  /** Processor files copied into every checkpoint (self-contained reload). */
  readonly processorDir?: string;
  /** Class names for the head metadata. */
  readonly labels?: readonly string[];
  readonly keepLast?: number;
  /** Manifest metric that ranks "best" (default val_accuracy, larger is better). */
  readonly metric?: string;
  readonly metricMode?: 'max' | 'min';
  /** Free-form JSON recorded in each manifest (training config, CLI options). */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly versions?: Readonly<Record<string, string>>;
  readonly datasetFingerprint?: string;
}

/** Splits trainable params into head, LoRA modules and (full mode) model weights. */
export function checkpointContents(state: ModelTrainableState, o: RewardCheckpointOptions): Omit<CheckpointContents, 'state' | 'manifest'> {
  const weight = state.params[HEAD_WEIGHT];
  const bias = state.params[HEAD_BIAS];
  if (!weight || !bias) throw new Error(`checkpoint: the model state has no '${HEAD_WEIGHT}' / '${HEAD_BIAS}' (trainable params: ${Object.keys(state.params).slice(0, 5).join(', ')} …)`);
  const head = { weight, bias, ...(o.labels ? { labels: o.labels } : {}) };
  const processor = o.processorDir ? { processor: { dir: o.processorDir } } : {};
  if (o.mode === 'lora') {
    const modules = new Map<string, { A?: TensorData; B?: TensorData }>();
    for (const [name, t] of Object.entries(state.params)) {
      if (name === HEAD_WEIGHT || name === HEAD_BIAS) continue;
      const m = parsePeftTensorName(name);
      if (!m || !name.startsWith(PEFT_PREFIX)) throw new Error(`checkpoint: trainable parameter '${name}' is neither a LoRA factor (${PEFT_PREFIX}<module>.lora_A|B.weight) nor the head`);
      const e = modules.get(m.modulePath) ?? {};
      e[m.which] = t;
      modules.set(m.modulePath, e);
    }
    const full = new Map<string, { A: TensorData; B: TensorData }>();
    for (const [path, e] of modules) {
      if (!e.A || !e.B) throw new Error(`checkpoint: LoRA module '${path}' has only lora_${e.A ? 'A' : 'B'}`);
      full.set(path, { A: e.A, B: e.B });
    }
    const config = { ...(o.lora ?? {}), ...(o.baseModel ? { base_model_name_or_path: o.baseModel } : {}) };
    return { head, adapter: { config, modules: full }, ...processor };
  }
  const tensors = new Map(Object.entries(state.params).filter(([n]) => n !== HEAD_WEIGHT && n !== HEAD_BIAS));
  return { head, fullWeights: { tensors, ...(o.modelConfig ? { modelConfig: o.modelConfig } : {}) }, ...processor };
}

/** The trained parameters of a checkpoint by graph name (head, PEFT-named LoRA factors or full weights): what scoring needs, no optimizer state. */
export async function trainedParamsFromCheckpoint(ck: LoadedCheckpoint): Promise<Record<string, TensorData>> {
  const params: Record<string, TensorData> = { [HEAD_WEIGHT]: ck.head.weight, [HEAD_BIAS]: ck.head.bias };
  if (ck.adapter) {
    for (const [path, w] of ck.adapter.modules) {
      params[`${PEFT_PREFIX}${path}.lora_A.weight`] = w.A;
      params[`${PEFT_PREFIX}${path}.lora_B.weight`] = w.B;
    }
  } else if (ck.openFullWeights) {
    const dir = await ck.openFullWeights();
    try {
      for (const [n, t] of await dir.readAll()) params[n] = t;
    } finally {
      await dir.close();
    }
  }
  return params;
}

/** Rebuilds the model runner's TrainableState from a loaded checkpoint (the inverse of checkpointContents). */
export async function modelStateFromCheckpoint(ck: LoadedCheckpoint): Promise<ModelTrainableState> {
  const params = await trainedParamsFromCheckpoint(ck);
  const m: Record<string, TensorData> = {};
  const v: Record<string, TensorData> = {};
  const opt = ck.state?.optimizer;
  if (!opt) throw new Error(`${ck.dir}: no optimizer.safetensors, so training cannot resume from it (it is an inference checkpoint)`);
  for (const [n, mv] of opt.moments) {
    m[n] = mv.m;
    v[n] = mv.v;
  }
  const hyper = opt.hyper ?? {};
  const step = Number(hyper['modelStep'] ?? ck.state!.trainer.step);
  const lossScale = hyper['lossScale'] !== undefined ? { scale: Number(hyper['lossScale']), growthTracker: Number(hyper['growthTracker'] ?? 0) } : undefined;
  return { step, params, m, v, ...(lossScale ? { lossScale } : {}) };
}

export function rewardCheckpointStore(o: RewardCheckpointOptions): CheckpointStore & { manager: CheckpointManager } {
  const metric = o.metric ?? 'val_accuracy';
  const manager = new CheckpointManager({ root: o.root, keepLast: o.keepLast ?? 2, metric, mode: o.metricMode ?? 'max', keepBest: 1 });
  let lastSaved: { step: number; dir: string } | null = null;
  return {
    manager,
    async save(tag, payload: CheckpointPayload) {
      const tr = payload.trainer;
      // 'best' is the checkpoint just written for this step: the manager keeps it by metric.
      if (tag === 'best' && lastSaved?.step === tr.step) return lastSaved.dir;
      const st = payload.model as ModelTrainableState;
      const moments = new Map(Object.keys(st.m).map((n) => [n, { m: st.m[n]!, v: st.v[n]! }]));
      const hyper: Record<string, number> = { modelStep: st.step };
      if (st.lossScale) Object.assign(hyper, { lossScale: st.lossScale.scale, growthTracker: st.lossScale.growthTracker });
      const entry = await manager.save(tr.step, {
        ...checkpointContents(st, o),
        state: { trainer: { ...tr, epoch: tr.loader.epoch }, optimizer: { moments, hyper } },
        manifest: {
          ...(o.baseModel ? { baseModel: o.baseModel } : {}),
          metrics: payload.metrics,
          config: o.config ?? {},
          ...(o.versions ? { versions: o.versions } : {}),
          ...(o.datasetFingerprint ? { datasetFingerprint: o.datasetFingerprint } : {}),
        },
      });
      lastSaved = { step: tr.step, dir: entry.dir };
      return entry.dir;
    },
    async loadLast() {
      await manager.recover();
      const ck = await manager.loadLatest();
      if (!ck) return null;
      for (const s of ck.skipped) process.stderr.write(`skipped damaged checkpoint ${s.dir}: ${s.reason}\n`);
      const trainer = ck.state?.trainer as unknown as TrainerState | undefined;
      if (!trainer || typeof trainer.fingerprint !== 'string')
        throw new Error(`${ck.dir}: trainer_state.json was not written by the vlreward trainer (no fingerprint), cannot resume`);
      return { trainer, model: await modelStateFromCheckpoint(ck), metrics: ck.manifest.metrics ?? {} };
    },
  };
}
