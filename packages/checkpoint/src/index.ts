// @vlreward/checkpoint public API: PEFT-compatible LoRA adapters, the reward
// head, HF-layout full weights, resume state, manifest, atomic checkpoint dirs.
export {
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  PEFT_LORA_DEFAULTS,
  PEFT_PREFIX,
  SEED_LORA,
  formatAdapterConfig,
  parseAdapterConfig,
  parsePeftTensorName,
  peftLoraConfig,
  peftTensorName,
  readPeftAdapter,
  writePeftAdapter,
} from './peft.js';
export type { LoraModuleWeights, PeftAdapter, PeftLoraConfig, ReadPeftAdapterOptions, WritePeftAdapterOptions } from './peft.js';
export { HEAD_FILE_NAME, readClassifierHead, writeClassifierHead } from './head.js';
export type { ClassifierHead, LoadedClassifierHead } from './head.js';
export { OPTIMIZER_STATE_NAME, TRAINER_STATE_NAME, readResumeState, writeResumeState } from './state.js';
export type { AdamMoments, OptimizerState, ResumeState, TrainerState } from './state.js';
export {
  MANIFEST_FORMAT,
  MANIFEST_FORMAT_VERSION,
  MANIFEST_NAME,
  CorruptCheckpointError,
  readManifest,
  sha256File,
  verifyCheckpoint,
} from './manifest.js';
export type { CheckpointManifest, CheckpointMode, ManifestFile, ManifestInput, VerifyLevel } from './manifest.js';
export { findLeftovers, recoverLeftovers, removeDirAtomic, writeDirAtomic } from './atomic.js';
export type { Leftover, LeftoverKind } from './atomic.js';
export { CHECKPOINT_MAX_SHARD_BYTES, PROCESSOR_FILES, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export type { CheckpointContents, FullWeights, LoadCheckpointOptions, LoadedCheckpoint } from './checkpoint.js';
export { checkCheckpoint } from './check.js';
export type { CheckCheckpointOptions, CheckpointCheck } from './check.js';
export { NonFiniteTensorError, firstNonFinite } from './finite.js';
export type { NonFiniteElement } from './finite.js';
export { isQwen3VLLoraModule } from './targets.js';
export { CHECKPOINT_PREFIX, CheckpointManager } from './manager.js';
export type { CheckpointEntry, CheckpointManagerOptions, ResolvedCheckpoint } from './manager.js';
export { pythonJson } from './json.js';
