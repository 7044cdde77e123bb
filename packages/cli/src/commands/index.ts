import type { Command } from '../command.js';
import { demo } from './demo.js';
import { predict } from './predict.js';
import { chatCommand } from './chat.js';
import { mergeCommand } from './merge.js';
import { evalCommand } from './eval.js';
import { train } from './train.js';
import { doctor } from './doctor.js';
import { checkpointCommand } from './checkpoint.js';
import { analyzeCommand } from './analyze.js';
import { datasetShowCommand, datasetSynthCommand, datasetVerifyCommand } from './dataset.js';
import { fixtureCheckCommand } from './fixture.js';
import { processorEncodeCommand } from './processor.js';
import { viewCommand } from './view.js';
import { exportCommand } from './export.js';
import { modelSynthCommand } from './model.js';

// The explicit list of sub-commands; each lives in its own file beside this one.
export const COMMANDS: readonly Command[] = [
  checkpointCommand,
  analyzeCommand, datasetShowCommand, datasetSynthCommand, datasetVerifyCommand,
  fixtureCheckCommand,
  processorEncodeCommand,
  modelSynthCommand,
  doctor,
  train,
  evalCommand,
  predict,
  chatCommand,
  mergeCommand,
  demo,
  viewCommand,
  exportCommand,
];
