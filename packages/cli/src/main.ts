#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError, type Command } from './command.js';
import { COMMANDS } from './commands/index.js';

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 8);
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'vlreward: fine-tune Qwen3-VL into a reward classifier for LeRobot episodes, on ONNX Runtime',
    '',
    'usage: vlreward <command> [flags]     (vlreward <command> --help for its flags)',
    '       MODE=train|eval|predict|chat vlreward   (the seed\'s environment-variable style)',
    '',
    'commands:',
    ...lines,
  ].join('\n');
}

/** Longest multi-word command name that prefixes argv wins. */
export function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | null {
  const sorted = [...COMMANDS].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const c of sorted) {
    const words = c.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command: c, rest: argv.slice(words.length) };
  }
  return null;
}

export async function main(argv: string[]): Promise<number> {
  // The seed's style: MODE picks the command when none is given (flags may follow).
  const mode = process.env.MODE?.trim().toLowerCase();
  if (mode && (argv.length === 0 || (argv[0]!.startsWith('-') && !['-h', '--help'].includes(argv[0]!)))) {
    if (!COMMANDS.some((c) => c.name === mode)) {
      console.error(`vlreward: MODE='${process.env.MODE}' is not a command (expected one of ${COMMANDS.filter((c) => !c.name.includes(' ')).map((c) => c.name).join(', ')})`);
      return 2;
    }
    argv = [mode, ...argv];
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(usage());
    return argv.length === 0 ? 1 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    console.error(`vlreward: unknown command '${argv.join(' ')}'\n\n${usage()}`);
    return 2;
  }
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    console.log(found.command.help);
    return 0;
  }
  try {
    return await found.command.run(found.rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`vlreward ${found.command.name}: ${e.message}`);
      return 2;
    }
    const err = e as Error;
    console.error(`vlreward ${found.command.name}: ${err.message}`);
    if (process.env.VLREWARD_DEBUG) console.error(err.stack);
    return 1;
  }
}

// Run when executed directly (also through the npm bin symlink), not when imported.
const entry = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (entry === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
