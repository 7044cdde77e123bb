// A small synthetic LeRobot dataset + a tiny Qwen3-VL LoRA checkpoint (a few steps), shared by the viewer tests.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticDataset } from '@vlreward/dataset';
import { trainRewardModel, writeTinyModel } from '@vlreward/trainer';
import { hasShared, PROCESSOR_DIR } from '../../test-utils/src/index.js';

export { PROCESSOR_DIR };

export async function makeFixture(o: { episodes?: number; frames?: number; numClasses?: number; cameras?: readonly string[]; withCkpt?: boolean } = {}): Promise<{ dir: string; root: string; ckpt: string | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'vlreward-viewer-'));
  const root = join(dir, 'dataset');
  await writeSyntheticDataset({ root, episodes: o.episodes ?? 3, frames: o.frames ?? 8, codec: 'h264', size: 64, numClasses: o.numClasses ?? 3, seed: 1, ...(o.cameras ? { cameras: o.cameras } : {}) });
  if (o.withCkpt === false) return { dir, root, ckpt: null };
  const model = join(dir, 'tiny-qwen3vl');
  await writeTinyModel(model, { processorDir: PROCESSOR_DIR, seed: 0 });
  const ckptDir = join(dir, 'ckpt');
  await trainRewardModel({
    root,
    model,
    minPixels: 64 * 64,
    maxPixels: 64 * 64,
    config: { mode: 'lora', lr: 1e-3, batchSize: 2, maxSteps: 2, evalEvery: 100, valFraction: 0.34, seed: 0, ckptDir },
  });
  return { dir, root, ckpt: ckptDir };
}

export const hasProcessor = hasShared(PROCESSOR_DIR, 'Qwen3-VL processor files');
