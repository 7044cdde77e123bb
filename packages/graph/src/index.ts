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
// Ops (one ONNX primitive per file, gradient rule beside it), composites, autodiff.
export {
  abs,
  add,
  and,
  argMax,
  cast,
  concat,
  constant,
  constInt64,
  constNumbers,
  constValue,
  cos,
  cumsum,
  div,
  equal,
  erf,
  exp,
  expand,
  flatten,
  floor,
  gather,
  gatherElements,
  gatherND,
  gemm,
  getOpDef,
  greater,
  greaterOrEqual,
  identity,
  isStopGradient,
  less,
  lessOrEqual,
  log,
  logSoftmax,
  matmul,
  max,
  min,
  mul,
  neg,
  not,
  oneHot,
  OP_REGISTRY,
  or,
  pad,
  pow,
  randomUniformLike,
  range,
  reciprocal,
  reduceL2,
  reduceMax,
  reduceMean,
  reduceSum,
  reduceSumSquare,
  relu,
  reshape,
  reshapeTo,
  scalar,
  scalarInt64,
  scatterElements,
  scatterND,
  shapeOf,
  shapeTensor,
  sigmoid,
  sign,
  sin,
  size,
  slice,
  SLICE_END,
  sliceBounds,
  softmax,
  split,
  sqrt,
  squeeze,
  stopGradient,
  sub,
  tanh,
  transpose,
  transposeLast2,
  trilu,
  unsqueeze,
  where,
  zerosLike,
} from './ops/index.js';
export type {
  CumSumOptions,
  GemmOptions,
  GradContext,
  OneHotOptions,
  OpDef,
  RandomUniformOptions,
  ScatterReduction,
  TensorLike,
} from './ops/index.js';
export { applyRotary, attention, causalPaddingMask, crossEntropy, dropout, dropoutKeepMask, FINFO_MIN, gelu, geluTanh, layerNorm, linear, rmsNorm, rotateHalf, silu } from './nn/index.js';
export type { AttentionArgs, CrossEntropyOptions, DropoutOptions } from './nn/index.js';
export { grad, sumToShape } from './autodiff.js';
export type { GradOptions } from './autodiff.js';
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
} from './io/safetensors.js';
export type {
  SafetensorsEntry,
  SafetensorsHeader,
  SafetensorsMetadata,
  SafetensorsTensorSpec,
  TensorMap,
  WriteSafetensorsOptions,
  WriteStreamingOptions,
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
export { gitBlobSha1, hfHubCacheDir, hubRepoDir, isHubId, resolveHubModel, storeCacheFile, writeCacheRef } from './io/hf_hub.js';
export { peftModuleScale, peftTargets } from './io/peft_match.js';
export type { PeftMatchFields } from './io/peft_match.js';
export type { HubFiles, ResolveModelOptions } from './io/hf_hub.js';
export {
  bf16BitsToFloat,
  castTensorData,
  f16BitsToFloat,
  floatToBf16Bits,
  floatToF16Bits,
  toFloat32,
  widen16ToFloat32,
} from './io/float16.js';
export { decodeModel, encodeModel, externalDataBytes, IR_VERSION, saveModel, serialize, serializeModel, toModelProto, writeExternalData } from './serialize.js';
export type { ExternalDataBlob, ExternalDataOptions, ModelProto, SavedModel, SerializedModel, SerializeOptions } from './serialize.js';
export {
  accumulateGrads,
  ADAMW_DEFAULTS,
  adamw,
  anyNonFinite,
  clipByGlobalNorm,
  globalNorm,
  globalSumSquares,
  LOSS_SCALE_DEFAULTS,
  scaleGrads,
  sumTree,
  unscaleGrads,
  updateLossScale,
} from './optim/index.js';
export type { AdamWOptions, AdamWResult, ClipResult, LossScaleOptions, LossScaleUpdate, UnscaleResult } from './optim/index.js';
export { getRopeIndex, QWEN3VL_ROPE_INDEX_CONFIG, ropeIndexConfigFromHf } from './mrope_index.js';
export type { RopeIndexConfig } from './mrope_index.js';
export { fnv1a, mulberry32, Rng } from './random.js';
export type { RngState } from './random.js';
