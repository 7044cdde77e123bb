// A diverging run (LR 1e3 on the tiny Qwen3-VL) stops with a clear error at the
// first non-finite step; nothing of that step is saved, every checkpoint left
// holds finite tensors, and the one `eval`/`predict` would pick exists and scores
// with finite probabilities. The "best" a run reports is the one kept on disk.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, CheckpointManager } from '@vlreward/checkpoint';
import { loadRewardModel, NonFiniteLossError, predictEpisode, resolveCheckpointDir, trainRewardModel } from '@vlreward/trainer';
import { hasShared, PROCESSOR_DIR } from '../../test-utils/src/index.js';
import { image, tinyRun } from './tiny_run.js';


const finite = (t: { data: ArrayLike<number> }) => Array.from(t.data).every(Number.isFinite);

describe.skipIf(!hasShared(PROCESSOR_DIR, 'Qwen3-VL processor files'))('diverging and tied runs', () => {
  const { work, root, model } = tinyRun('diverge', { episodes: 6, frames: 8, seed: 1 });

  it('LR 1e3: the non-finite step is refused and the run stops; no checkpoint holds NaN; eval/predict use a finite one', async () => {
    const ckptDir = join(work, 'ck-diverge');
    const err = await trainRewardModel({ root, model, ...image, config: { batchSize: 2, lr: 1e3, warmupSteps: 0, maxSteps: 40, evalEvery: 2, valFraction: 0.34, seed: 0, ckptDir }, progress: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/step \d+: loss .*gradient norm .*update was refused/);
    const entries = await new CheckpointManager({ root: ckptDir }).list();
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      const ck = await loadCheckpoint(e.dir);
      expect(finite(ck.head.weight as never) && finite(ck.head.bias as never), `${e.dir} head`).toBe(true);
      for (const [path, m] of ck.adapter!.modules) expect(finite(m.A as never) && finite(m.B as never), `${e.dir} ${path}`).toBe(true);
    }
    const picked = await resolveCheckpointDir(ckptDir);
    expect(existsSync(picked)).toBe(true);
    const m = await loadRewardModel(picked, image);
    try {
      const curve = await predictEpisode(m, root, 0);
      for (const r of curve.rows) expect(r.probs.every(Number.isFinite)).toBe(true);
    } finally {
      await m.dispose();
    }
  }, 240_000);

  it('the best checkpoint the run reports exists, is the one eval resolves, and ties go to the first step', async () => {
    const ckptDir = join(work, 'ck-best');
    const r = await trainRewardModel({ root, model, ...image, config: { batchSize: 2, lr: 1e-3, maxSteps: 24, evalEvery: 3, valFraction: 0.34, seed: 0, ckptDir }, progress: null });
    expect(r.best).not.toBeNull();
    const bestDir = join(ckptDir, `checkpoint-${r.best!.step}`);
    expect(existsSync(bestDir)).toBe(true);
    expect(r.checkpointDirs.best).toBe(bestDir);
    expect(await resolveCheckpointDir(ckptDir)).toBe(bestDir);
    const state = JSON.parse(readFileSync(join(r.checkpointDirs.last!, 'trainer_state.json'), 'utf8')) as { best: { step: number } };
    expect(state.best.step).toBe(r.best!.step);
    // First on ties: no earlier evaluation reached the best value.
    const top = r.evals.find((e) => e.accuracy === r.best!.value)!;
    expect(top.step).toBe(r.best!.step);
  }, 240_000);
});
