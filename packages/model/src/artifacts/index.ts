export { ARTIFACTS_FORMAT_VERSION, buildArtifacts, GRAPH_KINDS, loadParam, resolveOptimizer, TRAINING_GRAPHS } from './build.js';
export type { ArtifactManifest, BuildOptions, GraphKind, TrainingArtifacts } from './build.js';
export { IO } from './names.js';
export { BoundParams } from './param_source.js';
export { bernoulliMask, TrainingSession } from './session.js';
export type { StepResult, TrainableState, TrainingSessionOptions } from './session.js';
export { artifactsCacheKey, cachedArtifacts, inventoryKey, loadArtifacts, saveArtifacts, stableStringify } from './store.js';
export type { CacheResult, SaveOptions, SavedArtifacts } from './store.js';
export type {
  ArtifactOptions,
  DropoutSpec,
  ForwardBuilder,
  ForwardContext,
  ForwardOutputs,
  IOSpec,
  LossScaleOptions,
  OptimizerOptions,
  ParamInfo,
  ParamSpec,
  Precision,
} from './types.js';
export { buildTrainingArtifacts, cachedTrainingArtifacts, QWEN3VL_ARTIFACTS_VERSION, qwen3VLArtifactsKey, qwen3VLForwardBuilder, qwen3VLParamSpecs } from './qwen3_vl.js';
export type { FinetuneMode, Qwen3VLTrainingOptions } from './qwen3_vl.js';
export { checkFixtureGradients, fixtureTrainingOptions, GRAD_TOLERANCE } from './gradient_check.js';
export type { GradientCheckOptions, GradientReport } from './gradient_check.js';
export { AUTOCAST_OPS, autocastGraph } from './autocast.js';
export type { AutocastResult } from './autocast.js';
