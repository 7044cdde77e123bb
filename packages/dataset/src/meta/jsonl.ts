import { readFile } from 'node:fs/promises';
import { DatasetError } from '../errors.js';

/** Reads a JSON-lines file; blank lines are skipped, a bad line is reported by line number. */
export async function readJsonl(file: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new DatasetError('file is missing', { file });
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

export async function readJsonIfExists(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DatasetError(`invalid JSON (${(e as Error).message})`, { file });
  }
}
