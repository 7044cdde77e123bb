// Which GPU provider the GPU tests run on: the first of VLREWARD_GPU_DEVICE
// (default cuda, then webgpu; `cpu` dry-runs the test logic) whose one-node session loads and runs with CPU
// fallback off. VLREWARD_GPU=1 makes a missing GPU a failure instead of a skip.
import { add, cast, createSession, Graph, parseDevice, type DeviceSpec, type Precision } from './deps.js';

export interface GpuProbe {
  /** The device the GPU tests use, or null (then `reason` says why). */
  readonly device: DeviceSpec | null;
  readonly label: string;
  readonly reason: string;
  /** VLREWARD_GPU=1: the tests must run (a missing provider fails them). */
  readonly forced: boolean;
}

export async function tryDevice(spec: DeviceSpec): Promise<string | null> {
  try {
    const g = new Graph('probe', { opset: 21 });
    const x = g.input('x', 'float32', [2]);
    g.output(add(x, x), 'y');
    const s = await createSession(g, { provider: spec.provider, ...(spec.deviceId !== undefined ? { deviceId: spec.deviceId } : {}), disableCpuFallback: spec.provider !== 'cpu' });
    const y = (await s.run({ x: { dtype: 'float32', dims: [2], data: Float32Array.of(1, 2) } })).y!.data as Float32Array;
    await s.dispose();
    return y[0] === 2 && y[1] === 4 ? null : `ran but computed [${[...y]}]`;
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

export async function probeGpu(env: NodeJS.ProcessEnv = process.env): Promise<GpuProbe> {
  const forced = env.VLREWARD_GPU === '1';
  const wanted = (env.VLREWARD_GPU_DEVICE ?? 'cuda,webgpu').split(',').map((s) => s.trim()).filter(Boolean);
  const why: string[] = [];
  for (const w of wanted) {
    // 'cpu' only when named explicitly: a dry run of the GPU tests' logic on the CPU provider.
    const spec = parseDevice(w);
    const err = await tryDevice(spec);
    if (err === null) return { device: spec, label: w, reason: `${w} loads`, forced };
    why.push(`${w}: ${err.slice(0, 300)}`);
  }
  return { device: null, label: 'none', reason: `no GPU provider loads (${why.join(' | ')}); set VLREWARD_GPU=1 to make this a failure`, forced };
}

/** The mixed precision of a device: bf16 on CUDA, fp16 elsewhere (the CPU provider has no bf16 Gemm). */
export function mixedPrecision(spec: DeviceSpec | null): Precision {
  return spec?.provider === 'cuda' ? 'bf16' : 'fp16';
}

/**
 * Whether `spec` computes in `precision`: null, or why not. fp32 always; a 16-bit
 * precision runs a Cast there and back (WebGPU needs the adapter's shader-f16,
 * which SwiftShader lacks and lavapipe from Mesa 25 has).
 */
export async function tryPrecision(spec: DeviceSpec, precision: Precision): Promise<string | null> {
  if (precision === 'fp32') return null;
  try {
    const g = new Graph('probe16', { opset: 21 });
    const x = g.input('x', 'float32', [2]);
    const h = cast(x, precision === 'bf16' ? 'bfloat16' : 'float16');
    g.output(cast(add(h, h), 'float32'), 'y');
    const s = await createSession(g, { provider: spec.provider, ...(spec.deviceId !== undefined ? { deviceId: spec.deviceId } : {}), disableCpuFallback: spec.provider !== 'cpu' });
    const y = (await s.run({ x: { dtype: 'float32', dims: [2], data: Float32Array.of(1, 2) } })).y!.data as Float32Array;
    await s.dispose();
    return y[0] === 2 && y[1] === 4 ? null : `${precision} ran but computed [${[...y]}]`;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!.slice(0, 300);
    return /requires f16 but the device does not support it/.test(msg) ? `the adapter has no shader-f16 (SwiftShader has none; lavapipe from Mesa >= 25 has it): ${msg}` : msg;
  }
}

export interface GpuPrecisions {
  /** The precisions the GPU tests run in, fp32 first. */
  readonly run: readonly Precision[];
  /** Requested but not computable on this device, with the reason (a failure under VLREWARD_GPU=1). */
  readonly missing: readonly { precision: Precision; reason: string }[];
}

/**
 * The precisions to test on the probed device: VLREWARD_GPU_PRECISIONS (comma
 * list; CI runs fp32 on SwiftShader and fp16 on lavapipe) or fp32 plus the
 * device's mixed precision.
 */
export async function gpuPrecisions(probe: GpuProbe, env: NodeJS.ProcessEnv = process.env): Promise<GpuPrecisions> {
  const wanted = (env.VLREWARD_GPU_PRECISIONS ?? `fp32,${mixedPrecision(probe.device)}`).split(',').map((s) => s.trim()).filter(Boolean);
  for (const w of wanted) if (w !== 'fp32' && w !== 'bf16' && w !== 'fp16') throw new RangeError(`VLREWARD_GPU_PRECISIONS: '${w}' (expected fp32, bf16, fp16)`);
  const run: Precision[] = [];
  const missing: { precision: Precision; reason: string }[] = [];
  for (const p of [...new Set(wanted as Precision[])]) {
    const why = probe.device ? await tryPrecision(probe.device, p) : probe.reason;
    if (why === null) run.push(p);
    else missing.push({ precision: p, reason: `${probe.label} cannot compute in ${p}: ${why}` });
  }
  return { run, missing };
}
