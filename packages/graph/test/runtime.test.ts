import { afterAll, describe, expect, it } from 'vitest';
import { add, Graph, matmul, ONNX_DTYPE, tensorData, type DType, type TensorData } from '@vlreward/graph';
import { bf16ToFloat32, createSession, float32ToBf16, listProviders, ProviderUnavailableError } from '@vlreward/graph/runtime';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModel, serialize } from '../src/serialize.js';

// Temporary folders made by these tests, removed when the file is done.
const dirs: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function linearGraph(): Graph {
  const g = new Graph('lin');
  const x = g.input('x', 'float32', ['batch', 2]);
  const w = g.initializer('w', tensorData('float32', [2, 2], new Float32Array([1, 2, 3, 4])));
  g.output(matmul(x, w), 'y');
  return g;
}

const SAMPLES: [DType, TensorData['data']][] = [
  ['float32', new Float32Array([1.5, -2, 3.25])],
  ['float16', new Uint16Array([0x3c00, 0xc000, 0x7bff])],
  ['bfloat16', new Uint16Array([0x3f80, 0xc049, 0x7f7f])],
  ['float64', new Float64Array([1e-300, -2, Math.PI])],
  ['int64', new BigInt64Array([2n ** 40n, -1n, 0n])],
  ['int32', new Int32Array([7, -7, 2 ** 31 - 1])],
  ['int8', new Int8Array([-128, 127, 0])],
  ['uint8', new Uint8Array([0, 255, 9])],
  ['bool', new Uint8Array([1, 0, 1])],
];

describe('runtime session', () => {
  it('runs a Graph, bytes and returns TensorData', async () => {
    const x = tensorData('float32', [1, 2], new Float32Array([1, 1]));
    for (const model of [linearGraph(), serialize(linearGraph())]) {
      const s = await createSession(model, { intraOpThreads: 1, graphOptimizationLevel: 'basic' });
      expect(s.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', 2] }]);
      expect(s.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: ['batch', 2] }]);
      const out = await s.run({ x });
      expect(out.y).toEqual({ dtype: 'float32', dims: [1, 2], data: new Float32Array([4, 6]) });
      await s.dispose();
    }
  });

  it('passes every dtype through run() unchanged (identity and Cast round trip)', async () => {
    const g = new Graph('dtypes');
    for (const [d] of SAMPLES) {
      const x = g.input(`in_${d}`, d, [3]);
      g.output(x, `out_${d}`);
    }
    // bf16 also computed inside the model: float32 -> bf16 Cast -> output.
    const f = g.input('f', 'float32', [2]);
    const [c] = g.node('Cast', [f], { to: ONNX_DTYPE.bfloat16 }, [{ dtype: 'bfloat16', shape: [2] }]);
    g.output(c!, 'f_bf16');
    const s = await createSession(g);
    const feeds: Record<string, TensorData> = { f: tensorData('float32', [2], new Float32Array([1, -0.5])) };
    for (const [d, data] of SAMPLES) feeds[`in_${d}`] = tensorData(d, [3], data);
    const out = await s.run(feeds);
    for (const [d, data] of SAMPLES) {
      const o = out[`out_${d}`]!;
      expect(o.dtype).toBe(d);
      expect(o.dims).toEqual([3]);
      expect(o.data.constructor).toBe(data.constructor);
      expect(Array.from(o.data as ArrayLike<number | bigint>)).toEqual(Array.from(data as ArrayLike<number | bigint>));
    }
    expect(Array.from(out.f_bf16!.data as Uint16Array)).toEqual([0x3f80, 0xbf00]);
    expect(s.inputs.find((i) => i.name === 'in_bfloat16')!.dtype).toBe('bfloat16');
  });

  it('converts bf16 bits exactly and rounds float32 to nearest even', () => {
    const bits = new Uint16Array([0x3f80, 0x8000, 0x7f80, 0xff80, 0x0001]);
    expect(Array.from(float32ToBf16(bf16ToFloat32(bits)))).toEqual(Array.from(bits));
    // 1 + 2^-8 is halfway between bf16 1 and 1+2^-7: ties to even (1).
    expect(Array.from(float32ToBf16(new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8])))).toEqual([0x3f80, 0x3f82]);
  });

  it('rejects bad feeds naming the input', async () => {
    const g = new Graph('two');
    const a = g.input('a', 'float32', ['n', 2]);
    const b = g.input('b', 'float32', ['n', 2]);
    g.output(add(a, b), 'c');
    const s = await createSession(g);
    const ok = tensorData('float32', [3, 2], new Float32Array(6));
    await expect(s.run({ a: ok })).rejects.toThrow(/missing feed: 'b' \(float32\[n, 2\]\)/);
    await expect(s.run({ a: ok, b: tensorData('float64', [3, 2], new Float64Array(6)) })).rejects.toThrow(/input 'b': got float64, model expects float32\[n, 2\]/);
    await expect(s.run({ a: ok, b: tensorData('float32', [6], new Float32Array(6)) })).rejects.toThrow(/input 'b': rank 1 .*expects rank 2/);
    await expect(s.run({ a: ok, b: tensorData('float32', [2, 3], new Float32Array(6)) })).rejects.toThrow(/input 'b': dim 1 is 3, model expects 2/);
    await expect(s.run({ a: ok, b: tensorData('float32', [2, 2], new Float32Array(4)) })).rejects.toThrow(/input 'b': dim 0 \('n'\) is 2 but input 'a' set 'n' = 3/);
    await expect(s.run({ a: ok, b: ok, z: ok })).rejects.toThrow(/feed 'z' is not an input/);
    await expect(s.run({ a: ok, b: { dtype: 'float32', dims: [3, 2], data: new Float64Array(6) } })).rejects.toThrow(/input 'b': float32 data must be a Float32Array/);
    await expect(s.run({ a: ok, b: ok }, ['nope'])).rejects.toThrow(/no output 'nope'/);
  });

  it('lists providers and refuses an unavailable one with the install step, never falling back', async () => {
    const ps = listProviders();
    expect(ps.map((p) => p.name)).toEqual(['cpu', 'cuda', 'webgpu']);
    expect(ps[0]!.available).toBe(true);
    const cuda = ps.find((p) => p.name === 'cuda')!;
    if (cuda.available) return; // a CUDA machine: nothing to refuse
    const err = await createSession(linearGraph(), { provider: 'cuda' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(String(err)).toMatch(/'cuda' is not available/);
    expect(String(err)).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(String(err)).toMatch(/LD_LIBRARY_PATH/);
  });

  it('throws for CUDA options the Node binding cannot apply instead of ignoring them', async () => {
    await expect(createSession(linearGraph(), { provider: 'cpu', cuda: { gpuMemLimitBytes: 1 << 30 } })).rejects.toThrow(/gpuMemLimitBytes cannot be applied/);
  });

  it('rejects unknown providers', async () => {
    await expect(createSession(linearGraph(), { provider: 'tpu' as never })).rejects.toThrow(/unknown execution provider 'tpu'/);
  });

  it('loads big graphs through a temporary external-data file', async () => {
    const s = await createSession(linearGraph(), { inlineLimitBytes: 0 });
    const out = await s.run({ x: tensorData('float32', [1, 2], new Float32Array([1, 0])) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1, 2]);
  });

  it('loads a saved model with bf16 inputs/outputs and bf16 external weights from its path', async () => {
    // y = Cast<bf16>(x_f32 * Cast<f32>(w_bf16)) with w in the side file; x is a bf16 input.
    const g = new Graph('bf16ext');
    const x = g.input('x', 'bfloat16', [4]);
    const w = g.initializer('w', tensorData('bfloat16', [4], new Uint16Array([0x3f80, 0x4000, 0x4040, 0xbf80])));
    const f = (t: typeof x) => g.node('Cast', [t], { to: ONNX_DTYPE.float32 }, [{ dtype: 'float32', shape: [4] }])[0]!;
    const [prod] = g.node('Mul', [f(x), f(w)], {}, [{ dtype: 'float32', shape: [4] }]);
    const [y] = g.node('Cast', [prod!], { to: ONNX_DTYPE.bfloat16 }, [{ dtype: 'bfloat16', shape: [4] }]);
    g.output(y!, 'y');
    const dir = tempDir('vlr-bf16-');
    const saved = saveModel(g, dir, 'm.onnx', { externalData: { path: 'm.bin', thresholdBytes: 1 } });
    expect(saved.dataBytes).toBe(8);
    const s = await createSession(saved.modelPath);
    expect(s.inputs).toEqual([{ name: 'x', dtype: 'bfloat16', shape: [4] }]);
    const out = await s.run({ x: tensorData('bfloat16', [4], new Uint16Array([0x4000, 0x4000, 0x3f00, 0x4000])) });
    // [2, 2, 0.5, 2] * [1, 2, 3, -1] = [2, 4, 1.5, -2]
    expect(out.y!.dtype).toBe('bfloat16');
    expect(Array.from(out.y!.data as Uint16Array)).toEqual([0x4000, 0x4080, 0x3fc0, 0xc000]);
  });

  it('writes an ORT profile when asked', async () => {
    const dir = tempDir('vlr-prof-');
    const s = await createSession(linearGraph(), { enableProfiling: true, profileFilePrefix: join(dir, 'prof'), logSeverity: 'fatal' });
    await s.run({ x: tensorData('float32', [1, 2], new Float32Array([1, 1])) });
    s.endProfiling();
    expect(readdirSync(dir).some((f) => f.startsWith('prof') && f.endsWith('.json'))).toBe(true);
  });

  it('names the graph and provider when ORT rejects a model', async () => {
    const g = new Graph('broken');
    const x = g.input('x', 'float32', [1]);
    g.output(g.node('NoSuchOp', [x], {}, [{ dtype: 'float32', shape: [1] }])[0]!, 'y');
    await expect(createSession(g)).rejects.toThrow(/ORT could not load graph 'broken' on 'cpu': .*NoSuchOp/);
  });
});
