// Reading a golden fixture folder (the ../shared/fixtures format): config,
// inputs, base weights plus the optional classifier head and PEFT adapter.
// The forward check, the gradient check and the GPU parity script all start here.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors, readSafetensors, type SafetensorsFile, type TensorData } from '@vlreward/graph';
import type { LoraConfig } from './lora/config.js';
import { loraConfigFromPeft } from './lora/peft.js';
import { parsePeftName } from './lora/targets.js';
import { parseQwen3VLConfig, type Qwen3VLConfig } from './qwen3_vl/config.js';
import type { Qwen3VLBatch } from './qwen3_vl/host_inputs.js';
import { loadQwen3VLWeights } from './qwen3_vl/weights.js';

export interface FixtureFolder {
  readonly config: Qwen3VLConfig;
  readonly inputs: ReadonlyMap<string, TensorData>;
  /** input_ids, attention_mask, and pixel_values / image_grid_thw / labels where the fixture has them. */
  readonly batch: Qwen3VLBatch;
  /** Base weights, plus `classifier.*` from head.safetensors and the PEFT tensors from lora.safetensors when present. */
  readonly weights: Map<string, TensorData>;
  /** Rows of classifier.weight; undefined without head.safetensors. */
  readonly numClasses: number | undefined;
  readonly lora: LoraConfig | null;
  /** outputs.safetensors, opened lazily; the caller closes it. */
  readonly outputs: SafetensorsFile;
}

export interface FixtureFolderOptions {
  /** Files that must exist besides config/model/inputs/outputs (e.g. head.safetensors). */
  readonly require?: readonly string[];
  /** What the folder is expected to hold, for the missing-file error. */
  readonly expected?: string;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

export async function loadFixtureFolder(dir: string, opts: FixtureFolderOptions = {}): Promise<FixtureFolder> {
  const expected = opts.expected ?? 'a fixture folder holds config.json, model.safetensors, inputs.safetensors, outputs.safetensors';
  for (const f of ['config.json', 'inputs.safetensors', 'outputs.safetensors', ...(opts.require ?? [])]) {
    if (!existsSync(join(dir, f))) throw new Error(`${dir}: missing ${f} (${expected})`);
  }
  const config = parseQwen3VLConfig(readJson(join(dir, 'config.json')), join(dir, 'config.json'));
  const inputs = (await readSafetensors(join(dir, 'inputs.safetensors'))).tensors;
  const inp = (n: string): TensorData => {
    const t = inputs.get(n);
    if (!t) throw new Error(`${dir}/inputs.safetensors: missing '${n}'`);
    return t;
  };
  const batch: Qwen3VLBatch = {
    inputIds: inp('input_ids'),
    attentionMask: inp('attention_mask'),
    ...(inputs.has('pixel_values') ? { pixelValues: inp('pixel_values'), imageGridThw: inp('image_grid_thw') } : {}),
    ...(inputs.has('labels') ? { labels: inp('labels') } : {}),
  };
  const weights = await loadQwen3VLWeights(dir, config);
  let numClasses: number | undefined;
  const headPath = join(dir, 'head.safetensors');
  if (existsSync(headPath)) {
    for (const [k, v] of (await readSafetensors(headPath)).tensors) weights.set(k, v);
    numClasses = weights.get('classifier.weight')?.dims[0];
  }
  let lora: LoraConfig | null = null;
  if (existsSync(join(dir, 'lora.safetensors')) && existsSync(join(dir, 'adapter_config.json'))) {
    const tensors = (await readSafetensors(join(dir, 'lora.safetensors'))).tensors;
    const modules = new Set([...tensors.keys()].map((k) => parsePeftName(k)?.modulePath ?? k));
    lora = loraConfigFromPeft(readJson(join(dir, 'adapter_config.json')) as object, config, join(dir, 'adapter_config.json'), modules);
    for (const [k, v] of tensors) weights.set(k, v);
  }
  const outputs = await openSafetensors(join(dir, 'outputs.safetensors'));
  return { config, inputs, batch, weights, numClasses, lora, outputs };
}
