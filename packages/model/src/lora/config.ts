// LoRA hyper-parameters with PEFT's names and defaults
// (peft/tuners/lora/config.py LoraConfig).

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

// adapter_config.json ⇄ LoraConfig: lora/peft.ts (loraConfigFromPeft, peftFieldsFromLora), the one conversion.
