// Evaluate a checkpoint: accuracy, macro-F1, per-class precision/recall, confusion.
//
//   pnpm --filter @vlreward/examples evaluate --ckpt DIR [--root DIR]
//
// Without --ckpt it first trains a quick LoRA checkpoint on the embedded default.
import { resolve } from 'node:path';
import { evaluateRewardModel, loadRewardModel, renderConfusion, renderReport, type ClassificationReport } from '@vlreward/trainer';
import { arg, runIfMain } from './embedded.js';
import { main as trainLora } from './train-lora.js';

export async function main(argv: string[] = []): Promise<ClassificationReport> {
  let ckpt = arg(argv, 'ckpt');
  let root = arg(argv, 'root');
  let episodes: readonly number[] | undefined;
  if (!ckpt) {
    const r = await trainLora(['--out', arg(argv, 'out') ?? resolve('examples-out'), '--quiet']);
    ckpt = r.ckptDir;
    root = root ?? (await import('./embedded.js').then((e) => e.embedded(arg(argv, 'out') ?? resolve('examples-out')))).root;
    episodes = r.split.val;
  }
  const model = await loadRewardModel(ckpt);
  try {
    const trained = model.checkpoint.manifest.config as { dataset?: string; split?: { val: number[] } };
    root = root ?? trained.dataset!;
    episodes = episodes ?? (resolve(root) === trained.dataset ? trained.split?.val : undefined);
    const report = await evaluateRewardModel(model, root, { ...(episodes ? { episodes } : {}) });
    console.log(`${model.checkpoint.dir} on ${root}${episodes ? ` (episodes ${episodes.join(', ')})` : ''}`);
    console.log(renderReport(report));
    console.log(renderConfusion(report));
    return report;
  } finally {
    await model.dispose();
  }
}

runIfMain(import.meta.url, main);
