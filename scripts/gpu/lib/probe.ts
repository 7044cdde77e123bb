// Which GPU provider the GPU tests run on: the first of VLREWARD_GPU_DEVICE
// (default cuda, then webgpu; `cpu` dry-runs the test logic) whose one-node session loads and runs with CPU
// fallback off. VLREWARD_GPU=1 makes a missing GPU a failure instead of a skip.
import { add, createSession, Graph, parseDevice, type DeviceSpec } from './deps.js';

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
