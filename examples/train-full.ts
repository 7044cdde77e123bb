// Full fine-tuning: every Qwen3-VL weight (vision tower included) and the head are
// trained (FINETUNE_MODE=full); the checkpoint holds HF-layout safetensors.
//
//   pnpm --filter @vlreward/examples train-full [--root DIR --model DIR] [--out DIR] [--steps N]
//
// Without --root/--model it uses the embedded default (synthetic dataset, tiny Qwen3-VL).
import { join, resolve } from 'node:path';
import { trainRewardModel, type TrainRewardResult } from '@vlreward/trainer';
import { TINY_PIXELS, arg, embedded, runIfMain } from './embedded.js';

export async function main(argv: string[] = []): Promise<TrainRewardResult> {
  const out = resolve(arg(argv, 'out') ?? 'examples-out');
  const tiny = arg(argv, 'root') === undefined ? await embedded(out) : null;
  const result = await trainRewardModel({
    root: arg(argv, 'root') ?? tiny!.root,
    model: arg(argv, 'model') ?? tiny!.model,
    ...(tiny ? TINY_PIXELS : {}),
    config: {
      mode: 'full',
      lr: 3e-4,
      maxSteps: Number(arg(argv, 'steps') ?? 30),
      evalEvery: 10,
      ckptDir: join(out, 'ck-full'),
    },
    progress: argv.includes('--quiet') ? null : process.stderr,
  });
  console.log(`full: ${result.steps} steps, validation accuracy ${result.final?.accuracy.toFixed(3)} (chance ${(1 / result.numClasses).toFixed(3)}), best checkpoint ${result.checkpointDirs.best}`);
  return result;
}

runIfMain(import.meta.url, main);
