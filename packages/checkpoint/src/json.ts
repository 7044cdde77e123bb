import { open } from 'node:fs/promises';
import { describeFsError } from './fs_errors.js';

/**
 * JSON the way Python's `json.dumps(obj, indent=2, sort_keys=True)` writes it
 * (PEFT's adapter_config.json, transformers' index files): keys sorted at every
 * level, two-space indent; numbers listed in `floatKeys` keep a decimal point
 * (Python writes the float 0.0 as `0.0`, not `0`).
 */
export function pythonJson(value: unknown, floatKeys: ReadonlySet<string> = new Set()): string {
  const enc = (v: unknown, indent: string, key: string | undefined): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`pythonJson: ${key ?? 'value'} is ${v} (not representable in JSON)`);
      return key !== undefined && floatKeys.has(key) && Number.isInteger(v) ? v.toFixed(1) : JSON.stringify(v);
    }
    if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
    const inner = indent + '  ';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[\n${v.map((x) => inner + enc(x, inner, key)).join(',\n')}\n${indent}]`;
    }
    if (typeof v === 'object') {
      const keys = Object.keys(v as object)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .sort();
      if (keys.length === 0) return '{}';
      const body = keys.map((k) => `${inner}${JSON.stringify(k)}: ${enc((v as Record<string, unknown>)[k], inner, k)}`);
      return `{\n${body.join(',\n')}\n${indent}}`;
    }
    throw new Error(`pythonJson: ${key ?? 'value'} has unsupported type ${typeof v}`);
  };
  return enc(value, '', undefined);
}

/** Write a small file and fsync it before returning (checkpoint files must be durable before the rename). */
export async function writeFileSynced(path: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The error for text that JSON.parse rejected: the file, line, column and
 * position. V8 names a position for most mistakes but not for a truncated file
 * ("Unexpected end of JSON input"), where the position is the end of the text.
 */
export function jsonSyntaxError(path: string, text: string, e: unknown): Error {
  const msg = (e as Error).message;
  const m = /at position (\d+)/.exec(msg);
  const pos = m ? Number(m[1]) : /end of JSON input/.test(msg) ? text.length : undefined;
  if (pos === undefined) return new Error(`${path}: not valid JSON (${msg})`);
  const before = text.slice(0, pos).split('\n');
  const where = `line ${before.length}, column ${before[before.length - 1]!.length + 1} (position ${pos})`;
  return new Error(`${path}: not valid JSON at ${where}: ${msg}`);
}

/** Read and parse a JSON file; errors name the file (and where the JSON breaks). */
export async function readJsonFile(path: string): Promise<unknown> {
  const fh = await open(path, 'r').catch((e: unknown) => {
    throw new Error(describeFsError(e, path));
  });
  let text: string;
  try {
    text = await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw jsonSyntaxError(path, text, e);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
