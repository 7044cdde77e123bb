// @vlreward/graph public API. The builder is pure: it never imports
// onnxruntime. Sessions live behind '@vlreward/graph/runtime'.
export { Graph, Tensor } from './builder.js';
export type { AttrValue, Attrs, GraphOptions, Node, NodeOptions, OutputSpec } from './builder.js';
export { BYTES_PER_ELEMENT, ONNX_DTYPE, dtypeFromOnnx, isFloat } from './dtype.js';
export type { DType, TypedArray } from './dtype.js';
export { broadcastShapes, formatShape, isStatic, numel, shapesEqual } from './shape.js';
export type { Dim, Shape } from './shape.js';
export { allocTyped, byteLength, tensorData, zeros } from './tensor_data.js';
export type { TensorData } from './tensor_data.js';
export { add, getOpDef, matmul, transpose, transposeLast2 } from './ops/index.js';
export type { GradContext, OpDef } from './ops/index.js';
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
} from './io/safetensors.js';
export type {
  SafetensorsEntry,
  SafetensorsHeader,
  SafetensorsMetadata,
  TensorMap,
  WriteSafetensorsOptions,
} from './io/safetensors.js';
export {
  DEFAULT_MAX_SHARD_BYTES,
  SAFE_WEIGHTS_INDEX_NAME,
  SAFE_WEIGHTS_NAME,
  SafetensorsDir,
  openSafetensorsDir,
  writeSafetensorsSharded,
} from './io/safetensors_dir.js';
export type { SafetensorsIndex, ShardedWriteResult, WriteShardedOptions } from './io/safetensors_dir.js';
export {
  bf16BitsToFloat,
  castTensorData,
  f16BitsToFloat,
  floatToBf16Bits,
  floatToF16Bits,
  toFloat32,
} from './io/float16.js';
export { decodeModel, encodeModel, externalDataBytes, IR_VERSION, saveModel, serialize, serializeModel, toModelProto, writeExternalData } from './serialize.js';
export type { ExternalDataBlob, ExternalDataOptions, ModelProto, SavedModel, SerializedModel, SerializeOptions } from './serialize.js';
