// Which execution providers this onnxruntime-node install can use, and the
// errors that say how to get a missing one. We never fall back silently: a
// session asked for 'cuda' either runs on CUDA or throws.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ort } from './ort.js';

export type Provider = 'cpu' | 'cuda' | 'webgpu';
export const PROVIDERS: readonly Provider[] = ['cpu', 'cuda', 'webgpu'];

/** A parsed `--device` value: 'cpu', 'cuda', 'cuda:N' or 'webgpu'. */
export interface DeviceSpec {
  readonly provider: Provider;
  /** GPU ordinal ('cuda:N'); absent means the provider's default (0). */
  readonly deviceId?: number;
}

/** Parse `cpu | cuda | cuda:N | webgpu` (what every `--device` flag and `device` option takes). */
export function parseDevice(device: string): DeviceSpec {
  const m = /^(cpu|cuda|webgpu)(?::(\d+))?$/.exec(device.trim());
  if (!m || (m[2] !== undefined && m[1] !== 'cuda')) {
    throw new RangeError(`device '${device}': expected cpu, cuda, cuda:N (N = GPU ordinal) or webgpu`);
  }
  return { provider: m[1] as Provider, ...(m[2] !== undefined ? { deviceId: Number(m[2]) } : {}) };
}

export interface ProviderInfo {
  readonly name: Provider;
  /** Listed by the binding and its libraries present (CUDA still needs the CUDA/cuDNN runtime at session creation). */
  readonly available: boolean;
  /** Why not, or what else is required. */
  readonly note: string;
}

/** The install step for each provider, quoted in every "unavailable" error. */
export const INSTALL_HINT: Record<Provider, string> = {
  cpu: 'reinstall onnxruntime-node (its CPU binaries ship in the npm package)',
  cuda:
    'install the CUDA execution provider for onnxruntime-node (Linux x64 only): ' +
    '`ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node` (or `cuda13` for CUDA 13) ' +
    '(in this repo: `ONNXRUNTIME_NODE_INSTALL=cuda12 pnpm rebuild onnxruntime-node`), ' +
    'and put the CUDA runtime, cuBLAS(Lt), cuRAND and cuDNN 9 libraries on LD_LIBRARY_PATH; ' +
    'offline machines: the kit of ../shared/gpu/make-cuda-kit.sh (see docs/GPU.md)',
  webgpu:
    'the WebGPU provider ships with onnxruntime-node on Windows, macOS and Linux x64 but needs a GPU with a ' +
    'Vulkan (Linux), Metal or D3D12 driver; on Linux install the Vulkan loader (Debian `libvulkan1`) and the GPU ' +
    "driver's Vulkan ICD (NVIDIA: nvidia_icd.json, VK_DRIVER_FILES), then check `vulkaninfo`; without a GPU, a software " +
    'Vulkan driver works (scripts/setup.sh installs both): SwiftShader from Debian `chromium` ' +
    '(VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json, fp32 only) or lavapipe from Mesa >= 25 (Debian ' +
    '`mesa-vulkan-drivers` from bookworm-backports, with shader-f16; Mesa 22 is rejected by Dawn)',
};

/** Directory holding onnxruntime_binding.node and the provider shared libraries. */
export function bindingDir(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('onnxruntime-node');
  return join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

const CUDA_LIBS = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];

/** What `vlreward doctor` prints: each provider with availability and why. */
export function listProviders(): ProviderInfo[] {
  const backends = new Map(ort.listSupportedBackends().map((b) => [b.name, b]));
  const platform = `${process.platform}/${process.arch}`;
  return PROVIDERS.map((name): ProviderInfo => {
    const b = backends.get(name);
    if (!b) return { name, available: false, note: `not built into onnxruntime-node ${ort.env.versions.node} for ${platform}; ${INSTALL_HINT[name]}` };
    if (name === 'cuda') {
      const dir = bindingDir();
      const missing = CUDA_LIBS.filter((f) => !existsSync(join(dir, f)));
      if (missing.length > 0) return { name, available: false, note: `${missing.join(', ')} not in ${dir}; ${INSTALL_HINT.cuda}` };
      return { name, available: true, note: 'provider library installed; needs CUDA 12 + cuDNN 9 on LD_LIBRARY_PATH and a visible GPU' };
    }
    if (name === 'webgpu') return { name, available: true, note: 'bundled; needs a GPU adapter (checked when a session is created)' };
    return { name, available: true, note: 'bundled' };
  });
}

export class ProviderUnavailableError extends Error {
  constructor(
    readonly provider: Provider,
    reason: string,
  ) {
    super(`execution provider '${provider}' is not available: ${reason}. To fix: ${INSTALL_HINT[provider]}`);
    this.name = 'ProviderUnavailableError';
  }
}

/** Throw unless `provider` can be requested at all (before building a session). */
export function assertProviderListed(provider: Provider): void {
  if (!PROVIDERS.includes(provider)) {
    throw new Error(`unknown execution provider '${String(provider)}' (expected one of ${PROVIDERS.join(', ')})`);
  }
  const info = listProviders().find((p) => p.name === provider)!;
  if (!info.available) throw new ProviderUnavailableError(provider, info.note.split(';')[0]!);
}

/** Errors from session creation that mean the provider itself failed, not the model. */
export function looksLikeProviderFailure(provider: Provider, message: string): boolean {
  if (provider === 'cuda') return /cuda|cudnn|cublas|libcu|providers_shared|CUDAExecutionProvider|GPU/i.test(message);
  if (provider === 'webgpu') return /webgpu|dawn|adapter|vulkan|GPU/i.test(message);
  return false;
}

/** The one-line cause of a provider failure, ahead of ORT's raw message (which follows it). */
export function explainProviderFailure(provider: Provider, message: string): string {
  if (provider === 'webgpu' && /No supported adapters|Failed to get a WebGPU adapter/i.test(message)) {
    return 'no WebGPU adapter: Dawn found no usable Vulkan GPU (no Vulkan loader/driver, or only an unsupported device such as Mesa 22 lavapipe)';
  }
  if (provider === 'cuda' && /Failed to load shared library|cannot open shared object/i.test(message)) {
    const missing = missingCudaLibraries();
    if (missing.length) return `the CUDA provider's libraries are not on the library path: ${missing.join(', ')} not found (LD_LIBRARY_PATH)`;
  }
  if (provider === 'cuda') {
    const lib = /(lib[\w.+-]+\.so[.\d]*)/.exec(message);
    if (lib && /cannot open|No such file|not found|dlopen|Failed to load/i.test(message)) return `a CUDA library could not be loaded (${lib[1]})`;
    if (/no CUDA-capable device|CUDA driver version is insufficient|cudaErrorNoDevice/i.test(message)) return 'no usable CUDA GPU / driver on this machine';
  }
  return 'session creation failed';
}

/**
 * Shared libraries that libonnxruntime_providers_cuda.so needs and the dynamic
 * linker cannot find (`ldd` with the current LD_LIBRARY_PATH), e.g.
 * libcublasLt.so.13; [] when all resolve or ldd is unavailable.
 */
export function missingCudaLibraries(): string[] {
  if (process.platform !== 'linux') return [];
  const lib = join(bindingDir(), 'libonnxruntime_providers_cuda.so');
  if (!existsSync(lib)) return ['libonnxruntime_providers_cuda.so'];
  try {
    const out = execFileSync('ldd', [lib], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    return out
      .split('\n')
      .filter((l) => /=>\s*not found/.test(l))
      .map((l) => l.trim().split(/\s+/)[0]!)
      .filter(Boolean);
  } catch {
    return [];
  }
}
