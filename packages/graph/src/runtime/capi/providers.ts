// Execution providers through the C API: CUDA via OrtCUDAProviderOptionsV2
// with every option forwarded as ORT's own key, WebGPU via
// SessionOptionsAppendExecutionProvider('WebGPU', options). A provider that
// cannot load throws ProviderUnavailableError naming the missing file and the
// install step; nothing falls back to the CPU.
import { explainProviderFailure, ProviderUnavailableError, type Provider } from '../providers.js';
import type { Session } from '../session.js';
import type { OrtCudaOptionsPtr, OrtSessionOptionsPtr, RawPtr } from './api_table.js';
import { ortLibrary, takeString } from './library.js';
import { OrtError, check } from './status.js';

/** CUDA EP settings; each maps to one OrtCUDAProviderOptionsV2 key (ORT's defaults in brackets). */
export interface CapiCudaOptions extends Session.CudaOptions {
  /** `arena_extend_strategy` [kNextPowerOfTwo]. */
  readonly arenaExtendStrategy?: 'kNextPowerOfTwo' | 'kSameAsRequested';
  /** `enable_cuda_graph` [false]: capture the run as a CUDA graph (needs fixed input/output addresses). */
  readonly enableCudaGraph?: boolean;
  /** `do_copy_in_default_stream` [true]. */
  readonly doCopyInDefaultStream?: boolean;
  /** `cudnn_conv_use_max_workspace` [true]. */
  readonly cudnnConvUseMaxWorkspace?: boolean;
  /** Any other OrtCUDAProviderOptionsV2 key, forwarded as given (e.g. { prefer_nhwc: '1' }). */
  readonly extra?: Readonly<Record<string, string>>;
}

/** The OrtCUDAProviderOptionsV2 key/value pairs for these options. */
export function cudaProviderKeys(deviceId: number, o: CapiCudaOptions = {}): Record<string, string> {
  const flag = (b: boolean) => (b ? '1' : '0');
  const kv: Record<string, string> = { device_id: String(deviceId) };
  if (o.gpuMemLimitBytes !== undefined) kv.gpu_mem_limit = String(o.gpuMemLimitBytes);
  if (o.arenaExtendStrategy !== undefined) kv.arena_extend_strategy = o.arenaExtendStrategy;
  if (o.cudnnConvAlgoSearch !== undefined) kv.cudnn_conv_algo_search = o.cudnnConvAlgoSearch;
  if (o.useTf32 !== undefined) kv.use_tf32 = flag(o.useTf32);
  if (o.enableCudaGraph !== undefined) kv.enable_cuda_graph = flag(o.enableCudaGraph);
  if (o.doCopyInDefaultStream !== undefined) kv.do_copy_in_default_stream = flag(o.doCopyInDefaultStream);
  if (o.cudnnConvUseMaxWorkspace !== undefined) kv.cudnn_conv_use_max_workspace = flag(o.cudnnConvUseMaxWorkspace);
  for (const [k, v] of Object.entries(o.extra ?? {})) {
    if (k in kv) throw new Error(`cuda.extra['${k}'] repeats an option that has its own field`);
    kv[k] = v;
  }
  return kv;
}

/** ORT's failure as a ProviderUnavailableError when it is about the provider itself. */
export function providerError(provider: Provider, e: unknown): Error {
  if (!(e instanceof OrtError)) return e as Error;
  return new ProviderUnavailableError(provider, `${explainProviderFailure(provider, e.ortMessage)}: ${e.message}`);
}

/**
 * Append the CUDA EP with these keys (CreateCUDAProviderOptions,
 * UpdateCUDAProviderOptions, SessionOptionsAppendExecutionProvider_CUDA_V2).
 * Returns ORT's reading of the options (GetCUDAProviderOptionsAsString).
 */
export function appendCuda(options: OrtSessionOptionsPtr, keys: Readonly<Record<string, string>>): string {
  const { api, allocator } = ortLibrary();
  const out: [OrtCudaOptionsPtr | null] = [null];
  try {
    check(api.CreateCUDAProviderOptions(out), 'CreateCUDAProviderOptions', 'the CUDA provider');
    const k = Object.keys(keys);
    const v = Object.values(keys);
    check(api.UpdateCUDAProviderOptions(out[0]!, k, v, k.length), 'UpdateCUDAProviderOptions', `the CUDA provider (${k.map((x, i) => `${x}=${v[i]}`).join(', ')})`);
    const str: [RawPtr | null] = [null];
    check(api.GetCUDAProviderOptionsAsString(out[0]!, allocator, str), 'GetCUDAProviderOptionsAsString', 'the CUDA provider');
    const applied = takeString(str[0]);
    check(api.SessionOptionsAppendExecutionProvider_CUDA_V2(options, out[0]!), 'SessionOptionsAppendExecutionProvider_CUDA_V2', 'the CUDA provider');
    return applied;
  } catch (e) {
    throw providerError('cuda', e);
  } finally {
    if (out[0]) api.ReleaseCUDAProviderOptions(out[0]);
  }
}

/** Append the WebGPU EP with its string options (the keys onnxruntime-node forwards, e.g. preferredLayout). */
export function appendWebGpu(options: OrtSessionOptionsPtr, keys: Readonly<Record<string, string>>): void {
  const { api } = ortLibrary();
  const k = Object.keys(keys);
  try {
    check(api.SessionOptionsAppendExecutionProvider(options, 'WebGPU', k, Object.values(keys), k.length), 'SessionOptionsAppendExecutionProvider', "the 'WebGPU' provider");
  } catch (e) {
    throw providerError('webgpu', e);
  }
}
