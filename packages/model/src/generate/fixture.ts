// The fixture README's greedy generation (generate.* in outputs.safetensors)
// recomputed with the KV-cache generator: each sample on its own, unpadded,
// `steps` argmax tokens with no stop token.
import { tensorData, type TensorData } from '@vlreward/graph';
import type { Qwen3VLConfig } from '../qwen3_vl/config.js';
import { readGrids, type Qwen3VLBatch } from '../qwen3_vl/host_inputs.js';
import { Qwen3VLGenerator, type GenerationImage, type GeneratorOptions } from './generator.js';

/** Split a padded processor batch into per-sample prompts (ids without padding, their images). */
export function splitBatchForGeneration(config: Qwen3VLConfig, batch: Qwen3VLBatch): { inputIds: number[]; images: GenerationImage[] }[] {
  const [B, S] = batch.inputIds.dims as [number, number];
  const ids = Array.from(batch.inputIds.data as BigInt64Array, Number);
  const mask = Array.from(batch.attentionMask.data as BigInt64Array, Number);
  const grids = readGrids(config, batch.imageGridThw);
  const row = config.vision.patchDim;
  let img = 0;
  let patch = 0;
  const out: { inputIds: number[]; images: GenerationImage[] }[] = [];
  for (let b = 0; b < B; b++) {
    const seq = ids.slice(b * S, b * S + S).filter((_, s) => mask[b * S + s] === 1);
    let n = 0;
    for (let i = 0; i + 1 < seq.length; i++) if (seq[i] === config.visionStartTokenId && seq[i + 1] === config.imageTokenId) n++;
    const images: GenerationImage[] = [];
    for (let k = 0; k < n; k++) {
      const g = grids[img++];
      if (!g || !batch.pixelValues) throw new Error(`sample ${b}: image ${k} has no image_grid_thw row / pixel_values`);
      const P = g.t * g.h * g.w;
      const data = (batch.pixelValues.data as Float32Array).slice(patch * row, (patch + P) * row);
      patch += P;
      images.push({ pixelValues: tensorData('float32', [P, row], data), grid: [g.t, g.h, g.w] });
    }
    out.push({ inputIds: seq, images });
  }
  return out;
}

/**
 * generate.tokens [B, steps], generate.first_logits [B, vocab], generate.rope_deltas [B, 1],
 * generate.top2_margin [B, steps] with the KV-cache decoder (base weights).
 */
export async function fixtureGreedyKv(
  config: Qwen3VLConfig,
  weights: ReadonlyMap<string, TensorData>,
  batch: Qwen3VLBatch,
  steps: number,
  opts: GeneratorOptions = {},
): Promise<Map<string, TensorData>> {
  const gen = await Qwen3VLGenerator.create(config, weights, opts);
  const samples = splitBatchForGeneration(config, batch);
  const B = samples.length;
  const V = config.text.vocabSize;
  const tokens = new BigInt64Array(B * steps);
  const margins = new Float32Array(B * steps);
  const first = new Float32Array(B * V);
  const deltas = new BigInt64Array(B);
  try {
    for (let b = 0; b < B; b++) {
      gen.reset();
      const r = await gen.generate({ ...samples[b]!, maxNewTokens: steps, stopTokens: [], keepLogits: true });
      first.set(r.firstLogits, b * V);
      deltas[b] = BigInt(r.ropeDelta);
      r.tokens.forEach((t, k) => {
        tokens[b * steps + k] = BigInt(t);
        const l = r.stepLogits![k]!;
        let second = -Infinity;
        for (let i = 0; i < l.length; i++) if (i !== t && l[i]! > second) second = l[i]!;
        margins[b * steps + k] = l[t]! - second;
      });
    }
  } finally {
    await gen.dispose();
  }
  return new Map([
    ['generate.tokens', tensorData('int64', [B, steps], tokens)],
    ['generate.first_logits', tensorData('float32', [B, V], first)],
    ['generate.rope_deltas', tensorData('int64', [B, 1], deltas)],
    ['generate.top2_margin', tensorData('float32', [B, steps], margins)],
  ]);
}
