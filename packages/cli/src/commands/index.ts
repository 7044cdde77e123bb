import type { Command } from '../command.js';
import { doctor } from './doctor.js';
import { checkpointCommand } from './checkpoint.js';

// The explicit list of sub-commands; each lives in its own file beside this one.
export const COMMANDS: readonly Command[] = [checkpointCommand, doctor];
