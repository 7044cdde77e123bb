import { readFileSync } from 'node:fs';
import type { TensorData } from '@vlreward/graph';

/** Minimal safetensors reader for the test fixtures (F32, I64, U8 only). */
export function readSafetensorsFile(path: string): Map<string, TensorData> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, TensorData>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const bytes = buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
    const copy = new Uint8Array(bytes).buffer; // aligned copy
    if (e.dtype === 'F32') out.set(name, { dtype: 'float32', dims: e.shape, data: new Float32Array(copy) });
    else if (e.dtype === 'I64') out.set(name, { dtype: 'int64', dims: e.shape, data: new BigInt64Array(copy) });
    else if (e.dtype === 'U8') out.set(name, { dtype: 'uint8', dims: e.shape, data: new Uint8Array(copy) });
  }
  return out;
}

export function get(m: Map<string, TensorData>, name: string): TensorData {
  const t = m.get(name);
  if (!t) throw new Error(`fixture tensor '${name}' missing`);
  return t;
}
