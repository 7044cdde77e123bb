// OrtSessionOptions from CapiSession.Options: the same settings the Node
// path takes (threads, graph optimization level, profiling, log level, free
// dimensions, arena/mem pattern, session config entries) plus what only the
// C API can do (optimized-model file, every CUDA key).
import type { Provider } from '../providers.js';
import type { OrtSessionOptionsPtr } from './api_table.js';
import { LOG_LEVEL, ortEnv } from './env.js';
import { ortLibrary } from './library.js';
import { appendCuda, appendWebGpu, cudaProviderKeys } from './providers.js';
import { check } from './status.js';
import type { CapiSession } from './session.js';

/** GraphOptimizationLevel values. */
const GRAPH_OPT = { disabled: 0, basic: 1, extended: 2, all: 99 } as const;

/** Create OrtSessionOptions for `provider`; the caller releases them (releaseSessionOptions). */
export function createSessionOptions(o: CapiSession.Options, provider: Provider, deviceId: number): OrtSessionOptionsPtr {
  const { api } = ortLibrary();
  // Providers log through the environment's default logger while they load.
  ortEnv();
  const out: [OrtSessionOptionsPtr | null] = [null];
  check(api.CreateSessionOptions(out), 'CreateSessionOptions', 'a new session');
  const so = out[0]!;
  try {
    const set = (s: ReturnType<typeof api.EnableMemPattern>, call: string, what: string) => check(s, call, `session options (${what})`);
    if (o.intraOpThreads !== undefined) set(api.SetIntraOpNumThreads(so, o.intraOpThreads), 'SetIntraOpNumThreads', `intraOpThreads ${o.intraOpThreads}`);
    if (o.interOpThreads !== undefined) set(api.SetInterOpNumThreads(so, o.interOpThreads), 'SetInterOpNumThreads', `interOpThreads ${o.interOpThreads}`);
    const level = o.graphOptimizationLevel ?? 'all';
    set(api.SetSessionGraphOptimizationLevel(so, GRAPH_OPT[level]), 'SetSessionGraphOptimizationLevel', level);
    if (o.optimizedModelFilePath) set(api.SetOptimizedModelFilePath(so, o.optimizedModelFilePath), 'SetOptimizedModelFilePath', o.optimizedModelFilePath);
    if (o.enableProfiling) {
      const prefix = o.profileFilePrefix ?? 'vlreward_ort_profile';
      set(api.EnableProfiling(so, prefix), 'EnableProfiling', prefix);
    }
    set(api.SetSessionLogSeverityLevel(so, LOG_LEVEL[o.logSeverity ?? 'error']), 'SetSessionLogSeverityLevel', o.logSeverity ?? 'error');
    if (o.enableMemPattern !== undefined) set(o.enableMemPattern ? api.EnableMemPattern(so) : api.DisableMemPattern(so), 'EnableMemPattern', String(o.enableMemPattern));
    if (o.enableCpuMemArena !== undefined) set(o.enableCpuMemArena ? api.EnableCpuMemArena(so) : api.DisableCpuMemArena(so), 'EnableCpuMemArena', String(o.enableCpuMemArena));
    for (const [name, v] of Object.entries(o.freeDimensionOverrides ?? {})) {
      set(api.AddFreeDimensionOverrideByName(so, name, v), 'AddFreeDimensionOverrideByName', `${name} = ${v}`);
    }
    const config: Record<string, string> = { ...(o.sessionConfig ?? {}) };
    if (o.disableCpuFallback) config['session.disable_cpu_ep_fallback'] = '1';
    if (o.externalDataDir) config['session.model_external_initializers_file_folder_path'] = o.externalDataDir;
    for (const [k, v] of Object.entries(config)) set(api.AddSessionConfigEntry(so, k, v), 'AddSessionConfigEntry', `${k} = ${v}`);
    if (provider === 'cuda') appendCuda(so, cudaProviderKeys(deviceId, o.cuda));
    if (provider === 'webgpu') appendWebGpu(so, o.webgpu ?? {});
    return so;
  } catch (e) {
    api.ReleaseSessionOptions(so);
    throw e;
  }
}

export function releaseSessionOptions(so: OrtSessionOptionsPtr): void {
  ortLibrary().api.ReleaseSessionOptions(so);
}
