// Loads the ORT shared library that onnxruntime-node ships
// (bin/napi-v6/<platform>/<arch>/libonnxruntime.so.1) and binds its C API.
// It is the same file the Node binding links against, so the process holds
// one ORT: one OrtEnv, one set of provider libraries, one version.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';
import { loadForeignLibrary } from '../../foreign.js';
import { bindingDir } from '../providers.js';
import { bindApi, type OrtAllocatorPtr, type OrtApi, type OrtMemoryInfoPtr, type OrtStatusPtr, type RawPtr } from './api_table.js';

/** The loaded library: its typed API and what was checked when loading it. */
export interface OrtLibrary {
  readonly api: OrtApi;
  /** OrtApiBase::GetVersionString, e.g. '1.30.0'. */
  readonly version: string;
  /** The API version requested from GetApi (the library's minor version). */
  readonly apiVersion: number;
  readonly path: string;
  /** ORT's default CPU allocator (never freed; it frees the strings and arrays ORT returns). */
  readonly allocator: OrtAllocatorPtr;
}

const LIB_NAME: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'libonnxruntime.so.1',
  darwin: 'libonnxruntime.1.dylib',
  win32: 'onnxruntime.dll',
};

/** Where libonnxruntime sits in the onnxruntime-node install (found through require.resolve). */
export function libraryPath(): string {
  const name = LIB_NAME[process.platform];
  if (!name) throw new Error(`ORT C API backend: no ORT library name known for ${process.platform}`);
  return join(bindingDir(), name);
}

let loaded: OrtLibrary | null = null;

// struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); }
const GetApiProto = koffi.proto('void *OrtBase_GetApi(uint32_t version)');
const GetVersionStringProto = koffi.proto('const char *OrtBase_GetVersionString(void)');

/** Load and check the C API once per process. */
export function ortLibrary(): OrtLibrary {
  if (loaded) return loaded;
  const path = libraryPath();
  if (!existsSync(path)) {
    throw new Error(`ORT C API backend: ${path} does not exist; reinstall onnxruntime-node (its CPU binaries ship in the npm package)`);
  }
  const lib = loadForeignLibrary(path);
  const getApiBase = lib.func('void *OrtGetApiBase(void)');
  const base = koffi.decode(getApiBase(), koffi.array('void *', 2)) as unknown[];
  const version = koffi.call(base[1], GetVersionStringProto) as string;
  const m = /^1\.(\d+)\./.exec(version);
  if (!m || Number(m[1]) < 14) throw new Error(`ORT C API backend: ${path} is ORT ${version}; the function table needs 1.14 or newer`);
  const apiVersion = Number(m[1]);
  const apiPtr = koffi.call(base[0], GetApiProto, apiVersion);
  if (!apiPtr) throw new Error(`ORT C API backend: ORT ${version} returned no OrtApi for version ${apiVersion}`);
  const api = bindApi(apiPtr);
  verifyTable(api, path);
  const alloc: [OrtAllocatorPtr | null] = [null];
  throwIf(api, api.GetAllocatorWithDefaultOptions(alloc), 'GetAllocatorWithDefaultOptions');
  loaded = { api, version, apiVersion, path, allocator: alloc[0]! };
  return loaded;
}

function throwIf(api: OrtApi, s: OrtStatusPtr, call: string): void {
  if (s === null) return;
  const msg = api.GetErrorMessage(s);
  api.ReleaseStatus(s);
  throw new Error(`ORT C API backend: ${call} failed while checking the function table: ${msg}`);
}

/**
 * Call a spread of table entries whose results are known (status round trip,
 * the CPU memory info, the provider list, the last entry we use). An index
 * that is off would return something else or fail here, not in a training run.
 */
function verifyTable(api: OrtApi, path: string): void {
  const bad = (what: string) => new Error(`ORT C API backend: the OrtApi table of ${path} does not match api_order.ts (${what})`);
  const st = api.CreateStatus(2, 'vlreward table probe');
  if (st === null || api.GetErrorCode(st) !== 2 || api.GetErrorMessage(st) !== 'vlreward table probe') throw bad('CreateStatus/GetErrorCode/GetErrorMessage');
  api.ReleaseStatus(st);

  const mi: [OrtMemoryInfoPtr | null] = [null];
  throwIf(api, api.CreateCpuMemoryInfo(0, 0, mi), 'CreateCpuMemoryInfo');
  const name: [string | null] = [null];
  const id: [number] = [-1];
  const devType: [number] = [-1];
  throwIf(api, api.MemoryInfoGetName(mi[0]!, name), 'MemoryInfoGetName');
  throwIf(api, api.MemoryInfoGetId(mi[0]!, id), 'MemoryInfoGetId');
  api.MemoryInfoGetDeviceType(mi[0]!, devType);
  api.ReleaseMemoryInfo(mi[0]!);
  if (name[0] !== 'Cpu' || id[0] !== 0 || devType[0] !== 0) throw bad(`CPU memory info reads ${name[0]}/${id[0]}/${devType[0]}`);

  const list: [RawPtr | null] = [null];
  const n: [number] = [0];
  throwIf(api, api.GetAvailableProviders(list, n), 'GetAvailableProviders');
  const providers = koffi.decode(list[0], koffi.array('const char *', n[0])) as string[];
  throwIf(api, api.ReleaseAvailableProviders(list[0]!, n[0]), 'ReleaseAvailableProviders');
  if (!providers.includes('CPUExecutionProvider')) throw bad(`GetAvailableProviders returned ${JSON.stringify(providers)}`);
}

/** Provider names the library was built with, e.g. CUDAExecutionProvider (built in, not necessarily loadable). */
export function availableProviders(): string[] {
  const { api } = ortLibrary();
  const list: [RawPtr | null] = [null];
  const n: [number] = [0];
  throwIf(api, api.GetAvailableProviders(list, n), 'GetAvailableProviders');
  const providers = koffi.decode(list[0], koffi.array('const char *', n[0])) as string[];
  throwIf(api, api.ReleaseAvailableProviders(list[0]!, n[0]), 'ReleaseAvailableProviders');
  return providers;
}

/** A NUL-terminated string ORT allocated with the default allocator: read it, then free it. */
export function takeString(p: RawPtr | null): string {
  if (p === null) return '';
  const { api, allocator } = ortLibrary();
  const s = koffi.decode(p, 'char', -1) as string;
  api.AllocatorFree(allocator, p);
  return s;
}
