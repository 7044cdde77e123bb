import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors, readSafetensors } from '@vlreward/graph';
import { loraConfigFromPeft } from '../src/lora/peft.js';
import { parseQwen3VLConfig } from '../src/qwen3_vl/config.js';
import { prepareQwen3VLInputs } from '../src/qwen3_vl/host_inputs.js';
import { loadQwen3VLWeights } from '../src/qwen3_vl/weights.js';
import { buildArtifacts, buildTrainingArtifacts, TrainingSession, type BuildOptions } from '../src/artifacts/index.js';
import { TOY_SMALL, toyBatch, toyForward, toyParams } from './toy_model.js';

const SESSION = { intraOpThreads: 1 } as const;
const batch = toyBatch(TOY_SMALL, 4, 8, 3);

async function run(opts: BuildOptions, steps: number, lr = 1e-2) {
  const params = toyParams(TOY_SMALL, 'lora', 1);
  const art = buildArtifacts(toyForward(TOY_SMALL), params, { graphs: ['train'], ...opts });
  const s = await TrainingSession.create(art, SESSION);
  const res = [];
  for (let i = 0; i < steps; i++) res.push(await s.step(batch, lr));
  return { art, s, params, res };
}

describe('mixed precision and loss scaling', () => {
  it('fp16: float32 master weights, every MatMul in float16, dynamic loss scale; tracks the fp32 run', async () => {
    const fp32 = await run({}, 6);
    const fp16 = await run({ precision: 'fp16' }, 6);
    const g = fp16.art.graphs.train!;
    const mm = g.nodes.filter((n) => n.opType === 'MatMul' && !n.name.startsWith('grad/'));
    expect(mm.length).toBeGreaterThan(0);
    expect(mm.every((n) => n.inputs.every((t) => t!.dtype === 'float16'))).toBe(true);
    for (const p of fp16.params.filter((q) => q.trainable)) expect(g.inputs.find((t) => t.name === p.name)!.dtype).toBe('float32');
    const st = await fp16.s.getTrainableState();
    expect(st.lossScale).toEqual({ scale: 65536, growthTracker: 6 });
    expect(Object.values(st.m).every((t) => t.dtype === 'float32')).toBe(true);
    fp16.res.forEach((r, i) => {
      expect(r.skipped).toBe(false);
      expect(Math.abs(r.loss - fp32.res[i]!.loss)).toBeLessThan(2e-2);
    });
    expect(fp16.res.at(-1)!.loss).toBeLessThan(fp16.res[0]!.loss * 0.6);
    await fp32.s.dispose();
    await fp16.s.dispose();
  });

  it('bf16 builds a graph computing in bfloat16 (the CPU provider lacks bf16 kernels; GPU providers run it)', () => {
    const art = buildArtifacts(toyForward(TOY_SMALL), toyParams(TOY_SMALL, 'full', 1), { precision: 'bf16', graphs: ['train'] });
    const mm = art.graphs.train!.nodes.filter((n) => n.opType === 'MatMul' && !n.name.startsWith('grad/'));
    expect(mm.every((n) => n.inputs.every((t) => t!.dtype === 'bfloat16'))).toBe(true);
    expect(art.manifest.lossScaling).toBe(false);
    expect(art.manifest.computeDType).toBe('bfloat16');
  });

  it('loss scaling (fp32 compute, power-of-two scale) matches no scaling to fp32 rounding', async () => {
    const plain = await run({}, 5);
    const scaled = await run({ lossScaling: true, lossScale: { initScale: 1024 } }, 5);
    // Scaling by 2^k commutes with every rounding; ORT's fused kernels reorder a few sums (≤ 1 ulp seen).
    scaled.res.forEach((r, i) => {
      expect(r.loss).toBeCloseTo(plain.res[i]!.loss, 6);
      expect(r.gradNorm).toBeCloseTo(plain.res[i]!.gradNorm, 5);
    });
    await plain.s.dispose();
    await scaled.s.dispose();
  });

  it('fp16 overflow (scale 2^24) skips the step bit-exactly (params, moments, step count) and backs off', async () => {
    const params = toyParams(TOY_SMALL, 'lora', 1);
    const art = buildArtifacts(toyForward(TOY_SMALL), params, { graphs: ['train'], precision: 'fp16', lossScale: { initScale: 2 ** 24 } });
    const s = await TrainingSession.create(art, SESSION);
    const before = await s.getTrainableState();
    const first = await s.step(batch, 1e-2);
    expect(first.skipped).toBe(true);
    const after = await s.getTrainableState();
    expect(after.step).toBe(0);
    expect(after.lossScale).toEqual({ scale: 2 ** 23, growthTracker: 0 });
    for (const k of Object.keys(before.params)) {
      expect(after.params[k]!.data).toEqual(before.params[k]!.data);
      expect(after.m[k]!.data).toEqual(before.m[k]!.data);
    }
    let skips = 1;
    while ((await s.step(batch, 1e-2)).skipped) skips++;
    expect(s.steps).toBe(1);
    expect((await s.getTrainableState()).lossScale!.scale).toBe(2 ** (24 - skips));
    await s.dispose();
  });

  it('activation checkpointing recomputes blocks in the backward pass and gives the same losses', async () => {
    const plain = await run({}, 4);
    const ckpt = await run({ checkpointing: true }, 4);
    expect(ckpt.art.graphs.train!.nodes.length).toBeGreaterThan(plain.art.graphs.train!.nodes.length);
    ckpt.res.forEach((r, i) => expect(r.loss).toBeCloseTo(plain.res[i]!.loss, 6));
    await plain.s.dispose();
    await ckpt.s.dispose();
  });
});

describe('autocast for float32-only builders (the Qwen3-VL forward)', () => {
  it('fp16: MatMuls autocast, loss and LoRA gradients track the fp32 golden values, training runs with loss scaling', async () => {
    const dir = new URL('../../../../shared/fixtures/qwen3vl-tiny-a', import.meta.url).pathname;
    const config = parseQwen3VLConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const weights = await loadQwen3VLWeights(dir, config);
    for (const f of ['head.safetensors', 'lora.safetensors']) for (const [k, v] of (await readSafetensors(join(dir, f))).tensors) weights.set(k, v);
    const lora = loraConfigFromPeft(JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')), config);
    const art = buildTrainingArtifacts(config, { mode: 'lora', lora, numClasses: 3, weights, precision: 'fp16', graphs: ['train', 'gradient'] });
    expect(art.manifest.autocast).toBe(true);
    const mm = art.graphs.gradient!.nodes.filter((n) => n.opType === 'MatMul' && !n.name.startsWith('grad/'));
    expect(mm.length).toBeGreaterThan(20);
    expect(mm.every((n) => n.outputs[0]!.dtype === 'float16')).toBe(true);
    const inputs = (await readSafetensors(join(dir, 'inputs.safetensors'))).tensors;
    const prepared = prepareQwen3VLInputs(
      config,
      { inputIds: inputs.get('input_ids')!, attentionMask: inputs.get('attention_mask')!, pixelValues: inputs.get('pixel_values')!, imageGridThw: inputs.get('image_grid_thw')!, labels: inputs.get('labels')! },
      { labels: true, numClasses: 3 },
    );
    const feeds = Object.fromEntries(art.manifest.batchInputs.map((i) => [i.name, prepared.feeds[i.name]!]));
    const s = await TrainingSession.create(art, { intraOpThreads: 2 });
    const g = await s.computeGradients(feeds);
    const outs = await openSafetensors(join(dir, 'outputs.safetensors'));
    expect(g.loss).toBeCloseTo(((await outs.read('lora.loss')).data as Float32Array)[0]!, 2);
    let worst = 0;
    for (const name of Object.keys(g.grads)) {
      const want = (await outs.read(`lora.grad.${name}`)).data as Float32Array;
      const got = g.grads[name]!.data as Float32Array;
      let d = 0;
      let r = 0;
      want.forEach((w, i) => ((d = Math.max(d, Math.abs(got[i]! - w))), (r = Math.max(r, Math.abs(w)))));
      worst = Math.max(worst, d / r);
    }
    await outs.close();
    // fp16 matmuls (10-bit mantissa): normwise relative gradient error ~1.4e-3 measured.
    expect(worst).toBeLessThan(1e-2);
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) losses.push((await s.step(feeds, 1e-2)).loss);
    expect(losses.at(-1)).toBeLessThan(losses[0]! * 0.5);
    await s.dispose();
  });
});
