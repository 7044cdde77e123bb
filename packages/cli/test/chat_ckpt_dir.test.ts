// `vlreward chat --adapter CKPT_DIR` resolves a training run's folder of checkpoint-<step>
// dirs as eval and predict do (the best, else the latest), instead of refusing it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSyntheticDataset } from '@vlreward/dataset';
import { trainRewardModel, writeTinyModel } from '@vlreward/trainer';
import { loadChatModel } from '../src/commands/chat.js';
import { hasShared, PROCESSOR_DIR } from '../../test-utils/src/index.js';

const work = mkdtempSync(join(tmpdir(), 'vlreward-chat-ckptdir-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!hasShared(PROCESSOR_DIR, 'Qwen3-VL processor files'))('chat --adapter CKPT_DIR', () => {
  it('picks the best checkpoint of the run, as eval does', async () => {
    const root = join(work, 'data');
    const model = join(work, 'tiny');
    await writeSyntheticDataset({ root, episodes: 4, frames: 4, codec: 'h264', size: 64, numClasses: 3, seed: 3 });
    await writeTinyModel(model, { processorDir: PROCESSOR_DIR, seed: 0 });
    const ckptDir = join(work, 'ck');
    const r = await trainRewardModel({ root, model, minPixels: 64 * 64, maxPixels: 64 * 64, config: { batchSize: 2, maxSteps: 2, evalEvery: 1, valFraction: 0.25, seed: 0, ckptDir }, progress: null });
    const m = await loadChatModel(model, ckptDir);
    expect(m.adapter).not.toBeNull();
    expect(m.description).toContain(r.checkpointDirs.best!);
  }, 120_000);
});
