// @vlreward/model public API.
export { ConfigError, parseQwen3VLConfig } from './qwen3_vl/config.js';
export type { Qwen3VLConfig, Qwen3VLConfigJson, Qwen3VLTextConfig, Qwen3VLVisionConfig } from './qwen3_vl/config.js';
export { midQwen3VLConfig, QWEN3_VL_2B_CONFIG, tinyQwen3VLConfig } from './qwen3_vl/presets.js';
export type { Qwen3VLConfigOverrides } from './qwen3_vl/presets.js';
export {
  getRopeIndex,
  INPUT_NAMES,
  InputError,
  MASK_MIN,
  posEmbedInterpolation,
  prepareQwen3VLInputs,
  readGrids,
  textAttentionBias,
  visionPacking,
  visionRotaryAngles,
} from './qwen3_vl/host_inputs.js';
export type { Grid, PreparedInputs, PrepareOptions, Qwen3VLBatch } from './qwen3_vl/host_inputs.js';
export { invFreq, textRopeCosSin } from './qwen3_vl/rope.js';
export {
  checkQwen3VLWeightNames,
  loadQwen3VLWeights,
  mulberry32,
  qwen3VLParamCounts,
  qwen3VLWeightSpecs,
  randomQwen3VLWeights,
  randomWeight,
  WeightError,
} from './qwen3_vl/weights.js';
export type { LoadWeightsOptions, WeightPart, WeightSpec } from './qwen3_vl/weights.js';
export type { ParamSource } from './qwen3_vl/params.js';
export { adapterConfigJson, DEFAULT_LORA, LORA_MODULES, LoraConfigError, loraScale, makeLoraConfig, parseAdapterConfig } from './lora/config.js';
export type { LoraConfig, LoraModule } from './lora/config.js';
export { loraModulePath, loraParamCount, loraTargets, PEFT_PREFIX } from './lora/targets.js';
export type { LoraTarget } from './lora/targets.js';
