// GPU training tests: fixture parity on the device (fp32, and bf16/fp16
// compute with fp32 master weights, at the tolerances stated in
// scripts/gpu/lib/parity.ts TOLERANCE), CPU-fp32-vs-device parity on a tiny
// random model, and one LoRA and one full fused step on the tiny config.
// Skipped, with the reason printed, unless a GPU provider loads;
// VLREWARD_GPU=1 makes a missing provider a failure.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureParity, selfParity, TOLERANCE } from '../../../scripts/gpu/lib/parity.js';
import { probeGpu } from '../../../scripts/gpu/lib/probe.js';
import { runTrainCase } from '../../../scripts/gpu/lib/train_case.js';
import { FIXTURE_DIR, hasFixture } from './fixture.js';

const probe = await probeGpu();
if (!probe.device) console.log(`[gpu tests] skipped: ${probe.reason}`);
const run = probe.device !== null || probe.forced;
const dev = () => {
  expect(probe.device, probe.reason).not.toBeNull();
  return { provider: probe.device!.provider, ...(probe.device!.deviceId !== undefined ? { deviceId: probe.device!.deviceId } : {}) };
};
// The CPU provider (VLREWARD_GPU_DEVICE=cpu dry run) has fp16 but no bf16 Gemm kernels: fp16 there.
const mixed = probe.device?.provider === 'cuda' ? 'bf16' : 'fp16';

describe.runIf(run)(`training on the GPU (${probe.label})`, () => {
  it.runIf(hasFixture && existsSync(join(FIXTURE_DIR, 'head.safetensors')))(
    `fixture parity: loss and gradients, fp32 and ${mixed} (fp32 master weights)`,
    async () => {
      const res = await fixtureParity(FIXTURE_DIR, { ...dev(), precisions: [...new Set(['fp32', mixed] as const)] });
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

  it(`CPU fp32 vs device fp32 / ${mixed}: LoRA and full gradients on a tiny random model`, async () => {
    const res = await selfParity({ ...dev(), precisions: [...new Set(['fp32', mixed] as const)], modes: ['lora', 'full'] });
    for (const r of res) expect(r.ok, `${r.name}: ${JSON.stringify(r)}`).toBe(true);
  }, 600_000);

  for (const mode of ['lora', 'full'] as const) {
    it(`a ${mode} fused step (fwd + bwd + clip + AdamW) on the tiny config in ${mixed}; first loss as on CPU fp32`, async () => {
      const d = dev();
      const shape = { size: 'tiny', mode, batch: 2, images: 3, height: 64, width: 64, textTokens: 16 } as const;
      const r = await runTrainCase({ ...shape, ...d, precision: mixed, steps: 2, warmup: 1 });
      const ref = await runTrainCase({ ...shape, provider: 'cpu', precision: 'fp32', steps: 1, warmup: 1 });
      expect(r.losses.every(Number.isFinite)).toBe(true);
      // fp16 may skip early steps (loss-scale overflow, grad norm inf); other precisions never skip.
      if (mixed !== 'fp16') expect(r.skipped.some(Boolean)).toBe(false);
      r.gradNorms.forEach((g, i) => {
        if (!r.skipped[i]) expect(Number.isFinite(g) && g > 0, `step ${i} grad norm ${g}`).toBe(true);
      });
      // Same weights and batch: the untrained loss agrees with CPU fp32 within the stated loss tolerance.
      expect(Math.abs(r.losses[0]! - ref.losses[0]!)).toBeLessThanOrEqual(TOLERANCE[mixed].loss * Math.max(1, Math.abs(ref.losses[0]!)));
      if (d.provider !== 'cpu') expect(r.transfer.hostToDeviceBytes).toBeGreaterThan(0);
    }, 600_000);
  }
});

describe.skipIf(run)('training on the GPU', () => {
  it('is skipped: no GPU provider loads here', () => {
    expect(probe.device).toBeNull();
    expect(probe.reason).toMatch(/no GPU provider loads/);
  });
});
