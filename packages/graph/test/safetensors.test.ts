import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Imported from the io modules directly so this suite does not depend on the op registry.
import { bf16BitsToFloat, castTensorData, f16BitsToFloat, floatToBf16Bits, floatToF16Bits, toFloat32, widen16ToFloat32 } from '../src/io/float16.js';
import { openSafetensors, parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { openSafetensorsDir, writeSafetensorsSharded } from '../src/io/safetensors_dir.js';
import { tensorData, type TensorData } from '../src/tensor_data.js';

const FIXTURE = join(__dirname, '../../../../shared/fixtures/qwen3vl-tiny-a');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vlreward-st-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sample(): Map<string, TensorData> {
  return new Map<string, TensorData>([
    ['f32', tensorData('float32', [2, 3], Float32Array.from([1, -2, 3.5, 0, 1e-7, -1e30]))],
    ['f64', tensorData('float64', [2], Float64Array.from([Math.PI, -0]))],
    ['bf16', tensorData('bfloat16', [3], Uint16Array.from([0x3f80, 0xc000, 0x7f80]))],
    ['f16', tensorData('float16', [1, 2], Uint16Array.from([0x3c00, 0x8001]))],
    ['i64', tensorData('int64', [3], BigInt64Array.from([1n, -(2n ** 62n), 151655n]))],
    ['i32', tensorData('int32', [2], Int32Array.from([-7, 2 ** 31 - 1]))],
    ['i8', tensorData('int8', [3], Int8Array.from([-128, 0, 127]))],
    ['u8', tensorData('uint8', [2, 2], Uint8Array.from([0, 1, 254, 255]))],
    ['bool', tensorData('bool', [3], Uint8Array.from([1, 0, 1]))],
    ['empty', tensorData('float32', [0, 4], new Float32Array(0))],
    ['scalar', tensorData('float32', [], Float32Array.from([42]))],
  ]);
}

function expectSame(a: TensorData | undefined, b: TensorData | undefined): void {
  expect(a).toBeDefined();
  expect(b).toBeDefined();
  expect(a!.dtype).toBe(b!.dtype);
  expect([...a!.dims]).toEqual([...b!.dims]);
  expect(a!.data.constructor).toBe(b!.data.constructor);
  expect(Buffer.from(a!.data.buffer, a!.data.byteOffset, a!.data.byteLength)).toEqual(
    Buffer.from(b!.data.buffer, b!.data.byteOffset, b!.data.byteLength),
  );
}

describe('safetensors round trip', () => {
  it('writes and reads every dtype bit-exactly, with metadata', async () => {
    const path = join(dir, 'all.safetensors');
    const src = sample();
    await writeSafetensors(path, src, { format: 'pt', note: 'x' });
    const { tensors, metadata } = await readSafetensors(path);
    expect(metadata).toEqual({ format: 'pt', note: 'x' });
    expect([...tensors.keys()].sort()).toEqual([...src.keys()].sort());
    for (const [k, t] of src) expectSame(tensors.get(k), t);
    // In-memory serialization is the same bytes as the file.
    expect(Buffer.from(serializeSafetensors(src, { format: 'pt', note: 'x' }))).toEqual(await readFile(path));
  });

  it('readFloat32 equals read() then castTensorData(float32) for every dtype', async () => {
    const t = sample();
    // Odd lengths put later 16-bit tensors at offsets that are not 4-aligned in the file.
    t.set('bf16_odd', tensorData('bfloat16', [5], Uint16Array.from([0x0001, 0x8000, 0xff80, 0x7fc1, 0x3f80])));
    t.set('f16_odd', tensorData('float16', [3], Uint16Array.from([0x0001, 0xfc00, 0x7e01])));
    const p = join(dir, 'float32.safetensors');
    await writeSafetensors(p, t, undefined, { fsync: false });
    const f = await openSafetensors(p);
    try {
      for (const name of f.names) {
        const got = await f.readFloat32(name);
        expect(got.dtype).toBe('float32');
        expectSame(got, castTensorData(await f.read(name), 'float32'));
      }
    } finally {
      await f.close();
    }
    const d = await openSafetensorsDir(dir, { singleName: 'float32.safetensors' });
    try {
      expectSame(await d.readFloat32('bf16_odd'), castTensorData(t.get('bf16_odd')!, 'float32'));
    } finally {
      await d.close();
    }
  });

  it('readFloat32 names file and tensor when the file shrinks under it', async () => {
    const p = join(dir, 'shrinks.safetensors');
    await writeSafetensors(p, new Map([['w', tensorData('bfloat16', [1024], new Uint16Array(1024))]]), undefined, { fsync: false });
    const f = await openSafetensors(p);
    try {
      await truncate(p, 1000);
      await expect(f.readFloat32('w')).rejects.toThrow(/shrinks\.safetensors: tensor 'w': unexpected end of file at byte \d+/);
    } finally {
      await f.close();
    }
  });

  it('lays out like the reference: 8-aligned space-padded header, element-aligned data, deterministic', async () => {
    const src = sample();
    const bytes = serializeSafetensors(src);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(header.trimEnd().endsWith('}')).toBe(true);
    expect(header.slice(header.trimEnd().length)).toMatch(/^ *$/);
    const json = JSON.parse(header) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    for (const [name, e] of Object.entries(json)) {
      const size = { F64: 8, I64: 8, F32: 4, I32: 4, BF16: 2, F16: 2 }[e.dtype] ?? 1;
      expect((8 + n + e.data_offsets[0]) % size, name).toBe(0);
    }
    // Insertion order does not matter.
    const reversed = new Map([...src.entries()].reverse());
    expect(Buffer.from(serializeSafetensors(reversed))).toEqual(Buffer.from(bytes));
    // Record input works too.
    expect(Buffer.from(serializeSafetensors(Object.fromEntries(src)))).toEqual(Buffer.from(bytes));
  });

  it('reads the golden fixture files written by the Python side', async () => {
    const head = await readSafetensors(join(FIXTURE, 'head.safetensors'));
    expect(head.metadata['hf_commit']).toBe('b3e3c3dc93f29770a768d6943c9fb9d377e5edce');
    const w = head.tensors.get('classifier.weight')!;
    expect(w.dtype).toBe('float32');
    expect(w.dims).toEqual([3, 64]);
    const maxAbs = Math.max(...[...(w.data as Float32Array)].map(Math.abs));
    expect(maxAbs).toBeCloseTo(0.344034, 5); // README table
    expect(head.tensors.get('classifier.bias')!.dims).toEqual([3]);

    const lora = await readSafetensors(join(FIXTURE, 'lora.safetensors'));
    expect(lora.tensors.size).toBe(18);
    const a = lora.tensors.get('base_model.model.model.language_model.layers.0.mlp.down_proj.lora_A.weight')!;
    expect(a.dims).toEqual([4, 128]);

    const inputs = await openSafetensors(join(FIXTURE, 'inputs.safetensors'));
    try {
      const ids = await inputs.read('input_ids');
      expect(ids.dtype).toBe('int64');
      expect(ids.dims).toEqual([2, 53]);
      const mask = await inputs.read('attention_mask');
      let s0 = 0n;
      for (let i = 0; i < 53; i++) s0 += (mask.data as BigInt64Array)[i]!;
      expect(s0).toBe(44n); // README: attention_mask.sum = [44, 53]
      const img = await inputs.read('images.5');
      expect(img.dtype).toBe('uint8');
      expect(img.dims).toEqual([160, 32, 3]);
    } finally {
      await inputs.close();
    }
  });

  it('opens the 40 MB fixture model lazily and reads single tensors by offset', async () => {
    const f = await openSafetensors(join(FIXTURE, 'model.safetensors'));
    try {
      expect(f.names.length).toBe(92);
      const e = f.entry('model.language_model.embed_tokens.weight');
      expect(e.dims).toEqual([151680, 64]);
      expect(e.byteLength).toBe(151680 * 64 * 4);
      const t = await f.read('model.language_model.norm.weight');
      expect(t.dims).toEqual([64]);
      expect(() => f.entry('nope')).toThrow(/no tensor named 'nope'/);
    } finally {
      await f.close();
    }
  });
});

// An independent reader (Python + numpy, following the format description) checks what we write.
const PY_READER = `
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
assert n % 8 == 0, 'header not 8-aligned'
head = json.loads(raw[8:8 + n])
meta = head.pop('__metadata__', {})
dt = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8', 'I32': '<i4', 'I8': 'i1', 'U8': 'u1', 'BOOL': '?', 'F16': '<f2', 'BF16': '<u2'}
out = {'metadata': meta, 'tensors': {}}
end = 0
for name, e in sorted(head.items(), key=lambda kv: kv[1]['data_offsets'][0]):
    b, f = e['data_offsets']
    assert b == end, name
    end = f
    a = np.frombuffer(raw[8 + n + b:8 + n + f], dtype=dt[e['dtype']]).reshape(e['shape'])
    out['tensors'][name] = {'dtype': e['dtype'], 'shape': list(a.shape), 'sum': float(a.astype(np.float64).sum())}
assert 8 + n + end == len(raw), 'trailing bytes'
print(json.dumps(out))
`;

describe('files written here read back in Python', () => {
  const py = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  it.skipIf(py.status !== 0)('an independent numpy reader sees the same dtypes, shapes and values', async () => {
    const path = join(dir, 'py.safetensors');
    const src = sample();
    await writeSafetensors(path, src, { format: 'pt' });
    const r = spawnSync('python3', ['-c', PY_READER, path], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const got = JSON.parse(r.stdout) as { metadata: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; sum: number }> };
    expect(got.metadata).toEqual({ format: 'pt' });
    for (const [name, t] of src) {
      const g = got.tensors[name]!;
      expect(g.shape, name).toEqual([...t.dims]);
      let sum = 0;
      for (let i = 0; i < t.data.length; i++) sum += Number(t.data[i]!);
      if (t.dtype === 'float16' || t.dtype === 'bfloat16') continue; // raw bits summed differently
      expect(g.sum, name).toBeCloseTo(sum, 0);
    }
  });
});

describe('safetensors errors name file, tensor and byte counts', () => {
  it('detects truncation with expected vs actual size', async () => {
    const path = join(dir, 'trunc.safetensors');
    await writeSafetensors(path, sample());
    const full = (await readFile(path)).length;
    await truncate(path, full - 3);
    await expect(openSafetensors(path)).rejects.toThrow(
      new RegExp(`trunc\\.safetensors: file truncated: header implies ${full} bytes, actual ${full - 3}; tensor '`),
    );
    await truncate(path, 5);
    await expect(readSafetensors(path)).rejects.toThrow(/trunc\.safetensors: file truncated: 5 bytes, need at least 8/);
  });

  it('detects trailing bytes, bad JSON, bad offsets and unknown dtypes', async () => {
    const good = serializeSafetensors(sample());
    const withTail = new Uint8Array(good.length + 4);
    withTail.set(good);
    expect(() => parseSafetensors(withTail, 'tail')).toThrow(/tail: file has trailing bytes/);

    const mk = (header: string, data = 0): Uint8Array => {
      const h = new TextEncoder().encode(header);
      const out = new Uint8Array(8 + h.length + data);
      new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
      out.set(h, 8);
      return out;
    };
    expect(() => parseSafetensors(mk('{"a":'), 'bad')).toThrow(/bad: header is not valid UTF-8 JSON/);
    expect(() => parseSafetensors(mk('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 4), 'sz')).toThrow(
      /sz: tensor 'a': data_offsets \[0, 4\] span 4 bytes, expected 8 for F32 \[2\]/,
    );
    expect(() =>
      parseSafetensors(
        mk('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', 12),
        'gap',
      ),
    ).toThrow(/gap: tensor 'b' starts at data byte 8, expected 4 \(gap/);
    expect(() => parseSafetensors(mk('{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}', 1), 'dt')).toThrow(
      /dt: tensor 'a': unknown dtype 'Q4'/,
    );
    // A known-but-unsupported dtype parses (for inspection) and fails only when read.
    expect(() => parseSafetensors(mk('{"a":{"dtype":"U16","shape":[1],"data_offsets":[0,2]}}', 2), 'u16')).toThrow(
      /u16: tensor 'a': dtype U16 is not supported/,
    );
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => parseSafetensors(huge, 'huge')).toThrow(/huge: header length \d+ exceeds/);
  });

  it('refuses mismatched element counts and reserved names on write', async () => {
    const bad = { dtype: 'float32', dims: [3], data: new Float32Array(2) } as const;
    await expect(writeSafetensors(join(dir, 'x.safetensors'), { w: bad })).rejects.toThrow(
      /x\.safetensors: tensor 'w': 2 elements for dims \[3\] \(expected 3\)/,
    );
    expect(await readdir(dir)).not.toContain('x.safetensors');
    expect(() => serializeSafetensors({ __metadata__: sample().get('f32')! })).toThrow(/reserved/);
  });
});

describe('sharded weight folders', () => {
  it('writes shards + index like transformers and reads them back through openSafetensorsDir', async () => {
    const out = join(dir, 'sharded');
    const src = new Map<string, TensorData>();
    for (let i = 0; i < 5; i++) {
      src.set(`model.layers.${i}.weight`, tensorData('bfloat16', [64, 16], new Uint16Array(1024).fill(0x3f80 + i)));
    }
    const res = await writeSafetensorsSharded(out, src, { maxShardBytes: 5000 });
    expect(res.files).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
      'model.safetensors.index.json',
    ]);
    const index = JSON.parse(await readFile(join(out, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata).toEqual({ total_size: 5 * 2048 });
    expect(index.weight_map['model.layers.4.weight']).toBe('model-00003-of-00003.safetensors');
    const d = await openSafetensorsDir(out);
    try {
      expect(d.names.sort()).toEqual([...src.keys()].sort());
      for (const [k, t] of src) expectSame(await d.read(k), t);
      const shard = await readSafetensors(join(out, 'model-00001-of-00003.safetensors'));
      expect(shard.metadata).toEqual({ format: 'pt' });
    } finally {
      await d.close();
    }
  });

  it('falls back to a single model.safetensors and names missing shards / tensors', async () => {
    const single = join(dir, 'single');
    await writeSafetensorsSharded(single, sample());
    const d = await openSafetensorsDir(single);
    expect(d.names.length).toBe(sample().size);
    await d.close();

    const fixtureDir = await openSafetensorsDir(FIXTURE);
    expect(fixtureDir.has('model.visual.patch_embed.proj.weight')).toBe(true);
    await fixtureDir.close();

    const broken = join(dir, 'broken');
    await writeSafetensorsSharded(broken, sample(), { maxShardBytes: 16 });
    const files = (await readdir(broken)).filter((f) => f.endsWith('.safetensors')).sort();
    await rm(join(broken, files[1]!));
    await expect(openSafetensorsDir(broken)).rejects.toThrow(new RegExp(`shard '${files[1]}' \\(holding '.*'\\) is missing`));

    const lying = join(dir, 'lying');
    await writeSafetensorsSharded(lying, sample(), { maxShardBytes: 16 });
    const idx = JSON.parse(await readFile(join(lying, 'model.safetensors.index.json'), 'utf8'));
    idx.weight_map['ghost'] = files[0];
    await writeFile(join(lying, 'model.safetensors.index.json'), JSON.stringify(idx));
    await expect(openSafetensorsDir(lying)).rejects.toThrow(/weight_map says 'ghost' is in .* but that shard has no such tensor/);

    await expect(openSafetensorsDir(join(dir, 'nothing'))).rejects.toThrow(/no weights found/);
  });
});

describe('16-bit float conversion', () => {
  it('f16: every non-NaN bit pattern survives decode → encode', () => {
    const bad: number[] = [];
    for (let b = 0; b < 0x10000; b++) {
      const v = f16BitsToFloat(b);
      const back = floatToF16Bits(v);
      if (Number.isNaN(v) ? !Number.isNaN(f16BitsToFloat(back)) : back !== b) bad.push(b);
    }
    expect(bad).toEqual([]);
  });

  it('bf16: every non-NaN bit pattern survives decode → encode', () => {
    const bad: number[] = [];
    for (let b = 0; b < 0x10000; b++) {
      const v = bf16BitsToFloat(b);
      const back = floatToBf16Bits(v);
      if (Number.isNaN(v) ? !Number.isNaN(bf16BitsToFloat(back)) : back !== b) bad.push(b);
    }
    expect(bad).toEqual([]);
  });

  it('rounds to nearest even and saturates like torch/numpy', () => {
    // f16: 1 + 2^-11 is halfway between 1 and 1+2^-10 → even (1); 1 + 3*2^-11 → 1 + 2^-9.
    expect(floatToF16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(floatToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToF16Bits(65520)).toBe(0x7c00); // rounds up to Inf
    expect(floatToF16Bits(65519)).toBe(0x7bff);
    expect(floatToF16Bits(2 ** -25)).toBe(0); // half of the smallest subnormal → 0 (even)
    expect(floatToF16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(floatToF16Bits(-0)).toBe(0x8000);
    // bf16: 1 + 2^-8 halfway → 1; 1 + 3*2^-8 → 1 + 2^-6.
    expect(floatToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Number.isNaN(bf16BitsToFloat(floatToBf16Bits(NaN)))).toBe(true);
    expect(floatToBf16Bits(-Infinity)).toBe(0xff80);
  });

  it('the f32 → bf16 fast path agrees with floatToBf16Bits on every bf16 neighbourhood', () => {
    // For each bf16 value: itself, the exact midpoint to the next one (ties to even), and just above it.
    const vals: number[] = [];
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let b = 0; b < 0x10000; b += 7) {
      for (const low of [0, 0x7fff, 0x8000, 0x8001]) {
        u[0] = ((b << 16) | low) >>> 0;
        vals.push(f[0]!);
      }
    }
    const t = tensorData('float32', [vals.length], Float32Array.from(vals));
    const fast = castTensorData(t, 'bfloat16').data as Uint16Array;
    const bad = vals.filter((v, i) => (Number.isNaN(v) ? !Number.isNaN(bf16BitsToFloat(fast[i]!)) : fast[i] !== floatToBf16Bits(v)));
    expect(bad).toEqual([]);
  });

  it('widen16ToFloat32 matches the per-element decoders on every bit pattern, separate or in place', () => {
    // All 65536 patterns: ±0, subnormals, ±Inf and NaNs (with payloads) included; plus one so n is odd.
    const n = 0x10001;
    const bits = new Uint16Array(n);
    for (let i = 0; i < n; i++) bits[i] = i & 0xffff;
    for (const [dtype, decode] of [['bfloat16', bf16BitsToFloat], ['float16', f16BitsToFloat]] as const) {
      const want = new Float32Array(n);
      for (let i = 0; i < n; i++) want[i] = decode(bits[i]!);
      const separate = new Float32Array(n);
      widen16ToFloat32(dtype, bits, separate);
      // In place: the 16-bit values in the upper half of the f32 buffer, as readFloat32 reads them.
      const inPlace = new Float32Array(n);
      const src = new Uint16Array(inPlace.buffer, 2 * n, n);
      src.set(bits);
      widen16ToFloat32(dtype, src, inPlace);
      // Bit-exact, -0 and subnormals included; a NaN stays NaN (a JS number may not keep its payload).
      const w = new Uint32Array(want.buffer);
      for (const got of [separate, inPlace]) {
        const g = new Uint32Array(got.buffer);
        const bad = [...bits].filter((_, i) => (Number.isNaN(want[i]) ? !Number.isNaN(got[i]) : g[i] !== w[i]));
        expect(bad).toEqual([]);
        // bf16 is the top half of an f32: every pattern, NaN payloads included, is exactly `bits << 16`.
        if (dtype === 'bfloat16') expect([...bits].filter((b, i) => g[i] !== ((b << 16) >>> 0))).toEqual([]);
      }
    }
    expect(bf16BitsToFloat(0x8000)).toBe(-0);
    expect(bf16BitsToFloat(0x0001)).toBe(2 ** -133); // smallest bf16 subnormal
    expect(() => widen16ToFloat32('bfloat16', bits, new Float32Array(3))).toThrow(/65537 source elements, 3 output elements/);
  });

  it('castTensorData / toFloat32 convert between dtypes', () => {
    const x = tensorData('float32', [4], Float32Array.from([1.5, -2.25, 3, 0.1]));
    const bf = castTensorData(x, 'bfloat16');
    expect(bf.dtype).toBe('bfloat16');
    expect([...toFloat32(bf)].slice(0, 3)).toEqual([1.5, -2.25, 3]);
    expect(Math.abs(toFloat32(bf)[3]! - 0.1)).toBeLessThan(1e-3);
    const h = castTensorData(x, 'float16');
    expect([...toFloat32(h)].slice(0, 3)).toEqual([1.5, -2.25, 3]);
    expect([...(castTensorData(x, 'int64').data as BigInt64Array)]).toEqual([1n, -2n, 3n, 0n]);
    expect([...castTensorData(x, 'bool').data]).toEqual([1, 1, 1, 1]);
    const i = tensorData('int64', [2], BigInt64Array.from([5n, -6n]));
    expect([...toFloat32(i)]).toEqual([5, -6]);
    expect([...(castTensorData(i, 'float64').data as Float64Array)]).toEqual([5, -6]);
    const same = castTensorData(x, 'float32');
    expect(same.data).not.toBe(x.data);
    expect([...same.data]).toEqual([...x.data]);
  });
});
