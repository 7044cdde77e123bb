// LoRA applied vs merged, sampling determinism and processors, bad input.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors, tensorData, type TensorData } from '@vlreward/graph';
import {
  GenerateError,
  loadQwen3VLWeights,
  loraAdapterFromPeft,
  loraConfigFromPeft,
  parseQwen3VLConfig,
  Qwen3VLGenerator,
  randomQwen3VLWeights,
  Sampler,
  SamplingError,
  splitBatchForGeneration,
  tinyQwen3VLConfig,
} from '@vlreward/model';
import type { GeneratorOptions } from '@vlreward/model';
import { FIXTURE_DIR, get, hasFixture, loadFixtureFile } from './fixture.js';

function maxRatio(a: Float32Array, b: Float32Array): number {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!) / (1e-4 + 1e-4 * Math.abs(b[i]!)));
  return w;
}

describe.skipIf(!hasFixture)('LoRA in generation (fixture adapter, r=4, alpha=8, B non-zero)', () => {
  it('applied and merged give the same logits and tokens, and both differ from the base model', async () => {
    const config = parseQwen3VLConfig(JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8')));
    const weights = await loadQwen3VLWeights(FIXTURE_DIR, config);
    const lcfg = loraConfigFromPeft(JSON.parse(readFileSync(join(FIXTURE_DIR, 'adapter_config.json'), 'utf8')), config);
    const adapter = loraAdapterFromPeft(lcfg, (await readSafetensors(join(FIXTURE_DIR, 'lora.safetensors'))).tensors, FIXTURE_DIR);
    expect(adapter.modules.size).toBe(9);
    const inputs = await loadFixtureFile('inputs.safetensors');
    const sample = splitBatchForGeneration(config, {
      inputIds: get(inputs, 'input_ids'),
      attentionMask: get(inputs, 'attention_mask'),
      pixelValues: get(inputs, 'pixel_values'),
      imageGridThw: get(inputs, 'image_grid_thw'),
    })[1]!;
    const req = { ...sample, maxNewTokens: 6, stopTokens: [], keepLogits: true };
    const run = async (o: GeneratorOptions) => {
      const gen = await Qwen3VLGenerator.create(config, weights, { threads: 1, ...o });
      try {
        return await gen.generate(req);
      } finally {
        await gen.dispose();
      }
    };
    const applied = await run({ adapter, lora: 'apply' });
    const merged = await run({ adapter, lora: 'merge' });
    const base = await run({});
    expect(merged.tokens).toEqual(applied.tokens);
    for (let k = 0; k < 6; k++) expect(maxRatio(merged.stepLogits![k]!, applied.stepLogits![k]!)).toBeLessThanOrEqual(1);
    let d = 0;
    for (let i = 0; i < base.firstLogits.length; i++) d = Math.max(d, Math.abs(base.firstLogits[i]! - applied.firstLogits[i]!));
    expect(d).toBeGreaterThan(0.1);
  }, 60_000);
});

describe('sampling', () => {
  const logits = (): Float32Array => Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 3);

  it('is deterministic for a seed, differs across seeds, and top-k = 1 equals greedy', () => {
    const draw = (seed: number, o = {}) => {
      const s = new Sampler({ temperature: 1, seed, ...o });
      return Array.from({ length: 50 }, () => s.next(logits(), []));
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    const greedy = new Sampler({}).next(logits(), []);
    expect(new Set(draw(3, { topK: 1 }))).toEqual(new Set([greedy]));
  });

  it('top-k and top-p keep only the allowed tokens', () => {
    const x = logits();
    const order = Array.from(x.keys()).sort((a, b) => x[b]! - x[a]!);
    const s = new Sampler({ temperature: 1, topK: 5, seed: 0 });
    for (let i = 0; i < 200; i++) expect(order.slice(0, 5)).toContain(s.next(logits(), []));
    // Nucleus: two tokens hold ~all the mass (p = 0.5 + 0.5 - tiny); top_p 0.6 keeps both, 0.4 keeps one.
    const two = new Float32Array(10).fill(-100);
    two[3] = 5;
    two[7] = 5;
    const p6 = new Sampler({ temperature: 1, topP: 0.6, seed: 1 });
    const seen = new Set(Array.from({ length: 100 }, () => p6.next(Float32Array.from(two), [])));
    expect(seen).toEqual(new Set([3, 7]));
    const p4 = new Sampler({ temperature: 1, topP: 0.4, seed: 1 });
    expect(new Set(Array.from({ length: 50 }, () => p4.next(Float32Array.from(two), [])))).toEqual(new Set([3]));
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens (HF)', () => {
    const x = Float32Array.from([2, -2, 1.5, 0]);
    const s = new Sampler({ repetitionPenalty: 2 });
    expect(s.next(x, [0, 1, 0])).toBe(2); // 2 → 1 < 1.5
    expect(Array.from(x)).toEqual([1, -4, 1.5, 0]);
  });

  it('rejects bad options by name', () => {
    expect(() => new Sampler({ temperature: -1 })).toThrow(SamplingError);
    expect(() => new Sampler({ topP: 0 })).toThrow(/topP 0: expected 0 < p <= 1/);
    expect(() => new Sampler({ topK: 1.5 })).toThrow(/topK/);
  });
});

describe('generator errors', () => {
  const config = parseQwen3VLConfig(tinyQwen3VLConfig());
  const weights = randomQwen3VLWeights(config, 1, 0.5);

  it('a prompt longer than the context, a placeholder/image mismatch, an adapter for another model', async () => {
    const gen = await Qwen3VLGenerator.create(config, weights, { threads: 1, maxContext: 16 });
    try {
      await expect(gen.generate({ inputIds: Array.from({ length: 20 }, (_, i) => i + 1) })).rejects.toThrow(
        /prompt is 20 tokens, longer than the context of 16 tokens/,
      );
      await expect(gen.generate({ inputIds: [1, 2, 3], maxNewTokens: -1 })).rejects.toThrow(GenerateError);
      // Generation stops at the context end.
      const r = await gen.generate({ inputIds: Array.from({ length: 14 }, (_, i) => i + 1), maxNewTokens: 10, stopTokens: [] });
      expect(r.stopReason).toBe('context');
      expect(r.tokens.length).toBe(2);
      await expect(gen.generate({ inputIds: [1, config.imageTokenId, 2] })).rejects.toThrow(/1 <\|image_pad\|> tokens but the 0 image\(s\) give 0 features/);
    } finally {
      await gen.dispose();
    }
    const bad = { modules: new Map([['model.language_model.layers.0.self_attn.q_proj', { A: tensorData('float32', [2, 7], new Float32Array(14)), B: tensorData('float32', [9, 2], new Float32Array(18)), scale: 1 }]]), source: '/tmp/other-adapter' };
    await expect(Qwen3VLGenerator.create(config, weights, { adapter: bad })).rejects.toThrow(/\/tmp\/other-adapter: module 'model.language_model.layers.0.self_attn.q_proj': base weight is \[\d+, \d+\] but the adapter gives \[9, 7\]/);
  });
});

describe('untied LM head', () => {
  it('uses lm_head.weight when tie_word_embeddings is false (logits scale with it, not with embed_tokens)', async () => {
    const config = parseQwen3VLConfig(tinyQwen3VLConfig({ tie_word_embeddings: false, text_config: { tie_word_embeddings: false } }));
    expect(config.tieWordEmbeddings).toBe(false);
    const weights = randomQwen3VLWeights(config, 3, 0.5);
    const first = async (w: Map<string, TensorData>) => {
      const gen = await Qwen3VLGenerator.create(config, w, { threads: 1 });
      try {
        return (await gen.generate({ inputIds: [100, 200, 300, 400], maxNewTokens: 1 })).firstLogits;
      } finally {
        await gen.dispose();
      }
    };
    const a = await first(weights);
    const head = weights.get('lm_head.weight')!;
    const doubled = new Map(weights).set('lm_head.weight', { ...head, data: (head.data as Float32Array).map((x) => 2 * x) });
    const b = await first(doubled);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(b[i]! - 2 * a[i]!) / (1e-4 + 1e-4 * Math.abs(b[i]!)));
    expect(worst).toBeLessThanOrEqual(1);
  }, 30_000);
});

