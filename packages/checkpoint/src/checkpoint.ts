import { copyFile, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  openSafetensorsDir,
  writeSafetensorsSharded,
  type SafetensorsDir,
  type TensorData,
  type TensorMap,
} from '@vlreward/graph/io';
import { findLeftovers, pathExists, writeDirAtomic } from './atomic.js';
import { assertFiniteTensors, describeNonFinite, firstNonFinite } from './finite.js';
import { HEAD_FILE_NAME, readClassifierHead, writeClassifierHead, type ClassifierHead, type LoadedClassifierHead } from './head.js';
import { pythonJson, writeFileSynced } from './json.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_FORMAT_VERSION,
  MANIFEST_NAME,
  CorruptCheckpointError,
  describeFiles,
  verifyCheckpoint,
  type CheckpointManifest,
  type CheckpointMode,
  type ManifestInput,
  type VerifyLevel,
} from './manifest.js';
import {
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  peftTensorName,
  readPeftAdapter,
  writePeftAdapter,
  type PeftAdapter,
  type WritePeftAdapterOptions,
} from './peft.js';
import { OPTIMIZER_STATE_NAME, TRAINER_STATE_NAME, readResumeState, writeResumeState, type ResumeState } from './state.js';

/** Processor / tokenizer files of a Hugging Face model folder (Qwen3-VL ships these). */
export const PROCESSOR_FILES: readonly string[] = [
  'added_tokens.json',
  'chat_template.jinja',
  'chat_template.json',
  'merges.txt',
  'preprocessor_config.json',
  'processor_config.json',
  'special_tokens_map.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'video_preprocessor_config.json',
  'vocab.json',
];

/** Checkpoint full weights above this size are sharded (issue 7: "sharded with index.json at >2 GB"). */
export const CHECKPOINT_MAX_SHARD_BYTES = 2_000_000_000;

export interface FullWeights {
  /** Every model weight with its Hugging Face name (`model.language_model.…`, `model.visual.…`). */
  readonly tensors: TensorMap;
  /** The HF `config.json` to store beside them, so transformers loads the folder. */
  readonly modelConfig?: Readonly<Record<string, unknown>>;
  readonly maxShardBytes?: number;
}

export interface CheckpointContents {
  /** The reward head: always saved (a reload never gets a fresh random head). */
  readonly head: ClassifierHead;
  /** LoRA mode: the adapter in PEFT format. */
  readonly adapter?: WritePeftAdapterOptions;
  /** Full mode: all weights in HF safetensors layout. */
  readonly fullWeights?: FullWeights;
  /** Copy processor/tokenizer files from this folder (`files` defaults to those of PROCESSOR_FILES present). */
  readonly processor?: { readonly dir: string; readonly files?: readonly string[] };
  /** Trainer + optimizer state for resuming. */
  readonly state?: ResumeState;
  readonly manifest?: ManifestInput;
}

function modeOf(c: CheckpointContents): CheckpointMode {
  if (c.adapter && c.fullWeights) throw new Error('saveCheckpoint: give either adapter (LoRA mode) or fullWeights (full mode), not both');
  return c.adapter ? 'lora' : c.fullWeights ? 'full' : 'head';
}

async function copyProcessor(src: string, files: readonly string[] | undefined, dst: string): Promise<string[]> {
  if (!(await pathExists(src))) throw new Error(`saveCheckpoint: processor dir ${src} does not exist`);
  let names: string[];
  if (files) {
    for (const f of files) {
      if (basename(f) !== f) throw new Error(`saveCheckpoint: processor file '${f}' must be a plain file name in ${src}`);
      if (!(await pathExists(join(src, f)))) throw new Error(`saveCheckpoint: processor file ${join(src, f)} does not exist`);
    }
    names = [...files];
  } else {
    const present = new Set(await readdir(src));
    names = PROCESSOR_FILES.filter((f) => present.has(f));
    if (names.length === 0) {
      throw new Error(`saveCheckpoint: ${src} holds none of the processor files (${PROCESSOR_FILES.join(', ')})`);
    }
  }
  const reserved = new Set([MANIFEST_NAME, HEAD_FILE_NAME, ADAPTER_CONFIG_NAME, TRAINER_STATE_NAME, OPTIMIZER_STATE_NAME, 'config.json']);
  for (const f of names) {
    if (reserved.has(f)) throw new Error(`saveCheckpoint: processor file '${f}' would overwrite a checkpoint file`);
    await copyFile(join(src, f), join(dst, f));
  }
  return names;
}

function entriesOf<T>(m: ReadonlyMap<string, T> | Readonly<Record<string, T>>): [string, T][] {
  return m instanceof Map ? [...m] : Object.entries(m as Readonly<Record<string, T>>);
}

/** Every tensor a checkpoint file will hold, by file, under its saved name (the names the error reports). */
function* savedTensors(c: CheckpointContents): Generator<{ file: string; tensors: Iterable<readonly [string, TensorData]> }> {
  yield { file: HEAD_FILE_NAME, tensors: [['classifier.weight', c.head.weight], ['classifier.bias', c.head.bias]] };
  if (c.adapter) {
    const lora = entriesOf(c.adapter.modules).flatMap(([path, w]): [string, TensorData][] => [
      [peftTensorName(path, 'A'), w.A],
      [peftTensorName(path, 'B'), w.B],
    ]);
    yield { file: ADAPTER_WEIGHTS_NAME, tensors: [...lora, ...(c.adapter.extra ?? [])] };
  }
  if (c.fullWeights) yield { file: 'model weights (model*.safetensors)', tensors: entriesOf(c.fullWeights.tensors) };
  const opt = c.state?.optimizer;
  if (opt) yield { file: OPTIMIZER_STATE_NAME, tensors: optimizerTensors(opt) };
}

function adapterTensors(a: PeftAdapter): [string, TensorData][] {
  const out: [string, TensorData][] = [];
  for (const [path, w] of a.modules) out.push([peftTensorName(path, 'A'), w.A], [peftTensorName(path, 'B'), w.B]);
  return [...out, ...a.extra];
}

function optimizerTensors(opt: NonNullable<ResumeState['optimizer']>): [string, TensorData][] {
  const out: [string, TensorData][] = [];
  for (const [name, mv] of opt.moments) out.push([`${name}.exp_avg`, mv.m], [`${name}.exp_avg_sq`, mv.v]);
  for (const [name, t] of opt.extra ?? []) out.push([`extra/${name}`, t]);
  return out;
}

/** At most this many non-finite tensors are listed when a checkpoint is refused (a diverged run has hundreds). */
const MAX_NON_FINITE_LISTED = 8;

/** Problems for in-memory tensors of a loaded checkpoint holding NaN / Inf: file, tensor, first bad index and value. */
function nonFiniteProblems(parts: readonly { file: string; tensors: Iterable<readonly [string, TensorData]> }[]): string[] {
  const problems: string[] = [];
  let more = 0;
  for (const { file, tensors } of parts) {
    for (const [name, t] of tensors) {
      const bad = firstNonFinite(t);
      if (!bad) continue;
      if (problems.length < MAX_NON_FINITE_LISTED) problems.push(`${file}: ${describeNonFinite(name, t, bad)}`);
      else more++;
    }
  }
  if (more > 0) problems.push(`… and ${more} more non-finite tensor(s)`);
  return problems;
}

/**
 * The full weights of `dir`, opened lazily, with every tensor read checked for
 * NaN / Inf: they are scanned where they are read anyway (eval, predict,
 * export, resume read them all), not in an extra pass over gigabytes at load.
 */
async function openCheckedFullWeights(dir: string): Promise<SafetensorsDir> {
  const weights = await openSafetensorsDir(dir);
  const read = weights.read.bind(weights);
  // An instance override rather than a wrapper type: readAll() and every caller go through read().
  weights.read = async (name: string): Promise<TensorData> => {
    const t = await read(name);
    const bad = firstNonFinite(t);
    if (bad) {
      const file = [...weights.files].find(([, f]) => f.has(name))?.[0] ?? 'model weights';
      throw new CorruptCheckpointError(dir, [`${file}: ${describeNonFinite(name, t, bad)}`]);
    }
    return t;
  };
  return weights;
}

/**
 * Write a complete checkpoint into `dir`, atomically: it appears (or replaces
 * the previous one) only once every file and the manifest are on disk. Returns
 * the manifest written.
 */
export async function saveCheckpoint(dir: string, contents: CheckpointContents): Promise<CheckpointManifest> {
  const mode = modeOf(contents);
  // Before anything touches the disk: a NaN/Inf checkpoint must not replace a good previous one.
  for (const { file, tensors } of savedTensors(contents)) assertFiniteTensors(`saveCheckpoint(${dir})`, file, tensors);
  return writeDirAtomic(dir, async (tmp) => {
    // The head first: its shape checks are the cheapest way to fail early.
    await writeClassifierHead(join(tmp, HEAD_FILE_NAME), contents.head);
    if (contents.adapter) await writePeftAdapter(tmp, contents.adapter);
    if (contents.fullWeights) {
      const fw = contents.fullWeights;
      await writeSafetensorsSharded(tmp, fw.tensors, { maxShardBytes: fw.maxShardBytes ?? CHECKPOINT_MAX_SHARD_BYTES });
      if (fw.modelConfig) await writeFileSynced(join(tmp, 'config.json'), pythonJson(fw.modelConfig) + '\n');
    }
    if (contents.processor) await copyProcessor(contents.processor.dir, contents.processor.files, tmp);
    if (contents.state) await writeResumeState(tmp, contents.state);
    const m = contents.manifest ?? {};
    const labels = contents.head.labels;
    const manifest: CheckpointManifest = {
      format: MANIFEST_FORMAT,
      formatVersion: MANIFEST_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      mode,
      ...(m.baseModel !== undefined ? { baseModel: m.baseModel } : {}),
      numClasses: contents.head.weight.dims[0]!,
      ...(labels ? { labels: [...labels] } : {}),
      ...(m.step !== undefined || contents.state ? { step: m.step ?? contents.state!.trainer.step } : {}),
      ...(m.epoch !== undefined || contents.state ? { epoch: m.epoch ?? contents.state!.trainer.epoch } : {}),
      versions: { node: process.version, ...(m.versions ?? {}) },
      config: m.config ?? {},
      options: m.options ?? {},
      metrics: m.metrics ?? {},
      ...(m.datasetFingerprint !== undefined ? { datasetFingerprint: m.datasetFingerprint } : {}),
      files: await describeFiles(tmp),
    };
    await writeFileSynced(join(tmp, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  });
}

export interface LoadCheckpointOptions {
  /** How hard to check files against the manifest before reading (default 'sha256'). */
  readonly verify?: VerifyLevel;
  /** Read optimizer.safetensors too (default true when present). */
  readonly optimizer?: boolean;
}

export interface LoadedCheckpoint {
  readonly dir: string;
  readonly manifest: CheckpointManifest;
  readonly mode: CheckpointMode;
  readonly head: LoadedClassifierHead;
  /** LoRA mode: the adapter (config + A/B per module). */
  readonly adapter?: PeftAdapter;
  /** Full mode: open the weights lazily (HF layout in `dir`); close the result when done. */
  openFullWeights?(): Promise<SafetensorsDir>;
  /** The checkpoint directory when it holds processor files (load the processor from it). */
  readonly processorDir?: string;
  readonly state?: ResumeState;
}

/**
 * Load a checkpoint after verifying it against its manifest. A directory that
 * is incomplete (no manifest), damaged (size/hash mismatch, missing file) or a
 * half-written temp dir throws CorruptCheckpointError naming the problem.
 */
export async function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  if (!(await pathExists(dir))) {
    const left = (await findLeftovers(dirname(dir))).filter((l) => l.target === basename(dir));
    const hint = left.length > 0 ? `; interrupted write leftovers: ${left.map((l) => `${l.path} (${l.kind})`).join(', ')}` : '';
    throw new Error(`${dir}: checkpoint not found${hint}`);
  }
  if (/^\.(.+)\.(tmp|old|del)-\d+-[0-9a-f]+$/.test(basename(dir))) {
    throw new CorruptCheckpointError(dir, ['this is a temporary directory of an interrupted checkpoint write, not a checkpoint']);
  }
  if (!(await pathExists(join(dir, MANIFEST_NAME))) && (await pathExists(join(dir, ADAPTER_CONFIG_NAME)))) {
    // A PEFT adapter folder (e.g. the Python seed's CKPT_DIR) is not an incomplete vlreward checkpoint, but it
    // has no manifest to verify it against either: say how to read its parts instead of loading it unverified.
    const torchHead = (await pathExists(join(dir, 'classifier.pt')))
      ? "; its head classifier.pt is a torch pickle: convert it with safetensors.torch.save_file(torch.load('classifier.pt'), 'classifier.safetensors') and read it with readClassifierHead"
      : '';
    throw new CorruptCheckpointError(dir, [
      `${MANIFEST_NAME} is missing (the checkpoint was never completed), or this is a PEFT adapter folder saved ` +
        `outside vlreward (it looks like one): read that with readPeftAdapter(dir)${torchHead}`,
    ]);
  }
  const manifest = await verifyCheckpoint(dir, options.verify ?? 'sha256');
  const listed = new Set(manifest.files.map((f) => f.path));
  const need = (file: string): void => {
    if (!listed.has(file)) throw new CorruptCheckpointError(dir, [`${file} is not listed in ${MANIFEST_NAME} (mode ${manifest.mode})`]);
  };
  need(HEAD_FILE_NAME);
  const head = await readClassifierHead(join(dir, HEAD_FILE_NAME));
  if (head.numClasses !== manifest.numClasses) {
    throw new CorruptCheckpointError(dir, [`${HEAD_FILE_NAME} has ${head.numClasses} classes, manifest says ${manifest.numClasses}`]);
  }
  let adapter: PeftAdapter | undefined;
  if (manifest.mode === 'lora') {
    need(ADAPTER_CONFIG_NAME);
    adapter = await readPeftAdapter(dir);
  }
  let openFullWeights: (() => Promise<SafetensorsDir>) | undefined;
  if (manifest.mode === 'full') {
    if (!listed.has('model.safetensors') && !listed.has('model.safetensors.index.json')) {
      throw new CorruptCheckpointError(dir, ['full-mode checkpoint lists neither model.safetensors nor model.safetensors.index.json']);
    }
    openFullWeights = () => openCheckedFullWeights(dir);
  }
  let state: ResumeState | undefined;
  if (listed.has(TRAINER_STATE_NAME)) {
    state = await readResumeState(dir, (options.optimizer ?? true) && listed.has(OPTIMIZER_STATE_NAME));
  }
  // Everything read so far is small (head, adapter) or needed whole anyway (optimizer moments): scan it here.
  const nonFinite = nonFiniteProblems([
    { file: HEAD_FILE_NAME, tensors: [['classifier.weight', head.weight], ['classifier.bias', head.bias]] },
    ...(adapter ? [{ file: ADAPTER_WEIGHTS_NAME, tensors: adapterTensors(adapter) }] : []),
    ...(state?.optimizer ? [{ file: OPTIMIZER_STATE_NAME, tensors: optimizerTensors(state.optimizer) }] : []),
  ]);
  if (nonFinite.length > 0) throw new CorruptCheckpointError(dir, nonFinite);
  const hasProcessor = PROCESSOR_FILES.some((f) => listed.has(f));
  return {
    dir,
    manifest,
    mode: manifest.mode,
    head,
    ...(adapter ? { adapter } : {}),
    ...(openFullWeights ? { openFullWeights } : {}),
    ...(hasProcessor ? { processorDir: dir } : {}),
    ...(state ? { state } : {}),
  };
}
