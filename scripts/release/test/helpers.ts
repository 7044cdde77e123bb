import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RELEASE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The environment without the npm_config_* variables `pnpm test` injects: a child behaves as for a user. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_config_|^npm_package_|^npm_lifecycle_|^NPM_CONFIG_/i.test(k) && k !== 'VLREWARD_REGISTRY' && k !== 'VLREWARD_REGISTRY_TOKEN') env[k] = v;
  return { ...env, ...extra };
}

/** Runs one of the release scripts the way a person would (node + tsx), capturing output. */
export function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd = RELEASE_DIR) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(RELEASE_DIR, script), ...args], { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status ?? 1, stdout: String(r.stdout), stderr: String(r.stderr), output: String(r.stdout) + String(r.stderr) };
}
