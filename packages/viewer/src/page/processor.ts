// The processor in the browser: the same Qwen3VLProcessor class as the server (chat template,
// transformers.js tokenizer, Qwen smart resize + patches) built from the files the server
// sends, then prepareQwen3VLInputs (@vlreward/model) for the graph's host-side inputs.
import { parseImageProcessorConfig, ProcessorTokenizer, Qwen3VLProcessor, QWEN3VL_ROPE_INDEX_CONFIG, type RgbImage } from '@vlreward/processor';
import { prepareQwen3VLInputs, type Qwen3VLConfig } from '@vlreward/model';
import type { TensorData } from '@vlreward/graph';

export interface ProcessorFiles {
  source: string;
  tokenizer: unknown;
  tokenizerConfig: Record<string, unknown>;
  preprocessor: Record<string, unknown>;
  template: string;
  imageOptions: { minPixels?: number; maxPixels?: number };
  config: Qwen3VLConfig;
}

export interface BrowserProcessor {
  feeds(images: RgbImage[], text: string): Record<string, TensorData>;
}

export function browserProcessor(f: ProcessorFiles): BrowserProcessor {
  const src = `server processor files (${f.source})`;
  const tokenizer = new ProcessorTokenizer(ProcessorTokenizer.buildRaw(f.tokenizer, f.tokenizerConfig, src), f.template, src);
  const imageConfig = parseImageProcessorConfig(f.preprocessor, `${f.source}/preprocessor_config.json`, f.imageOptions);
  const ropeConfig = { imageTokenId: tokenizer.special.imagePad, visionStartTokenId: tokenizer.special.visionStart, spatialMergeSize: imageConfig.mergeSize ?? QWEN3VL_ROPE_INDEX_CONFIG.spatialMergeSize };
  // Qwen3VLProcessor's constructor is private (fromPretrained reads files from disk); the
  // instance is assembled from the same parts fromPretrained builds, so encode() is the class's own.
  const proc = Object.create(Qwen3VLProcessor.prototype) as Qwen3VLProcessor;
  Object.assign(proc, { modelDir: f.source, tokenizer, imageConfig, ropeConfig, files: new Map(), preprocessorJson: f.preprocessor });
  return {
    feeds: (images, text) => prepareQwen3VLInputs(f.config, proc.encode([{ images, text, label: 0 }])).feeds,
  };
}
