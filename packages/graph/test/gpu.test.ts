// GPU provider tests. The device-only ones skip (and say why) unless a GPU
// provider loads here; VLREWARD_GPU=1 turns a missing provider into a
// failure; VLREWARD_GPU_DEVICE picks it (default: cuda, then webgpu).
// On CPU-only machines the error path is what gets tested: asking for a
// provider that cannot load throws ProviderUnavailableError naming the fix.
import { describe, expect, it } from 'vitest';
import { add, cast, Graph, matmul } from '@vlreward/graph';
import { createSession, downloadTensor, listProviders, ort, parseDevice, ProviderUnavailableError } from '@vlreward/graph/runtime';
import { gpuPrecisions, mixedPrecision, probeGpu, tryDevice } from '../../../scripts/gpu/lib/probe.js';

const probe = await probeGpu();
if (!probe.device) console.log(`[gpu tests] skipped: ${probe.reason}`);
const runGpu = probe.device !== null || probe.forced;
// The 16-bit MatMul runs when its precision is asked for (VLREWARD_GPU_PRECISIONS, default fp32 + mixed)
// and computable; asked for but not computable: a failure under VLREWARD_GPU=1, else skipped with the reason.
const mixed = mixedPrecision(probe.device);
const precisions = await gpuPrecisions(probe);
const mixedMissing = precisions.missing.find((m) => m.precision === mixed);
if (probe.device && mixedMissing && !probe.forced) console.log(`[gpu tests] ${mixed} MatMul skipped: ${mixedMissing.reason}`);

describe('device strings', () => {
  it('parses cpu | cuda | cuda:N | webgpu and rejects the rest with the accepted forms', () => {
    expect(parseDevice('cpu')).toEqual({ provider: 'cpu' });
    expect(parseDevice('cuda')).toEqual({ provider: 'cuda' });
    expect(parseDevice('cuda:3')).toEqual({ provider: 'cuda', deviceId: 3 });
    expect(parseDevice('webgpu')).toEqual({ provider: 'webgpu' });
    for (const bad of ['gpu', 'cuda:', 'cuda:-1', 'cpu:1', 'webgpu:0', 'CUDA']) expect(() => parseDevice(bad)).toThrow(/expected cpu, cuda, cuda:N/);
  });

  it("createSession's device option sets provider and deviceId; a conflict throws", async () => {
    const g = new Graph('d', { opset: 21 });
    const x = g.input('x', 'float32', [1]);
    g.output(cast(x, 'float32'), 'y');
    const s = await createSession(g, { device: 'cpu' });
    expect(s.provider).toBe('cpu');
    await s.dispose();
    await expect(createSession(g, { device: 'cuda:1', provider: 'cpu' })).rejects.toThrow(/conflicts with provider 'cpu'/);
  });
});

describe('providers that cannot load fail loudly, never fall back', () => {
  for (const name of ['cuda', 'webgpu'] as const) {
    it(`${name}: ProviderUnavailableError naming the install step, or a working session`, async (ctx) => {
      const err = await tryDevice({ provider: name });
      if (err === null) {
        ctx.skip(); // it loads here: the error path cannot be exercised
        return;
      }
      const g = new Graph('p', { opset: 21 });
      const x = g.input('x', 'float32', [1]);
      g.output(cast(x, 'float32'), 'y');
      const e = await createSession(g, { device: name }).then(
        () => null,
        (x: unknown) => x as Error,
      );
      expect(e).toBeInstanceOf(ProviderUnavailableError);
      expect(e!.message).toContain(`'${name}' is not available`);
      expect(e!.message).toMatch(name === 'cuda' ? /ONNXRUNTIME_NODE_INSTALL=cuda1[23]/ : /Vulkan/);
      expect(listProviders().find((p) => p.name === name)).toBeDefined();
    });
  }
});

describe.runIf(runGpu)(`on the GPU (${probe.label})`, () => {
  it('the provider loads and runs with CPU fallback disabled', async () => {
    expect(probe.device, probe.reason).not.toBeNull();
    expect(await tryDevice(probe.device!)).toBeNull();
  });

  it('a device-resident output (gpu-buffer on WebGPU) comes back to the host and feeds the next run', async () => {
    const g = new Graph('resident', { opset: 21 });
    const x = g.input('x', 'float32', [3]);
    g.output(add(x, x), 'y');
    const s = await createSession(g, { provider: probe.device!.provider, ...(probe.device!.deviceId !== undefined ? { deviceId: probe.device!.deviceId } : {}), preferredOutputLocation: probe.device!.provider === 'webgpu' ? 'gpu-buffer' : 'cpu' });
    const y = (await s.runOrt({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [3]) })).y!;
    if (probe.device!.provider === 'webgpu') expect(y.location).toBe('gpu-buffer');
    // Fed straight back (no host copy), then downloaded: tensor.getData() would abort onnxruntime-node 1.30 here.
    const z = (await s.runOrt({ x: y })).y!;
    const host = await downloadTensor(z);
    expect(host.location).toBe('cpu');
    expect([...(host.data as Float32Array)]).toEqual([4, 8, 12]);
    await s.dispose();
  });

  it.runIf(precisions.run.includes(mixed) || (probe.forced && mixedMissing !== undefined))(`${mixed} MatMul agrees with CPU float32 within 16-bit rounding (rel L2 ≤ 1e-2)`, async () => {
    if (mixedMissing) expect.fail(mixedMissing.reason);
    const dt = mixed === 'bf16' ? 'bfloat16' : 'float16';
    const n = 256;
    const g = new Graph('mm', { opset: 21 });
    const a = g.input('a', 'float32', [n, n]);
    const b = g.input('b', 'float32', [n, n]);
    g.output(cast(matmul(cast(a, dt), cast(b, dt)), 'float32'), 'y');
    const ref = new Graph('mm32', { opset: 21 });
    const a2 = ref.input('a', 'float32', [n, n]);
    const b2 = ref.input('b', 'float32', [n, n]);
    ref.output(matmul(a2, b2), 'y');
    let seed = 1;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    const feeds = {
      a: { dtype: 'float32' as const, dims: [n, n], data: Float32Array.from({ length: n * n }, rnd) },
      b: { dtype: 'float32' as const, dims: [n, n], data: Float32Array.from({ length: n * n }, rnd) },
    };
    // ORT's 'disable CPU fallback' refuses the CPU provider itself (the VLREWARD_GPU_DEVICE=cpu dry run).
    const s = await createSession(g, { provider: probe.device!.provider, ...(probe.device!.deviceId !== undefined ? { deviceId: probe.device!.deviceId } : {}), disableCpuFallback: probe.device!.provider !== 'cpu' });
    const got = (await s.run(feeds)).y!.data as Float32Array;
    await s.dispose();
    const c = await createSession(ref, { provider: 'cpu' });
    const want = (await c.run(feeds)).y!.data as Float32Array;
    await c.dispose();
    let d = 0;
    let r = 0;
    for (let i = 0; i < want.length; i++) {
      d += (got[i]! - want[i]!) ** 2;
      r += want[i]! ** 2;
    }
    expect(Math.sqrt(d / r)).toBeLessThan(1e-2);
  });
});
