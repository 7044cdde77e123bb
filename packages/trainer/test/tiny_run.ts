// The inputs the trainer's end-to-end tests share: a temp folder with a synthetic
// 3-camera H.264 dataset (64x64 frames, 3 reward bins) and the tiny Qwen3-VL with the
// real tokenizer, written once per test file; `image` is the pixel budget that keeps
// each frame at 4 image tokens.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { writeSyntheticDataset } from '@vlreward/dataset';
import { writeTinyModel } from '@vlreward/trainer';
import { PROCESSOR_DIR } from '../../test-utils/src/index.js';

export const image = { minPixels: 64 * 64, maxPixels: 64 * 64 };

/** Paths of the dataset and model, written in beforeAll and removed in afterAll. */
export function tinyRun(name: string, data: { episodes: number; frames: number; seed: number }): { work: string; root: string; model: string } {
  const work = mkdtempSync(join(tmpdir(), `vlreward-${name}-`));
  const run = { work, root: join(work, 'dataset'), model: join(work, 'tiny') };
  beforeAll(async () => {
    await writeSyntheticDataset({ root: run.root, ...data, codec: 'h264', size: 64, numClasses: 3 });
    await writeTinyModel(run.model, { processorDir: PROCESSOR_DIR, seed: 0 });
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  return run;
}
