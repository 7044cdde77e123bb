// LoRA hyper-parameters with PEFT's names and defaults
// (peft/tuners/lora/config.py LoraConfig), plus adapter_config.json I/O.

/** The projections of the text decoder LoRA may wrap. */
export const LORA_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraModule = (typeof LORA_MODULES)[number];

export interface LoraConfig {
  readonly r: number;
  readonly alpha: number;
  readonly dropout: number;
  readonly targetModules: readonly LoraModule[];
  /** rsLoRA scales by alpha / sqrt(r) instead of alpha / r. */
  readonly useRslora: boolean;
}

/** The seed's defaults: r=16, alpha=32, dropout 0.05, all seven projections. */
export const DEFAULT_LORA: LoraConfig = {
  r: 16,
  alpha: 32,
  dropout: 0.05,
  targetModules: [...LORA_MODULES],
  useRslora: false,
};

export function loraScale(c: LoraConfig): number {
  return c.useRslora ? c.alpha / Math.sqrt(c.r) : c.alpha / c.r;
}

export class LoraConfigError extends Error {
  override readonly name = 'LoraConfigError';
}

export function makeLoraConfig(partial: Partial<LoraConfig> = {}, where = 'lora config'): LoraConfig {
  const c = { ...DEFAULT_LORA, ...partial };
  if (!Number.isInteger(c.r) || c.r < 1) throw new LoraConfigError(`${where}: r = ${c.r} (expected an integer >= 1)`);
  if (!(c.alpha > 0)) throw new LoraConfigError(`${where}: alpha = ${c.alpha} (expected > 0)`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new LoraConfigError(`${where}: dropout = ${c.dropout} (expected 0 <= p < 1)`);
  if (c.targetModules.length === 0) throw new LoraConfigError(`${where}: target_modules is empty`);
  for (const t of c.targetModules) {
    if (!(LORA_MODULES as readonly string[]).includes(t)) {
      throw new LoraConfigError(`${where}: target module '${t}' is not supported (expected some of ${LORA_MODULES.join(', ')})`);
    }
  }
  return { ...c, targetModules: [...new Set(c.targetModules)] };
}

/** Read PEFT's adapter_config.json (LORA, no DoRA, bias 'none', fan_in_fan_out false). */
export function parseAdapterConfig(json: unknown, where = 'adapter_config.json'): LoraConfig {
  if (typeof json !== 'object' || json === null) throw new LoraConfigError(`${where}: expected a JSON object`);
  const j = json as Record<string, unknown>;
  if (j.peft_type !== undefined && j.peft_type !== 'LORA') throw new LoraConfigError(`${where}: peft_type = ${JSON.stringify(j.peft_type)} (expected "LORA")`);
  if (j.use_dora === true) throw new LoraConfigError(`${where}: use_dora = true is not supported`);
  if (j.fan_in_fan_out === true) throw new LoraConfigError(`${where}: fan_in_fan_out = true is not supported`);
  if (j.bias !== undefined && j.bias !== 'none') throw new LoraConfigError(`${where}: bias = ${JSON.stringify(j.bias)} (only "none" is supported)`);
  let targets = j.target_modules;
  if (typeof targets === 'string') targets = [targets];
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string')) {
    throw new LoraConfigError(`${where}: target_modules must be a list of module names`);
  }
  return makeLoraConfig(
    {
      r: typeof j.r === 'number' ? j.r : 8,
      alpha: typeof j.lora_alpha === 'number' ? j.lora_alpha : 8,
      dropout: typeof j.lora_dropout === 'number' ? j.lora_dropout : 0,
      targetModules: targets as LoraModule[],
      useRslora: j.use_rslora === true,
    },
    where,
  );
}

/** PEFT adapter_config.json for a config (the fields PEFT 0.17 writes that matter for loading). */
export function adapterConfigJson(c: LoraConfig, baseModel: string): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: c.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...c.targetModules],
    task_type: null,
    use_dora: false,
    use_rslora: c.useRslora,
  };
}
