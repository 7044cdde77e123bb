// `vlreward demo`: the embedded default, end to end, on CPU and without downloads:
// synthetic LeRobot dataset (mp4 + parquet + meta, 3 cameras) → tiny Qwen3-VL (real
// architecture, real Qwen tokenizer) → LoRA training until validation accuracy is well
// above chance → checkpoint → reload → evaluate → reward curve of a held-out episode.

import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeSyntheticDataset } from '@vlreward/dataset';
import { evaluateRewardModel, loadRewardModel, predictEpisode, trainRewardModel, writeTinyModel } from '@vlreward/trainer';
import { numberFlag, parseFlags, UsageError, type Command } from '../command.js';
import { defaultProcessorDir } from '../env.js';
import { EMBEDDED_PIXELS, datasetOptionsFrom, printTrainResult } from './train.js';

/** The commands the demo suggests last, on its checkpoint and dataset (the README test parses them). */
export function demoNextCommands(ckptDir: string, root: string): string[] {
  return [`vlreward eval --ckpt ${ckptDir}`, `vlreward predict --ckpt ${ckptDir} --root ${root}`];
}

export const demo: Command = {
  name: 'demo',
  summary: 'the embedded default end to end: synthetic dataset → tiny Qwen3-VL → LoRA → checkpoint → reload → predict',
  help: `usage: vlreward demo [--out DIR] [--processor DIR] [--root DIR] [--codec av1|h264] [--target ACC] [--max-steps N]

Runs on CPU in a few minutes, with no downloads: writes a small synthetic LeRobot dataset
(or uses --root), builds a tiny Qwen3-VL with the real Qwen tokenizer, trains LoRA until
validation accuracy reaches --target (or --max-steps), saves the checkpoint, reloads it,
re-evaluates, and writes the reward curve of a held-out episode.

  --out DIR          everything goes here (default ./vlreward-demo; an existing demo is replaced)
  --processor DIR    Qwen3-VL processor files (default ../shared/models/qwen3vl-processor beside the repo)
  --root DIR         train on this LeRobot dataset instead of the synthetic one (e.g. ../shared/data/…)
  --codec C          synthetic videos: av1 (LeRobot's default) or h264       (default av1)
  --episodes N       synthetic episodes (default 10)   --frames N   frames per episode (default 20)
  --target ACC       stop once validation accuracy reaches this              (default 0.9)
  --max-steps N      upper bound on training steps                           (default 150)
  --lr X             (default 1e-3: a randomly initialised tiny model needs more than the seed's 1e-4)
  --seed N           (default 0)
  --cameras A,B      camera features (real data: e.g. observation.images.cam_high)
  --label-column C, --bin-edges X,Y, --frame-stride N   labels for data without reward_bins, e.g.
                     vlreward demo --root ../shared/data/g1_pick_bottle_v21 --cameras observation.images.cam_high \
                       --label-column timestamp --bin-edges 2.5,5 --frame-stride 4`,
  async run(argv) {
    const { values: v } = parseFlags(argv, {
      out: { type: 'string' },
      processor: { type: 'string' },
      root: { type: 'string' },
      codec: { type: 'string' },
      episodes: { type: 'string' },
      frames: { type: 'string' },
      target: { type: 'string' },
      'max-steps': { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      cameras: { type: 'string' },
      'label-column': { type: 'string' },
      'bin-edges': { type: 'string' },
      'frame-stride': { type: 'string' },
    });
    const dataset = datasetOptionsFrom(v);
    const t0 = performance.now();
    const say = (s: string) => console.log(s);
    const out = resolve(v.out ?? 'vlreward-demo');
    const codec = v.codec ?? 'av1';
    if (codec !== 'av1' && codec !== 'h264') throw new UsageError(`--codec '${codec}': expected av1 or h264`);
    const target = numberFlag('target', v.target, { min: 0 }) ?? 0.9;
    const processor = defaultProcessorDir(v.processor);
    for (const sub of ['dataset', 'tiny-qwen3vl', 'checkpoints', 'predictions']) rmSync(join(out, sub), { recursive: true, force: true });

    const root = v.root ? resolve(v.root) : join(out, 'dataset');
    if (!v.root) {
      const episodes = numberFlag('episodes', v.episodes, { integer: true, min: 3 }) ?? 10;
      const frames = numberFlag('frames', v.frames, { integer: true, min: 3 }) ?? 20;
      say(`[1/5] synthetic LeRobot v2.1 dataset: ${episodes} episodes × ${frames} frames, 3 cameras (${codec} mp4), 3 reward bins → ${root}`);
      await writeSyntheticDataset({ root, episodes, frames, codec, size: 64, numClasses: 3, seed: 1 });
    } else say(`[1/5] dataset: ${root}`);
    const model = join(out, 'tiny-qwen3vl');
    say(`[2/5] tiny Qwen3-VL (2+2 layers, real Qwen tokenizer from ${processor}) → ${model}`);
    await writeTinyModel(model, { processorDir: processor, seed: numberFlag('seed', v.seed, { integer: true, min: 0 }) ?? 0 });

    const ckptDir = join(out, 'checkpoints');
    say(`[3/5] LoRA training on CPU until validation accuracy ≥ ${target} …`);
    const r = await trainRewardModel({
      root,
      model,
      ...EMBEDDED_PIXELS,
      dataset,
      config: {
        mode: 'lora',
        lr: numberFlag('lr', v.lr, { min: 0 }) ?? 1e-3,
        batchSize: 2,
        maxSteps: numberFlag('max-steps', v['max-steps'], { integer: true, min: 1 }) ?? 150,
        evalEvery: 10,
        valFraction: 0.2,
        seed: numberFlag('seed', v.seed, { integer: true, min: 0 }) ?? 0,
        ckptDir,
        prefetch: 4,
      },
      stopWhen: (e) => e.accuracy >= target,
    });
    printTrainResult(r, say);
    if (!r.final || r.final.accuracy < 1.5 / r.numClasses)
      console.error(`warning: validation accuracy ${r.final?.accuracy.toFixed(3) ?? 'n/a'} is not well above chance (${(1 / r.numClasses).toFixed(3)}); try --max-steps 300`);

    say(`[4/5] reloading the best checkpoint and re-evaluating the held-out episodes ${r.split.val.join(', ')} …`);
    const m = await loadRewardModel(ckptDir);
    try {
      const report = await evaluateRewardModel(m, root, { episodes: r.split.val, batchSize: 4 });
      say(`reloaded ${m.checkpoint.dir}: validation accuracy ${report.accuracy.toFixed(3)}, macro-F1 ${report.macroF1.toFixed(3)} (chance ${(1 / m.numClasses).toFixed(3)})`);
      const ep = r.split.val[0]!;
      say(`[5/5] reward curve of held-out episode ${ep} …`);
      const curve = await predictEpisode(m, root, ep, { outDir: join(out, 'predictions') });
      const shown = curve.rows.filter((_, i) => i % Math.max(1, Math.floor(curve.rows.length / 8)) === 0);
      say('frame  true  pred  expected reward  p(bins)');
      for (const row of shown)
        say(`${String(row.frame).padStart(5)}  ${String(row.label ?? '-').padStart(4)}  ${String(row.predicted).padStart(4)}  ${row.expected.toFixed(3).padStart(15)}  ${row.probs.map((p) => p.toFixed(2)).join(' ')}`);
      say(`episode ${ep}: frame accuracy ${curve.accuracy.toFixed(3)}`);
      say('');
      say('where everything went:');
      say(`  dataset      ${root}`);
      say(`  base model   ${model}`);
      say(`  checkpoint   ${m.checkpoint.dir}  (PEFT adapter, classifier head, processor, optimizer state, vlreward.json)`);
      say(`  logs         ${r.logDir}  (metrics.jsonl, TensorBoard events)`);
      say(`  curve        ${curve.files!.csv}`);
      say(`               ${curve.files!.json}`);
      say(`               ${curve.files!.png}`);
      say(`  time         ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      say('');
      say(`next: ${demoNextCommands(ckptDir, root).join('   |   ')}`);
      return existsSync(curve.files!.png) ? 0 : 1;
    } finally {
      await m.dispose();
    }
  },
};
