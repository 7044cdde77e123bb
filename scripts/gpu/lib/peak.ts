// Practical matmul peak of the device through ORT: a chain of `chain`
// n×n MatMuls in the compute dtype whose operands are made on the device
// from one scalar input (Expand + Cast), so no matrix crosses the bus and
// nothing can be constant-folded; the result is reduced to a scalar.
import { performance } from 'node:perf_hooks';
import { cast, createSession, expand, Graph, matmul, reduceSum, type Provider } from './deps.js';

export interface PeakResult {
  readonly dtype: string;
  readonly n: number;
  readonly chain: number;
  readonly bestS: number;
  readonly tflops: number;
  readonly runs: number[];
  /** Why strict GPU placement failed (then some node ran on the CPU), or null. */
  readonly cpuFallback: string | null;
}

export async function matmulPeak(o: { provider: Provider; deviceId?: number; dtype: 'float32' | 'bfloat16' | 'float16'; n: number; chain: number; reps?: number; threads?: number }): Promise<PeakResult> {
  const g = new Graph('matmul_peak', { opset: 21 });
  const s = g.input('s', 'float32', [1, 1]);
  const a = cast(expand(s, [o.n, o.n]), o.dtype);
  const b = cast(expand(s, [o.n, o.n]), o.dtype);
  let x = a;
  for (let i = 0; i < o.chain; i++) x = matmul(x, b);
  g.output(reduceSum(cast(x, 'float32'), [0, 1], false), 'y');
  const base = {
    provider: o.provider,
    ...(o.deviceId !== undefined ? { deviceId: o.deviceId } : {}),
    ...(o.threads ? { intraOpThreads: o.threads } : {}),
  };
  // Strict placement first (every node on the GPU); if ORT puts some node on the CPU, measure anyway and say so.
  let cpuFallback: string | null = null;
  let sess;
  try {
    sess = await createSession(g, { ...base, disableCpuFallback: o.provider !== 'cpu' });
  } catch (e) {
    cpuFallback = (e as Error).message.split('\n')[0]!;
    sess = await createSession(g, base);
  }
  // Entries 1/n keep every product at 1/n (no overflow in 16-bit types).
  const feeds = { s: { dtype: 'float32' as const, dims: [1, 1], data: Float32Array.of(1 / o.n) } };
  await sess.run(feeds);
  const runs: number[] = [];
  for (let r = 0; r < (o.reps ?? 5); r++) {
    const t0 = performance.now();
    await sess.run(feeds);
    runs.push((performance.now() - t0) / 1000);
  }
  await sess.dispose();
  const best = Math.min(...runs);
  return { dtype: o.dtype, n: o.n, chain: o.chain, bestS: best, tflops: (o.chain * 2 * o.n ** 3) / best / 1e12, runs, cpuFallback };
}
