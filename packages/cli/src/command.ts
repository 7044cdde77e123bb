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
