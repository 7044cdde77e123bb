import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One `vlreward` sub-command. `run` returns the process exit code. */
export interface Command {
  /** e.g. 'train' or 'dataset synth' (multi-word commands are matched first). */
  readonly name: string;
  readonly summary: string;
  /** Full --help text: usage line, flags with defaults, environment variables. */
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

/** An error whose message is shown to the user without a stack trace (bad flags, bad input). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * node:util parseArgs with errors as UsageError (shown without a stack) and no
 * positionals unless asked for.
 */
export function parseFlags<const O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: O,
  allowPositionals = false,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: boolean }>> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A flag value as a number, or a UsageError naming the flag. */
export function numberFlag(name: string, raw: string | undefined, o: { integer?: boolean; min?: number } = {}): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (o.integer && !Number.isInteger(v)) || (o.min !== undefined && v < o.min))
    throw new UsageError(`--${name} '${raw}': expected ${o.integer ? 'an integer' : 'a number'}${o.min !== undefined ? ` ≥ ${o.min}` : ''}`);
  return v;
}
