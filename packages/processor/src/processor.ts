import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collate, type EncodedSample } from './collate.js';
import { parseImageProcessorConfig, type ImageProcessorConfig } from './image_config.js';
import { plannedSize, preprocessImage, type ImagePatches } from './images.js';
import { OPTIONAL_PROCESSOR_FILES, REQUIRED_PROCESSOR_FILES, resolveModelDir } from './model_files.js';
import type { ResizeKernel } from './resize.js';
import { QWEN3VL_ROPE_INDEX_CONFIG, type RopeIndexConfig } from '@vlreward/graph';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { ProcessorTokenizer, SPECIAL_TOKEN_TEXT, type ChatMessage } from './tokenizer.js';
import type { Batch, ProcessorSample, RgbImage } from './types.js';

export interface ProcessorOptions {
  /** override preprocessor_config.json size.shortest_edge (fewer pixels = fewer image tokens = faster) */
  readonly minPixels?: number;
  /** override preprocessor_config.json size.longest_edge */
  readonly maxPixels?: number;
  /**
   * integer bicubic kernel: 'torch' (default) reproduces transformers' fast image processor on CPU
   * (torchvision/torch uint8 antialiased bicubic); 'pillow' the slow PIL-based processor
   */
  readonly resizeKernel?: ResizeKernel;
  /** hub revision when `dirOrHubId` is a hub id (default 'main') */
  readonly revision?: string;
  /** hub ids: use only the HF cache, never the network */
  readonly localFilesOnly?: boolean;
}

export interface EncodeOptions {
  /** append '<|im_start|>assistant\n' (false for the reward classifier, as the seed does) */
  readonly addGenerationPrompt?: boolean;
  /**
   * Write pixel_values into this buffer (when it holds enough floats; batch.pixelValues.data is then
   * a view of it) instead of a fresh array. A batch of 2 x 3 x 480x640 needs 44 MB; reusing one buffer
   * across steps avoids the page faults of a new allocation each time. The caller must not reuse it
   * while an earlier batch is still in use.
   */
  readonly pixelBuffer?: Float32Array;
  /**
   * Pad the sequence length up to a multiple of this (default 1: the longest sample). Fewer
   * distinct lengths mean fewer shapes for the ORT sessions (the trainer's CPU sessions are
   * specialized per shape); pad tokens are masked, so the pooled logits do not change.
   */
  readonly padToMultipleOf?: number;
}

/** What renderPrompt needs of a sample: how many images, and the text. */
export interface PromptSample {
  readonly images: readonly unknown[] | number;
  readonly text: string;
}

// Tokens that mark image/video structure; in user text they would desynchronise tokens and pixel_values.
const STRUCTURAL_TOKENS = [SPECIAL_TOKEN_TEXT.imagePad, SPECIAL_TOKEN_TEXT.videoPad, SPECIAL_TOKEN_TEXT.visionStart, SPECIAL_TOKEN_TEXT.visionEnd];

/** Tokenizers already built in this process, by sha256 of tokenizer.json + tokenizer_config.json. */
const TOKENIZER_CACHE = new Map<string, PreTrainedTokenizer>();

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Qwen3-VL processor: chat template, image preprocessing (the fast HF Qwen2-VL image processor's math),
 * tokenization and right-padded batch collate with M-RoPE position ids.
 * Port of transformers models/qwen3_vl/processing_qwen3_vl.py Qwen3VLProcessor (images only).
 */
export class Qwen3VLProcessor {
  private constructor(
    /** directory the files were read from */
    readonly modelDir: string,
    readonly tokenizer: ProcessorTokenizer,
    readonly imageConfig: ImageProcessorConfig,
    readonly ropeConfig: RopeIndexConfig,
    /** raw bytes of every processor file found, for save() */
    private readonly files: ReadonlyMap<string, Uint8Array>,
    private readonly preprocessorJson: Record<string, unknown>,
  ) {}

  /**
   * Load from a local directory in Hugging Face layout, or a hub id resolved through the HF cache
   * ($HF_HUB_CACHE / $HF_HOME) and downloaded from $HF_ENDPOINT with $HF_TOKEN when missing.
   */
  static async fromPretrained(dirOrHubId: string, options: ProcessorOptions = {}): Promise<Qwen3VLProcessor> {
    const dir = await resolveModelDir(dirOrHubId, options);
    const missing = REQUIRED_PROCESSOR_FILES.filter((f) => !existsSync(join(dir, f)));
    if (missing.length > 0) {
      throw new Error(
        `model dir '${dir}': missing processor file(s) ${missing.join(', ')} (expected ${REQUIRED_PROCESSOR_FILES.join(', ')} and a chat template)`,
      );
    }
    const files = new Map<string, Uint8Array>();
    for (const f of [...REQUIRED_PROCESSOR_FILES, ...OPTIONAL_PROCESSOR_FILES]) {
      const p = join(dir, f);
      if (existsSync(p)) files.set(f, new Uint8Array(await readFile(p)));
    }
    const tokenizerConfig = (await readJson(join(dir, 'tokenizer_config.json'))) as Record<string, unknown>;
    const preprocessor = (await readJson(join(dir, 'preprocessor_config.json'))) as Record<string, unknown>;
    // transformers 4.57 resolution order: chat_template.jinja, chat_template.json, tokenizer_config.json.
    let template: string | undefined;
    if (files.has('chat_template.jinja')) template = new TextDecoder().decode(files.get('chat_template.jinja'));
    else if (files.has('chat_template.json')) {
      const ct = (await readJson(join(dir, 'chat_template.json'))) as Record<string, unknown>;
      if (typeof ct.chat_template === 'string') template = ct.chat_template;
    }
    if (template === undefined && typeof tokenizerConfig.chat_template === 'string') template = tokenizerConfig.chat_template;
    if (template === undefined) {
      throw new Error(`model dir '${dir}': no chat template (expected chat_template.jinja, chat_template.json or tokenizer_config.json 'chat_template')`);
    }
    const imageConfig = parseImageProcessorConfig(preprocessor, join(dir, 'preprocessor_config.json'), options);
    // Parsing the 11 MB tokenizer.json dominates loading; reuse it when the same bytes were loaded before.
    const tokBytes = files.get('tokenizer.json')!;
    const key = `${createHash('sha256').update(tokBytes).update(files.get('tokenizer_config.json')!).digest('hex')}`;
    let raw = TOKENIZER_CACHE.get(key);
    if (!raw) {
      let tokenizerJson: unknown;
      try {
        tokenizerJson = JSON.parse(new TextDecoder().decode(tokBytes));
      } catch (e) {
        throw new Error(`${join(dir, 'tokenizer.json')}: not valid JSON (${(e as Error).message})`);
      }
      raw = ProcessorTokenizer.buildRaw(tokenizerJson, tokenizerConfig, `model dir '${dir}'`);
      TOKENIZER_CACHE.set(key, raw);
    }
    const tokenizer = new ProcessorTokenizer(raw, template, `model dir '${dir}'`);
    const ropeConfig: RopeIndexConfig = {
      imageTokenId: tokenizer.special.imagePad,
      visionStartTokenId: tokenizer.special.visionStart,
      spatialMergeSize: imageConfig.mergeSize ?? QWEN3VL_ROPE_INDEX_CONFIG.spatialMergeSize,
    };
    const pre = { ...preprocessor };
    if (options.minPixels !== undefined || options.maxPixels !== undefined) {
      pre.size = { ...(pre.size as object), shortest_edge: imageConfig.minPixels, longest_edge: imageConfig.maxPixels };
      if ('min_pixels' in pre) pre.min_pixels = imageConfig.minPixels;
      if ('max_pixels' in pre) pre.max_pixels = imageConfig.maxPixels;
    }
    return new Qwen3VLProcessor(dir, tokenizer, imageConfig, ropeConfig, files, pre);
  }

  /** The seed's message: one user turn with the images (in order) then the text. */
  buildMessages(sample: PromptSample): ChatMessage[] {
    const n = typeof sample.images === 'number' ? sample.images : sample.images.length;
    return [
      {
        role: 'user',
        content: [...Array.from({ length: n }, () => ({ type: 'image' as const })), { type: 'text' as const, text: sample.text }],
      },
    ];
  }

  /** The chat-template text of one sample, each image as one <|vision_start|><|image_pad|><|vision_end|>. */
  renderPrompt(sample: PromptSample, opts: EncodeOptions = {}): string {
    return this.tokenizer.applyChatTemplate(this.buildMessages(sample), { addGenerationPrompt: opts.addGenerationPrompt ?? false });
  }

  /** Resize/normalize/patchify one image (HF Qwen2VLImageProcessorFast math). */
  preprocessImage(image: RgbImage, where = 'image'): ImagePatches {
    return preprocessImage(image, this.imageConfig, where);
  }

  /** Number of <|image_pad|> tokens an image with this (t, h, w) grid becomes. */
  imageTokenCount(grid: readonly [number, number, number]): number {
    const [t, h, w] = grid;
    return (t * h * w) / (this.imageConfig.mergeSize * this.imageConfig.mergeSize);
  }

  /**
   * Validate and tokenize one sample and expand its image placeholders (image sizes are planned here;
   * the pixels are produced by encode()).
   */
  encodeOne(sample: ProcessorSample, index: number, opts: EncodeOptions = {}): EncodedSample {
    const where = `sample ${index}`;
    if (typeof sample !== 'object' || sample === null) throw new Error(`${where}: expected {images, text, label?}, got ${String(sample)}`);
    if (!Array.isArray(sample.images) || sample.images.length === 0) {
      throw new Error(`${where}: 'images' is empty or not an array; expected at least one RgbImage (the camera frames)`);
    }
    if (typeof sample.text !== 'string') throw new Error(`${where}: 'text' must be a string, got ${typeof sample.text}`);
    for (const tok of STRUCTURAL_TOKENS) {
      const at = sample.text.indexOf(tok);
      if (at >= 0) {
        throw new Error(`${where}: 'text' contains the special token ${tok} at character ${at}; image placeholders come from the chat template, not the text`);
      }
    }
    const label = sample.label;
    if (label !== undefined && !(Number.isInteger(label) && label >= 0)) {
      throw new Error(`${where}: 'label' must be a non-negative integer class id, got ${String(label)}`);
    }
    const grids = sample.images.map((im, j) => plannedSize(im, this.imageConfig, `${where} image ${j}`).grid);
    const prompt = this.renderPrompt(sample, opts);
    const raw = this.tokenizer.encode(prompt);
    // Expanding ids instead of the string (as HF does) gives the same tokens: <|image_pad|> is an atomic
    // added token, so the text between placeholders is tokenized identically either way.
    const pad = this.tokenizer.special.imagePad;
    const placeholders = raw.filter((t) => t === pad).length;
    if (placeholders !== grids.length) {
      throw new Error(`${where}: the chat template produced ${placeholders} image placeholders for ${grids.length} images`);
    }
    const ids: number[] = [];
    let j = 0;
    for (const t of raw) {
      if (t !== pad) ids.push(t);
      else for (let k = this.imageTokenCount(grids[j++]!); k > 0; k--) ids.push(pad);
    }
    return { ids, grids, label };
  }

  /** Encode and pad a batch (right padding with <|endoftext|>). */
  encode(samples: readonly ProcessorSample[], opts: EncodeOptions = {}): Batch {
    if (!Array.isArray(samples) || samples.length === 0) throw new Error('encode: expected a non-empty array of samples');
    const encoded = samples.map((s, i) => this.encodeOne(s, i, opts));
    const { patchSize: p, temporalPatchSize: T } = this.imageConfig;
    const rowLen = 3 * T * p * p;
    const rows = encoded.reduce((n, e) => n + e.grids.reduce((k, [t, h, w]) => k + t * h * w, 0), 0);
    // Images are written straight into the batch buffer, in sample order.
    const pixels =
      opts.pixelBuffer && opts.pixelBuffer.length >= rows * rowLen ? opts.pixelBuffer.subarray(0, rows * rowLen) : new Float32Array(rows * rowLen);
    let offset = 0;
    samples.forEach((s, i) =>
      s.images.forEach((im: RgbImage, j: number) => {
        offset += preprocessImage(im, this.imageConfig, `sample ${i} image ${j}`, pixels, offset).patches.length;
      }),
    );
    return collate(encoded, { dtype: 'float32', dims: [rows, rowLen], data: pixels }, this.tokenizer.padTokenId, this.ropeConfig, opts.padToMultipleOf ?? 1);
  }

  /**
   * Write the processor files into `dir` (created if needed), so a checkpoint is self-contained: the
   * files as read (byte for byte), with preprocessor_config.json rewritten only when min/max pixels
   * were overridden. Each file is written to a temporary name and renamed.
   */
  async save(dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const written: string[] = [];
    for (const [name, bytes] of this.files) {
      let data = bytes;
      if (name === 'preprocessor_config.json' && this.overridden()) {
        data = new TextEncoder().encode(JSON.stringify(this.preprocessorJson, null, 4));
      }
      const target = join(dir, name);
      const tmp = `${target}.tmp-${process.pid}`;
      await writeFile(tmp, data);
      await rename(tmp, target);
      written.push(name);
    }
    return written;
  }

  private overridden(): boolean {
    const size = this.preprocessorJson.size as Record<string, unknown> | undefined;
    const orig = this.files.get('preprocessor_config.json');
    if (!orig) return true;
    const o = JSON.parse(new TextDecoder().decode(orig)) as Record<string, unknown>;
    return JSON.stringify(o.size) !== JSON.stringify(size) || o.min_pixels !== this.preprocessorJson.min_pixels || o.max_pixels !== this.preprocessorJson.max_pixels;
  }
}
