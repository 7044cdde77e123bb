// `vlreward predict`: score images + task text, or whole episodes into per-frame reward
// curves (CSV, JSON, PNG plot).

import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { AlohaRewardDataset } from '@vlreward/dataset';
import { loadImage } from '@vlreward/processor';
import { loadRewardModel, predictEpisode, predictSample } from '@vlreward/trainer';
import { numberFlag, parseFlags, UsageError, type Command } from '../command.js';
import { ENV_HELP, readSeedEnv } from '../env.js';

export const predict: Command = {
  name: 'predict',
  summary: 'class probabilities / expected reward for images + text, or per-frame reward curves of episodes',
  help: `usage: vlreward predict [--ckpt DIR] --image A --image B --image C --text "Task: ..." [--json]
       vlreward predict [--ckpt DIR] [--root DIR] [--episode N ...] [--out DIR] [--json]

  --ckpt DIR        checkpoint or CKPT_DIR (env CKPT_DIR; default checkpoints/qwen3_reward)
  --image FILE      a camera image (repeat, in the training camera order: right wrist, left wrist, high)
  --text T          the task text as in training ("Task: <task>")
  --root DIR        LeRobot dataset for reward curves (env LEROBOT_ROOT; default the training dataset)
  --episode N       episode index (repeatable; default: the validation episodes of training, else all)
  --out DIR         where curves go (default <ckpt>/predictions): episode_<N>.csv / .json / .png
  --frame-stride N  score every N-th frame (default 1)
  --model DIR|ID    base model (default: the one recorded in the checkpoint)
  --device D        cpu | cuda | cuda:N | webgpu
  --json            machine-readable output

${ENV_HELP}`,
  async run(argv) {
    const { values: v } = parseFlags(argv, {
      ckpt: { type: 'string' },
      image: { type: 'string', multiple: true },
      text: { type: 'string' },
      root: { type: 'string' },
      episode: { type: 'string', multiple: true },
      out: { type: 'string' },
      'frame-stride': { type: 'string' },
      model: { type: 'string' },
      device: { type: 'string' },
      json: { type: 'boolean' },
    });
    const env = readSeedEnv(process.env, process.cwd(), { mode: false });
    const ckpt = v.ckpt ?? env.ckptDir ?? resolve('checkpoints/qwen3_reward');
    if (v.image && !v.text) throw new UsageError('--image needs --text "Task: ..." (the task description the model was trained with)');
    const m = await loadRewardModel(ckpt, { ...(v.model ?? env.model ? { model: (v.model ?? env.model)! } : {}), ...(v.device ? { device: v.device } : {}) });
    try {
      if (v.image) {
        const images = await Promise.all(v.image.map((f) => loadImage(f)));
        const p = await predictSample(m, images, v.text!);
        if (v.json) console.log(JSON.stringify({ checkpoint: m.checkpoint.dir, ...p }));
        else {
          console.log(`checkpoint      ${m.checkpoint.dir}`);
          p.probs.forEach((q, c) => console.log(`bin ${c}           ${q.toFixed(4)}${c === p.predicted ? '  ← predicted' : ''}`));
          console.log(`expected bin    ${p.expectedBin.toFixed(3)}`);
          console.log(`expected reward ${p.expectedReward.toFixed(3)} (0 = lowest bin, 1 = highest)`);
        }
        return 0;
      }
      const trained = (m.checkpoint.manifest.config ?? {}) as { dataset?: string; split?: { val: number[] } };
      const root = v.root ?? process.env.LEROBOT_ROOT ?? trained.dataset;
      if (!root) throw new UsageError('give --image … --text …, or --root DIR for reward curves');
      let episodes = v.episode?.map((e) => numberFlag('episode', e, { integer: true, min: 0 })!);
      if (!episodes) {
        const same = trained.dataset !== undefined && resolve(root) === resolve(trained.dataset);
        episodes = same && trained.split ? trained.split.val : (await AlohaRewardDataset.open(root, { ...m.datasetOptions, numClasses: m.numClasses })).episodeIndices();
      }
      const out = resolve(v.out ?? resolve(m.checkpoint.dir, 'predictions'));
      mkdirSync(out, { recursive: true });
      const stride = numberFlag('frame-stride', v['frame-stride'], { integer: true, min: 1 }) ?? 1;
      const results = [];
      for (const ep of episodes) {
        const r = await predictEpisode(m, root, ep, { outDir: out, frameStride: stride });
        results.push({ episode: ep, frames: r.rows.length, accuracy: r.accuracy, files: r.files });
        if (!v.json) console.log(`episode ${ep}: ${r.rows.length} frames, accuracy ${r.accuracy.toFixed(3)}, mean expected reward ${(r.rows.reduce((a, x) => a + x.expected, 0) / r.rows.length).toFixed(3)} → ${r.files!.png}`);
      }
      if (v.json) console.log(JSON.stringify({ checkpoint: m.checkpoint.dir, dataset: resolve(root), out, episodes: results }));
      return 0;
    } finally {
      await m.dispose();
    }
  },
};
