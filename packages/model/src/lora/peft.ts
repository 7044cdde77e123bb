// The one conversion between PEFT's adapter_config.json and vlreward's LoraConfig.
// Every command that reads an adapter (train --resume, eval, predict, export, view,
// chat, merge, the fixture check) calls loraConfigFromPeft; the trainer writes
// adapter_config.json from peftFieldsFromLora of the live session. A PEFT field is
// either honoured (r, lora_alpha, lora_dropout, use_rslora, target_modules as a list
// or a regex, rank_pattern / alpha_pattern when they resolve to one rank and one
// scale) or rejected with an error naming it; never silently dropped.
// PEFT sources: peft/tuners/lora/config.py LoraConfig, tuners_utils.py
// check_target_module_exists, utils/other.py get_pattern_key, lora/layer.py update_layer.
import { peftModuleScale, peftTargets } from '@vlreward/graph';
import type { Qwen3VLConfig } from '../qwen3_vl/config.js';
import { LORA_MODULES, LoraConfigError, makeLoraConfig, type LoraConfig, type LoraModule } from './config.js';
import { loraModulePath } from './targets.js';

/**
 * The adapter_config.json fields that decide an adapter (PEFT's names). Structural,
 * so @vlreward/checkpoint's full PeftLoraConfig (and plain parsed JSON) fit.
 */
export interface PeftLoraFields {
  readonly peft_type?: unknown;
  readonly r?: unknown;
  readonly lora_alpha?: unknown;
  readonly lora_dropout?: unknown;
  readonly target_modules?: unknown;
  readonly exclude_modules?: unknown;
  readonly use_rslora?: unknown;
  readonly rank_pattern?: unknown;
  readonly alpha_pattern?: unknown;
  readonly layers_to_transform?: unknown;
  readonly use_dora?: unknown;
  readonly fan_in_fan_out?: unknown;
  readonly bias?: unknown;
  readonly modules_to_save?: unknown;
  readonly lora_bias?: unknown;
  readonly layer_replication?: unknown;
  readonly target_parameters?: unknown;
}

const FEATURE_FLAGS: readonly [keyof PeftLoraFields, (v: unknown) => boolean, string][] = [
  ['use_dora', (v) => v === true, 'DoRA adapters'],
  ['fan_in_fan_out', (v) => v === true, 'Conv1D-style (fan_in_fan_out) weights'],
  ['bias', (v) => v !== undefined && v !== 'none', 'trained LoRA biases (bias != "none")'],
  ['lora_bias', (v) => v === true, 'lora_bias'],
  ['modules_to_save', (v) => v != null && !(Array.isArray(v) && v.length === 0), 'modules_to_save (vlreward keeps the head in classifier.safetensors)'],
  ['layer_replication', (v) => v != null, 'layer_replication'],
  ['target_parameters', (v) => v != null && !(Array.isArray(v) && v.length === 0), 'target_parameters'],
];

/**
 * adapter_config.json → LoraConfig for `config`'s text decoder. `adapterModules`
 * (the module paths of the saved tensors), when given, must be exactly the
 * modules the config targets. Throws LoraConfigError naming the field.
 */
export function loraConfigFromPeft(fields: PeftLoraFields, config: Qwen3VLConfig, where = 'adapter_config.json', adapterModules?: Iterable<string>): LoraConfig {
  if (typeof fields !== 'object' || fields === null) throw new LoraConfigError(`${where}: expected a JSON object`);
  if (fields.peft_type !== undefined && fields.peft_type !== 'LORA') throw new LoraConfigError(`${where}: peft_type = ${JSON.stringify(fields.peft_type)} (expected "LORA")`);
  for (const [key, bad, what] of FEATURE_FLAGS) {
    if (bad(fields[key])) throw new LoraConfigError(`${where}: ${String(key)} = ${JSON.stringify(fields[key])}: ${what} are not supported by vlreward`);
  }
  if (fields.layers_to_transform != null) throw new LoraConfigError(`${where}: layers_to_transform = ${JSON.stringify(fields.layers_to_transform)}: adapters on a subset of layers are not supported (every layer of a targeted projection is adapted)`);
  const tm = fields.target_modules;
  if (!(typeof tm === 'string' || (Array.isArray(tm) && tm.every((t) => typeof t === 'string')))) throw new LoraConfigError(`${where}: target_modules must be a list of module names or a regex string`);
  if (Array.isArray(tm)) {
    const unknown = tm.filter((t) => !LORA_MODULES.some((m) => t === m || loraModulePath(0, m).endsWith(`.${t}`) || t.endsWith(`.${m}`)));
    if (unknown.length) throw new LoraConfigError(`${where}: target_modules ${JSON.stringify(unknown)} are not text-decoder projections (supported: ${LORA_MODULES.join(', ')})`);
  }
  if (fields.r !== undefined && !(Number.isInteger(fields.r) && (fields.r as number) > 0)) throw new LoraConfigError(`${where}: r = ${JSON.stringify(fields.r)} (expected a positive integer)`);
  if (fields.lora_alpha !== undefined && typeof fields.lora_alpha !== 'number') throw new LoraConfigError(`${where}: lora_alpha = ${JSON.stringify(fields.lora_alpha)} (expected a number)`);
  for (const key of ['rank_pattern', 'alpha_pattern'] as const) {
    const p = fields[key];
    if (p !== undefined && (typeof p !== 'object' || p === null || Object.values(p).some((v) => typeof v !== 'number'))) throw new LoraConfigError(`${where}: ${key} must map module patterns to numbers`);
  }

  // Which projections PEFT adapts, layer by layer: each must be all layers or none.
  const layers = config.text.numHiddenLayers;
  const kinds: LoraModule[] = [];
  const selected: string[] = [];
  for (const kind of LORA_MODULES) {
    const hits = Array.from({ length: layers }, (_, l) => peftTargets(fields, loraModulePath(l, kind)));
    const n = hits.filter(Boolean).length;
    if (n === 0) continue;
    if (n !== layers) throw new LoraConfigError(`${where}: target_modules ${JSON.stringify(tm)} adapts ${kind} in ${n} of ${layers} layers; vlreward adapts a projection in every layer or none`);
    kinds.push(kind);
    for (let l = 0; l < layers; l++) selected.push(loraModulePath(l, kind));
  }
  if (kinds.length === 0) throw new LoraConfigError(`${where}: target_modules ${JSON.stringify(tm)} selects none of the text decoder's projections (${LORA_MODULES.join(', ')})`);

  // One rank and one scale for all of them (rank_pattern / alpha_pattern may agree with that).
  const first = peftModuleScale(fields, selected[0]!);
  for (const path of selected) {
    const s = peftModuleScale(fields, path);
    if (s.r !== first.r || Math.abs(s.scale - first.scale) > 1e-12 * Math.abs(first.scale)) {
      throw new LoraConfigError(`${where}: rank_pattern / alpha_pattern give ${path} r=${s.r}, scale ${s.scale} but ${selected[0]} r=${first.r}, scale ${first.scale}; per-module ranks or scales are not supported`);
    }
  }
  const useRslora = fields.use_rslora === true;
  const lora = makeLoraConfig(
    {
      r: first.r,
      // alpha that gives PEFT's scale with this r (the pattern's alpha when alpha_pattern set it).
      alpha: useRslora ? first.scale * Math.sqrt(first.r) : first.scale * first.r,
      dropout: typeof fields.lora_dropout === 'number' ? fields.lora_dropout : 0,
      targetModules: kinds,
      useRslora,
    },
    where,
  );
  if (adapterModules) {
    const want = new Set(selected);
    const have = new Set(adapterModules);
    const extra = [...have].filter((p) => !want.has(p));
    const missing = selected.filter((p) => !have.has(p));
    if (extra.length || missing.length) {
      throw new LoraConfigError(
        `${where}: the adapter's tensors do not match its config` +
          (extra.length ? `; modules not targeted by this model's text decoder: ${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ` … (${extra.length})` : ''}` : '') +
          (missing.length ? `; targeted modules without tensors: ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ` … (${missing.length})` : ''}` : ''),
      );
    }
  }
  return lora;
}

/** The adapter_config.json fields of a LoraConfig (what PEFT needs to rebuild the same adapter). */
export function peftFieldsFromLora(c: LoraConfig): { r: number; lora_alpha: number; lora_dropout: number; target_modules: string[]; use_rslora: boolean; bias: 'none' } {
  return { r: c.r, lora_alpha: c.alpha, lora_dropout: c.dropout, target_modules: [...c.targetModules], use_rslora: c.useRslora, bias: 'none' };
}
