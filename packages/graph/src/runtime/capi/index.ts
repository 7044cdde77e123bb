// The ORT C API backend: sessions, values and IoBinding over the
// libonnxruntime that onnxruntime-node ships, called through koffi.
export { ORT_API_ORDER } from './api_order.js';
export type { OrtApiName } from './api_order.js';
export { apiIndex } from './api_table.js';
export { availableProviders, libraryPath, ortLibrary } from './library.js';
export type { OrtLibrary } from './library.js';
export { errorCodeName, ORT_ERROR_CODES, OrtError } from './status.js';
export { appendCuda, appendWebGpu, cudaProviderKeys } from './providers.js';
export type { CapiCudaOptions } from './providers.js';
export { CapiValue, memoryInfo } from './value.js';
export type { MemoryKind, ValueOrigin, ValueOwner } from './value.js';
export { IoBinding } from './io_binding.js';
export { CapiSession } from './session.js';
export type { CapiFeeds } from './session.js';
export { DeviceCopier } from './copy.js';
export type { Transfer } from './transfer.js';
