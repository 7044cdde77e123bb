import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { describeFsError, isNotFound } from './fs_errors.js';
import { isRecord, readJsonFile } from './json.js';

// `vlreward.json`: what a checkpoint is (mode, versions, config, metrics) and the
// list of every other file in it with size and sha256. It is written last, so a
// directory without it is incomplete, and the list lets a reader prove that
// nothing was truncated, swapped or lost before any tensor is used.

export const MANIFEST_NAME = 'vlreward.json';
export const MANIFEST_FORMAT = 'vlreward-checkpoint';
export const MANIFEST_FORMAT_VERSION = 1;

export type CheckpointMode = 'lora' | 'full' | 'head';

export interface ManifestFile {
  /** Path relative to the checkpoint directory, '/' separated. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** What the caller says about a checkpoint; saveCheckpoint adds the rest. */
export interface ManifestInput {
  /** Tool versions (vlreward, onnxruntime, transformers.js, …); node's version is added. */
  readonly versions?: Readonly<Record<string, string>>;
  /** Base model id or path (QWEN3VL_MODEL). */
  readonly baseModel?: string;
  readonly step?: number;
  readonly epoch?: number;
  /** Model / training configuration (JSON). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Run options (CLI flags, env). */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Metrics at this checkpoint (e.g. val_accuracy, val_macro_f1, train_loss). */
  readonly metrics?: Readonly<Record<string, number>>;
  /** Identifies the training data (e.g. a hash of dataset root + episodes + split). */
  readonly datasetFingerprint?: string;
}

export interface CheckpointManifest extends ManifestInput {
  readonly format: typeof MANIFEST_FORMAT;
  readonly formatVersion: number;
  readonly createdAt: string;
  readonly mode: CheckpointMode;
  readonly numClasses: number;
  readonly labels?: readonly string[];
  readonly versions: Readonly<Record<string, string>>;
  readonly config: Readonly<Record<string, unknown>>;
  readonly options: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly files: readonly ManifestFile[];
}

/** Thrown when a checkpoint is incomplete or damaged; `problems` lists every finding. */
export class CorruptCheckpointError extends Error {
  override readonly name = 'CorruptCheckpointError';
  constructor(
    readonly dir: string,
    readonly problems: readonly string[],
  ) {
    super(`${dir}: corrupt or incomplete checkpoint:\n  - ${problems.join('\n  - ')}`);
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every regular file below `dir` except the manifest, as sorted '/' paths. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.filter((p) => p !== MANIFEST_NAME).sort();
}

export async function describeFiles(dir: string): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  for (const path of await listFiles(dir)) {
    const full = join(dir, path);
    files.push({ path, bytes: (await stat(full)).size, sha256: await sha256File(full) });
  }
  return files;
}

function parseManifest(json: unknown, where: string): CheckpointManifest {
  if (!isRecord(json)) throw new Error(`${where}: manifest must be a JSON object`);
  if (json['format'] !== MANIFEST_FORMAT) {
    throw new Error(`${where}: format is ${JSON.stringify(json['format'])}, expected "${MANIFEST_FORMAT}"`);
  }
  const v = json['formatVersion'];
  if (typeof v !== 'number' || v > MANIFEST_FORMAT_VERSION) {
    throw new Error(`${where}: formatVersion ${JSON.stringify(v)} is not supported (this vlreward reads ≤ ${MANIFEST_FORMAT_VERSION})`);
  }
  const files = json['files'];
  if (!Array.isArray(files)) throw new Error(`${where}: 'files' must be a list`);
  files.forEach((f: unknown, i) => {
    if (!isRecord(f) || typeof f['path'] !== 'string' || typeof f['bytes'] !== 'number' || typeof f['sha256'] !== 'string') {
      throw new Error(`${where}: files[${i}] must be {path, bytes, sha256}`);
    }
    if (f['path'].startsWith('/') || f['path'].split('/').includes('..')) {
      throw new Error(`${where}: files[${i}].path '${f['path']}' escapes the checkpoint directory`);
    }
  });
  if (!['lora', 'full', 'head'].includes(json['mode'] as string)) {
    throw new Error(`${where}: mode is ${JSON.stringify(json['mode'])}, expected "lora", "full" or "head"`);
  }
  return json as unknown as CheckpointManifest;
}

/** Read and parse `vlreward.json` without checking files. */
export async function readManifest(dir: string): Promise<CheckpointManifest> {
  const p = join(dir, MANIFEST_NAME);
  return parseManifest(await readJsonFile(p), p);
}

/** 'sha256': sizes and hashes (default); 'size': sizes only (fast); 'none': manifest only. */
export type VerifyLevel = 'sha256' | 'size' | 'none';

/**
 * Check a checkpoint against its manifest. Throws CorruptCheckpointError naming
 * every missing file, size mismatch (expected vs actual bytes) and hash
 * mismatch; a missing manifest means an incomplete write.
 */
export async function verifyCheckpoint(dir: string, level: VerifyLevel = 'sha256'): Promise<CheckpointManifest> {
  let manifest: CheckpointManifest;
  try {
    manifest = await readManifest(dir);
  } catch (e) {
    const msg = (e as Error).message;
    throw new CorruptCheckpointError(dir, [
      msg.endsWith('file not found') ? `${MANIFEST_NAME} is missing (the checkpoint was never completed)` : msg,
    ]);
  }
  if (level === 'none') return manifest;
  const problems: string[] = [];
  for (const f of manifest.files) {
    const full = join(dir, f.path);
    let st: Stats;
    try {
      st = await stat(full);
    } catch (e) {
      // Only absence is "missing"; a symlink loop or a permission error is reported as what it is.
      problems.push(isNotFound(e) ? `${f.path}: missing (manifest lists ${f.bytes} bytes)` : `${f.path}: ${describeFsError(e, full)}`);
      continue;
    }
    if (!st.isFile()) {
      problems.push(`${f.path}: ${full} is not a regular file (manifest lists a ${f.bytes}-byte file)`);
      continue;
    }
    if (st.size !== f.bytes) {
      problems.push(`${f.path}: size ${st.size} bytes, manifest says ${f.bytes}`);
      continue;
    }
    if (level === 'sha256') {
      let sha: string;
      try {
        sha = await sha256File(full);
      } catch (e) {
        problems.push(`${f.path}: ${describeFsError(e, full)}`);
        continue;
      }
      if (sha !== f.sha256) problems.push(`${f.path}: sha256 ${sha}, manifest says ${f.sha256}`);
    }
  }
  if (problems.length > 0) throw new CorruptCheckpointError(dir, problems);
  return manifest;
}
