// Ready-made Qwen3-VL configs in Hugging Face config.json form: the real 2B
// (for shape-only builds and benches), a mid-size bench config, and the tiny
// config the embedded demo trains on CPU.
import type { Qwen3VLConfigJson } from './config.js';

/** Qwen/Qwen3-VL-2B-Instruct config.json (transformers 4.57.1). */
export const QWEN3_VL_2B_CONFIG: Qwen3VLConfigJson = {
  architectures: ['Qwen3VLForConditionalGeneration'],
  image_token_id: 151655,
  model_type: 'qwen3_vl',
  text_config: {
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 151643,
    dtype: 'bfloat16',
    eos_token_id: 151645,
    head_dim: 128,
    hidden_act: 'silu',
    hidden_size: 2048,
    initializer_range: 0.02,
    intermediate_size: 6144,
    max_position_embeddings: 262144,
    model_type: 'qwen3_vl_text',
    num_attention_heads: 16,
    num_hidden_layers: 28,
    num_key_value_heads: 8,
    rms_norm_eps: 1e-6,
    rope_scaling: { mrope_interleaved: true, mrope_section: [24, 20, 20], rope_type: 'default' },
    rope_theta: 5000000.0,
    tie_word_embeddings: true,
    use_cache: true,
    vocab_size: 151936,
  },
  tie_word_embeddings: true,
  transformers_version: '4.57.1',
  video_token_id: 151656,
  vision_config: {
    deepstack_visual_indexes: [5, 11, 17],
    depth: 24,
    hidden_act: 'gelu_pytorch_tanh',
    hidden_size: 1024,
    in_channels: 3,
    initializer_range: 0.02,
    intermediate_size: 4096,
    model_type: 'qwen3_vl',
    num_heads: 16,
    num_position_embeddings: 2304,
    out_hidden_size: 2048,
    patch_size: 16,
    spatial_merge_size: 2,
    temporal_patch_size: 2,
  },
  vision_end_token_id: 151653,
  vision_start_token_id: 151652,
  dtype: 'bfloat16',
};

/** Partial overrides: top-level fields, plus text_config / vision_config merged key by key. */
export interface Qwen3VLConfigOverrides {
  readonly text_config?: Record<string, unknown>;
  readonly vision_config?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

function withOverrides(base: Qwen3VLConfigJson, o: Qwen3VLConfigOverrides): Qwen3VLConfigJson {
  const { text_config, vision_config, ...top } = o;
  return {
    ...structuredClone(base),
    ...top,
    text_config: { ...structuredClone(base.text_config ?? {}), ...(text_config ?? {}) },
    vision_config: { ...structuredClone(base.vision_config ?? {}), ...(vision_config ?? {}) },
  };
}

/**
 * A tiny Qwen3-VL for the embedded demo and tests: real architecture, real
 * special-token ids and a vocabulary (151680 rows) that covers the Qwen
 * tokenizer, so the real tokenizer and chat template work; everything else small.
 */
export function tinyQwen3VLConfig(overrides: Qwen3VLConfigOverrides = {}): Qwen3VLConfigJson {
  const base = withOverrides(QWEN3_VL_2B_CONFIG, {
    dtype: 'float32',
    text_config: {
      dtype: 'float32',
      head_dim: 16,
      hidden_size: 64,
      intermediate_size: 128,
      num_attention_heads: 4,
      num_hidden_layers: 2,
      num_key_value_heads: 2,
      rope_scaling: { mrope_interleaved: true, mrope_section: [4, 2, 2], rope_type: 'default' },
      vocab_size: 151680,
    },
    vision_config: {
      deepstack_visual_indexes: [0],
      depth: 2,
      hidden_size: 32,
      intermediate_size: 64,
      num_heads: 2,
      num_position_embeddings: 64,
      out_hidden_size: 64,
    },
  });
  return withOverrides(base, overrides);
}

/** Bench mid-size: 8 text layers, hidden 512 (vision 4 blocks, hidden 256). */
export function midQwen3VLConfig(overrides: Qwen3VLConfigOverrides = {}): Qwen3VLConfigJson {
  const base = withOverrides(QWEN3_VL_2B_CONFIG, {
    dtype: 'float32',
    text_config: {
      dtype: 'float32',
      head_dim: 64,
      hidden_size: 512,
      intermediate_size: 1536,
      num_attention_heads: 8,
      num_hidden_layers: 8,
      num_key_value_heads: 4,
      rope_scaling: { mrope_interleaved: true, mrope_section: [12, 10, 10], rope_type: 'default' },
      vocab_size: 151680,
    },
    vision_config: {
      deepstack_visual_indexes: [1, 2, 3],
      depth: 4,
      hidden_size: 256,
      intermediate_size: 1024,
      num_heads: 4,
      num_position_embeddings: 2304,
      out_hidden_size: 512,
    },
  });
  return withOverrides(base, overrides);
}
