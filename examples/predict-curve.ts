// Score frames: class probabilities, predicted bin and expected reward for one sample,
// then the per-frame reward curve of a whole episode (CSV, JSON and a PNG plot) — the
// dense reward signal an RL loop or a success detector would consume.
//
//   pnpm --filter @vlreward/examples predict-curve --ckpt DIR --root DIR --episode N
import { join, resolve } from 'node:path';
import { AlohaRewardDataset } from '@vlreward/dataset';
import { loadRewardModel, predictEpisode, predictSample, type CurveRow } from '@vlreward/trainer';
import { arg, runIfMain } from './embedded.js';
import { main as trainLora } from './train-lora.js';

export async function main(argv: string[] = []): Promise<{ rows: CurveRow[]; png: string }> {
  const out = resolve(arg(argv, 'out') ?? 'examples-out');
  let ckpt = arg(argv, 'ckpt');
  let episode = arg(argv, 'episode') !== undefined ? Number(arg(argv, 'episode')) : undefined;
  if (!ckpt) {
    const r = await trainLora(['--out', out, '--quiet']);
    ckpt = r.ckptDir;
    episode = episode ?? r.split.val[0];
  }
  const model = await loadRewardModel(ckpt);
  try {
    const trained = model.checkpoint.manifest.config as { dataset?: string; split?: { val: number[] } };
    const root = arg(argv, 'root') ?? trained.dataset!;
    episode = episode ?? trained.split?.val[0] ?? 0;
    // One sample: the three camera images + task text, as an application would pass them.
    const ds = await AlohaRewardDataset.open(root, { episodes: [episode], numClasses: model.numClasses });
    const s = await ds.get(0);
    const p = await predictSample(model, s.images, s.text);
    console.log(`frame 0 of episode ${episode}: p = [${p.probs.map((x) => x.toFixed(3)).join(', ')}], bin ${p.predicted}, expected reward ${p.expectedReward.toFixed(3)} (label ${s.label})`);
    const curve = await predictEpisode(model, root, episode, { outDir: join(out, 'predictions') });
    console.log(`episode ${episode}: ${curve.rows.length} frames, accuracy ${curve.accuracy.toFixed(3)} → ${curve.files!.csv}, ${curve.files!.png}`);
    return { rows: curve.rows, png: curve.files!.png };
  } finally {
    await model.dispose();
  }
}

runIfMain(import.meta.url, main);
