// @vlreward/graph/runtime: sessions and execution providers over
// onnxruntime-node. Kept apart from the builder, which never loads ORT.
export { bf16ToFloat32, float32ToBf16, fromOrtTensor, toOrtTensor } from './convert.js';
export { downloadTensor } from './download.js';
export { modelIO, rewriteBf16Boundary } from './model_io.js';
export type { IOInfo } from './model_io.js';
export { ort } from './ort.js';
export type { OrtDataLocation, OrtTensor } from './ort.js';
export { explainProviderFailure, INSTALL_HINT, listProviders, missingCudaLibraries, parseDevice, PROVIDERS, ProviderUnavailableError } from './providers.js';
export type { DeviceSpec, Provider, ProviderInfo } from './providers.js';
export { createSession, InferenceSession, isOrtTensor, resolveDevice, runOnce } from './session.js';
export type { Feeds, Session } from './session.js';
// The ORT C API backend (IoBinding, device-resident values, every CUDA option).
export { apiIndex, availableProviders, CapiSession, CapiValue, cudaProviderKeys, DeviceCopier, errorCodeName, IoBinding, libraryPath, memoryInfo, ORT_API_ORDER, ORT_ERROR_CODES, OrtError, ortLibrary } from './capi/index.js';
export type { CapiCudaOptions, CapiFeeds, MemoryKind, OrtApiName, OrtLibrary, Transfer, ValueOrigin } from './capi/index.js';
