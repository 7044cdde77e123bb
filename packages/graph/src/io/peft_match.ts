// PEFT's module matching and per-module rank / scale, the one copy: the checkpoint
// package validates adapter files with it, the model package converts adapter
// configs with it. Sources: peft/tuners/tuners_utils.py check_target_module_exists
// (list and regex cases), peft/utils/other.py get_pattern_key, peft/tuners/lora/
// layer.py LoraLayer.update_layer (scaling = alpha / r, or alpha / sqrt(r) with rsLoRA).

/** The adapter_config.json fields matching and scaling read (PEFT's names). */
export interface PeftMatchFields {
  readonly target_modules?: unknown;
  readonly exclude_modules?: unknown;
  readonly r?: unknown;
  readonly lora_alpha?: unknown;
  readonly use_rslora?: unknown;
  readonly rank_pattern?: unknown;
  readonly alpha_pattern?: unknown;
}

/** Does PEFT adapt the module at `modulePath`? (list: exact name or `.name` suffix; string: full regex match; exclude_modules first.) */
export function peftTargets(fields: PeftMatchFields, modulePath: string): boolean {
  const matches = (spec: unknown): boolean =>
    typeof spec === 'string'
      ? new RegExp(`^(?:${spec})$`).test(modulePath)
      : Array.isArray(spec) && spec.some((k) => modulePath === k || modulePath.endsWith(`.${k}`));
  if (fields.exclude_modules != null && matches(fields.exclude_modules)) return false;
  return fields.target_modules != null && matches(fields.target_modules);
}

/** rank_pattern / alpha_pattern lookup: the first key with `(.*\.)?(key)$` matching the path. */
function patternValue(pattern: unknown, modulePath: string): number | undefined {
  if (typeof pattern !== 'object' || pattern === null) return undefined;
  for (const [key, v] of Object.entries(pattern as Record<string, number>)) if (new RegExp(`^(?:.*\\.)?(?:${key})$`).test(modulePath)) return v;
  return undefined;
}

/** Rank and B(A(x)) factor of one module as PEFT computes them (PEFT's defaults r = alpha = 8). */
export function peftModuleScale(fields: PeftMatchFields, modulePath: string): { r: number; scale: number } {
  const r = patternValue(fields.rank_pattern, modulePath) ?? (typeof fields.r === 'number' ? fields.r : 8);
  const alpha = patternValue(fields.alpha_pattern, modulePath) ?? (typeof fields.lora_alpha === 'number' ? fields.lora_alpha : 8);
  return { r, scale: fields.use_rslora === true ? alpha / Math.sqrt(r) : alpha / r };
}
