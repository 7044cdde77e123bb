// KV-cache generation against the fixture's greedy tokens / first logits
// (transformers, no cache), and against full recomputation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tensorData, type TensorData } from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import {
  argmax,
  buildQwen3VLGraph,
  compareTensors,
  paramsFromMap,
  prepareQwen3VLInputs,
  fixtureGreedyKv,
  loadQwen3VLWeights,
  parseQwen3VLConfig,
  Qwen3VLGenerator,
  splitBatchForGeneration,
  type Qwen3VLBatch,
} from '@vlreward/model';
import { FIXTURE_DIR, get, hasFixture, loadFixtureFile } from './fixture.js';

async function fixtureModel() {
  const config = parseQwen3VLConfig(JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8')));
  const weights = await loadQwen3VLWeights(FIXTURE_DIR, config);
  const inputs = await loadFixtureFile('inputs.safetensors');
  const batch: Qwen3VLBatch = {
    inputIds: get(inputs, 'input_ids'),
    attentionMask: get(inputs, 'attention_mask'),
    pixelValues: get(inputs, 'pixel_values'),
    imageGridThw: get(inputs, 'image_grid_thw'),
  };
  return { config, weights, batch };
}

describe.skipIf(!hasFixture)('KV-cache generation vs the fixture', () => {
  it('reproduces generate.tokens exactly and generate.first_logits within atol 1e-4 + rtol 1e-4', async () => {
    const { config, weights, batch } = await fixtureModel();
    const outputs = await loadFixtureFile('outputs.safetensors');
    const want = get(outputs, 'generate.tokens');
    const got = await fixtureGreedyKv(config, weights, batch, want.dims[1]!, { threads: 1 });
    expect(Array.from(got.get('generate.tokens')!.data as BigInt64Array)).toEqual(Array.from(want.data as BigInt64Array));
    expect(Array.from(got.get('generate.rope_deltas')!.data as BigInt64Array)).toEqual(Array.from(get(outputs, 'generate.rope_deltas').data as BigInt64Array));
    const c = compareTensors('generate.first_logits', got.get('generate.first_logits')!, get(outputs, 'generate.first_logits'));
    expect(c.ok, `worst ratio ${c.worstRatio}, max abs ${c.maxAbs}`).toBe(true);
  }, 60_000);

  it('gives the same tokens as full recomputation on a longer run, and reuses the cache for a continued prompt', async () => {
    const { config, weights, batch } = await fixtureModel();
    const sample = splitBatchForGeneration(config, batch)[0]!;
    const gen = await Qwen3VLGenerator.create(config, weights, { threads: 1 });
    try {
      const steps = 24;
      // Sampling at a high temperature so the sequence does not settle on one repeated token.
      const sampling = { temperature: 30, topK: 200, seed: 7 };
      const kv = await gen.generate({ ...sample, maxNewTokens: steps, stopTokens: [], sampling, keepLogits: true });
      expect(kv.tokens.length).toBe(steps);
      expect(new Set(kv.tokens).size).toBeGreaterThan(3);
      // Full recomputation with the cache-less forward (buildQwen3VLGraph + lm head, the training graph's code path):
      // prompt + the first k tokens gives step k's logits; the KV decoder's own fresh prefill agrees too.
      const { graph } = buildQwen3VLGraph(config, (g) => paramsFromMap(g, weights), { lmHead: true });
      const full = await createSession(graph, { intraOpThreads: 1 });
      let worst = 0;
      const pixels = tensorData('float32', [sample.images.reduce((a, im) => a + im.pixelValues.dims[0]!, 0), config.vision.patchDim], Float32Array.from(sample.images.flatMap((im) => Array.from(im.pixelValues.data as Float32Array))));
      const grids = tensorData('int64', [sample.images.length, 3], BigInt64Array.from(sample.images.flatMap((im) => im.grid.map(BigInt))));
      try {
        for (const k of [1, 5, 11, 23]) {
          const seq = [...sample.inputIds, ...kv.tokens.slice(0, k)];
          const prep = prepareQwen3VLInputs(config, {
            inputIds: tensorData('int64', [1, seq.length], BigInt64Array.from(seq, BigInt)),
            attentionMask: tensorData('int64', [1, seq.length], new BigInt64Array(seq.length).fill(1n)),
            pixelValues: pixels,
            imageGridThw: grids,
          });
          const a = (await full.run(Object.fromEntries(full.inputs.map((i) => [i.name, prep.feeds[i.name]!])), ['lm_logits']))['lm_logits']!.data as Float32Array;
          const b = kv.stepLogits![k]!;
          expect(argmax(a)).toBe(argmax(b)); // greedy would pick the same token either way
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1e-4 + 1e-4 * Math.abs(b[i]!)));
          gen.reset();
          const fresh = await gen.generate({ inputIds: seq, images: sample.images, maxNewTokens: 1, stopTokens: [] });
          expect(fresh.reusedTokens).toBe(0);
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(fresh.firstLogits[i]! - b[i]!) / (1e-4 + 1e-4 * Math.abs(b[i]!)));
        }
      } finally {
        await full.dispose();
      }
      expect(worst).toBeLessThanOrEqual(1);
      // The same request again with a seed gives the same tokens (fresh cache); a continued prompt reuses the cache.
      gen.reset();
      const again = await gen.generate({ ...sample, maxNewTokens: steps, stopTokens: [], sampling });
      expect(again.tokens).toEqual(kv.tokens);
      const cont = await gen.generate({ inputIds: [...sample.inputIds, ...again.tokens, 151644, 872], images: sample.images, maxNewTokens: 4, stopTokens: [] });
      expect(cont.reusedTokens).toBe(sample.inputIds.length + steps - 1);
      gen.reset();
      const fresh = await gen.generate({ inputIds: [...sample.inputIds, ...again.tokens, 151644, 872], images: sample.images, maxNewTokens: 4, stopTokens: [] });
      expect(fresh.reusedTokens).toBe(0);
      expect(cont.tokens).toEqual(fresh.tokens);
      let d = 0;
      for (let i = 0; i < fresh.firstLogits.length; i++) d = Math.max(d, Math.abs(fresh.firstLogits[i]! - cont.firstLogits[i]!));
      expect(d).toBeLessThan(1e-3);
      // A prompt that diverges inside the cached tokens reuses the common prefix only (the cache is cut there).
      const diverged = [...sample.inputIds, ...again.tokens.slice(0, 5), 872, 198];
      const cut = await gen.generate({ inputIds: diverged, images: sample.images, maxNewTokens: 3, stopTokens: [] });
      expect(cut.reusedTokens).toBe(sample.inputIds.length + 5);
      gen.reset();
      const cutFresh = await gen.generate({ inputIds: diverged, images: sample.images, maxNewTokens: 3, stopTokens: [] });
      expect(cut.tokens).toEqual(cutFresh.tokens);
      let d2 = 0;
      for (let i = 0; i < cutFresh.firstLogits.length; i++) d2 = Math.max(d2, Math.abs(cutFresh.firstLogits[i]! - cut.firstLogits[i]!));
      expect(d2).toBeLessThan(1e-3);
    } finally {
      await gen.dispose();
    }
  }, 120_000);
});

export type { TensorData };
