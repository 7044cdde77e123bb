// The modules vlreward attaches LoRA to: the projections of the Qwen3-VL text
// decoder, as @vlreward/model's loraModulePath names them
// (model/src/lora/targets.ts). An adapter module outside this set (a typo, a
// vision-tower module, a Qwen2-style `model.layers.N…` path) matches nothing
// in the model, so its weights would silently not be applied.

const TEXT_DECODER_PROJECTION = /^model\.language_model\.layers\.\d+\.(?:self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)$/;

/** Whether `modulePath` is a Qwen3-VL text decoder projection (q/k/v/o_proj, gate/up/down_proj of layer N). */
export function isQwen3VLLoraModule(modulePath: string): boolean {
  return TEXT_DECODER_PROJECTION.test(modulePath);
}

/** One problem line per adapter module that is not a Qwen3-VL text decoder projection. */
export function unknownLoraModuleProblems(file: string, modulePaths: Iterable<string>): string[] {
  const problems: string[] = [];
  for (const path of modulePaths) {
    if (isQwen3VLLoraModule(path)) continue;
    problems.push(
      `${file}: LoRA module '${path}' is not a Qwen3-VL text decoder projection ` +
        '(model.language_model.layers.N.self_attn.{q,k,v,o}_proj or .mlp.{gate,up,down}_proj); the model has no such module to adapt',
    );
  }
  return problems;
}
