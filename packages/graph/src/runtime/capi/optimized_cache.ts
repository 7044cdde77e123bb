// ORT's optimized graph, kept between processes. Creating a session runs
// ORT's graph rewrites (constant folding, fusions, layout passes); for the
// Qwen3-VL-2B training graphs that is most of the session time, and it is the
// same work every run. ORT can write the rewritten graph
// (SetOptimizedModelFilePath) and load it back with rewrites off, which is
// its documented offline mode. The file is keyed by everything that decides
// the result: the model bytes, the rewrite level and the settings that change
// the graph, the provider, ORT's version and the host's CPU (level 'all'
// writes layouts chosen for this machine).
//
// Only CPU sessions of models small enough to go inline are cached: those are
// the training graphs whose frozen weights are inputs. A graph holding its
// weights as initializers would copy them into the cache folder.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { arch, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import type { Provider } from '../providers.js';
import type { CapiSession } from './session.js';

/** Where the optimized graph of one model lives, and whether it is there already. */
export interface OptimizedCacheEntry {
  /** The final file: loaded with rewrites off when present. */
  readonly path: string;
  /** ORT writes here; renamed to `path` once the session was created. */
  readonly partial: string;
  readonly hit: boolean;
}

/** The cache entry for `model`, or null when this session is not cached (see the file comment). */
export function optimizedCacheEntry(dir: string, model: Uint8Array, o: CapiSession.Options, provider: Provider, ortVersion: string): OptimizedCacheEntry | null {
  const level = o.graphOptimizationLevel ?? 'all';
  if (provider !== 'cpu' || level === 'disabled' || o.optimizedModelFilePath) return null;
  const h = createHash('sha256');
  h.update(model);
  h.update(
    JSON.stringify({
      ortVersion,
      provider,
      level,
      freeDimensionOverrides: o.freeDimensionOverrides ?? {},
      sessionConfig: o.sessionConfig ?? {},
      disableCpuFallback: o.disableCpuFallback ?? false,
      arch: arch(),
      cpu: cpus()[0]?.model ?? 'unknown',
    }),
  );
  const key = h.digest('hex').slice(0, 32);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${key}.onnx`);
  // Unique per writer (processes, and worker threads of one process): concurrent writers never share a partial file.
  return { path, partial: `${path}.${process.pid}.${randomBytes(4).toString('hex')}.partial`, hit: existsSync(path) };
}

/** Entries (and stray partial files) untouched this long are deleted when a new entry is written. */
export const OPTIMIZED_CACHE_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/** Keep what ORT wrote (atomic rename: a reader never sees half a file), then drop stale entries. */
export function commitOptimized(e: OptimizedCacheEntry): void {
  if (existsSync(e.partial)) renameSync(e.partial, e.path);
  const dir = dirname(e.path);
  const now = Date.now();
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.onnx') && !f.endsWith('.partial')) continue;
    const p = join(dir, f);
    try {
      if (now - statSync(p).mtimeMs > OPTIMIZED_CACHE_MAX_AGE_MS) rmSync(p, { force: true });
    } catch {
      // Removed meanwhile by another process.
    }
  }
}

/** A hit marks its entry as used (the mtime is what the age limit reads). */
export function touchOptimized(e: OptimizedCacheEntry): void {
  const t = new Date();
  try {
    utimesSync(e.path, t, t);
  } catch {
    // Read-only cache: it still serves, it just ages.
  }
}

/** Drop an entry ORT could not load (truncated, or written by a different build) and what a failed write left. */
export function dropOptimized(e: OptimizedCacheEntry): void {
  rmSync(e.path, { force: true });
  rmSync(e.partial, { force: true });
}
