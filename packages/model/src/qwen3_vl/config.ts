// Qwen3-VL config: parse and normalize a Hugging Face `config.json`
// (transformers models/qwen3_vl/configuration_qwen3_vl.py: Qwen3VLConfig,
// Qwen3VLTextConfig, Qwen3VLVisionConfig). One function, `parseQwen3VLConfig`,
// turns the raw JSON into the normalized shape every builder reads; anything
// the builders cannot reproduce exactly is rejected with the field's path.

/** Raw Hugging Face config.json (only the fields we read are typed). */
export interface Qwen3VLConfigJson {
  model_type?: string;
  architectures?: string[];
  hidden_size?: number;
  image_token_id?: number;
  video_token_id?: number;
  vision_start_token_id?: number;
  vision_end_token_id?: number;
  tie_word_embeddings?: boolean;
  text_config?: Record<string, unknown>;
  vision_config?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface Qwen3VLVisionConfig {
  readonly depth: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly inChannels: number;
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly spatialMergeSize: number;
  readonly outHiddenSize: number;
  readonly numPositionEmbeddings: number;
  /** sqrt(numPositionEmbeddings): side of the learned position grid. */
  readonly numGridPerSide: number;
  readonly deepstackVisualIndexes: readonly number[];
  /** MLP activation of the vision blocks; the merger always uses erf GELU. */
  readonly hiddenAct: 'gelu_pytorch_tanh' | 'gelu';
  /** Width of one flattened pixel_values row: C * T * patch * patch. */
  readonly patchDim: number;
}

export interface Qwen3VLTextConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  /** [T, H, W] frequency counts; sums to headDim / 2. */
  readonly mropeSection: readonly [number, number, number];
  readonly attentionBias: boolean;
  readonly hiddenAct: 'silu';
}

export interface Qwen3VLConfig {
  readonly modelType: 'qwen3_vl';
  readonly text: Qwen3VLTextConfig;
  readonly vision: Qwen3VLVisionConfig;
  readonly imageTokenId: number;
  readonly videoTokenId: number;
  readonly visionStartTokenId: number;
  readonly visionEndTokenId: number;
  /** lm_head shares embed_tokens (no `lm_head.weight` tensor stored). */
  readonly tieWordEmbeddings: boolean;
  /** Width the reward head reads: hidden_size, else text_config.hidden_size, else 2048 (the seed's rule). */
  readonly headHiddenSize: number;
  /** The raw JSON, kept so checkpoints can write it back unchanged. */
  readonly raw: Qwen3VLConfigJson;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Reader {
  constructor(
    private readonly src: string,
    private readonly obj: Obj,
    private readonly path: string,
  ) {}

  private where(key: string): string {
    return `${this.src}: ${this.path ? `${this.path}.` : ''}${key}`;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  int(key: string, dflt?: number, min = 1): number {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (dflt === undefined) throw new ConfigError(`${this.where(key)} is missing (expected an integer >= ${min})`);
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new ConfigError(`${this.where(key)} = ${JSON.stringify(v)} (expected an integer >= ${min})`);
    }
    return v;
  }

  num(key: string, dflt?: number): number {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (dflt === undefined) throw new ConfigError(`${this.where(key)} is missing (expected a positive number)`);
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(`${this.where(key)} = ${JSON.stringify(v)} (expected a positive number)`);
    }
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') throw new ConfigError(`${this.where(key)} = ${JSON.stringify(v)} (expected true or false)`);
    return v;
  }

  str(key: string, dflt: string): string {
    const v = this.obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string') throw new ConfigError(`${this.where(key)} = ${JSON.stringify(v)} (expected a string)`);
    return v;
  }

  ints(key: string, dflt?: number[]): number[] {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (dflt === undefined) throw new ConfigError(`${this.where(key)} is missing (expected an array of integers)`);
      return dflt;
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
      throw new ConfigError(`${this.where(key)} = ${JSON.stringify(v)} (expected an array of non-negative integers)`);
    }
    return v as number[];
  }

  sub(key: string): Reader {
    const v = this.obj[key];
    if (!isObj(v)) throw new ConfigError(`${this.where(key)} is missing or not an object`);
    return new Reader(this.src, v, this.path ? `${this.path}.${key}` : key);
  }

  subOrNull(key: string): Reader | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return null;
    return this.sub(key);
  }

  fail(key: string, msg: string): never {
    throw new ConfigError(`${this.where(key)}: ${msg}`);
  }
}

function parseVision(r: Reader): Qwen3VLVisionConfig {
  const depth = r.int('depth', 27);
  const hiddenSize = r.int('hidden_size', 1152);
  const numHeads = r.int('num_heads', 16);
  if (hiddenSize % numHeads !== 0) r.fail('num_heads', `hidden_size ${hiddenSize} is not divisible by num_heads ${numHeads}`);
  const headDim = hiddenSize / numHeads;
  // Vision RoPE splits head_dim into (row, col) halves, each of rotary dim head_dim/2 with step 2.
  if (headDim % 4 !== 0) r.fail('num_heads', `vision head_dim ${headDim} must be a multiple of 4 for the 2-D rotary embedding`);
  const numPositionEmbeddings = r.int('num_position_embeddings', 2304);
  const side = Math.round(Math.sqrt(numPositionEmbeddings));
  if (side * side !== numPositionEmbeddings) {
    r.fail('num_position_embeddings', `${numPositionEmbeddings} is not a perfect square (the learned positions form a square grid)`);
  }
  const hiddenAct = r.str('hidden_act', 'gelu_pytorch_tanh');
  if (hiddenAct !== 'gelu_pytorch_tanh' && hiddenAct !== 'gelu') {
    r.fail('hidden_act', `'${hiddenAct}' is not supported (expected 'gelu_pytorch_tanh' or 'gelu')`);
  }
  const deepstack = r.ints('deepstack_visual_indexes', [8, 16, 24]);
  deepstack.forEach((d, i) => {
    if (d >= depth) r.fail('deepstack_visual_indexes', `entry ${i} = ${d} is not a block index (depth ${depth})`);
    if (deepstack.indexOf(d) !== i) r.fail('deepstack_visual_indexes', `entry ${i} = ${d} is repeated`);
  });
  const inChannels = r.int('in_channels', 3);
  const patchSize = r.int('patch_size', 16);
  const temporalPatchSize = r.int('temporal_patch_size', 2);
  return {
    depth,
    hiddenSize,
    intermediateSize: r.int('intermediate_size', 4304),
    numHeads,
    headDim,
    inChannels,
    patchSize,
    temporalPatchSize,
    spatialMergeSize: r.int('spatial_merge_size', 2),
    outHiddenSize: r.int('out_hidden_size', 3584),
    numPositionEmbeddings,
    numGridPerSide: side,
    deepstackVisualIndexes: deepstack,
    hiddenAct,
    patchDim: inChannels * temporalPatchSize * patchSize * patchSize,
  };
}

function parseText(r: Reader): Qwen3VLTextConfig {
  const hiddenSize = r.int('hidden_size', 4096);
  const numAttentionHeads = r.int('num_attention_heads', 32);
  const numKeyValueHeads = r.int('num_key_value_heads', 32);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    r.fail('num_key_value_heads', `num_attention_heads ${numAttentionHeads} is not a multiple of num_key_value_heads ${numKeyValueHeads}`);
  }
  const headDim = r.has('head_dim') ? r.int('head_dim') : hiddenSize / numAttentionHeads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) r.fail('head_dim', `${headDim} must be an even integer`);
  const hiddenAct = r.str('hidden_act', 'silu');
  if (hiddenAct !== 'silu') r.fail('hidden_act', `'${hiddenAct}' is not supported (Qwen3-VL uses 'silu')`);

  // transformers 4.57 keeps rope_theta + rope_scaling; 5.x moves both into rope_parameters.
  const rope = r.subOrNull('rope_parameters') ?? r.subOrNull('rope_scaling');
  const ropeKey = r.has('rope_parameters') ? 'rope_parameters' : 'rope_scaling';
  let ropeTheta = r.has('rope_theta') ? r.num('rope_theta') : 5_000_000;
  let mropeSection: number[] = [24, 20, 20];
  if (rope) {
    const type = rope.str('rope_type', rope.str('type', 'default'));
    if (type !== 'default' && type !== 'mrope') {
      r.fail(`${ropeKey}.rope_type`, `'${type}' is not supported (only the default M-RoPE of Qwen3-VL)`);
    }
    if (rope.has('rope_theta')) ropeTheta = rope.num('rope_theta');
    mropeSection = rope.ints('mrope_section', mropeSection);
    // HF Qwen3-VL always interleaves (apply_interleaved_mrope); a config that says otherwise
    // describes a different model, so refuse rather than silently disagree.
    if (rope.has('mrope_interleaved') && rope.bool('mrope_interleaved', true) !== true) {
      r.fail(`${ropeKey}.mrope_interleaved`, 'false is not supported (Qwen3-VL text RoPE is interleaved)');
    }
  }
  if (mropeSection.length !== 3) r.fail(`${ropeKey}.mrope_section`, `has ${mropeSection.length} entries (expected 3: T, H, W)`);
  const [t, h, w] = mropeSection as [number, number, number];
  if (t + h + w !== headDim / 2) {
    r.fail(`${ropeKey}.mrope_section`, `[${t}, ${h}, ${w}] sums to ${t + h + w} (expected head_dim/2 = ${headDim / 2})`);
  }
  return {
    vocabSize: r.int('vocab_size', 151936),
    hiddenSize,
    intermediateSize: r.int('intermediate_size', 22016),
    numHiddenLayers: r.int('num_hidden_layers', 32),
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    rmsNormEps: r.num('rms_norm_eps', 1e-6),
    ropeTheta,
    mropeSection: [t, h, w],
    attentionBias: r.bool('attention_bias', false),
    hiddenAct: 'silu',
  };
}

/** Parse and validate a Qwen3-VL config.json. `source` names the file in errors. */
export function parseQwen3VLConfig(json: unknown, source = 'config.json'): Qwen3VLConfig {
  if (!isObj(json)) throw new ConfigError(`${source}: expected a JSON object`);
  const r = new Reader(source, json, '');
  const modelType = r.str('model_type', '');
  if (modelType !== 'qwen3_vl') {
    throw new ConfigError(
      `${source}: model_type = ${JSON.stringify(json.model_type ?? null)} is not supported (expected "qwen3_vl", e.g. Qwen/Qwen3-VL-2B-Instruct)`,
    );
  }
  const text = parseText(r.sub('text_config'));
  const vision = parseVision(r.sub('vision_config'));
  if (vision.outHiddenSize !== text.hiddenSize) {
    throw new ConfigError(
      `${source}: vision_config.out_hidden_size = ${vision.outHiddenSize} must equal text_config.hidden_size = ${text.hiddenSize} (image features replace token embeddings)`,
    );
  }
  if (vision.deepstackVisualIndexes.length > text.numHiddenLayers) {
    throw new ConfigError(
      `${source}: vision_config.deepstack_visual_indexes has ${vision.deepstackVisualIndexes.length} entries but the text decoder has only ${text.numHiddenLayers} layers`,
    );
  }
  if (vision.spatialMergeSize < 1) throw new ConfigError(`${source}: vision_config.spatial_merge_size must be >= 1`);
  // The seed: hidden = config.hidden_size, else config.text_config.hidden_size, else 2048.
  const top = json.hidden_size;
  let headHiddenSize = 2048;
  if (typeof top === 'number') headHiddenSize = top;
  else if (isObj(json.text_config) && typeof json.text_config.hidden_size === 'number') headHiddenSize = json.text_config.hidden_size;
  if (headHiddenSize !== text.hiddenSize) {
    throw new ConfigError(
      `${source}: hidden_size = ${headHiddenSize} disagrees with text_config.hidden_size = ${text.hiddenSize} (the reward head reads the decoder's hidden state)`,
    );
  }
  const tie = r.bool('tie_word_embeddings', isObj(json.text_config) && json.text_config.tie_word_embeddings === true);
  return {
    modelType: 'qwen3_vl',
    text,
    vision,
    imageTokenId: r.int('image_token_id', 151655, 0),
    videoTokenId: r.int('video_token_id', 151656, 0),
    visionStartTokenId: r.int('vision_start_token_id', 151652, 0),
    visionEndTokenId: r.int('vision_end_token_id', 151653, 0),
    tieWordEmbeddings: tie,
    headHiddenSize,
    raw: json as Qwen3VLConfigJson,
  };
}
