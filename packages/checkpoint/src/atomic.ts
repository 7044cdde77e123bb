import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { describeFsError, isNotFound } from './fs_errors.js';

// Crash-safe directory replacement. A checkpoint is assembled in a hidden
// sibling `.NAME.tmp-PID-RAND`, every file and the directory are fsynced, then
// it is renamed to NAME (rename within one filesystem is atomic). Replacing an
// existing NAME moves it aside to `.NAME.old-PID-RAND` first; removal renames
// to `.NAME.del-PID-RAND` before deleting. So a reader sees either a complete
// NAME or none, and leftovers are recognisable by name (findLeftovers).

export type LeftoverKind = 'tmp' | 'old' | 'del';

export interface Leftover {
  readonly path: string;
  /** The directory name it belongs to (NAME). */
  readonly target: string;
  readonly kind: LeftoverKind;
  readonly pid: number;
  /** Whether the writing process still runs (then it may still be writing: leave it). */
  readonly alive: boolean;
}

const LEFTOVER = /^\.(.+)\.(tmp|old|del)-(\d+)-[0-9a-f]+$/;

/**
 * Temp paths this process is writing right now. A leftover carrying our own PID
 * but not listed here comes from an earlier process that had the same PID (common
 * in containers, where a restarted trainer often gets the same PID), so it is dead.
 */
const ACTIVE = new Set<string>();

// Absolute paths, so ACTIVE matches whatever form (relative/absolute) a later scan uses.
function sibling(finalDir: string, kind: LeftoverKind): string {
  const abs = resolve(finalDir);
  return join(dirname(abs), `.${basename(abs)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function pidAlive(pid: number, path: string): boolean {
  if (pid === process.pid) return ACTIVE.has(path);
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw new Error(describeFsError(e, p), { cause: e });
  }
}

/** fsync a directory so renames/creations inside it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync every regular file below `dir`, then every directory (bottom-up). */
async function fsyncTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await fsyncTree(p);
    else if (e.isFile()) {
      const fh = await open(p, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await fsyncDir(dir);
}

/**
 * Build `finalDir` atomically: `fill(tmpDir)` writes the contents into a
 * temporary sibling, which becomes `finalDir` only after everything is on disk.
 * If `fill` throws, the temporary directory is removed and `finalDir` is
 * untouched. An existing `finalDir` is replaced.
 */
export async function writeDirAtomic<T>(finalDir: string, fill: (tmpDir: string) => Promise<T>): Promise<T> {
  const parent = dirname(finalDir);
  await mkdir(parent, { recursive: true });
  const tmp = sibling(finalDir, 'tmp');
  ACTIVE.add(tmp);
  let old: string | undefined;
  try {
    await mkdir(tmp);
    let result: T;
    try {
      result = await fill(tmp);
      await fsyncTree(tmp);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    try {
      if (await pathExists(finalDir)) {
        old = sibling(finalDir, 'old');
        ACTIVE.add(old);
        await rename(finalDir, old);
      }
      await rename(tmp, finalDir);
      await fsyncDir(parent);
    } catch (e) {
      // Put the previous version back if it was moved aside.
      if (old && !(await pathExists(finalDir))) await rename(old, finalDir).catch(() => undefined);
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    if (old) await rm(old, { recursive: true, force: true });
    return result;
  } finally {
    ACTIVE.delete(tmp);
    if (old) ACTIVE.delete(old);
  }
}

/** Remove a directory so that it is never seen half-deleted under its own name. */
export async function removeDirAtomic(dir: string): Promise<void> {
  if (!(await pathExists(dir))) return;
  const del = sibling(dir, 'del');
  ACTIVE.add(del);
  try {
    await rename(dir, del);
    await fsyncDir(dirname(dir));
    await rm(del, { recursive: true, force: true });
  } finally {
    ACTIVE.delete(del);
  }
}

/** Leftovers of interrupted writes/replacements/removals in `parent`. */
export async function findLeftovers(parent: string): Promise<Leftover[]> {
  if (!(await pathExists(parent))) return [];
  const out: Leftover[] = [];
  for (const name of (await readdir(parent)).sort()) {
    const m = LEFTOVER.exec(name);
    if (!m) continue;
    const pid = Number(m[3]);
    const path = join(resolve(parent), name);
    out.push({ path, target: m[1]!, kind: m[2] as LeftoverKind, pid, alive: pidAlive(pid, path) });
  }
  return out;
}

/**
 * Clean up after crashed writers in `parent`: half-written `tmp` and
 * half-deleted `del` directories of dead processes are removed; an `old`
 * directory whose NAME is missing (crash between the two renames of a
 * replacement) is renamed back to NAME. Returns what was done, for logging.
 */
export async function recoverLeftovers(parent: string): Promise<{ removed: string[]; restored: string[] }> {
  const removed: string[] = [];
  const restored: string[] = [];
  for (const l of await findLeftovers(parent)) {
    if (l.alive) continue;
    const target = join(parent, l.target);
    if (l.kind === 'old' && !(await pathExists(target))) {
      await rename(l.path, target);
      restored.push(target);
    } else {
      await rm(l.path, { recursive: true, force: true });
      removed.push(l.path);
    }
  }
  if (removed.length + restored.length > 0) await fsyncDir(parent);
  return { removed, restored };
}
