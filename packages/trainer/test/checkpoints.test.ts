import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rewardCheckpointStore, type ModelTrainableState, type TrainerState } from '@vlreward/trainer';

const f32 = (dims: number[], seed: number) => ({ dtype: 'float32' as const, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed + i)) });
const MOD = 'model.language_model.layers.0.self_attn.q_proj';

function modelState(step: number): ModelTrainableState {
  const params = {
    'classifier.weight': f32([3, 4], 1),
    'classifier.bias': f32([3], 2),
    [`base_model.model.${MOD}.lora_A.weight`]: f32([2, 4], 3),
    [`base_model.model.${MOD}.lora_B.weight`]: f32([4, 2], 4),
  };
  const m = Object.fromEntries(Object.entries(params).map(([k, t], i) => [k, f32(t.dims, 10 + i)]));
  const v = Object.fromEntries(Object.entries(params).map(([k, t], i) => [k, f32(t.dims, 20 + i)]));
  return { step, params, m, v };
}

function trainerState(step: number): TrainerState {
  return { step, loader: { epoch: 1, cursor: 6 }, samplesSeen: step * 2, best: { metric: 'accuracy', value: 0.5, step }, evalsWithoutImprovement: 0, losses: [1, 0.5], evals: [], fingerprint: '{"seed":0}' };
}

describe('rewardCheckpointStore (PEFT adapter + head + optimizer state)', () => {
  it('saves a checkpoint Python PEFT can read and restores the exact state', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ck-'));
    const store = rewardCheckpointStore({ root, mode: 'lora', lora: { r: 2, lora_alpha: 4, target_modules: ['q_proj'] }, baseModel: 'tiny' });
    const dir = await store.save('last', { trainer: trainerState(4), model: modelState(4), metrics: { val_accuracy: 0.5 } });
    expect(dir).toBe(join(root, 'checkpoint-4'));
    expect(await store.save('best', { trainer: trainerState(4), model: modelState(4), metrics: { val_accuracy: 0.5 } })).toBe(dir);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(expect.arrayContaining(['adapter_config.json', 'adapter_model.safetensors', 'classifier.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'vlreward.json']));
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 2, lora_alpha: 4, base_model_name_or_path: 'tiny' });
    const back = await store.loadLast();
    expect(back!.trainer).toMatchObject(trainerState(4));
    const st = back!.model as ModelTrainableState;
    expect(st.step).toBe(4);
    for (const [k, t] of Object.entries(modelState(4).params)) {
      expect([...(st.params[k]!.data as Float32Array)]).toEqual([...(t.data as Float32Array)]);
      expect([...(st.m[k]!.data as Float32Array)]).toEqual([...(modelState(4).m[k]!.data as Float32Array)]);
    }
    expect(back!.metrics.val_accuracy).toBe(0.5);
  });

  it('keeps the last N plus the best, and resumes from the newest', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ck-'));
    const store = rewardCheckpointStore({ root, mode: 'lora', lora: { r: 2, target_modules: ['q_proj'] }, keepLast: 1 });
    await store.save('last', { trainer: trainerState(2), model: modelState(2), metrics: { val_accuracy: 0.9 } });
    await store.save('last', { trainer: trainerState(4), model: modelState(4), metrics: { val_accuracy: 0.4 } });
    await store.save('last', { trainer: trainerState(6), model: modelState(6), metrics: { val_accuracy: 0.5 } });
    expect(readdirSync(root).filter((d) => d.startsWith('checkpoint-')).sort()).toEqual(['checkpoint-2', 'checkpoint-6']);
    expect((await store.loadLast())!.trainer.step).toBe(6);
    expect((await store.manager.best())!.entry.step).toBe(2);
  });

  it('names what is missing from a model state', async () => {
    const store = rewardCheckpointStore({ root: mkdtempSync(join(tmpdir(), 'ck-')), mode: 'lora', lora: { r: 2, target_modules: ['q_proj'] } });
    const bad = { ...modelState(1), params: { 'classifier.weight': f32([3, 4], 1) } };
    await expect(store.save('last', { trainer: trainerState(1), model: bad, metrics: {} })).rejects.toThrow(/no 'classifier.weight' \/ 'classifier.bias'/);
  });
});
