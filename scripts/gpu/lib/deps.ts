// The workspace code the GPU check uses, by relative path (scripts/gpu is not
// a workspace package); esbuild bundles it from src/ under the
// @vlreward/source condition, tsx runs it from source.
export { add, cast, expand, Graph, matmul, reduceSum, type TensorData } from '../../../packages/graph/src/index.js';
export {
  createSession,
  listProviders,
  ort,
  parseDevice,
  ProviderUnavailableError,
  type DeviceSpec,
  type Provider,
  type Session,
  type Transfer,
} from '../../../packages/graph/src/runtime/index.js';
export {
  buildTrainingArtifacts,
  compareTensors,
  loadFixtureFolder,
  loadQwen3VLWeights,
  makeLoraConfig,
  midQwen3VLConfig,
  loraConfigFromPeft,
  parseQwen3VLConfig,
  prepareQwen3VLInputs,
  QWEN3_VL_2B_CONFIG,
  qwen3VLForwardFlops,
  randomQwen3VLWeights,
  syntheticQwen3VLBatch,
  tinyQwen3VLConfig,
  TrainingSession,
  type ArtifactManifest,
  type LoraConfig,
  type Precision,
  type Qwen3VLConfig,
  type TrainingArtifacts,
} from '../../../packages/model/src/index.js';
export { readSafetensors, openSafetensors } from '../../../packages/graph/src/index.js';
