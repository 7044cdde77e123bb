// Where a processor's files come from: a local folder, or a hub id resolved by
// @vlreward/graph's resolveHubModel (the one hub resolver, shared with the model
// loader); this file says which files make a Qwen3-VL processor.
import { hfHubCacheDir, resolveHubModel, type ResolveModelOptions } from '@vlreward/graph';

/** Files a Qwen3-VL processor is made of; the first group is required. */
export const REQUIRED_PROCESSOR_FILES = ['tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json'] as const;
export const OPTIONAL_PROCESSOR_FILES = [
  'chat_template.jinja',
  'chat_template.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
  'processor_config.json',
  'video_preprocessor_config.json',
] as const;

export type ResolveOptions = Pick<ResolveModelOptions, 'revision' | 'localFilesOnly'>;

/** The HF hub cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(): string {
  return hfHubCacheDir();
}

/**
 * A local directory holding the processor files: `dirOrHubId` itself when it is a directory, else the
 * HF cache snapshot of that hub id, downloaded when missing (unless localFilesOnly or HF_HUB_OFFLINE=1).
 */
export function resolveModelDir(dirOrHubId: string, opts: ResolveOptions = {}): Promise<string> {
  const files = { what: 'processor', required: REQUIRED_PROCESSOR_FILES, optional: OPTIONAL_PROCESSOR_FILES };
  return resolveHubModel(dirOrHubId, files, { ...(opts.revision ? { revision: opts.revision } : {}), ...(opts.localFilesOnly ? { localFilesOnly: true } : {}) });
}
