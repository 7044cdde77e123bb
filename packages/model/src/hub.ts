// QWEN3VL_MODEL (a local folder or a Hugging Face hub id) → a local folder with
// config.json and safetensors weights. The hub cache lookup and download are
// @vlreward/graph's resolveHubModel (the one resolver, shared with the processor);
// this file says what a model snapshot must hold.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hfHubCacheDir, resolveHubModel, type HubFiles, type ResolveModelOptions as HubOptions } from '@vlreward/graph';

export { hfHubCacheDir };

export interface ResolveModelOptions extends HubOptions {
  /** Extra files to fetch besides config + weights when the hub has them (e.g. tokenizer files). */
  readonly extraFiles?: readonly string[];
}

/** The folder of `idOrPath`: a local model folder, else the HF cache snapshot, downloaded when missing and allowed. */
export async function resolveModelDir(idOrPath: string, opts: ResolveModelOptions = {}): Promise<string> {
  const files: HubFiles = { what: 'model', required: ['config.json'], optional: opts.extraFiles ?? [], weights: true };
  const dir = await resolveHubModel(idOrPath, files, opts);
  if (!existsSync(join(dir, 'config.json'))) throw new Error(`${dir}: not a model folder (no config.json)`);
  return dir;
}
