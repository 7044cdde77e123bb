import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TensorData } from '@vlreward/graph';
import { artifactsCacheKey, buildArtifacts, cachedArtifacts, inventoryKey, IO, loadArtifacts, saveArtifacts, TrainingSession } from '../src/artifacts/index.js';
import { TOY_SMALL, toyBatch, toyForward, toyParams, type ToyConfig, type ToyMode } from './toy_model.js';

const SESSION = { intraOpThreads: 1, graphOptimizationLevel: 'basic' } as const;
const tmp = mkdtempSync(join(tmpdir(), 'vlreward-artifacts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function concatBatch(a: Record<string, TensorData>, b: Record<string, TensorData>): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const k of Object.keys(a)) {
    const x = a[k]!;
    const y = b[k]!;
    const data = new (x.data.constructor as new (n: number) => BigInt64Array)(x.data.length + y.data.length);
    data.set(x.data as BigInt64Array, 0);
    data.set(y.data as BigInt64Array, x.data.length);
    out[k] = { dtype: x.dtype, dims: [x.dims[0]! + y.dims[0]!, ...x.dims.slice(1)], data };
  }
  return out;
}

async function train(cfg: ToyConfig, mode: ToyMode, steps: number, lr: number, seed = 0) {
  const params = toyParams(cfg, mode, 1);
  const art = buildArtifacts(toyForward(cfg), params, { name: `toy-${mode}`, graphs: ['train', 'eval'], optimizer: { weightDecay: 0 } });
  const s = await TrainingSession.create(art, { ...SESSION, seed });
  const batch = toyBatch(cfg, 4, 8, 3);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push((await s.step(batch, lr)).loss);
  return { s, art, params, batch, losses };
}

describe('training artifacts on a toy transformer', () => {
  it('full fine-tuning overfits a small batch (one session run per step)', async () => {
    const { s, losses, batch } = await train(TOY_SMALL, 'full', 40, 1e-2);
    expect(losses[0]).toBeGreaterThan(0.5);
    expect(losses.at(-1)).toBeLessThan(0.01);
    const ev = await s.evaluate(batch);
    expect((ev.loss.data as Float32Array)[0]).toBeLessThan(0.01);
    await s.dispose();
  });

  it('LoRA mode overfits with frozen base weights left bit-identical', async () => {
    const { s, art, losses, params } = await train(TOY_SMALL, 'lora', 60, 2e-2);
    expect(losses.at(-1)).toBeLessThan(0.05);
    // Frozen weights are initializers of the graphs, never graph inputs or outputs.
    const g = art.graphs.train!;
    const frozen = params.filter((p) => !p.trainable).map((p) => p.name);
    expect(frozen.length).toBeGreaterThan(0);
    for (const n of frozen) {
      expect(g.initializers.has(n)).toBe(true);
      expect(g.inputs.some((t) => t.name === n)).toBe(false);
      expect(g.outputs.some((o) => o.name === IO.updated(n))).toBe(false);
    }
    const state = await s.getTrainableState();
    expect(Object.keys(state.params).sort()).toEqual(params.filter((p) => p.trainable).map((p) => p.name).sort());
    // The stored initializer values equal a fresh copy of the initial values, bit for bit.
    const again = toyParams(TOY_SMALL, 'lora', 1);
    for (const n of frozen) {
      const now = g.initializers.get(n)!.value.data;
      const init = again.find((p) => p.name === n)!.init;
      expect(Buffer.from(now.buffer, now.byteOffset, now.byteLength).equals(Buffer.from((typeof init === 'function' ? init() : init).data.buffer))).toBe(true);
    }
    await s.dispose();
  });

  it('two runs with the same seed give identical losses (LoRA dropout 0.1 on); another seed differs', async () => {
    const cfg = { ...TOY_SMALL, loraDropout: 0.1 };
    const a = await train(cfg, 'lora', 5, 1e-2, 7);
    const b = await train(cfg, 'lora', 5, 1e-2, 7);
    const c = await train(cfg, 'lora', 5, 1e-2, 8);
    expect(a.art.manifest.dropout.train!.length).toBe(2 * cfg.layers);
    expect(a.art.manifest.dropout.eval).toEqual([]);
    expect(b.losses).toEqual(a.losses);
    expect(c.losses).not.toEqual(a.losses);
    for (const x of [a, b, c]) await x.s.dispose();
  });

  it('accumulating 2 micro-batches equals one step on the concatenated batch', async () => {
    const cfg = TOY_SMALL;
    const params = toyParams(cfg, 'full', 2);
    const art = buildArtifacts(toyForward(cfg), params, { name: 'toy-acc' });
    const b1 = toyBatch(cfg, 2, 6, 10);
    const b2 = toyBatch(cfg, 2, 6, 11);
    const whole = await TrainingSession.create(art, SESSION);
    const micro = await TrainingSession.create(art, SESSION);
    for (let k = 0; k < 3; k++) {
      const one = await whole.step(concatBatch(b1, b2), 5e-3);
      const l1 = await micro.accumulate(b1);
      const l2 = await micro.accumulate(b2);
      const ap = await micro.apply(5e-3);
      expect((l1.loss + l2.loss) / 2).toBeCloseTo(one.loss, 5);
      expect(ap.gradNorm).toBeCloseTo(one.gradNorm, 4);
      expect(ap.microBatches).toBe(2);
    }
    const sw = await whole.getTrainableState();
    const sm = await micro.getTrainableState();
    expect(sm.step).toBe(3);
    let worst = 0;
    for (const n of Object.keys(sw.params)) {
      const x = sw.params[n]!.data as Float32Array;
      const y = sm.params[n]!.data as Float32Array;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    }
    expect(worst).toBeLessThan(1e-5);
    await whole.dispose();
    await micro.dispose();
  });

  it('resume: getTrainableState/setTrainableState continue the same loss curve', async () => {
    const cfg = TOY_SMALL;
    const params = toyParams(cfg, 'lora', 4);
    const art = buildArtifacts(toyForward(cfg), params, { name: 'toy-resume', graphs: ['train'] });
    const batch = toyBatch(cfg, 3, 7, 5);
    const a = await TrainingSession.create(art, SESSION);
    const ref: number[] = [];
    for (let i = 0; i < 6; i++) ref.push((await a.step(batch, 1e-2)).loss);
    const b = await TrainingSession.create(art, SESSION);
    for (let i = 0; i < 3; i++) await b.step(batch, 1e-2);
    const snap = JSON.parse(JSON.stringify((await b.getTrainableState()), (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v)));
    await b.dispose();
    const revive = (rec: Record<string, { dtype: 'float32'; dims: number[]; data: number[] }>) =>
      Object.fromEntries(Object.entries(rec).map(([k, t]) => [k, { dtype: t.dtype, dims: t.dims, data: Float32Array.from(t.data) }]));
    const c = await TrainingSession.create(art, { ...SESSION, state: { step: snap.step, params: revive(snap.params), m: revive(snap.m), v: revive(snap.v) } });
    expect(c.steps).toBe(3);
    const rest: number[] = [];
    for (let i = 0; i < 3; i++) rest.push((await c.step(batch, 1e-2)).loss);
    expect(rest).toEqual(ref.slice(3));
    await a.dispose();
    await c.dispose();
  });

  it('saves artifacts (ONNX + shared external data), reloads them, and the disk cache is hit the second time', async () => {
    const cfg = TOY_SMALL;
    const params = toyParams(cfg, 'lora', 5);
    // Frozen values come from loaders: the caller names them (here: the init seed).
    expect(() => inventoryKey(params)).toThrow(/frozen parameter 'embed.weight' has a loader; pass weightsKey/);
    const key = artifactsCacheKey({ builderVersion: 'toy-1', config: cfg, options: { mode: 'lora' }, inventory: inventoryKey(params, 'toy-seed-5') });
    let builds = 0;
    const build = () => {
      builds++;
      return buildArtifacts(toyForward(cfg), params, { name: 'toy-cache' });
    };
    const first = cachedArtifacts(tmp, key, build, { externalDataThreshold: 1024 });
    const second = cachedArtifacts(tmp, key, build, { externalDataThreshold: 1024 });
    expect(first.hit).toBe(false);
    expect(second.hit).toBe(true);
    expect(builds).toBe(1);
    expect(second.saved.manifest.graphs).toEqual(['train', 'gradient', 'optimizer', 'eval']);
    // One side file holds the frozen weights for the train, gradient and eval graphs.
    expect(readdirSync(second.saved.dir).sort()).toEqual(['eval.onnx', 'gradient.onnx', 'manifest.json', 'optimizer.onnx', 'train.onnx', 'weights.data']);
    const batch = toyBatch(cfg, 2, 5, 9);
    const mem = await TrainingSession.create(first.built!, SESSION);
    const disk = await TrainingSession.create(second.saved, { ...SESSION, params });
    for (let i = 0; i < 3; i++) {
      const x = await mem.step(batch, 1e-2);
      const y = await disk.step(batch, 1e-2);
      expect(y.loss).toBe(x.loss);
    }
    expect((await disk.evaluate(batch)).logits.data).toEqual((await mem.evaluate(batch)).logits.data);
    await mem.dispose();
    await disk.dispose();
    expect(() => loadArtifacts(join(tmp, 'nope'))).toThrow(/no manifest.json/);
    const other = artifactsCacheKey({ builderVersion: 'toy-1', config: { ...cfg, layers: 3 }, options: { mode: 'lora' }, inventory: inventoryKey(params, 'toy-seed-5') });
    expect(other).not.toBe(key);
    expect(inventoryKey(params, 'toy-seed-6')).not.toBe(inventoryKey(params, 'toy-seed-5'));
  });

  it("frozenAs 'input': frozen weights fed once and shared by all sessions, same training as initializers", async () => {
    const cfg = TOY_SMALL;
    const params = toyParams(cfg, 'lora', 7);
    const batch = toyBatch(cfg, 3, 6, 2);
    const init = buildArtifacts(toyForward(cfg), params, { graphs: ['train', 'eval'] });
    const inp = buildArtifacts(toyForward(cfg), params, { graphs: ['train', 'eval'], frozenAs: 'input' });
    expect(inp.graphs.train!.initializers.size).toBe(0);
    expect(inp.graphs.train!.inputs.some((t) => t.name === 'layers.0.q_proj.weight')).toBe(true);
    expect(inp.manifest.batchInputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', 'labels']);
    const dir = join(tmp, 'frozen-input');
    const saved = saveArtifacts(inp, dir);
    expect(readdirSync(dir).sort()).toEqual(['eval.onnx', 'manifest.json', 'train.onnx']);
    await expect(TrainingSession.create(saved, { ...SESSION, state: await (await TrainingSession.create(init, SESSION)).getTrainableState() })).rejects.toThrow(
      /take frozen weights as inputs; pass options.params/,
    );
    const a = await TrainingSession.create(init, SESSION);
    const b = await TrainingSession.create(saved, { ...SESSION, params });
    for (let i = 0; i < 4; i++) {
      const x = await a.step(batch, 1e-2);
      const y = await b.step(batch, 1e-2);
      expect(y.loss).toBeCloseTo(x.loss, 5);
    }
    const ea = await a.evaluate(batch);
    const eb = await b.evaluate(batch);
    (eb.logits.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo((ea.logits.data as Float32Array)[i]!, 4));
    await a.dispose();
    await b.dispose();
  });

  it('explicit save/load round trip works without the cache', async () => {
    const cfg = TOY_SMALL;
    const params = toyParams(cfg, 'full', 6);
    const art = buildArtifacts(toyForward(cfg), params, { name: 'toy-save', graphs: ['eval'] });
    const dir = join(tmp, 'explicit');
    saveArtifacts(art, dir);
    const loaded = loadArtifacts(dir);
    expect(loaded.manifest.evalInputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', 'labels']);
    const s = await TrainingSession.create(loaded, { ...SESSION, params });
    const out = await s.evaluate(toyBatch(cfg, 2, 4, 1));
    expect(out.logits.dims).toEqual([2, cfg.classes]);
    expect(out.pooled!.dims).toEqual([2, cfg.hidden]);
    await s.dispose();
  });
});

describe('training artifacts: bad use is reported with names', () => {
  const cfg = TOY_SMALL;

  it('inventory and forward mistakes', () => {
    const params = toyParams(cfg, 'lora', 1);
    const dup = [...params, params[0]!];
    expect(() => buildArtifacts(toyForward(cfg), dup)).toThrow(/inventory\[\d+\]: duplicate name 'embed.weight'/);
    const extra = [...params, { name: 'unused.weight', shape: [2], trainable: true, init: { dtype: 'float32' as const, dims: [2], data: new Float32Array(2) } }];
    expect(() => buildArtifacts(toyForward(cfg), extra)).toThrow(/trainable parameters never used by the forward \(no gradient\): unused.weight/);
    const frozenOnly = params.map((p) => ({ ...p, trainable: false }));
    expect(() => buildArtifacts(toyForward(cfg), frozenOnly)).toThrow(/no trainable parameters/);
    expect(() => buildArtifacts(toyForward(cfg), [{ ...params[0]!, name: 'adam.m/x' }])).toThrow(/reserved/);
    const wrong = params.map((p) => (p.name === 'head.bias' ? { ...p, shape: [7] } : p));
    expect(() => buildArtifacts(toyForward(cfg), wrong)).toThrow(/parameter 'head.bias' requested as \[3\] but the inventory has \[7\]/);
  });

  it('runner mistakes: missing feeds, wrong state, apply without accumulate', async () => {
    const params = toyParams(cfg, 'lora', 1);
    const art = buildArtifacts(toyForward(cfg), params, { graphs: ['train', 'gradient', 'optimizer'] });
    const s = await TrainingSession.create(art, SESSION);
    const batch = toyBatch(cfg, 2, 4, 1);
    const { labels: _l, ...noLabels } = batch;
    await expect(s.step(noLabels, 1e-3)).rejects.toThrow(/missing feed: 'labels' \(int64\[batch\]\)/);
    await expect(s.apply(1e-3)).rejects.toThrow(/no accumulated gradients; call accumulate\(batch\) first/);
    await s.accumulate(batch);
    await expect(s.step(batch, 1e-3)).rejects.toThrow(/1 accumulated micro-batch\(es\) pending; call apply\(\) first/);
    await s.apply(1e-3);
    await expect(s.evaluate(batch)).rejects.toThrow(/no 'eval' graph \(built: train, gradient, optimizer\)/);
    const st = await s.getTrainableState();
    const bad = { ...st, params: { ...st.params, 'head.bias': { dtype: 'float32' as const, dims: [4], data: new Float32Array(4) } } };
    expect(() => s.setTrainableState(bad)).toThrow(/setTrainableState: params\['head.bias'\] is float32\[4\], expected float32\[3\]/);
    const { 'head.bias': _hb, ...missing } = st.m;
    expect(() => s.setTrainableState({ ...st, m: missing })).toThrow(/m\['head.bias'\] is missing/);
    await s.dispose();
    const saved = saveArtifacts(art, join(tmp, 'no-params'));
    await expect(TrainingSession.create(saved)).rejects.toThrow(/saved artifacts carry no initial values; pass options.params/);
  });

  it('fp16 gradient accumulation applies once per 2 micro-batches and tracks the fused fp16 step', async () => {
    const params = toyParams(cfg, 'lora', 1);
    const art = buildArtifacts(toyForward(cfg), params, { precision: 'fp16' });
    const b1 = toyBatch(cfg, 2, 6, 10);
    const b2 = toyBatch(cfg, 2, 6, 11);
    const whole = await TrainingSession.create(art, SESSION);
    const micro = await TrainingSession.create(art, SESSION);
    for (let k = 0; k < 3; k++) {
      const one = await whole.step(concatBatch(b1, b2), 5e-3);
      const l1 = await micro.accumulate(b1);
      const l2 = await micro.accumulate(b2);
      const ap = await micro.apply(5e-3);
      expect(ap.skipped).toBe(false);
      expect((l1.loss + l2.loss) / 2).toBeCloseTo(one.loss, 2);
    }
    expect(micro.steps).toBe(3);
    expect((await micro.getTrainableState()).lossScale).toEqual({ scale: 65536, growthTracker: 3 });
    await whole.dispose();
    await micro.dispose();
  });
});
