import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { add, Graph, matmul, tensorData, type DType, type TensorData } from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import { decodeModel, externalDataBytes, IR_VERSION, onnx, saveModel, serialize, serializeModel, writeExternalData } from '../src/serialize.js';

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
  const x = g.input('x', 'float32', ['batch', 4]);
  const w = g.initializer('w', tensorData('float32', [4, 3], Float32Array.from({ length: 12 }, (_, i) => i / 10)));
  const b = g.initializer('b', tensorData('float32', [3], new Float32Array([1, -1, 0.5])));
  g.output(add(matmul(x, w), b), 'y');
  return g;
}

const num = (x: unknown) => (typeof x === 'number' ? x : (x as { toNumber(): number }).toNumber());

describe('serialize', () => {
  it('writes ir_version, opset, inputs with symbolic and static dims, outputs, initializers', () => {
    const m = decodeModel(serialize(linearGraph()));
    expect(num(m.irVersion)).toBe(IR_VERSION);
    expect(m.opsetImport!.map((o) => [o.domain ?? '', num(o.version!)])).toEqual([['', 21]]);
    const g = m.graph!;
    expect(g.input!.map((i) => i.name)).toEqual(['x']);
    const dims = g.input![0]!.type!.tensorType!.shape!.dim!;
    expect(dims[0]!.dimParam).toBe('batch');
    expect(num(dims[1]!.dimValue!)).toBe(4);
    expect(g.output!.map((o) => o.name)).toEqual(['y']);
    expect(g.initializer!.map((t) => [t.name, t.dims!.map(num), t.dataType])).toEqual([
      ['w', [4, 3], 1],
      ['b', [3], 1],
    ]);
    const b = g.initializer![1]!;
    expect(Array.from(new Float32Array(new Uint8Array(b.rawData!).buffer))).toEqual([1, -1, 0.5]);
    // The output rename is folded into the producer: no Identity copy at run time.
    expect(g.node!.map((n) => [n.opType, n.output])).toEqual([
      ['MatMul', ['MatMul:0']],
      ['Add', ['y']],
    ]);
    const kept = decodeModel(serialize(linearGraph(), { keepOutputIdentities: true })).graph!;
    expect(kept.node!.map((n) => n.opType)).toEqual(['MatMul', 'Add', 'Identity']);
  });

  it('keeps the Identity where an output renames a graph input or another output, and rewires other consumers', async () => {
    const g = new Graph('alias');
    const x = g.input('x', 'float32', [2]);
    const s = add(x, x);
    g.output(s, 'a'); // folded: Add writes 'a'
    g.output(s, 'b'); // s already renamed: Identity('a') -> 'b'
    g.output(add(s, x), 'c'); // consumer of s reads 'a'
    g.output(x, 'x_copy'); // a graph input: Identity kept
    const m = decodeModel(serialize(g)).graph!;
    expect(m.node!.map((n) => [n.opType, n.input, n.output])).toEqual([
      ['Add', ['x', 'x'], ['a']],
      ['Identity', ['a'], ['b']],
      ['Add', ['a', 'x'], ['c']],
      ['Identity', ['x'], ['x_copy']],
    ]);
    const out = await (await createSession(g)).run({ x: tensorData('float32', [2], new Float32Array([1, 2])) });
    expect([out.a, out.b, out.c, out.x_copy].map((t) => Array.from(t!.data as Float32Array))).toEqual([
      [2, 4],
      [2, 4],
      [3, 6],
      [1, 2],
    ]);
  });

  it('is deterministic: the same graph built twice gives identical bytes', () => {
    expect(Buffer.from(serialize(linearGraph())).equals(Buffer.from(serialize(linearGraph())))).toBe(true);
  });

  it('encodes every attribute kind, ints vs floats, and declares com.microsoft when used', () => {
    const g = new Graph('attrs');
    const x = g.input('x', 'float32', [2]);
    const t: TensorData = tensorData('int64', [2], new BigInt64Array([3n, -4n]));
    g.node(
      'Custom',
      [x],
      { i: 3, f: 0.5, ff: { float: 1 }, ints: [1, -2], floats: [0.5, 2], ffs: { floats: [1, 2] }, s: 'abc', ss: ['p', 'q'], t, skip: undefined },
      [{ dtype: 'float32', shape: [2] }],
      { domain: 'com.microsoft' },
    );
    const m = decodeModel(serialize(g));
    expect(m.opsetImport!.map((o) => [o.domain ?? '', num(o.version!)])).toEqual([
      ['', 21],
      ['com.microsoft', 1],
    ]);
    const n = m.graph!.node![0]!;
    expect(n.domain).toBe('com.microsoft');
    const A = onnx.AttributeProto.AttributeType;
    const by = Object.fromEntries(n.attribute!.map((a) => [a.name, a]));
    expect(n.attribute!.map((a) => a.name)).toEqual(['f', 'ff', 'ffs', 'floats', 'i', 'ints', 's', 'ss', 't']);
    expect([by.i!.type, num(by.i!.i!)]).toEqual([A.INT, 3]);
    expect([by.f!.type, by.f!.f]).toEqual([A.FLOAT, 0.5]);
    expect([by.ff!.type, by.ff!.f]).toEqual([A.FLOAT, 1]);
    expect([by.ints!.type, by.ints!.ints!.map(num)]).toEqual([A.INTS, [1, -2]]);
    expect([by.floats!.type, by.floats!.floats]).toEqual([A.FLOATS, [0.5, 2]]);
    expect([by.ffs!.type, by.ffs!.floats]).toEqual([A.FLOATS, [1, 2]]);
    expect([by.s!.type, new TextDecoder().decode(by.s!.s!)]).toEqual([A.STRING, 'abc']);
    expect([by.ss!.type, by.ss!.strings!.map((b: Uint8Array) => new TextDecoder().decode(b))]).toEqual([A.STRINGS, ['p', 'q']]);
    expect(by.t!.type).toBe(A.TENSOR);
    expect(by.t!.t!.dataType).toBe(7);
    expect(Array.from(new BigInt64Array(new Uint8Array(by.t!.t!.rawData!).buffer))).toEqual([3n, -4n]);
  });

  it('stores every dtype as raw_data with the ONNX element type', () => {
    const cases: [DType, number, TensorData['data']][] = [
      ['float32', 1, new Float32Array([1.5, -2])],
      ['float16', 10, new Uint16Array([0x3c00, 0xc000])],
      ['bfloat16', 16, new Uint16Array([0x3f80, 0xc000])],
      ['float64', 11, new Float64Array([1e-300, 2])],
      ['int64', 7, new BigInt64Array([2n ** 40n, -1n])],
      ['int32', 6, new Int32Array([7, -7])],
      ['int8', 3, new Int8Array([-128, 127])],
      ['uint8', 2, new Uint8Array([0, 255])],
      ['bool', 9, new Uint8Array([1, 0])],
    ];
    const g = new Graph('dtypes');
    for (const [d, , data] of cases) g.initializer(`c_${d}`, tensorData(d, [2], data));
    const inits = decodeModel(serialize(g)).graph!.initializer!;
    cases.forEach(([d, code, data], i) => {
      expect(inits[i]!.name).toBe(`c_${d}`);
      expect(inits[i]!.dataType).toBe(code);
      expect(Buffer.from(inits[i]!.rawData!).equals(Buffer.from(data.buffer, data.byteOffset, data.byteLength))).toBe(true);
    });
  });

  it('moves large initializers to a side file with location/offset/length', () => {
    const s = serializeModel(linearGraph(), { externalData: { path: 'w.bin', thresholdBytes: 40 } });
    const inits = decodeModel(s.model).graph!.initializer!;
    const w = inits[0]!;
    expect(w.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
    expect(w.rawData?.length ?? 0).toBe(0);
    const kv = Object.fromEntries(w.externalData!.map((e) => [e.key, e.value]));
    expect(kv).toEqual({ location: 'w.bin', offset: '0', length: '48' });
    // b (12 bytes) is under the threshold and stays inline.
    expect(inits[1]!.rawData!.length).toBe(12);
    expect(externalDataBytes(s.externalData!).length).toBe(48);
  });

  it('saveModel writes model + data file that ORT loads with the same result as inline', async () => {
    const dir = tempDir('vlr-ser-');
    const g = linearGraph();
    const saved = saveModel(g, dir, 'model.onnx', { externalData: { path: 'weights.bin', thresholdBytes: 16 } });
    expect(saved.dataPath).toBe(join(dir, 'weights.bin'));
    expect(statSync(saved.dataPath!).size).toBe(48);
    expect(readFileSync(saved.modelPath).byteLength).toBe(saved.modelBytes);
    const x = tensorData('float32', [2, 4], Float32Array.from({ length: 8 }, (_, i) => i - 3));
    const fromFile = await createSession(saved.modelPath);
    const inline = await createSession(serialize(g));
    const a = await fromFile.run({ x });
    const b = await inline.run({ x });
    expect(Array.from(a.y!.data as Float32Array)).toEqual(Array.from(b.y!.data as Float32Array));
    expect(a.y!.dims).toEqual([2, 3]);
  });

  it('model bytes with external data load in ORT given the folder of the side file', async () => {
    const dir = tempDir('vlr-ext-');
    const g = linearGraph();
    const s = serializeModel(g, { externalData: { path: 'side.bin', thresholdBytes: 16 } });
    writeExternalData(s.externalData!, join(dir, 'side.bin'));
    const x = tensorData('float32', [1, 4], new Float32Array([1, 2, 3, 4]));
    const a = await (await createSession(s.model, { externalDataDir: dir })).run({ x });
    const b = await (await createSession(g)).run({ x });
    expect(Array.from(a.y!.data as Float32Array)).toEqual(Array.from(b.y!.data as Float32Array));
    await expect(createSession(s.model)).rejects.toThrow(/ORT could not load model bytes on 'cpu'/);
  });

  it('rejects attributes it cannot encode, naming node and attribute', () => {
    const g = new Graph('bad');
    const x = g.input('x', 'float32', [1]);
    g.node('Foo', [x], { alpha: Number.NaN }, [{ dtype: 'float32', shape: [1] }]);
    expect(() => serialize(g)).toThrow(/node 'Foo' \(Foo\): attribute 'alpha' is NaN/);
  });
});
