// `vlreward analyze`: the seed's MODE=analyze — dataset statistics without training.

import { analyze, formatAnalysis, formatInvalidLabel } from '@vlreward/dataset';
import { parseFlags, UsageError, type Command } from '../command.js';

const FLAGS = {
    root: { type: 'string' },
    json: { type: 'boolean' },
    'label-column': { type: 'string' },
    'num-classes': { type: 'string' },
    'skip-invalid-labels': { type: 'boolean' },
  } as const;

function flags(argv: string[]) {
  return parseFlags(argv, FLAGS).values;
}

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'dataset statistics: version, fps, episodes, frames, cameras, tasks, label histogram',
  help: `usage: vlreward analyze --root DIR [--json] [--label-column reward_bins] [--num-classes N] [--skip-invalid-labels]

  Reads the metadata and the label column only; \`vlreward dataset verify\` checks every
  column and video frame. Exits 1 when a label is NaN, ±inf, negative, not numeric or out
  of range (each is listed), unless --skip-invalid-labels, which treats them as training does
  with that flag: left out and counted.

  --root DIR          LeRobot dataset root (v2.0, v2.1 or v3.0; env LEROBOT_ROOT)
  --json              print one JSON object instead of the report
  --label-column C    column holding the reward label         (default reward_bins)
  --num-classes N     number of classes for the histogram     (default NUM_CLASSES, else inferred)
  --skip-invalid-labels  count rows with invalid labels as skipped instead of failing`,
  async run(argv) {
    const v = flags(argv);
    const root = v.root ?? process.env.LEROBOT_ROOT;
    if (!root) throw new UsageError('--root DIR is required (or set LEROBOT_ROOT)');
    const ncRaw = v['num-classes'] ?? process.env.NUM_CLASSES;
    const numClasses = ncRaw === undefined || ncRaw === '' ? undefined : Number(ncRaw);
    if (numClasses !== undefined && !(Number.isInteger(numClasses) && numClasses >= 1)) {
      throw new UsageError(`--num-classes / NUM_CLASSES '${ncRaw}': expected a positive integer`);
    }
    const a = await analyze(root, {
      ...(v['label-column'] ? { labelColumn: v['label-column'] } : {}),
      ...(numClasses !== undefined ? { numClasses } : {}),
    });
    console.log(v.json ? JSON.stringify(a) : formatAnalysis(a));
    const bad = a.labels?.invalid;
    if (bad && bad.count > 0) {
      if (v['skip-invalid-labels']) {
        console.error(`analyze: ${bad.count} rows with invalid labels in column '${a.labels!.column}' are skipped (--skip-invalid-labels)`);
        return 0;
      }
      console.error(
        `analyze: ${bad.count} rows have invalid labels in column '${a.labels!.column}', first ${bad.examples[0]!.file}: ${formatInvalidLabel(bad.examples[0]!)}; ` +
          'fix the data or pass --skip-invalid-labels (train and analyze) to leave those rows out',
      );
      return 1;
    }
    return 0;
  },
};
