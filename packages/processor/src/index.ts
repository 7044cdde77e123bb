// @vlreward/processor public API: Qwen3-VL chat template, image preprocessing, tokenization, batch collate.
export { Qwen3VLProcessor } from './processor.js';
export type { EncodeOptions, ProcessorOptions, PromptSample } from './processor.js';
export type { Batch, ProcessorSample, RgbImage } from './types.js';
export { ProcessorTokenizer, SPECIAL_TOKEN_TEXT } from './tokenizer.js';
export type { ChatMessage, QwenSpecialTokenIds } from './tokenizer.js';
export { getRopeIndex, ropeIndexConfigFromHf, QWEN3VL_ROPE_INDEX_CONFIG } from '@vlreward/graph';
export type { RopeIndexConfig } from '@vlreward/graph';
export { smartResize } from './smart_resize.js';
export { resizeBicubic } from './resize.js';
export type { ResizeKernel } from './resize.js';
export { loadImage, preprocessImage, validateImage } from './images.js';
export type { ImagePatches } from './images.js';
export { parseImageProcessorConfig } from './image_config.js';
export type { ImageProcessorConfig } from './image_config.js';
export { collate, IGNORE_LABEL } from './collate.js';
export type { EncodedSample } from './collate.js';
export { hubCacheDir, resolveModelDir, REQUIRED_PROCESSOR_FILES, OPTIONAL_PROCESSOR_FILES } from './model_files.js';
