import { tensorData, type TensorData } from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import { describe, expect, it } from 'vitest';
import { initClassifierHead } from '../src/heads/init.js';
import { makeLoraConfig } from '../src/lora/config.js';
import { initLoraWeights } from '../src/lora/linear.js';
import { buildQwen3VLGraph, ParamError, paramsFromMap, type InferenceGraphOptions } from '../src/qwen3_vl/build.js';
import { parseQwen3VLConfig } from '../src/qwen3_vl/config.js';
import { prepareQwen3VLInputs, type Qwen3VLBatch } from '../src/qwen3_vl/host_inputs.js';
import { QWEN3_VL_2B_CONFIG, tinyQwen3VLConfig } from '../src/qwen3_vl/presets.js';
import { DEFAULT_LORA } from '../src/lora/config.js';
import { Graph } from '@vlreward/graph';
import { buildQwen3VLForward } from '../src/qwen3_vl/build.js';
import { syntheticQwen3VLBatch } from '../src/qwen3_vl/synthetic.js';
import { randomQwen3VLWeights } from '../src/qwen3_vl/weights.js';
import { maxAbsDiff } from './fixture.js';

const config = parseQwen3VLConfig(tinyQwen3VLConfig({ text_config: { vocab_size: 160000 } }));
const base = randomQwen3VLWeights(config, 3, 0.1);
for (const [k, v] of initClassifierHead(64, 3, 3)) base.set(k, v);

async function forward(weights: Map<string, TensorData>, batch: Qwen3VLBatch, opts: InferenceGraphOptions): Promise<Record<string, TensorData>> {
  const { graph } = buildQwen3VLGraph(config, (g) => paramsFromMap(g, weights), opts);
  const s = await createSession(graph, { intraOpThreads: 1 });
  try {
    const prep = prepareQwen3VLInputs(config, batch, { labels: opts.loss ?? false, numClasses: 3 });
    return await s.run(Object.fromEntries(s.inputs.map((i) => [i.name, prep.feeds[i.name]!])));
  } finally {
    await s.dispose();
  }
}

/** Sample `b` of a batch on its own (its images, no padding). */
function single(batch: Qwen3VLBatch, b: number, len: number, imagesPer: number, patchesPer: number): Qwen3VLBatch {
  const S = batch.inputIds.dims[1]!;
  const row = batch.pixelValues!.dims[1]!;
  return {
    inputIds: tensorData('int64', [1, len], (batch.inputIds.data as BigInt64Array).slice(b * S, b * S + len)),
    attentionMask: tensorData('int64', [1, len], new BigInt64Array(len).fill(1n)),
    pixelValues: tensorData('float32', [patchesPer, row], (batch.pixelValues!.data as Float32Array).slice(b * patchesPer * row, (b + 1) * patchesPer * row)),
    imageGridThw: tensorData('int64', [imagesPer, 3], (batch.imageGridThw!.data as BigInt64Array).slice(b * imagesPer * 3, (b + 1) * imagesPer * 3)),
    labels: tensorData('int64', [1], (batch.labels!.data as BigInt64Array).slice(b, b + 1)),
  };
}

describe('Qwen3-VL forward graph (tiny, random weights)', () => {
  const batch = syntheticQwen3VLBatch(config, { batch: 2, images: 2, height: 64, width: 96, textTokens: 7, numClasses: 3, seed: 5 });

  it('right padding does not change a sample; each sample equals its solo run', async () => {
    // Pad sample 1 by masking its last 3 text tokens.
    const [B, S] = batch.inputIds.dims as [number, number];
    const mask = new BigInt64Array(B * S).fill(1n);
    for (let s = S - 3; s < S; s++) mask[S + s] = 0n;
    const padded = { ...batch, attentionMask: tensorData('int64', [B, S], mask) };
    const both = await forward(base, padded, { numClasses: 3, loss: true });
    const one = await forward(base, single(batch, 1, S - 3, 2, 2 * 4 * 6), { numClasses: 3 });
    const pooled = both.pooled!.data as Float32Array;
    expect(maxAbsDiff(pooled.slice(64), one.pooled!.data as Float32Array)).toBeLessThan(1e-5);
    expect(both.loss!.dims).toEqual([]);
    expect(Number.isFinite((both.loss!.data as Float32Array)[0]!)).toBe(true);
  });

  it('LoRA with zero B is the base model; non-zero B changes it', async () => {
    const lora = makeLoraConfig({ r: 4, alpha: 8, dropout: 0 });
    const w0 = new Map([...base, ...initLoraWeights(config, lora, 1)]);
    const w1 = new Map([...base, ...initLoraWeights(config, lora, 1, 0.5)]);
    const ref = await forward(base, batch, { numClasses: 3 });
    const zero = await forward(w0, batch, { numClasses: 3, lora });
    const nz = await forward(w1, batch, { numClasses: 3, lora });
    expect(maxAbsDiff(zero.logits!.data as Float32Array, ref.logits!.data as Float32Array)).toBe(0);
    expect(maxAbsDiff(nz.logits!.data as Float32Array, ref.logits!.data as Float32Array)).toBeGreaterThan(1e-3);
  });

  it('text-only graphs run without a vision tower', async () => {
    const ids = tensorData('int64', [1, 5], BigInt64Array.from([1n, 2n, 3n, 4n, 5n]));
    const out = await forward(base, { inputIds: ids, attentionMask: tensorData('int64', [1, 5], new BigInt64Array(5).fill(1n)) }, { vision: false, lmHead: true });
    expect(out.lm_logits!.dims).toEqual([1, config.text.vocabSize]);
  });

  it('ParamSource decides initializer vs input; missing weights are named', () => {
    const { graph } = buildQwen3VLGraph(config, (g) => paramsFromMap(g, base, { trainable: (n) => n.startsWith('classifier.') }), { numClasses: 3 });
    expect(graph.inputs.map((t) => t.name)).toEqual(expect.arrayContaining(['classifier.weight', 'classifier.bias']));
    expect(graph.initializers.has('classifier.weight')).toBe(false);
    const partial = new Map(base);
    partial.delete('model.visual.blocks.1.attn.qkv.bias');
    expect(() => buildQwen3VLGraph(config, (g) => paramsFromMap(g, partial, { source: 'w.safetensors' }), {})).toThrow(ParamError);
    expect(() => buildQwen3VLGraph(config, (g) => paramsFromMap(g, partial, { source: 'w.safetensors' }), {})).toThrow(
      /w.safetensors: no tensor 'model.visual.blocks.1.attn.qkv.bias' \(needed with shape \[96\]\)/,
    );
  });

  it('LoRA dropout hook is called once per adapter site in training builds', () => {
    const lora = makeLoraConfig({ r: 2, alpha: 4, dropout: 0.1, targetModules: ['q_proj', 'down_proj'] });
    const w = new Map([...base, ...initLoraWeights(config, lora, 1)]);
    const sites: string[] = [];
    buildQwen3VLGraph(config, (g) => paramsFromMap(g, w), {
      lora,
      loraDropout: (x, site) => {
        sites.push(site.module);
        return x;
      },
    });
    expect(sites).toEqual([
      'model.language_model.layers.0.self_attn.q_proj',
      'model.language_model.layers.0.mlp.down_proj',
      'model.language_model.layers.1.self_attn.q_proj',
      'model.language_model.layers.1.mlp.down_proj',
    ]);
  });

  it('the real 2B config builds (shape only: every weight a graph input)', () => {
    const c2b = parseQwen3VLConfig(QWEN3_VL_2B_CONFIG);
    const g = new Graph('qwen3vl-2b-shapes');
    let params = 0;
    const fwd = buildQwen3VLForward(
      g,
      c2b,
      (name, dtype, shape) => {
        params += shape.reduce((a, b) => a * b, 1);
        return g.input(name, dtype, shape);
      },
      { numClasses: 2, loss: true, lora: DEFAULT_LORA },
    );
    expect(fwd.logits!.shape).toEqual(['batch', 2]);
    expect(fwd.loss!.shape).toEqual([]);
    expect(fwd.loraTargets).toHaveLength(28 * 7);
    // 2,127,532,032 base + 17,432,576 LoRA + 4,098 head
    expect(params).toBe(2_144_968_706);
  });
});
