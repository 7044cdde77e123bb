// Names of the intermediate tensors the forward can expose (fixture naming).
import type { Qwen3VLConfig } from './config.js';

export function qwen3VLTapNames(config: Qwen3VLConfig, opts: { vision?: boolean; numClasses?: number | undefined; loss?: boolean } = {}): string[] {
  const out: string[] = [];
  if (opts.vision ?? true) {
    out.push('vision.patch_embed', 'vision.pos_embed_interp');
    for (let i = 0; i < config.vision.depth; i++) out.push(`vision.block_out.${i}`);
    out.push('image_embeds');
    config.vision.deepstackVisualIndexes.forEach((_, k) => out.push(`deepstack.${k}`));
  }
  out.push('text.inputs_embeds');
  for (let i = 0; i < config.text.numHiddenLayers; i++) out.push(`text.layer_in.${i}`, `text.layer_out.${i}`);
  out.push('last_hidden_state', 'pooled');
  if (opts.numClasses !== undefined) {
    out.push('logits');
    if (opts.loss) out.push('loss');
  }
  return out;
}
