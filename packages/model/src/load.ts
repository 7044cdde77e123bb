// One call from QWEN3VL_MODEL (folder or hub id) to a parsed config and f32 weights.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorData } from '@vlreward/graph';
import { resolveModelDir, type ResolveModelOptions } from './hub.js';
import { getArchitecture } from './registry.js';
import { parseQwen3VLConfig, type Qwen3VLConfig, type Qwen3VLConfigJson } from './qwen3_vl/config.js';
import { loadQwen3VLWeights, type LoadWeightsOptions } from './qwen3_vl/weights.js';

export const DEFAULT_MODEL_ID = 'Qwen/Qwen3-VL-2B-Instruct';

export interface LoadedQwen3VL {
  readonly dir: string;
  readonly config: Qwen3VLConfig;
  /** config.json as written (recorded in checkpoints beside full weights). */
  readonly configJson: Qwen3VLConfigJson;
  readonly weights: Map<string, TensorData>;
}

/** Resolve `idOrPath` (default QWEN3VL_MODEL, else Qwen/Qwen3-VL-2B-Instruct), parse config.json, load weights as f32. */
export async function loadQwen3VL(
  idOrPath: string = process.env.QWEN3VL_MODEL ?? DEFAULT_MODEL_ID,
  opts: ResolveModelOptions & LoadWeightsOptions = {},
): Promise<LoadedQwen3VL> {
  const dir = await resolveModelDir(idOrPath, opts);
  const cfgPath = join(dir, 'config.json');
  const configJson = readModelConfigJson(dir) as Qwen3VLConfigJson;
  // model_type → architecture (registry.ts): anything but a supported family is a clear error here.
  getArchitecture(configJson, cfgPath);
  const config = parseQwen3VLConfig(configJson, cfgPath);
  const weights = await loadQwen3VLWeights(dir, config, opts);
  return { dir, config, configJson, weights };
}

/** The parsed `config.json` of a model folder; a broken file is named with the line, column and position where its JSON breaks. */
export function readModelConfigJson(dir: string): unknown {
  const cfgPath = join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(cfgPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${cfgPath} is missing (expected a Hugging Face model folder with config.json and *.safetensors)`);
    throw new Error(`${cfgPath}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(`${cfgPath}: not valid JSON${jsonErrorPosition(text, msg)}: ${msg}`);
  }
}

/**
 * " at line L, column C (position P)" of a JSON.parse error. V8 names the
 * position for most mistakes but not for a truncated file ("Unexpected end of
 * JSON input"), whose position is the end of the text.
 */
function jsonErrorPosition(text: string, message: string): string {
  const m = /at position (\d+)/.exec(message);
  const pos = m ? Number(m[1]) : /end of JSON input/.test(message) ? text.length : undefined;
  if (pos === undefined) return '';
  const lines = text.slice(0, pos).split('\n');
  return ` at line ${lines.length}, column ${lines[lines.length - 1]!.length + 1} (position ${pos})`;
}
