// Metrics as JSON Lines: one object per event, appended and flushed at once so a
// crash loses nothing already logged, and `tail -f` / pandas.read_json(lines=True) read it.

import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type JsonRecord = Record<string, unknown>;

export class JsonlLogger {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Appends `{time, ...record}` as one line. Non-finite numbers become null (JSON has no NaN). */
  log(record: JsonRecord): void {
    const line = JSON.stringify({ time: new Date().toISOString(), ...record }, (_k, v) =>
      typeof v === 'number' && !Number.isFinite(v) ? null : v,
    );
    appendFileSync(this.path, line + '\n');
  }
}

/** Parses a JSONL file's text; a bad line is named by its number. */
export function parseJsonl(text: string, file = '<jsonl>'): JsonRecord[] {
  const out: JsonRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as JsonRecord);
    } catch (e) {
      throw new SyntaxError(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
  });
  return out;
}
