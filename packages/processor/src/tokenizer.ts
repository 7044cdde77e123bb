import { PreTrainedTokenizer, Qwen2Tokenizer } from '@huggingface/transformers';

/** The special tokens the Qwen3-VL processor relies on, by id. */
export interface QwenSpecialTokenIds {
  /** <|im_start|> */
  readonly imStart: number;
  /** <|im_end|> (also eos) */
  readonly imEnd: number;
  /** <|vision_start|> */
  readonly visionStart: number;
  /** <|vision_end|> */
  readonly visionEnd: number;
  /** <|image_pad|>: one per merged image token */
  readonly imagePad: number;
  /** <|video_pad|> */
  readonly videoPad: number;
  /** <|endoftext|>: right padding */
  readonly pad: number;
}

export const SPECIAL_TOKEN_TEXT = {
  imStart: '<|im_start|>',
  imEnd: '<|im_end|>',
  visionStart: '<|vision_start|>',
  visionEnd: '<|vision_end|>',
  imagePad: '<|image_pad|>',
  videoPad: '<|video_pad|>',
  pad: '<|endoftext|>',
} as const satisfies Record<keyof QwenSpecialTokenIds, string>;

/** A chat message in the Hugging Face content-list form the Qwen chat template reads. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly content: string | readonly ({ type: 'image' } | { type: 'video' } | { type: 'text'; text: string })[];
}

/**
 * The model's tokenizer (transformers.js, built from tokenizer.json + tokenizer_config.json) with the
 * chat template and special token ids the processor uses. `raw` is the transformers.js object.
 */
export class ProcessorTokenizer {
  readonly special: QwenSpecialTokenIds;
  readonly padTokenId: number;
  readonly eosTokenId: number;

  constructor(
    readonly raw: PreTrainedTokenizer,
    readonly chatTemplate: string,
    where: string,
  ) {
    const ids = {} as Record<keyof QwenSpecialTokenIds, number>;
    for (const [key, text] of Object.entries(SPECIAL_TOKEN_TEXT) as [keyof QwenSpecialTokenIds, string][]) {
      const id = this.tokenToId(text);
      if (id === undefined) throw new Error(`${where}: tokenizer has no special token ${text} (not a Qwen-VL tokenizer?)`);
      ids[key] = id;
    }
    this.special = ids;
    this.padTokenId = raw.pad_token_id ?? ids.pad;
    const eos = raw.eos_token ? this.tokenToId(raw.eos_token) : undefined;
    this.eosTokenId = eos ?? ids.imEnd;
  }

  /** Build the transformers.js tokenizer from the parsed tokenizer.json and tokenizer_config.json. */
  static buildRaw(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown>, where: string): PreTrainedTokenizer {
    const cls = String(tokenizerConfig.tokenizer_class ?? '');
    const Ctor = cls.startsWith('Qwen2Tokenizer') ? Qwen2Tokenizer : PreTrainedTokenizer;
    try {
      return new Ctor(tokenizerJson as object, tokenizerConfig);
    } catch (e) {
      throw new Error(`${where}: cannot build the tokenizer (${(e as Error).message})`);
    }
  }

  /** Build from the parsed tokenizer.json and tokenizer_config.json. */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown>, chatTemplate: string, where: string): ProcessorTokenizer {
    return new ProcessorTokenizer(ProcessorTokenizer.buildRaw(tokenizerJson, tokenizerConfig, where), chatTemplate, where);
  }

  /** Token id of a vocabulary or added token, undefined when absent. */
  tokenToId(token: string): number | undefined {
    const id = this.raw.convert_tokens_to_ids(token) as unknown;
    if (typeof id !== 'number' || id === this.raw.unk_token_id && token !== this.raw.unk_token) return undefined;
    return id;
  }

  /** Token ids of `text`, special tokens in it kept atomic (no BOS/EOS are added for Qwen). */
  encode(text: string): number[] {
    return this.raw.encode(text);
  }

  decode(ids: ArrayLike<number | bigint>, opts: { skipSpecialTokens?: boolean } = {}): string {
    const list = Array.from(ids as ArrayLike<number | bigint>, (v) => Number(v));
    return this.raw.decode(list, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** Render messages with the model's chat template (no tokenization), as HF apply_chat_template(tokenize=False). */
  applyChatTemplate(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    const out = this.raw.apply_chat_template(messages as unknown as { role: string; content: string }[], {
      chat_template: this.chatTemplate,
      tokenize: false,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
    });
    if (typeof out !== 'string') throw new Error('applyChatTemplate: the template did not render to a string');
    return out;
  }
}
