import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openSafetensors, peftModuleScale, peftTargets, writeSafetensors, type TensorData } from '@vlreward/graph/io';
import { describeFsError, isNotFound } from './fs_errors.js';
import { isRecord, pythonJson, readJsonFile, writeFileSynced } from './json.js';

// LoRA adapters in Hugging Face PEFT's on-disk format, so Python PEFT loads what
// vlreward writes (PeftModel.from_pretrained) and vlreward loads what PEFT writes.
//   adapter_config.json       LoraConfig.to_dict() dumped with indent=2, sort_keys=True
//                             (peft/config.py PeftConfigMixin.save_pretrained)
//   adapter_model.safetensors metadata {"format": "pt"}; names from get_peft_model_state_dict
//                             (peft/utils/save_and_load.py): the adapter name ".default" removed, e.g.
//                             base_model.model.<module path>.lora_A.weight  [r, in_features]
//                             base_model.model.<module path>.lora_B.weight  [out_features, r]

export const ADAPTER_CONFIG_NAME = 'adapter_config.json';
export const ADAPTER_WEIGHTS_NAME = 'adapter_model.safetensors';
/** PeftModel wraps the HF model as `base_model` (LoraModel) whose `model` is the HF model. */
export const PEFT_PREFIX = 'base_model.model.';

/**
 * Every key PEFT 0.17.1 writes for a LoraConfig (peft/tuners/lora/config.py
 * LoraConfig + peft/config.py PeftConfig/PeftConfigMixin; `runtime_config` is
 * dropped by LoraConfig.to_dict). 0.17 is the PEFT release that goes with
 * transformers 4.57 (Qwen3-VL). Newer PEFT loads this file unchanged (absent keys
 * take their defaults); keys a newer PEFT wrote are kept by readPeftAdapter.
 */
export interface PeftLoraConfig {
  // PeftConfigMixin / PeftConfig
  peft_type: 'LORA';
  task_type: string | null;
  auto_mapping: Record<string, unknown> | null;
  base_model_name_or_path: string | null;
  revision: string | null;
  inference_mode: boolean;
  // LoraConfig
  r: number;
  target_modules: string[] | string | null;
  exclude_modules: string[] | string | null;
  lora_alpha: number;
  lora_dropout: number;
  fan_in_fan_out: boolean;
  bias: 'none' | 'all' | 'lora_only';
  use_rslora: boolean;
  modules_to_save: string[] | null;
  init_lora_weights: boolean | string;
  layers_to_transform: number[] | number | null;
  layers_pattern: string[] | string | null;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  megatron_config: Record<string, unknown> | null;
  megatron_core: string | null;
  trainable_token_indices: number[] | Record<string, number[]> | null;
  loftq_config: Record<string, unknown>;
  eva_config: Record<string, unknown> | null;
  corda_config: Record<string, unknown> | null;
  use_dora: boolean;
  use_qalora: boolean;
  qalora_group_size: number;
  layer_replication: [number, number][] | null;
  lora_bias: boolean;
  target_parameters: string[] | null;
  /** Keys written by other PEFT versions, kept verbatim. */
  [extra: string]: unknown;
}

/** LoraConfig's defaults (PEFT 0.17.1). */
export const PEFT_LORA_DEFAULTS: Readonly<PeftLoraConfig> = Object.freeze({
  peft_type: 'LORA',
  task_type: null,
  auto_mapping: null,
  base_model_name_or_path: null,
  revision: null,
  inference_mode: false,
  r: 8,
  target_modules: null,
  exclude_modules: null,
  lora_alpha: 8,
  lora_dropout: 0.0,
  fan_in_fan_out: false,
  bias: 'none',
  use_rslora: false,
  modules_to_save: null,
  init_lora_weights: true,
  layers_to_transform: null,
  layers_pattern: null,
  rank_pattern: {},
  alpha_pattern: {},
  megatron_config: null,
  megatron_core: 'megatron.core',
  trainable_token_indices: null,
  loftq_config: {},
  eva_config: null,
  corda_config: null,
  use_dora: false,
  use_qalora: false,
  qalora_group_size: 16,
  layer_replication: null,
  lora_bias: false,
  target_parameters: null,
}) as PeftLoraConfig;

/**
 * The LoRA settings of the seed (`FINETUNE_MODE=lora`): r=16, alpha=32, dropout
 * 0.05, no bias, task_type CAUSAL_LM, attention + MLP projections of the text decoder.
 */
export const SEED_LORA: Readonly<Pick<PeftLoraConfig, 'r' | 'lora_alpha' | 'lora_dropout' | 'bias' | 'task_type'>> & {
  readonly target_modules: readonly string[];
} = Object.freeze({
  r: 16,
  lora_alpha: 32,
  lora_dropout: 0.05,
  bias: 'none' as const,
  task_type: 'CAUSAL_LM',
  target_modules: Object.freeze(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']),
});

/** Fill PEFT's defaults around the given fields (what `LoraConfig(**kwargs).to_dict()` holds). */
export function peftLoraConfig(fields: Partial<PeftLoraConfig>): PeftLoraConfig {
  const cfg = { ...structuredClone(PEFT_LORA_DEFAULTS), ...fields } as PeftLoraConfig;
  cfg.peft_type = 'LORA';
  validateConfig(cfg, 'peftLoraConfig');
  return cfg;
}

function validateConfig(cfg: PeftLoraConfig, where: string): void {
  if (cfg.peft_type !== 'LORA') throw new Error(`${where}: peft_type is ${JSON.stringify(cfg.peft_type)}, expected "LORA"`);
  if (!Number.isInteger(cfg.r) || cfg.r <= 0) throw new Error(`${where}: r must be a positive integer (got ${JSON.stringify(cfg.r)})`);
  if (typeof cfg.lora_alpha !== 'number') throw new Error(`${where}: lora_alpha must be a number (got ${JSON.stringify(cfg.lora_alpha)})`);
  if (typeof cfg.lora_dropout !== 'number' || cfg.lora_dropout < 0 || cfg.lora_dropout >= 1) {
    throw new Error(`${where}: lora_dropout must be in [0, 1) (got ${JSON.stringify(cfg.lora_dropout)})`);
  }
  if (!['none', 'all', 'lora_only'].includes(cfg.bias)) {
    throw new Error(`${where}: bias must be "none", "all" or "lora_only" (got ${JSON.stringify(cfg.bias)})`);
  }
  const tm = cfg.target_modules;
  if (!(tm === null || typeof tm === 'string' || (Array.isArray(tm) && tm.every((t) => typeof t === 'string')))) {
    throw new Error(`${where}: target_modules must be a list of names, a regex string or null`);
  }
}

/** PEFT saves target_modules from a Python set; vlreward writes them sorted so files are deterministic. */
function normalizeForWrite(cfg: PeftLoraConfig): PeftLoraConfig {
  const out = { ...cfg };
  if (Array.isArray(out.target_modules)) out.target_modules = [...new Set(out.target_modules)].sort();
  if (Array.isArray(out.exclude_modules)) out.exclude_modules = [...new Set(out.exclude_modules)].sort();
  return out;
}

/** adapter_config.json text exactly as PEFT formats it. */
export function formatAdapterConfig(cfg: PeftLoraConfig): string {
  return pythonJson(normalizeForWrite(cfg), new Set(['lora_dropout']));
}

// Which modules an adapter targets and their rank / scale: graph's io/peft_match.ts
// (peftTargets, peftModuleScale), shared with @vlreward/model's loraConfigFromPeft, the
// one PEFT → LoraConfig conversion. This file owns the adapter file format.

/** One adapted module's weights: A [r, in_features], B [out_features, r]. */
export interface LoraModuleWeights {
  readonly A: TensorData;
  readonly B: TensorData;
}

/** Saved name of a LoRA tensor: `base_model.model.<modulePath>.lora_A.weight`. */
export function peftTensorName(modulePath: string, which: 'A' | 'B'): string {
  return `${PEFT_PREFIX}${modulePath}.lora_${which}.weight`;
}

/**
 * Split a saved PEFT tensor name into module path and A/B. Accepts the
 * in-memory form with an adapter name too (`lora_A.default.weight`).
 */
export function parsePeftTensorName(name: string): { modulePath: string; which: 'A' | 'B' } | undefined {
  const m = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(name);
  if (!m) return undefined;
  return { modulePath: m[1]!, which: m[2] as 'A' | 'B' };
}

export interface PeftAdapter {
  readonly config: PeftLoraConfig;
  /** By module path in the base model (e.g. `model.language_model.layers.0.self_attn.q_proj`), in file order. */
  readonly modules: ReadonlyMap<string, LoraModuleWeights>;
  /** Other saved tensors (biases with bias != "none", modules_to_save weights), by saved name. */
  readonly extra: ReadonlyMap<string, TensorData>;
  /** The safetensors __metadata__ of adapter_model.safetensors. */
  readonly metadata: Readonly<Record<string, string>>;
}

function checkModule(cfg: PeftLoraConfig, path: string, w: LoraModuleWeights, where: string): void {
  const r = peftModuleScale(cfg, path).r;
  const a = w.A.dims;
  const b = w.B.dims;
  if (a.length !== 2 || a[0] !== r) {
    throw new Error(`${where}: ${peftTensorName(path, 'A')} has shape [${a.join(', ')}], expected [r=${r}, in_features]`);
  }
  if (b.length !== 2 || b[1] !== r) {
    throw new Error(`${where}: ${peftTensorName(path, 'B')} has shape [${b.join(', ')}], expected [out_features, r=${r}]`);
  }
  if (w.A.dtype !== w.B.dtype) {
    throw new Error(`${where}: module '${path}': lora_A is ${w.A.dtype} but lora_B is ${w.B.dtype}`);
  }
}

export interface WritePeftAdapterOptions {
  /** LoraConfig fields; PEFT's defaults fill the rest. */
  readonly config: Partial<PeftLoraConfig>;
  readonly modules: ReadonlyMap<string, LoraModuleWeights> | Readonly<Record<string, LoraModuleWeights>>;
  /** Extra tensors saved under their exact names (e.g. `base_model.model.<path>.bias` with bias="all"). */
  readonly extra?: ReadonlyMap<string, TensorData>;
  /** Write `inference_mode: true` as PeftModel.save_pretrained does (default true). */
  readonly inferenceMode?: boolean;
}

/**
 * Write `adapter_config.json` + `adapter_model.safetensors` into `dir` (created
 * if needed). Every module must be one PEFT would target with this config,
 * and shapes must match r. Returns the file names written.
 */
export async function writePeftAdapter(dir: string, opts: WritePeftAdapterOptions): Promise<string[]> {
  const cfg = peftLoraConfig({ ...opts.config, inference_mode: opts.inferenceMode ?? true });
  const modules = opts.modules instanceof Map ? opts.modules : new Map(Object.entries(opts.modules));
  if (modules.size === 0) throw new Error(`writePeftAdapter(${dir}): no LoRA modules given`);
  const tensors = new Map<string, TensorData>();
  for (const [path, w] of modules) {
    if (path.startsWith(PEFT_PREFIX)) {
      throw new Error(`writePeftAdapter(${dir}): module '${path}' must be a path in the base model, without '${PEFT_PREFIX}'`);
    }
    if (!peftTargets(cfg, path)) {
      throw new Error(
        `writePeftAdapter(${dir}): module '${path}' is not matched by target_modules ${JSON.stringify(cfg.target_modules)}; ` +
          'PEFT would not attach it and would ignore its weights',
      );
    }
    checkModule(cfg, path, w, `writePeftAdapter(${dir})`);
    tensors.set(peftTensorName(path, 'A'), w.A);
    tensors.set(peftTensorName(path, 'B'), w.B);
  }
  for (const [name, t] of opts.extra ?? []) {
    if (tensors.has(name)) throw new Error(`writePeftAdapter(${dir}): extra tensor '${name}' collides with a LoRA weight`);
    tensors.set(name, t);
  }
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS_NAME), tensors, { format: 'pt' });
  await writeFileSynced(join(dir, ADAPTER_CONFIG_NAME), formatAdapterConfig(cfg));
  return [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME];
}

/** Parse an adapter_config.json object, filling PEFT defaults; errors name the file and field. */
export function parseAdapterConfig(json: unknown, where: string): PeftLoraConfig {
  if (!isRecord(json)) throw new Error(`${where}: adapter config must be a JSON object`);
  if (json['peft_type'] !== 'LORA') {
    throw new Error(`${where}: peft_type is ${JSON.stringify(json['peft_type'])}; vlreward reads LoRA adapters only ("LORA")`);
  }
  const cfg = { ...structuredClone(PEFT_LORA_DEFAULTS), ...json } as PeftLoraConfig;
  validateConfig(cfg, where);
  if (cfg.use_dora) throw new Error(`${where}: use_dora=true (DoRA) adapters are not supported by vlreward`);
  if (cfg.fan_in_fan_out) throw new Error(`${where}: fan_in_fan_out=true (Conv1D-style weights) is not supported`);
  if (cfg.layer_replication) throw new Error(`${where}: layer_replication is not supported`);
  return cfg;
}

/** Whether `p` exists; a symlink loop or permission error is thrown as such (it is there, but unreadable). */
async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw new Error(describeFsError(e, p));
  }
}

export interface ReadPeftAdapterOptions {
  /** Config file path (default `<dir>/adapter_config.json`). */
  readonly configPath?: string;
  /** Weights file path (default `<dir>/adapter_model.safetensors`). */
  readonly weightsPath?: string;
}

/** Read a PEFT LoRA adapter folder (written by PEFT or by writePeftAdapter). */
export async function readPeftAdapter(dir: string, options: ReadPeftAdapterOptions = {}): Promise<PeftAdapter> {
  const cfgPath = options.configPath ?? join(dir, ADAPTER_CONFIG_NAME);
  const wPath = options.weightsPath ?? join(dir, ADAPTER_WEIGHTS_NAME);
  const config = parseAdapterConfig(await readJsonFile(cfgPath), cfgPath);
  if (!(await exists(wPath))) {
    const bin = await exists(join(dir, 'adapter_model.bin'));
    throw new Error(
      bin
        ? `${dir}: only adapter_model.bin (PyTorch pickle) found; re-save it with save_pretrained(safe_serialization=True)`
        : `${wPath}: file not found`,
    );
  }
  const f = await openSafetensors(wPath);
  try {
    const parts = new Map<string, { A?: TensorData; B?: TensorData }>();
    const extra = new Map<string, TensorData>();
    for (const name of f.names) {
      const t = await f.read(name);
      const p = parsePeftTensorName(name);
      if (!p) {
        extra.set(name, t);
        continue;
      }
      const slot = parts.get(p.modulePath) ?? {};
      if (slot[p.which]) throw new Error(`${wPath}: lora_${p.which} of '${p.modulePath}' appears twice (as '${name}')`);
      slot[p.which] = t;
      parts.set(p.modulePath, slot);
    }
    const modules = new Map<string, LoraModuleWeights>();
    for (const [path, s] of parts) {
      if (!s.A || !s.B) {
        throw new Error(`${wPath}: module '${path}' has lora_${s.A ? 'A' : 'B'} but no ${peftTensorName(path, s.A ? 'B' : 'A')}`);
      }
      const w = { A: s.A, B: s.B };
      checkModule(config, path, w, wPath);
      modules.set(path, w);
    }
    if (modules.size === 0) throw new Error(`${wPath}: no lora_A/lora_B tensors found (${f.names.length} tensors)`);
    return { config, modules, extra, metadata: { ...f.metadata } };
  } finally {
    await f.close();
  }
}
