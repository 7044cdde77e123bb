import { readFile } from 'node:fs/promises';
import { DatasetError } from '../errors.js';

/**
 * Why a metadata file could not be read, in words: only ENOENT is "missing"; a symlink loop,
 * a directory or a permission problem says what it is (callers tell "missing" apart by `code`).
 */
export function readFailure(e: unknown, file: string): DatasetError {
  const err = e as NodeJS.ErrnoException;
  const what =
    err.code === 'ENOENT' ? 'file is missing'
    : err.code === 'ELOOP' ? `symlink loop (ELOOP): ${file} cannot be resolved`
    : err.code === 'EISDIR' ? 'is a directory, expected a file (EISDIR)'
    : err.code === 'EACCES' ? 'permission denied (EACCES)'
    : `cannot be read (${err.code ?? err.message})`;
  return new DatasetError(what, { file, ...(err.code ? { code: err.code } : {}) });
}

/** Reads a JSON-lines file; blank lines are skipped, a bad line is reported by line number. */
export async function readJsonl(file: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw readFailure(e, file);
  }
  const out: Record<string, unknown>[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch (e) {
      throw new DatasetError(`line ${i + 1}: invalid JSON (${(e as Error).message})`, { file });
    }
  }
  return out;
}

/** A JSON file, or null when it does not exist (ENOENT only; other read failures are errors). */
export async function readJsonIfExists(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw readFailure(e, file);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new DatasetError(`invalid JSON (${(e as Error).message})`, { file });
  }
}
