// The one way tests find ../shared (fixtures, processor files, real LeRobot data):
// beside the repository checkout, or $VLREWARD_SHARED. A test that needs a shared
// input asks `shared.has(...)` for its skip condition; under CI=true a missing
// input is a failure (thrown at collection), never a silent skip.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

/** ../shared beside the repository (or $VLREWARD_SHARED). */
export const SHARED_DIR = process.env.VLREWARD_SHARED ?? join(repoRoot, '..', 'shared');

/** A path inside ../shared. */
export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

/** The golden transformers fixture (or $VLREWARD_FIXTURE). */
export const FIXTURE_DIR = process.env.VLREWARD_FIXTURE ?? sharedPath('fixtures', 'qwen3vl-tiny-a');
/** The Qwen3-VL processor / tokenizer files. */
export const PROCESSOR_DIR = sharedPath('models', 'qwen3vl-processor');

/**
 * Whether `path` (a shared input) exists. False → the caller skips; but with
 * CI=true this throws, naming the path, because CI must run every test.
 */
export function hasShared(path: string, what = 'shared test input'): boolean {
  if (existsSync(path)) return true;
  if (process.env.CI) throw new Error(`${what} missing: ${path} (CI=true runs every test; check out ../shared beside the repo or set VLREWARD_SHARED)`);
  console.warn(`skipping: ${what} not found at ${path}`);
  return false;
}
