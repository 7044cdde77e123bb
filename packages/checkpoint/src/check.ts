import { join } from 'node:path';
import { openSafetensors, type SafetensorsFile } from '@vlreward/graph/io';
import { describeNonFinite, firstNonFinite } from './finite.js';
import { HEAD_FILE_NAME } from './head.js';
import { CorruptCheckpointError, verifyCheckpoint, type CheckpointManifest, type VerifyLevel } from './manifest.js';
import { ADAPTER_WEIGHTS_NAME, parsePeftTensorName } from './peft.js';
import { unknownLoraModuleProblems } from './targets.js';

// Everything `vlreward checkpoint verify` / `inspect` checks, as a list of
// problems instead of a throw: files against the manifest, NaN / Inf in every
// tensor file, and LoRA modules the model does not have.

export interface CheckCheckpointOptions {
  /**
   * How hard to check files against the manifest (default 'sha256'). At 'sha256'
   * every tensor file is also scanned for NaN / Inf, full weights and optimizer
   * moments included (one tensor in memory at a time); at 'size' and 'none' only
   * the small ones (head, adapter).
   */
  readonly verify?: VerifyLevel;
}

export interface CheckpointCheck {
  readonly dir: string;
  /** undefined when the manifest itself is missing or unreadable. */
  readonly manifest?: CheckpointManifest;
  /** Every finding, each naming its file; empty when the checkpoint is sound. */
  readonly problems: readonly string[];
  /** The file check level that was applied. */
  readonly verified: VerifyLevel;
  /** The tensor files scanned for NaN / Inf. */
  readonly scanned: readonly string[];
}

/** Problems listed per tensor file at most (a diverged run has NaN in hundreds of tensors). */
const MAX_PER_FILE = 8;

/** Scan one safetensors file tensor by tensor; returns its problems and tensor names. */
async function scanTensorFile(dir: string, file: string): Promise<{ problems: string[]; names: string[] }> {
  const path = join(dir, file);
  let f: SafetensorsFile;
  try {
    f = await openSafetensors(path);
  } catch (e) {
    return { problems: [`${file}: ${(e as Error).message}`], names: [] };
  }
  const problems: string[] = [];
  let more = 0;
  try {
    for (const name of f.names) {
      if (f.entry(name).dtype === undefined) continue; // an exotic dtype: nothing vlreward reads
      const t = await f.read(name);
      const bad = firstNonFinite(t);
      if (!bad) continue;
      if (problems.length < MAX_PER_FILE) problems.push(`${file}: ${describeNonFinite(name, t, bad)}`);
      else more++;
    }
    if (more > 0) problems.push(`${file}: … and ${more} more non-finite tensor(s)`);
    return { problems, names: f.names };
  } catch (e) {
    return { problems: [...problems, `${file}: ${(e as Error).message}`], names: f.names };
  } finally {
    await f.close();
  }
}

/**
 * Check a checkpoint without loading a model: files against `vlreward.json`,
 * NaN / Inf in its tensors (naming file, tensor, first bad index and value),
 * and adapter modules that are not Qwen3-VL text decoder projections.
 */
export async function checkCheckpoint(dir: string, options: CheckCheckpointOptions = {}): Promise<CheckpointCheck> {
  const verified = options.verify ?? 'sha256';
  let manifest: CheckpointManifest;
  try {
    manifest = await verifyCheckpoint(dir, verified);
  } catch (e) {
    if (!(e instanceof CorruptCheckpointError)) throw e;
    return { dir, problems: e.problems, verified, scanned: [] };
  }
  const small = new Set([HEAD_FILE_NAME, ADAPTER_WEIGHTS_NAME]);
  const scanned = manifest.files
    .map((f) => f.path)
    .filter((p) => p.endsWith('.safetensors') && (verified === 'sha256' || small.has(p)));
  const problems: string[] = [];
  for (const file of scanned) {
    const r = await scanTensorFile(dir, file);
    problems.push(...r.problems);
    if (file === ADAPTER_WEIGHTS_NAME) {
      const modules = new Set(r.names.flatMap((n) => parsePeftTensorName(n)?.modulePath ?? []));
      problems.push(...unknownLoraModuleProblems(file, modules));
    }
  }
  return { dir, manifest, problems, verified, scanned };
}
