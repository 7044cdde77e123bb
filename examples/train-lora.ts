// Train the reward classifier with LoRA (the seed's default: r=16, alpha=32, dropout
// 0.05 on q/k/v/o/gate/up/down) through the library API, not the CLI.
//
//   pnpm --filter @vlreward/examples train-lora [--root DIR --model DIR] [--out DIR] [--steps N]
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
      mode: 'lora',
      lr: 1e-3,
      maxSteps: Number(arg(argv, 'steps') ?? 30),
      evalEvery: 10,
      ckptDir: join(out, 'ck-lora'),
    },
    progress: argv.includes('--quiet') ? null : process.stderr,
  });
  console.log(`LoRA: ${result.steps} steps, validation accuracy ${result.final?.accuracy.toFixed(3)} (chance ${(1 / result.numClasses).toFixed(3)}), best checkpoint ${result.checkpointDirs.best}`);
  return result;
}

runIfMain(import.meta.url, main);
