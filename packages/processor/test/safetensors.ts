import { readFileSync } from 'node:fs';
import type { TensorData } from '@vlreward/graph';
import { parseSafetensors } from '@vlreward/graph/io';

/** The fixture's tensors, read with the project's safetensors reader. */
export function readSafetensorsFile(path: string): Map<string, TensorData> {
  return parseSafetensors(readFileSync(path), path).tensors;
}

export function get(m: Map<string, TensorData>, name: string): TensorData {
  const t = m.get(name);
  if (!t) throw new Error(`fixture tensor '${name}' missing`);
  return t;
}
