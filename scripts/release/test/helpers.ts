import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAsync } from '../lib/workspace.js';

export const RELEASE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The environment without the npm_config_* variables `pnpm test` injects: a child behaves as for a user. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_config_|^npm_package_|^npm_lifecycle_|^NPM_CONFIG_/i.test(k) && k !== 'VLREWARD_REGISTRY' && k !== 'VLREWARD_REGISTRY_TOKEN') env[k] = v;
  return { ...env, ...extra };
}

/** Runs one of the release scripts the way a person would (node + tsx), capturing output. */
/** Async so a long run never blocks the test worker (vitest's RPC times out on a blocked loop). */
export async function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd = RELEASE_DIR) {
  const r = await runAsync(process.execPath, ['--import', 'tsx', join(RELEASE_DIR, script), ...args], { cwd, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
}
