// `vlreward eval`: metrics of a checkpoint on a dataset split (JSON and a table).

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { evaluateRewardModel, loadRewardModel, renderConfusion, renderReport } from '@vlreward/trainer';
import { numberFlag, parseFlags, UsageError, type Command } from '../command.js';
import { ENV_HELP, readSeedEnv } from '../env.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'accuracy, macro-F1, per-class precision/recall and confusion matrix of a checkpoint',
  help: `usage: vlreward eval [--ckpt DIR] [--root DIR] [--split val|train|all] [--episodes 3,7] [--json] [--out FILE]

  --ckpt DIR        a checkpoint, or a CKPT_DIR of checkpoint-<step> folders (best by val accuracy)
                    (env CKPT_DIR; default checkpoints/qwen3_reward)
  --root DIR        LeRobot dataset (env LEROBOT_ROOT; default: the dataset the checkpoint was trained on)
  --split S         val (default when --root is the training dataset): the held-out episodes of training;
                    train: the training episodes; all: every episode
  --episodes LIST   explicit episode indices (overrides --split)
  --model DIR|ID    base model (default: the one recorded in the checkpoint)
  --batch-size N    (default 4)   --device cpu|cuda|cuda:N|webgpu
  --json            one JSON object          --out FILE   also write the JSON report to FILE

${ENV_HELP}`,
  async run(argv) {
    const { values: v } = parseFlags(argv, {
      ckpt: { type: 'string' },
      root: { type: 'string' },
      split: { type: 'string' },
      episodes: { type: 'string' },
      model: { type: 'string' },
      'batch-size': { type: 'string' },
      device: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
    });
    const env = readSeedEnv(process.env, process.cwd(), { mode: false });
    const ckpt = v.ckpt ?? env.ckptDir ?? resolve('checkpoints/qwen3_reward');
    const m = await loadRewardModel(ckpt, { ...(v.model ?? env.model ? { model: (v.model ?? env.model)! } : {}), ...(v.device ? { device: v.device } : {}) });
    try {
      const trained = (m.checkpoint.manifest.config ?? {}) as { dataset?: string; split?: { train: number[]; val: number[] } };
      const root = v.root ?? process.env.LEROBOT_ROOT ?? trained.dataset;
      if (!root) throw new UsageError('--root DIR is required (the checkpoint does not record its dataset)');
      const sameData = trained.dataset !== undefined && resolve(root) === resolve(trained.dataset);
      const split = v.split ?? (sameData ? 'val' : 'all');
      if (!['val', 'train', 'all'].includes(split)) throw new UsageError(`--split '${split}': expected val, train or all`);
      let episodes: number[] | undefined;
      if (v.episodes) {
        episodes = v.episodes.split(',').map((x) => numberFlag('episodes', x, { integer: true, min: 0 })!);
      } else if (split !== 'all') {
        if (!sameData || !trained.split) throw new UsageError(`--split ${split} needs the training dataset (${trained.dataset ?? 'not recorded'}); use --split all or --episodes for ${root}`);
        episodes = trained.split[split as 'val' | 'train'];
      }
      const report = await evaluateRewardModel(m, root, { ...(episodes ? { episodes } : {}), batchSize: numberFlag('batch-size', v['batch-size'], { integer: true, min: 1 }) ?? 4 });
      const json = { checkpoint: m.checkpoint.dir, dataset: resolve(root), split: v.episodes ? 'episodes' : split, episodes: episodes ?? 'all', ...report };
      if (v.out) writeFileSync(v.out, JSON.stringify(json, null, 2) + '\n');
      if (v.json) console.log(JSON.stringify(json));
      else {
        console.log(`checkpoint ${m.checkpoint.dir}`);
        console.log(`dataset    ${resolve(root)} (${json.split}${episodes ? `: episodes ${episodes.join(', ')}` : ''})`);
        console.log(renderReport(report));
        console.log(renderConfusion(report));
      }
      return 0;
    } finally {
      await m.dispose();
    }
  },
};
