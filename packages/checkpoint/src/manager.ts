import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { findLeftovers, recoverLeftovers, removeDirAtomic, type Leftover } from './atomic.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointContents, type LoadCheckpointOptions, type LoadedCheckpoint } from './checkpoint.js';
import { readManifest, verifyCheckpoint, type CheckpointManifest, type VerifyLevel } from './manifest.js';

// Rolling checkpoints of one training run under `root`, named like the HF
// Trainer's (`checkpoint-<step>`). Everything the manager knows comes from the
// manifests on disk, so there is no index file to fall out of step with them.

export const CHECKPOINT_PREFIX = 'checkpoint-';

export interface CheckpointManagerOptions {
  readonly root: string;
  /** Keep the N most recent checkpoints (default 3; ≥ 1). */
  readonly keepLast?: number;
  /** Also keep the N best by `metric` (default 1 when `metric` is set, else 0). */
  readonly keepBest?: number;
  /** Manifest metric that ranks checkpoints (e.g. 'val_macro_f1'). */
  readonly metric?: string;
  /** Whether larger `metric` is better (default 'max'). */
  readonly mode?: 'max' | 'min';
}

export interface CheckpointEntry {
  readonly name: string;
  readonly dir: string;
  readonly step: number;
  /** undefined when the manifest is missing or unreadable (see `problem`). */
  readonly manifest?: CheckpointManifest;
  readonly metric?: number;
  readonly problem?: string;
}

export interface ResolvedCheckpoint {
  readonly entry: CheckpointEntry;
  /** Newer (or better) checkpoints passed over because they failed verification, with the reason. */
  readonly skipped: readonly { readonly dir: string; readonly reason: string }[];
}

export class CheckpointManager {
  readonly root: string;
  readonly keepLast: number;
  readonly keepBest: number;
  readonly metric: string | undefined;
  readonly mode: 'max' | 'min';

  constructor(options: CheckpointManagerOptions) {
    this.root = options.root;
    this.keepLast = options.keepLast ?? 3;
    this.metric = options.metric;
    this.keepBest = options.keepBest ?? (options.metric ? 1 : 0);
    this.mode = options.mode ?? 'max';
    if (!Number.isInteger(this.keepLast) || this.keepLast < 1) throw new Error(`CheckpointManager: keepLast must be an integer ≥ 1 (got ${options.keepLast})`);
    if (this.keepBest > 0 && !this.metric) throw new Error('CheckpointManager: keepBest needs a metric');
  }

  dirFor(step: number): string {
    return join(this.root, `${CHECKPOINT_PREFIX}${step}`);
  }

  /** Checkpoints under root by step (ascending); manifests read but files not verified. */
  async list(): Promise<CheckpointEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: CheckpointEntry[] = [];
    for (const name of names) {
      const m = /^checkpoint-(\d+)$/.exec(name);
      if (!m) continue;
      const dir = join(this.root, name);
      const step = Number(m[1]);
      try {
        const manifest = await readManifest(dir);
        const metric = this.metric !== undefined ? manifest.metrics[this.metric] : undefined;
        out.push({ name, dir, step, manifest, ...(typeof metric === 'number' ? { metric } : {}) });
      } catch (e) {
        out.push({ name, dir, step, problem: (e as Error).message });
      }
    }
    return out.sort((a, b) => a.step - b.step);
  }

  /** Half-written / half-deleted directories under root left by crashed processes. */
  leftovers(): Promise<Leftover[]> {
    return findLeftovers(this.root);
  }

  /** Remove leftovers of dead writers (and restore a replaced checkpoint whose swap was interrupted). */
  recover(): Promise<{ removed: string[]; restored: string[] }> {
    return recoverLeftovers(this.root);
  }

  private better(a: number, b: number): boolean {
    return this.mode === 'max' ? a > b : a < b;
  }

  /**
   * Best first. Ties go to the EARLIER step: the first checkpoint that reached a
   * value is "best" until a strictly better one appears, which is also the rule
   * the trainer records in trainer_state.json (one rule, so the best it prints is
   * the one kept on disk). Non-finite metrics never rank.
   */
  private ranked(entries: CheckpointEntry[]): CheckpointEntry[] {
    return entries
      .filter((e) => e.metric !== undefined && Number.isFinite(e.metric))
      .sort((a, b) => (this.better(a.metric!, b.metric!) ? -1 : this.better(b.metric!, a.metric!) ? 1 : a.step - b.step));
  }

  /**
   * Save the checkpoint of `step` atomically, then prune: keep the last
   * `keepLast` and the best `keepBest`; checkpoints with unreadable manifests
   * are removed as well (they can never be loaded). Returns the new entry.
   */
  async save(step: number, contents: CheckpointContents): Promise<CheckpointEntry> {
    if (!Number.isInteger(step) || step < 0) throw new Error(`CheckpointManager.save: step must be an integer ≥ 0 (got ${step})`);
    // A checkpoint without the metric (a step without validation) can only be kept as one of the last N.
    const manifestIn = { ...(contents.manifest ?? {}), step };
    const manifest = await saveCheckpoint(this.dirFor(step), { ...contents, manifest: manifestIn });
    await this.prune();
    const metric = this.metric !== undefined ? manifest.metrics[this.metric] : undefined;
    return { name: `${CHECKPOINT_PREFIX}${step}`, dir: this.dirFor(step), step, manifest, ...(metric !== undefined ? { metric } : {}) };
  }

  /** Apply the retention policy now; returns the directories removed. */
  async prune(): Promise<string[]> {
    const all = await this.list();
    const good = all.filter((e) => e.manifest);
    const keep = new Set<string>(good.slice(-this.keepLast).map((e) => e.dir));
    for (const e of this.ranked(good).slice(0, this.keepBest)) keep.add(e.dir);
    const removed: string[] = [];
    for (const e of all) {
      if (keep.has(e.dir)) continue;
      await removeDirAtomic(e.dir);
      removed.push(e.dir);
    }
    return removed;
  }

  private async firstValid(
    candidates: CheckpointEntry[],
    verify: VerifyLevel,
  ): Promise<{ entry?: CheckpointEntry; skipped: { dir: string; reason: string }[] }> {
    const skipped: { dir: string; reason: string }[] = [];
    for (const e of candidates) {
      if (e.problem) {
        skipped.push({ dir: e.dir, reason: e.problem });
        continue;
      }
      try {
        await verifyCheckpoint(e.dir, verify);
        return { entry: e, skipped };
      } catch (err) {
        skipped.push({ dir: e.dir, reason: (err as Error).message });
      }
    }
    return { skipped };
  }

  /**
   * The newest checkpoint that verifies. Newer ones that fail are reported in
   * `skipped` (never loaded silently); undefined when there is none at all.
   * Throws when checkpoints exist but none verifies.
   */
  async latest(verify: VerifyLevel = 'size'): Promise<ResolvedCheckpoint | undefined> {
    return this.resolve([...(await this.list())].reverse(), verify, 'latest');
  }

  /** The best checkpoint by `metric` that verifies (ties: the earlier one, as the trainer records it). */
  async best(verify: VerifyLevel = 'size'): Promise<ResolvedCheckpoint | undefined> {
    if (!this.metric) throw new Error('CheckpointManager.best: no metric configured');
    return this.resolve(this.ranked(await this.list()), verify, 'best');
  }

  private async resolve(candidates: CheckpointEntry[], verify: VerifyLevel, what: string): Promise<ResolvedCheckpoint | undefined> {
    const { entry, skipped } = await this.firstValid(candidates, verify);
    if (entry) return { entry, skipped };
    if (skipped.length === 0) return undefined;
    throw new Error(
      `${this.root}: no valid ${what} checkpoint; every candidate failed:\n` + skipped.map((s) => `  ${s.dir}: ${s.reason}`).join('\n'),
    );
  }

  /** Load the newest valid checkpoint (for resume); undefined when the root has none. */
  async loadLatest(options: LoadCheckpointOptions = {}): Promise<(LoadedCheckpoint & { skipped: ResolvedCheckpoint['skipped'] }) | undefined> {
    const r = await this.latest('none');
    if (!r) return undefined;
    const skipped = [...r.skipped];
    // Verify fully while loading; on failure fall back to older ones, reporting each.
    const all = [...(await this.list())].reverse().filter((e) => e.step <= r.entry.step && !e.problem);
    for (const e of all) {
      try {
        return { ...(await loadCheckpoint(e.dir, options)), skipped };
      } catch (err) {
        skipped.push({ dir: e.dir, reason: (err as Error).message });
      }
    }
    throw new Error(`${this.root}: no loadable checkpoint:\n` + skipped.map((s) => `  ${s.dir}: ${s.reason}`).join('\n'));
  }
}
