// GPU training tests: fixture parity on the device (fp32, and bf16/fp16
// compute with fp32 master weights, at the tolerances stated in
// scripts/gpu/lib/parity.ts TOLERANCE), CPU-fp32-vs-device parity on a tiny
// random model, and one LoRA and one full fused step on the tiny config, in
// each precision the device computes (VLREWARD_GPU_PRECISIONS, default fp32 and
// bf16 on CUDA / fp16 elsewhere). Skipped, with the reason printed, unless a
// GPU provider loads; VLREWARD_GPU=1 makes a missing provider or precision a
// failure. CI runs them on software Vulkan GPUs (.ci/run, docs/GPU.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureParity, selfParity, TOLERANCE } from '../../../scripts/gpu/lib/parity.js';
import { gpuPrecisions, probeGpu } from '../../../scripts/gpu/lib/probe.js';
import { runTrainCase } from '../../../scripts/gpu/lib/train_case.js';
import {
  buildTrainingArtifacts,
  makeLoraConfig,
  parseQwen3VLConfig,
  prepareQwen3VLInputs,
  randomQwen3VLWeights,
  syntheticQwen3VLBatch,
  tinyQwen3VLConfig,
  TrainingSession,
  type Precision,
  type TensorData,
} from '../../../scripts/gpu/lib/deps.js';
import { FIXTURE_DIR, hasFixture } from './fixture.js';

const probe = await probeGpu();
if (!probe.device) console.log(`[gpu tests] skipped: ${probe.reason}`);
const run = probe.device !== null || probe.forced;
const dev = () => {
  expect(probe.device, probe.reason).not.toBeNull();
  return { provider: probe.device!.provider, ...(probe.device!.deviceId !== undefined ? { deviceId: probe.device!.deviceId } : {}) };
};
const precisions = await gpuPrecisions(probe);
for (const m of precisions.missing) if (probe.device && !probe.forced) console.log(`[gpu tests] ${m.precision} skipped: ${m.reason}`);
const label = precisions.run.join(' / ') || 'none';

describe.runIf(run)(`training on the GPU (${probe.label})`, () => {
  // A precision asked for (VLREWARD_GPU_PRECISIONS or the default) that the device cannot compute.
  for (const m of probe.forced ? precisions.missing : []) {
    it(`computes in ${m.precision}`, () => {
      expect.fail(m.reason);
    });
  }

  it.runIf(hasFixture && existsSync(join(FIXTURE_DIR, 'head.safetensors')) && precisions.run.length > 0)(
    `fixture parity: loss and gradients, ${label} (fp32 master weights)`,
    async () => {
      const res = await fixtureParity(FIXTURE_DIR, { ...dev(), precisions: precisions.run });
      expect(res.length).toBeGreaterThan(0);
      for (const r of res) {
        expect(r.error, r.name).toBeUndefined();
        expect(r.gradsRelL2, `${r.name} grads rel L2`).toBeLessThanOrEqual(TOLERANCE[r.precision].grads);
        expect(r.lossAbsDiff, `${r.name} |Δloss|`).toBeLessThanOrEqual(TOLERANCE[r.precision].loss * Math.max(1, Math.abs(r.lossRef)));
        expect(r.ok, r.name).toBe(true);
      }
    },
    600_000,
  );

  it.runIf(precisions.run.length > 0)(`CPU fp32 vs device ${label}: LoRA and full gradients on a tiny random model`, async () => {
    const res = await selfParity({ ...dev(), precisions: precisions.run, modes: ['lora', 'full'] });
    expect(res).toHaveLength(2 * precisions.run.length);
    for (const r of res) expect(r.ok, `${r.name}: ${JSON.stringify(r)}`).toBe(true);
  }, 600_000);

  for (const [mode, precision] of precisions.run.flatMap((p) => (['lora', 'full'] as const).map((m) => [m, p] as const))) {
    it(`a ${mode} fused step (fwd + bwd + clip + AdamW) on the tiny config in ${precision}; first loss as on CPU fp32`, async () => {
      const d = dev();
      const shape = { size: 'tiny', mode, batch: 2, images: 3, height: 64, width: 64, textTokens: 16 } as const;
      const r = await runTrainCase({ ...shape, ...d, precision, steps: 2, warmup: 1 });
      const ref = await runTrainCase({ ...shape, provider: 'cpu', precision: 'fp32', steps: 1, warmup: 1 });
      expect(r.losses.every(Number.isFinite)).toBe(true);
      // fp16 may skip early steps (loss-scale overflow, grad norm inf); other precisions never skip.
      if (precision !== 'fp16') expect(r.skipped.some(Boolean)).toBe(false);
      r.gradNorms.forEach((g, i) => {
        if (!r.skipped[i]) expect(Number.isFinite(g) && g > 0, `step ${i} grad norm ${g}`).toBe(true);
      });
      // Same weights and batch: the untrained loss agrees with CPU fp32 within the stated loss tolerance.
      expect(Math.abs(r.losses[0]! - ref.losses[0]!)).toBeLessThanOrEqual(TOLERANCE[precision].loss * Math.max(1, Math.abs(ref.losses[0]!)));
      // Device residency, from the bytes counted at the binding: the first step uploads the
      // initial state once; a steady step moves the batch in and the metrics out, no state.
      expect(r.transfer.hostToDeviceBytes).toBeGreaterThan(0);
      expect(r.transfer.firstHostToDeviceBytes - r.transfer.hostToDeviceBytes).toBe(r.transfer.stateBytes);
      expect(r.transfer.deviceToHostBytes).toBeLessThan(1024);
    }, 600_000);
  }
  for (const precision of precisions.run) {
    it(`the training state after a device step (${precision}) comes back to the host and matches CPU fp32 (AdamW first moments)`, async () => {
      const d = dev();
      const config = parseQwen3VLConfig(tinyQwen3VLConfig());
      const weights = randomQwen3VLWeights(config, 3);
      const raw = syntheticQwen3VLBatch(config, { batch: 2, images: 3, height: 64, width: 64, textTokens: 16, numClasses: 3, seed: 5 });
      const batch = prepareQwen3VLInputs(config, raw, { labels: true, numClasses: 3 });
      const stepOn = async (onDevice: boolean, p: Precision) => {
        // A small initial loss scale, so that fp16's first step is not an overflow skip.
        const art = buildTrainingArtifacts(config, { mode: 'lora', lora: makeLoraConfig({}), numClasses: 3, weights, seed: 1, precision: p, lossScale: { initScale: 256 }, graphs: ['train'] });
        const s = await TrainingSession.create(art, onDevice ? d : { provider: 'cpu' });
        const feeds: Record<string, TensorData> = {};
        for (const i of art.manifest.batchInputs) feeds[i.name] = batch.feeds[i.name]!;
        const r = await s.step(feeds, 1e-4);
        // Downloads every parameter and moment (WebGPU keeps them in GPU buffers).
        const state = await s.getTrainableState();
        await s.dispose();
        return { r, state };
      };
      const got = await stepOn(true, precision);
      const ref = await stepOn(false, 'fp32');
      expect(got.r.skipped).toBe(false);
      expect(got.state.step).toBe(1);
      let diff = 0;
      let norm = 0;
      for (const [name, m] of Object.entries(ref.state.m)) {
        const a = got.state.m[name]!.data as Float32Array;
        const b = m.data as Float32Array;
        expect(a.length, name).toBe(b.length);
        for (let i = 0; i < b.length; i++) {
          diff += (a[i]! - b[i]!) ** 2;
          norm += b[i]! ** 2;
        }
        expect((got.state.params[name]!.data as Float32Array).every(Number.isFinite), name).toBe(true);
      }
      expect(norm).toBeGreaterThan(0);
      expect(Math.sqrt(diff / norm)).toBeLessThanOrEqual(TOLERANCE[precision].grads);
    }, 600_000);
  }
});

describe.skipIf(run)('training on the GPU', () => {
  it('is skipped: no GPU provider loads here', () => {
    expect(probe.device).toBeNull();
    expect(probe.reason).toMatch(/no GPU provider loads/);
  });
});
