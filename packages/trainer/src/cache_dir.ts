// Where vlreward keeps what it can rebuild but would rather not: the embedded
// demo's model and dataset, and ORT's optimized training graphs. Everything
// under it may be deleted at any time.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $VLREWARD_CACHE_DIR, else $XDG_CACHE_HOME/vlreward, else ~/.cache/vlreward. */
export function vlrewardCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VLREWARD_CACHE_DIR) return env.VLREWARD_CACHE_DIR;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vlreward');
}

/**
 * ORT's optimized training and scoring graphs (CapiSession's optimizedCacheDir):
 * `<cache>/ort`, or null when VLREWARD_ORT_CACHE=0 turns the cache off.
 */
export function ortGraphCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.VLREWARD_ORT_CACHE === '0') return null;
  return join(vlrewardCacheDir(env), 'ort');
}
