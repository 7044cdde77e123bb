// The process-wide OrtEnv. ORT keeps one environment per process (a second
// CreateEnv returns the same instance, refcounted), shared with the Node
// binding when both are used. It is never released: sessions may outlive any
// owner we could give it, and ORT tears it down at exit.
import type { OrtEnvPtr } from './api_table.js';
import { ortLibrary } from './library.js';
import { check } from './status.js';

/** ORT_LOGGING_LEVEL_* by name. */
export const LOG_LEVEL = { verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 } as const;
export type LogSeverity = keyof typeof LOG_LEVEL;

let env: OrtEnvPtr | null = null;

export function ortEnv(): OrtEnvPtr {
  if (env) return env;
  const { api } = ortLibrary();
  const out: [OrtEnvPtr | null] = [null];
  // 'error' like the Node path's default: ORT's warnings would flood training logs.
  check(api.CreateEnv(LOG_LEVEL.error, 'vlreward', out), 'CreateEnv', 'the process environment');
  env = out[0]!;
  return env;
}
