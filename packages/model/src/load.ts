// One call from QWEN3VL_MODEL (folder or hub id) to a parsed config and f32 weights.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorData } from '@vlreward/graph';
import { resolveModelDir, type ResolveModelOptions } from './hub.js';
import { parseQwen3VLConfig, type Qwen3VLConfig } from './qwen3_vl/config.js';
import { loadQwen3VLWeights, type LoadWeightsOptions } from './qwen3_vl/weights.js';

export const DEFAULT_MODEL_ID = 'Qwen/Qwen3-VL-2B-Instruct';

export interface LoadedQwen3VL {
  readonly dir: string;
  readonly config: Qwen3VLConfig;
  readonly weights: Map<string, TensorData>;
}

/** Resolve `idOrPath` (default QWEN3VL_MODEL, else Qwen/Qwen3-VL-2B-Instruct), parse config.json, load weights as f32. */
export async function loadQwen3VL(
  idOrPath: string = process.env.QWEN3VL_MODEL ?? DEFAULT_MODEL_ID,
  opts: ResolveModelOptions & LoadWeightsOptions = {},
): Promise<LoadedQwen3VL> {
  const dir = await resolveModelDir(idOrPath, opts);
  const cfgPath = join(dir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new Error(`${cfgPath}: ${(e as Error).message}`);
  }
  const config = parseQwen3VLConfig(json, cfgPath);
  const weights = await loadQwen3VLWeights(dir, config, opts);
  return { dir, config, weights };
}
