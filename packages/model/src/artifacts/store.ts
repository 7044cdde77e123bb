// Artifacts on disk: one .onnx per graph plus ONE shared external-data file
// for the frozen weights (the train, gradient and eval graphs embed the same
// initializers in the same order, so their side files would be identical),
// and manifest.json. A cache directory keys saved artifacts by a hash of
// everything that shapes the graphs, so building for the 2B config is paid
// once. Writes go to a temp dir renamed into place: a crash never leaves a
// half-written entry that later loads.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeModel, writeExternalData, type ExternalDataBlob } from '@vlreward/graph';
import type { ParamSpec } from './types.js';
import { ARTIFACTS_FORMAT_VERSION, GRAPH_KINDS, type ArtifactManifest, type GraphKind, type TrainingArtifacts } from './build.js';

export interface SavedArtifacts {
  readonly dir: string;
  readonly manifest: ArtifactManifest;
  /** Absolute .onnx path per graph kind present. */
  readonly models: Readonly<Partial<Record<GraphKind, string>>>;
}

export interface SaveOptions {
  /** Initializers at least this many bytes go to external data (default 1 MiB). */
  readonly externalDataThreshold?: number;
}

const MANIFEST = 'manifest.json';
const SHARED_DATA = 'weights.data';

function sameLayout(a: ExternalDataBlob, b: ExternalDataBlob): boolean {
  return (
    a.byteLength === b.byteLength &&
    a.chunks.length === b.chunks.length &&
    a.chunks.every((c, i) => {
      const d = b.chunks[i]!;
      return c.offset === d.offset && c.bytes.buffer === d.bytes.buffer && c.bytes.byteOffset === d.bytes.byteOffset && c.bytes.byteLength === d.bytes.byteLength;
    })
  );
}

/** Write artifacts to `dir` (created; existing files of the same names are replaced). */
export function saveArtifacts(art: TrainingArtifacts, dir: string, opts: SaveOptions = {}): SavedArtifacts {
  mkdirSync(dir, { recursive: true });
  const threshold = opts.externalDataThreshold ?? 1 << 20;
  const models: Partial<Record<GraphKind, string>> = {};
  let shared: ExternalDataBlob | null = null;
  const files: Record<string, string | null> = {};
  for (const kind of GRAPH_KINDS) {
    const g = art.graphs[kind];
    if (!g) continue;
    const file = `${kind}.onnx`;
    let ser = serializeModel(g, { externalData: { path: SHARED_DATA, thresholdBytes: threshold } });
    let blob = ser.externalData;
    if (blob && blob.chunks.length > 0) {
      if (shared === null) {
        shared = blob;
        writeExternalData(blob, join(dir, SHARED_DATA));
      } else if (!sameLayout(shared, blob)) {
        // Different initializer layout (e.g. a builder that embeds other
        // constants): give this graph its own side file.
        ser = serializeModel(g, { externalData: { path: `${file}.data`, thresholdBytes: threshold } });
        blob = ser.externalData!;
        writeExternalData(blob, join(dir, `${file}.data`));
      }
    }
    writeFileSync(join(dir, file), ser.model);
    models[kind] = join(dir, file);
    files[kind] = blob && blob.chunks.length ? blob.path : null;
  }
  writeFileSync(join(dir, MANIFEST), JSON.stringify({ ...art.manifest, files }, null, 1));
  return { dir, manifest: art.manifest, models };
}

/** Load what `saveArtifacts` wrote; checks the format version and that every listed graph exists. */
export function loadArtifacts(dir: string): SavedArtifacts {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) throw new Error(`artifacts '${dir}': no ${MANIFEST} (not a saved artifacts directory, or an interrupted write)`);
  let manifest: ArtifactManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as ArtifactManifest;
  } catch (e) {
    throw new Error(`artifacts '${path}': unreadable manifest: ${(e as Error).message}`);
  }
  if (manifest.format !== ARTIFACTS_FORMAT_VERSION) {
    throw new Error(`artifacts '${path}': format ${manifest.format}, this build reads ${ARTIFACTS_FORMAT_VERSION}; rebuild them`);
  }
  const models: Partial<Record<GraphKind, string>> = {};
  for (const kind of manifest.graphs) {
    const p = join(dir, `${kind}.onnx`);
    if (!existsSync(p)) throw new Error(`artifacts '${dir}': manifest lists graph '${kind}' but ${kind}.onnx is missing`);
    models[kind] = p;
  }
  return { dir, manifest, models };
}

/** JSON with sorted keys, so equal objects hash equally. */
export function stableStringify(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

/** Cache key: sha256 over the artifacts format, the builder's own version, and everything else that shapes the graphs. */
export function artifactsCacheKey(parts: { readonly builderVersion: string | number; readonly [k: string]: unknown }): string {
  return createHash('sha256')
    .update(stableStringify({ format: ARTIFACTS_FORMAT_VERSION, ...parts }))
    .digest('hex')
    .slice(0, 24);
}

/**
 * The part of a cache key that names the parameter inventory: names, shapes,
 * dtypes, trainability, and the identity of the frozen values baked into the
 * graphs. Inline frozen values are hashed; frozen values behind loaders need
 * `weightsKey` (e.g. the weights directory plus file sizes and mtimes), since
 * loading gigabytes only to hash them would defeat the cache.
 */
export function inventoryKey(params: readonly ParamSpec[], weightsKey?: string): string {
  const h = createHash('sha256');
  for (const p of params) {
    h.update(`${p.name}|${p.shape.join('x')}|${p.dtype ?? ''}|${p.trainable ? 'T' : 'F'}|${p.weightDecay ?? ''}\n`);
    if (!p.trainable && weightsKey === undefined) {
      if (typeof p.init === 'function') {
        throw new Error(`inventoryKey: frozen parameter '${p.name}' has a loader; pass weightsKey to name the weights it loads`);
      }
      const d = p.init.data;
      h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  }
  if (weightsKey !== undefined) h.update(`weights:${weightsKey}`);
  return h.digest('hex');
}

export interface CacheResult {
  readonly saved: SavedArtifacts;
  /** True when the entry was already on disk (nothing was built). */
  readonly hit: boolean;
  /** The in-memory artifacts when they were built by this call. */
  readonly built?: TrainingArtifacts;
}

/**
 * Load the artifacts saved under `cacheDir/<key>` or build, save and return
 * them. `key` must change whenever the graphs would (config, options,
 * builder version, frozen-weights identity): see `artifactsCacheKey`.
 */
export function cachedArtifacts(cacheDir: string, key: string, build: () => TrainingArtifacts, opts: SaveOptions = {}): CacheResult {
  const dir = join(cacheDir, key);
  if (existsSync(join(dir, MANIFEST))) return { saved: loadArtifacts(dir), hit: true };
  const built = build();
  mkdirSync(cacheDir, { recursive: true });
  const tmp = join(cacheDir, `.${key}.tmp-${process.pid}-${Date.now()}`);
  try {
    saveArtifacts(built, tmp, opts);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process finished the same entry first: use theirs.
      if (!existsSync(join(dir, MANIFEST))) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { saved: loadArtifacts(dir), hit: false, built };
}
