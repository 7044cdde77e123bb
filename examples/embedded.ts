// Shared by the examples: the embedded default (a synthetic LeRobot dataset and the
// tiny Qwen3-VL with the real tokenizer), written once under a work directory.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticDataset } from '@vlreward/dataset';
import { writeTinyModel } from '@vlreward/trainer';

/** ../shared/models/qwen3vl-processor beside the repository (override: VLREWARD_PROCESSOR). */
export const PROCESSOR = process.env.VLREWARD_PROCESSOR ?? resolve(fileURLToPath(new URL('.', import.meta.url)), '../../shared/models/qwen3vl-processor');

/** 64×64 frames → 4 image tokens per camera: the tiny model trains in seconds. */
export const TINY_PIXELS = { minPixels: 64 * 64, maxPixels: 64 * 64 };

export async function embedded(work: string): Promise<{ root: string; model: string }> {
  const root = join(work, 'dataset');
  const model = join(work, 'tiny-qwen3vl');
  if (!existsSync(join(root, 'meta', 'info.json')))
    await writeSyntheticDataset({ root, episodes: 6, frames: 12, codec: 'h264', size: 64, numClasses: 3, seed: 1 });
  if (!existsSync(join(model, 'model.safetensors'))) await writeTinyModel(model, { processorDir: PROCESSOR, seed: 0 });
  return { root, model };
}

/** `--name value` from argv. */
export function arg(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Runs `main` when the file is executed directly (not when a test imports it). */
export function runIfMain(url: string, main: (argv: string[]) => Promise<unknown>): void {
  if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(url)) {
    main(process.argv.slice(2)).catch((e: Error) => {
      console.error(e.message);
      process.exit(1);
    });
  }
}
