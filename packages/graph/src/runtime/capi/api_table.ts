// The OrtApi functions this backend calls, with their C signatures (as koffi
// prototypes) and the TypeScript types koffi gives them. Handles are koffi
// opaque pointer types, so passing an OrtMemoryInfo* where an OrtValue* is
// expected throws in JS instead of crashing in C. Every function returning
// OrtStatus* returns null on success (status.ts turns the rest into Errors).
import koffi from 'koffi';
import { ORT_API_ORDER, type OrtApiName } from './api_order.js';

/** An opaque ORT handle as koffi hands it to JS (a typed External). */
export type Handle<Kind extends string> = { readonly __ort: Kind };
export type OrtStatusPtr = Handle<'OrtStatus'> | null;
export type OrtEnvPtr = Handle<'OrtEnv'>;
export type OrtSessionOptionsPtr = Handle<'OrtSessionOptions'>;
export type OrtSessionPtr = Handle<'OrtSession'>;
export type OrtValuePtr = Handle<'OrtValue'>;
export type OrtMemoryInfoPtr = Handle<'OrtMemoryInfo'>;
export type OrtTypeInfoPtr = Handle<'OrtTypeInfo'>;
export type OrtTensorInfoPtr = Handle<'OrtTensorTypeAndShapeInfo'>;
export type OrtAllocatorPtr = Handle<'OrtAllocator'>;
export type OrtIoBindingPtr = Handle<'OrtIoBinding'>;
export type OrtCudaOptionsPtr = Handle<'OrtCUDAProviderOptionsV2'>;
/** A raw pointer ORT returns (tensor data, allocator-owned strings and arrays). */
export type RawPtr = Handle<'void'>;

/** A one-element array koffi fills for an `_Out_` parameter. */
export type Out<T> = [T];

for (const t of [
  'OrtStatus',
  'OrtEnv',
  'OrtSessionOptions',
  'OrtSession',
  'OrtValue',
  'OrtMemoryInfo',
  'OrtTypeInfo',
  'OrtTensorTypeAndShapeInfo',
  'OrtAllocator',
  'OrtIoBinding',
  'OrtCUDAProviderOptionsV2',
  'OrtRunOptions',
]) {
  koffi.opaque(t);
}

/** C prototype of each function we call, keyed by its OrtApi name. */
const SIGNATURES = {
  CreateStatus: 'OrtStatus *f(int code, const char *msg)',
  GetErrorCode: 'int f(const OrtStatus *status)',
  GetErrorMessage: 'const char *f(const OrtStatus *status)',
  ReleaseStatus: 'void f(OrtStatus *status)',

  CreateEnv: 'OrtStatus *f(int log_severity_level, const char *logid, _Out_ OrtEnv **out)',
  ReleaseEnv: 'void f(OrtEnv *env)',
  GetAvailableProviders: 'OrtStatus *f(_Out_ void **out, _Out_ int *length)',
  ReleaseAvailableProviders: 'OrtStatus *f(void *ptr, int length)',

  CreateSessionOptions: 'OrtStatus *f(_Out_ OrtSessionOptions **out)',
  ReleaseSessionOptions: 'void f(OrtSessionOptions *options)',
  SetOptimizedModelFilePath: 'OrtStatus *f(OrtSessionOptions *options, const char *path)',
  EnableProfiling: 'OrtStatus *f(OrtSessionOptions *options, const char *prefix)',
  EnableMemPattern: 'OrtStatus *f(OrtSessionOptions *options)',
  DisableMemPattern: 'OrtStatus *f(OrtSessionOptions *options)',
  EnableCpuMemArena: 'OrtStatus *f(OrtSessionOptions *options)',
  DisableCpuMemArena: 'OrtStatus *f(OrtSessionOptions *options)',
  SetSessionLogSeverityLevel: 'OrtStatus *f(OrtSessionOptions *options, int level)',
  SetSessionGraphOptimizationLevel: 'OrtStatus *f(OrtSessionOptions *options, int level)',
  SetIntraOpNumThreads: 'OrtStatus *f(OrtSessionOptions *options, int n)',
  SetInterOpNumThreads: 'OrtStatus *f(OrtSessionOptions *options, int n)',
  AddFreeDimensionOverrideByName: 'OrtStatus *f(OrtSessionOptions *options, const char *name, int64_t value)',
  AddSessionConfigEntry: 'OrtStatus *f(OrtSessionOptions *options, const char *key, const char *value)',
  SessionOptionsAppendExecutionProvider:
    'OrtStatus *f(OrtSessionOptions *options, const char *provider, const char **keys, const char **values, size_t n)',
  SessionOptionsAppendExecutionProvider_CUDA_V2: 'OrtStatus *f(OrtSessionOptions *options, const OrtCUDAProviderOptionsV2 *cuda)',
  CreateCUDAProviderOptions: 'OrtStatus *f(_Out_ OrtCUDAProviderOptionsV2 **out)',
  UpdateCUDAProviderOptions: 'OrtStatus *f(OrtCUDAProviderOptionsV2 *cuda, const char **keys, const char **values, size_t n)',
  GetCUDAProviderOptionsAsString: 'OrtStatus *f(const OrtCUDAProviderOptionsV2 *cuda, OrtAllocator *allocator, _Out_ void **out)',
  ReleaseCUDAProviderOptions: 'void f(OrtCUDAProviderOptionsV2 *cuda)',

  CreateSession: 'OrtStatus *f(const OrtEnv *env, const char *path, const OrtSessionOptions *options, _Out_ OrtSession **out)',
  CreateSessionFromArray:
    'OrtStatus *f(const OrtEnv *env, const void *data, size_t length, const OrtSessionOptions *options, _Out_ OrtSession **out)',
  ReleaseSession: 'void f(OrtSession *session)',
  SessionGetInputCount: 'OrtStatus *f(const OrtSession *session, _Out_ size_t *out)',
  SessionGetOutputCount: 'OrtStatus *f(const OrtSession *session, _Out_ size_t *out)',
  SessionGetInputName: 'OrtStatus *f(const OrtSession *session, size_t index, OrtAllocator *allocator, _Out_ void **out)',
  SessionGetOutputName: 'OrtStatus *f(const OrtSession *session, size_t index, OrtAllocator *allocator, _Out_ void **out)',
  SessionGetInputTypeInfo: 'OrtStatus *f(const OrtSession *session, size_t index, _Out_ OrtTypeInfo **out)',
  SessionGetOutputTypeInfo: 'OrtStatus *f(const OrtSession *session, size_t index, _Out_ OrtTypeInfo **out)',
  SessionEndProfiling: 'OrtStatus *f(OrtSession *session, OrtAllocator *allocator, _Out_ void **out)',
  Run:
    'OrtStatus *f(OrtSession *session, OrtRunOptions *run_options, const char **input_names, OrtValue **inputs, size_t n_in, ' +
    'const char **output_names, size_t n_out, _Inout_ OrtValue **outputs)',

  ReleaseTypeInfo: 'void f(OrtTypeInfo *info)',
  GetOnnxTypeFromTypeInfo: 'OrtStatus *f(const OrtTypeInfo *info, _Out_ int *out)',
  CastTypeInfoToTensorInfo: 'OrtStatus *f(const OrtTypeInfo *info, _Out_ OrtTensorTypeAndShapeInfo **out)',
  GetTensorElementType: 'OrtStatus *f(const OrtTensorTypeAndShapeInfo *info, _Out_ int *out)',
  GetDimensionsCount: 'OrtStatus *f(const OrtTensorTypeAndShapeInfo *info, _Out_ size_t *out)',
  GetDimensions: 'OrtStatus *f(const OrtTensorTypeAndShapeInfo *info, int64_t *dims, size_t n)',
  GetSymbolicDimensions: 'OrtStatus *f(const OrtTensorTypeAndShapeInfo *info, void *names, size_t n)',
  GetTensorTypeAndShape: 'OrtStatus *f(const OrtValue *value, _Out_ OrtTensorTypeAndShapeInfo **out)',
  ReleaseTensorTypeAndShapeInfo: 'void f(OrtTensorTypeAndShapeInfo *info)',

  CreateMemoryInfo: 'OrtStatus *f(const char *name, int allocator_type, int id, int mem_type, _Out_ OrtMemoryInfo **out)',
  CreateCpuMemoryInfo: 'OrtStatus *f(int allocator_type, int mem_type, _Out_ OrtMemoryInfo **out)',
  MemoryInfoGetName: 'OrtStatus *f(const OrtMemoryInfo *info, _Out_ const char **out)',
  MemoryInfoGetId: 'OrtStatus *f(const OrtMemoryInfo *info, _Out_ int *out)',
  MemoryInfoGetDeviceType: 'void f(const OrtMemoryInfo *info, _Out_ int *out)',
  ReleaseMemoryInfo: 'void f(OrtMemoryInfo *info)',
  GetAllocatorWithDefaultOptions: 'OrtStatus *f(_Out_ OrtAllocator **out)',
  AllocatorFree: 'OrtStatus *f(OrtAllocator *allocator, void *p)',

  CreateTensorWithDataAsOrtValue:
    'OrtStatus *f(const OrtMemoryInfo *info, void *data, size_t bytes, const int64_t *shape, size_t rank, int type, _Out_ OrtValue **out)',
  GetTensorMutableData: 'OrtStatus *f(OrtValue *value, _Out_ void **out)',
  GetTensorMemoryInfo: 'OrtStatus *f(const OrtValue *value, _Out_ const OrtMemoryInfo **out)',
  ReleaseValue: 'void f(OrtValue *value)',

  CreateIoBinding: 'OrtStatus *f(OrtSession *session, _Out_ OrtIoBinding **out)',
  ReleaseIoBinding: 'void f(OrtIoBinding *binding)',
  BindInput: 'OrtStatus *f(OrtIoBinding *binding, const char *name, const OrtValue *value)',
  BindOutput: 'OrtStatus *f(OrtIoBinding *binding, const char *name, const OrtValue *value)',
  BindOutputToDevice: 'OrtStatus *f(OrtIoBinding *binding, const char *name, const OrtMemoryInfo *info)',
  GetBoundOutputValues: 'OrtStatus *f(const OrtIoBinding *binding, OrtAllocator *allocator, _Out_ void **out, _Out_ size_t *count)',
  ClearBoundInputs: 'void f(OrtIoBinding *binding)',
  ClearBoundOutputs: 'void f(OrtIoBinding *binding)',
  SynchronizeBoundOutputs: 'OrtStatus *f(OrtIoBinding *binding)',
  RunWithBinding: 'OrtStatus *f(OrtSession *session, OrtRunOptions *run_options, const OrtIoBinding *binding)',
} as const satisfies Partial<Record<OrtApiName, string>>;

type Fn<A extends unknown[], R> = ((...args: A) => R) & { async: (...args: [...A, (err: unknown, res: R) => void]) => void };
type S = OrtStatusPtr;
type Opts = OrtSessionOptionsPtr;

/** The typed C API (only what we call). */
export interface OrtApi {
  CreateStatus: Fn<[code: number, msg: string], S>;
  GetErrorCode: Fn<[status: S], number>;
  GetErrorMessage: Fn<[status: S], string>;
  ReleaseStatus: Fn<[status: S], void>;
  CreateEnv: Fn<[level: number, logid: string, out: Out<OrtEnvPtr | null>], S>;
  ReleaseEnv: Fn<[env: OrtEnvPtr], void>;
  GetAvailableProviders: Fn<[out: Out<RawPtr | null>, length: Out<number>], S>;
  ReleaseAvailableProviders: Fn<[ptr: RawPtr, length: number], S>;
  CreateSessionOptions: Fn<[out: Out<Opts | null>], S>;
  ReleaseSessionOptions: Fn<[o: Opts], void>;
  SetOptimizedModelFilePath: Fn<[o: Opts, path: string], S>;
  EnableProfiling: Fn<[o: Opts, prefix: string], S>;
  EnableMemPattern: Fn<[o: Opts], S>;
  DisableMemPattern: Fn<[o: Opts], S>;
  EnableCpuMemArena: Fn<[o: Opts], S>;
  DisableCpuMemArena: Fn<[o: Opts], S>;
  SetSessionLogSeverityLevel: Fn<[o: Opts, level: number], S>;
  SetSessionGraphOptimizationLevel: Fn<[o: Opts, level: number], S>;
  SetIntraOpNumThreads: Fn<[o: Opts, n: number], S>;
  SetInterOpNumThreads: Fn<[o: Opts, n: number], S>;
  AddFreeDimensionOverrideByName: Fn<[o: Opts, name: string, value: number | bigint], S>;
  AddSessionConfigEntry: Fn<[o: Opts, key: string, value: string], S>;
  SessionOptionsAppendExecutionProvider: Fn<[o: Opts, provider: string, keys: string[], values: string[], n: number], S>;
  SessionOptionsAppendExecutionProvider_CUDA_V2: Fn<[o: Opts, cuda: OrtCudaOptionsPtr], S>;
  CreateCUDAProviderOptions: Fn<[out: Out<OrtCudaOptionsPtr | null>], S>;
  UpdateCUDAProviderOptions: Fn<[cuda: OrtCudaOptionsPtr, keys: string[], values: string[], n: number], S>;
  GetCUDAProviderOptionsAsString: Fn<[cuda: OrtCudaOptionsPtr, allocator: OrtAllocatorPtr, out: Out<RawPtr | null>], S>;
  ReleaseCUDAProviderOptions: Fn<[cuda: OrtCudaOptionsPtr], void>;
  CreateSession: Fn<[env: OrtEnvPtr, path: string, o: Opts, out: Out<OrtSessionPtr | null>], S>;
  CreateSessionFromArray: Fn<[env: OrtEnvPtr, data: Uint8Array, length: number, o: Opts, out: Out<OrtSessionPtr | null>], S>;
  ReleaseSession: Fn<[s: OrtSessionPtr], void>;
  SessionGetInputCount: Fn<[s: OrtSessionPtr, out: Out<number>], S>;
  SessionGetOutputCount: Fn<[s: OrtSessionPtr, out: Out<number>], S>;
  SessionGetInputName: Fn<[s: OrtSessionPtr, index: number, allocator: OrtAllocatorPtr, out: Out<RawPtr | null>], S>;
  SessionGetOutputName: Fn<[s: OrtSessionPtr, index: number, allocator: OrtAllocatorPtr, out: Out<RawPtr | null>], S>;
  SessionGetInputTypeInfo: Fn<[s: OrtSessionPtr, index: number, out: Out<OrtTypeInfoPtr | null>], S>;
  SessionGetOutputTypeInfo: Fn<[s: OrtSessionPtr, index: number, out: Out<OrtTypeInfoPtr | null>], S>;
  SessionEndProfiling: Fn<[s: OrtSessionPtr, allocator: OrtAllocatorPtr, out: Out<RawPtr | null>], S>;
  Run: Fn<
    [s: OrtSessionPtr, runOptions: null, inputNames: string[], inputs: OrtValuePtr[], nIn: number, outputNames: string[], nOut: number, outputs: (OrtValuePtr | null)[]],
    S
  >;
  ReleaseTypeInfo: Fn<[t: OrtTypeInfoPtr], void>;
  GetOnnxTypeFromTypeInfo: Fn<[t: OrtTypeInfoPtr, out: Out<number>], S>;
  CastTypeInfoToTensorInfo: Fn<[t: OrtTypeInfoPtr, out: Out<OrtTensorInfoPtr | null>], S>;
  GetTensorElementType: Fn<[t: OrtTensorInfoPtr, out: Out<number>], S>;
  GetDimensionsCount: Fn<[t: OrtTensorInfoPtr, out: Out<number>], S>;
  GetDimensions: Fn<[t: OrtTensorInfoPtr, dims: BigInt64Array, n: number], S>;
  /** `names` receives `n` const char* (koffi.alloc'd by the caller). */
  GetSymbolicDimensions: Fn<[t: OrtTensorInfoPtr, names: unknown, n: number], S>;
  GetTensorTypeAndShape: Fn<[v: OrtValuePtr, out: Out<OrtTensorInfoPtr | null>], S>;
  ReleaseTensorTypeAndShapeInfo: Fn<[t: OrtTensorInfoPtr], void>;
  CreateMemoryInfo: Fn<[name: string, allocatorType: number, id: number, memType: number, out: Out<OrtMemoryInfoPtr | null>], S>;
  CreateCpuMemoryInfo: Fn<[allocatorType: number, memType: number, out: Out<OrtMemoryInfoPtr | null>], S>;
  MemoryInfoGetName: Fn<[m: OrtMemoryInfoPtr, out: Out<string | null>], S>;
  MemoryInfoGetId: Fn<[m: OrtMemoryInfoPtr, out: Out<number>], S>;
  MemoryInfoGetDeviceType: Fn<[m: OrtMemoryInfoPtr, out: Out<number>], void>;
  ReleaseMemoryInfo: Fn<[m: OrtMemoryInfoPtr], void>;
  GetAllocatorWithDefaultOptions: Fn<[out: Out<OrtAllocatorPtr | null>], S>;
  AllocatorFree: Fn<[a: OrtAllocatorPtr, p: RawPtr], S>;
  CreateTensorWithDataAsOrtValue: Fn<
    [m: OrtMemoryInfoPtr, data: ArrayBufferView, bytes: number, shape: BigInt64Array, rank: number, type: number, out: Out<OrtValuePtr | null>],
    S
  >;
  GetTensorMutableData: Fn<[v: OrtValuePtr, out: Out<RawPtr | null>], S>;
  GetTensorMemoryInfo: Fn<[v: OrtValuePtr, out: Out<OrtMemoryInfoPtr | null>], S>;
  ReleaseValue: Fn<[v: OrtValuePtr], void>;
  CreateIoBinding: Fn<[s: OrtSessionPtr, out: Out<OrtIoBindingPtr | null>], S>;
  ReleaseIoBinding: Fn<[b: OrtIoBindingPtr], void>;
  BindInput: Fn<[b: OrtIoBindingPtr, name: string, v: OrtValuePtr], S>;
  BindOutput: Fn<[b: OrtIoBindingPtr, name: string, v: OrtValuePtr], S>;
  BindOutputToDevice: Fn<[b: OrtIoBindingPtr, name: string, m: OrtMemoryInfoPtr], S>;
  GetBoundOutputValues: Fn<[b: OrtIoBindingPtr, allocator: OrtAllocatorPtr, out: Out<RawPtr | null>, count: Out<number>], S>;
  ClearBoundInputs: Fn<[b: OrtIoBindingPtr], void>;
  ClearBoundOutputs: Fn<[b: OrtIoBindingPtr], void>;
  SynchronizeBoundOutputs: Fn<[b: OrtIoBindingPtr], S>;
  RunWithBinding: Fn<[s: OrtSessionPtr, runOptions: null, b: OrtIoBindingPtr], S>;
}

// Every declared function has a prototype and vice versa.
type Missing = Exclude<keyof OrtApi, keyof typeof SIGNATURES> | Exclude<keyof typeof SIGNATURES, keyof OrtApi>;
const _complete: [Missing] extends [never] ? true : Missing = true;
void _complete;

/** Index of `name` in struct OrtApi. */
export function apiIndex(name: OrtApiName): number {
  return ORT_API_ORDER.indexOf(name);
}

/** Build the typed function table from the `const OrtApi*` GetApi returned. */
export function bindApi(apiPtr: unknown): OrtApi {
  const table = koffi.decode(apiPtr, koffi.array('void *', ORT_API_ORDER.length)) as unknown[];
  const api: Record<string, unknown> = {};
  for (const [name, sig] of Object.entries(SIGNATURES)) {
    const ptr = table[apiIndex(name as OrtApiName)];
    if (!ptr) throw new Error(`ORT C API: OrtApi::${name} (index ${apiIndex(name as OrtApiName)}) is a null pointer in this library`);
    // koffi names each prototype; 'Ort_' keeps them apart from user types.
    api[name] = koffi.decode(ptr, koffi.proto(sig.replace(/\bf\(/, `Ort_${name}(`)));
  }
  return api as unknown as OrtApi;
}
