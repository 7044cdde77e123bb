import type { Command } from '../command.js';
import { doctor } from './doctor.js';
import { checkpointCommand } from './checkpoint.js';
import { analyzeCommand } from './analyze.js';
import { datasetShowCommand, datasetSynthCommand } from './dataset.js';
import { fixtureCheckCommand } from './fixture.js';
import { processorEncodeCommand } from './processor.js';

// The explicit list of sub-commands; each lives in its own file beside this one.
export const COMMANDS: readonly Command[] = [
  checkpointCommand,
  analyzeCommand, datasetShowCommand, datasetSynthCommand,
  fixtureCheckCommand,
  processorEncodeCommand,
  doctor,
];
