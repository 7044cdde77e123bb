// '@vlreward/graph/io': tensor file I/O without the graph builder or the op
// registry, for weight loaders and checkpoints (also re-exported from '@vlreward/graph').
export {
  SAFETENSORS_DTYPE,
  SafetensorsFile,
  inspectSafetensors,
  openSafetensors,
  parseSafetensors,
  parseSafetensorsHeader,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
  writeSafetensorsStreaming,
} from './safetensors.js';
export type {
  SafetensorsEntry,
  SafetensorsHeader,
  SafetensorsMetadata,
  SafetensorsTensorSpec,
  TensorMap,
  WriteSafetensorsOptions,
  WriteStreamingOptions,
} from './safetensors.js';
export {
  DEFAULT_MAX_SHARD_BYTES,
  SAFE_WEIGHTS_INDEX_NAME,
  SAFE_WEIGHTS_NAME,
  SafetensorsDir,
  openSafetensorsDir,
  writeSafetensorsSharded,
} from './safetensors_dir.js';
export type { SafetensorsIndex, ShardedWriteResult, WriteShardedOptions } from './safetensors_dir.js';
export { gitBlobSha1, hfHubCacheDir, hubRepoDir, isHubId, resolveHubModel, storeCacheFile, writeCacheRef } from './hf_hub.js';
export type { HubFiles, ResolveModelOptions } from './hf_hub.js';
export { bf16BitsToFloat, castTensorData, f16BitsToFloat, floatToBf16Bits, floatToF16Bits, toFloat32, widen16ToFloat32 } from './float16.js';
export { allocTyped, byteLength, tensorData, zeros } from '../tensor_data.js';
export type { TensorData } from '../tensor_data.js';
export type { DType, TypedArray } from '../dtype.js';
export { peftModuleScale, peftTargets } from './peft_match.js';
export type { PeftMatchFields } from './peft_match.js';
