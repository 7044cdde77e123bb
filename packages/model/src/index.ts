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
  qwen3VLParamCounts,
  qwen3VLWeightSpecs,
  randomQwen3VLWeights,
  randomWeight,
  WeightError,
} from './qwen3_vl/weights.js';
export type { LoadWeightsOptions, WeightPart, WeightSpec } from './qwen3_vl/weights.js';
// The project's seeded PRNG, re-exported for callers that seed random weights.
export { mulberry32 } from '@vlreward/graph';
export type { ParamSource } from './qwen3_vl/params.js';
export { DEFAULT_LORA, LORA_MODULES, LoraConfigError, loraScale, makeLoraConfig } from './lora/config.js';
export { loraConfigFromPeft, peftFieldsFromLora } from './lora/peft.js';
export type { PeftLoraFields } from './lora/peft.js';
export type { LoraConfig, LoraModule } from './lora/config.js';
export { loraModulePath, loraParamCount, loraTargets, parsePeftName, PEFT_PREFIX } from './lora/targets.js';
export type { LoraTarget } from './lora/targets.js';
export { buildQwen3VLForward, buildQwen3VLGraph, DIMS, ParamError, paramsFromMap } from './qwen3_vl/build.js';
export type { ForwardOptions, ForwardResult, InferenceGraphOptions, MapParamOptions } from './qwen3_vl/build.js';
export { qwen3VLTapNames } from './qwen3_vl/taps.js';
export { buildVisionTower, patchMerger } from './qwen3_vl/vision.js';
export type { VisionInputs, VisionOutputs } from './qwen3_vl/vision.js';
export { buildTextDecoder } from './qwen3_vl/text.js';
export type { LoraLookup, TextInputs } from './qwen3_vl/text.js';
export { addDeepstack, mergeImageEmbeds } from './qwen3_vl/deepstack.js';
export { initLoraWeights, loraLinear } from './lora/linear.js';
export type { LoraFactors } from './lora/linear.js';
export { classificationLoss, classifierHead, HEAD_BIAS, HEAD_WEIGHT, poolLastToken } from './heads/classifier.js';
export { initClassifierHead } from './heads/init.js';
export { getArchitecture, MODEL_REGISTRY } from './registry.js';
export type { ModelArchitecture } from './registry.js';
export { checkFixture, compareTensors, formatFixtureReport, toleranceFor } from './fixture_check.js';
export type { CheckFixtureOptions, FixtureReport, TensorCheck, Tolerance } from './fixture_check.js';
export { loadFixtureFolder } from './fixture_files.js';
export type { FixtureFolder, FixtureFolderOptions } from './fixture_files.js';
export {
  ARTIFACTS_FORMAT_VERSION,
  artifactsCacheKey,
  bernoulliMask,
  BoundParams,
  buildArtifacts,
  cachedArtifacts,
  GRAPH_KINDS,
  TRAINING_GRAPHS,
  inventoryKey,
  IO,
  loadArtifacts,
  loadParam,
  resolveOptimizer,
  saveArtifacts,
  stableStringify,
  TrainingSession,
} from './artifacts/index.js';
export type {
  ArtifactManifest,
  ArtifactOptions,
  BuildOptions,
  CacheResult,
  DropoutSpec,
  ForwardBuilder,
  ForwardContext,
  ForwardOutputs,
  GraphKind,
  IOSpec,
  LossScaleOptions as ArtifactLossScaleOptions,
  OptimizerOptions,
  ParamInfo,
  ParamSpec,
  Precision,
  SaveOptions,
  SavedArtifacts,
  StepResult,
  TrainableState,
  TrainingArtifacts,
  TrainingSessionOptions,
} from './artifacts/index.js';
export { qwen3VLForwardFlops, syntheticQwen3VLBatch } from './qwen3_vl/synthetic.js';
export type { SyntheticBatchOptions } from './qwen3_vl/synthetic.js';
export { buildTrainingArtifacts, checkFixtureGradients, fixtureTrainingOptions, GRAD_TOLERANCE, QWEN3VL_ARTIFACTS_VERSION, qwen3VLArtifactsKey, qwen3VLForwardBuilder, qwen3VLParamSpecs } from './artifacts/index.js';
export type { FinetuneMode, GradientCheckOptions, GradientReport, Qwen3VLTrainingOptions } from './artifacts/index.js';
export { hfHubCacheDir, resolveModelDir } from './hub.js';
export type { ResolveModelOptions } from './hub.js';
export { QWEN3_VL_2B_REPO, writeHubTestModel } from './test_model_writer.js';
export type { CacheFileInfo, WriteHubTestModelOptions, WrittenHubTestModel } from './test_model_writer.js';
export { DEFAULT_MODEL_ID, loadQwen3VL, readModelConfigJson } from './load.js';
export type { LoadedQwen3VL } from './load.js';
export { AUTOCAST_OPS, autocastGraph, cachedTrainingArtifacts } from './artifacts/index.js';
export type { AutocastResult } from './artifacts/index.js';
export { buildDecoderGraph, buildVisionGraph, GEN_DIMS, GEN_NAMES } from './generate/graphs.js';
export { checkLoraAdapter, loraAdapterFromPeft, loraAdapterTensors, mergeLoraAdapter } from './generate/lora.js';
export type { LoraAdapter, LoraAdapterModule } from './generate/lora.js';
export { argmax, checkSamplingOptions, Sampler, SamplingError, topIndices } from './generate/sampling.js';
export type { SamplingOptions } from './generate/sampling.js';
export { GenerateError, Qwen3VLGenerator } from './generate/generator.js';
export type { GenerateRequest, GenerateResult, GenerationImage, GeneratorOptions } from './generate/generator.js';
export { fixtureGreedyKv, splitBatchForGeneration } from './generate/fixture.js';
