import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseQwen3VLConfig } from '../src/qwen3_vl/config.js';
import { midQwen3VLConfig, QWEN3_VL_2B_CONFIG, tinyQwen3VLConfig } from '../src/qwen3_vl/presets.js';
import { checkQwen3VLWeightNames, qwen3VLParamCounts, qwen3VLWeightSpecs } from '../src/qwen3_vl/weights.js';
import { loraParamCount } from '../src/lora/targets.js';
import { DEFAULT_LORA } from '../src/lora/config.js';
import { loraConfigFromPeft } from '../src/lora/peft.js';
import { FIXTURE_DIR, hasFixture } from './fixture.js';
import { sharedPath } from '../../test-utils/src/index.js';

const REAL_2B = sharedPath('models', 'qwen3-vl-2b-instruct.config.json');

describe('parseQwen3VLConfig', () => {
  it('normalizes the real 2B config', () => {
    const c = parseQwen3VLConfig(QWEN3_VL_2B_CONFIG);
    expect(c.text.hiddenSize).toBe(2048);
    expect(c.text.headDim).toBe(128);
    expect(c.text.mropeSection).toEqual([24, 20, 20]);
    expect(c.vision.deepstackVisualIndexes).toEqual([5, 11, 17]);
    expect(c.vision.numGridPerSide).toBe(48);
    expect(c.vision.patchDim).toBe(1536);
    expect(c.tieWordEmbeddings).toBe(true);
    expect(c.headHiddenSize).toBe(2048);
  });

  it.runIf(hasFixture)('reads the shared 2B and fixture config files', () => {
    const real = parseQwen3VLConfig(JSON.parse(readFileSync(REAL_2B, 'utf8')), REAL_2B);
    expect(real.text.numHiddenLayers).toBe(28);
    const tiny = parseQwen3VLConfig(JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8')));
    expect(tiny.text.vocabSize).toBe(151680);
    expect(qwen3VLWeightSpecs(tiny)).toHaveLength(92);
  });

  it('resolves the head hidden size the seed way', () => {
    const j = tinyQwen3VLConfig();
    expect(parseQwen3VLConfig(j).headHiddenSize).toBe(64);
    expect(() => parseQwen3VLConfig({ ...j, hidden_size: 128 })).toThrow(/hidden_size = 128 disagrees with text_config.hidden_size = 64/);
  });

  it('rejects unsupported or inconsistent configs with the field path', () => {
    expect(() => parseQwen3VLConfig({ model_type: 'qwen2_5_vl' })).toThrow(/model_type = "qwen2_5_vl" is not supported/);
    expect(() => parseQwen3VLConfig(tinyQwen3VLConfig({ text_config: { hidden_act: 'gelu' } }))).toThrow(/text_config.hidden_act/);
    expect(() =>
      parseQwen3VLConfig(tinyQwen3VLConfig({ text_config: { rope_scaling: { rope_type: 'yarn', mrope_section: [4, 2, 2] } } })),
    ).toThrow(/text_config.rope_scaling.rope_type: 'yarn' is not supported/);
    expect(() =>
      parseQwen3VLConfig(tinyQwen3VLConfig({ text_config: { rope_scaling: { mrope_section: [4, 2, 3], mrope_interleaved: true } } })),
    ).toThrow(/mrope_section: \[4, 2, 3\] sums to 9 \(expected head_dim\/2 = 8\)/);
    expect(() =>
      parseQwen3VLConfig(tinyQwen3VLConfig({ text_config: { rope_scaling: { mrope_section: [4, 2, 2], mrope_interleaved: false } } })),
    ).toThrow(/mrope_interleaved: false is not supported/);
    expect(() => parseQwen3VLConfig(tinyQwen3VLConfig({ vision_config: { deepstack_visual_indexes: [0, 5] } }))).toThrow(
      /deepstack_visual_indexes: entry 1 = 5 is not a block index \(depth 2\)/,
    );
    expect(() => parseQwen3VLConfig(tinyQwen3VLConfig({ vision_config: { num_position_embeddings: 60 } }))).toThrow(/not a perfect square/);
    expect(() => parseQwen3VLConfig(tinyQwen3VLConfig({ text_config: { num_key_value_heads: 3 } }))).toThrow(ConfigError);
    expect(() => parseQwen3VLConfig(tinyQwen3VLConfig({ vision_config: { out_hidden_size: 32 } }))).toThrow(/out_hidden_size = 32 must equal/);
  });

  it('accepts transformers 5 rope_parameters', () => {
    const j = tinyQwen3VLConfig({
      text_config: { rope_scaling: undefined, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 1e6, mrope_section: [4, 2, 2], mrope_interleaved: true } },
    });
    expect(parseQwen3VLConfig(j).text.ropeTheta).toBe(1e6);
  });
});

describe('weight table', () => {
  it('2B parameter counts match the published model', () => {
    const c = parseQwen3VLConfig(QWEN3_VL_2B_CONFIG);
    const n = qwen3VLParamCounts(c);
    // Qwen3-VL-2B-Instruct: 0.41B vision + 1.72B text (tied embeddings) = 2.13B (HF model card: 2B).
    expect(n.vision).toBe(406_957_056);
    expect(n.total).toBe(2_127_532_032);
    expect(n.text).toBe(1_720_574_976);
    expect(qwen3VLWeightSpecs(c)).toHaveLength(625);
    expect(loraParamCount(c, DEFAULT_LORA)).toBe(17_432_576);
  });

  it('mid and tiny presets parse', () => {
    expect(parseQwen3VLConfig(midQwen3VLConfig()).text.numHiddenLayers).toBe(8);
    expect(parseQwen3VLConfig(tinyQwen3VLConfig()).text.vocabSize).toBe(151680);
  });

  it('missing / extra / foreign tensors are errors that list names', () => {
    const c = parseQwen3VLConfig(tinyQwen3VLConfig());
    const specs = qwen3VLWeightSpecs(c);
    const all = new Map(specs.map((s) => [s.name, s.shape] as const));
    expect(checkQwen3VLWeightNames(c, all, 'x')).toHaveLength(specs.length);
    const missing = new Map(all);
    missing.delete('model.visual.merger.norm.weight');
    missing.set('model.visual.extra.weight', [1]);
    expect(() => checkQwen3VLWeightNames(c, missing, 'dir')).toThrow(
      /missing 1 tensor\(s\): 'model.visual.merger.norm.weight'; unexpected 1 tensor\(s\): 'model.visual.extra.weight'/,
    );
    const foreign = new Map([['visual.blocks.0.attn.qkv.weight', [3, 3]] as const, ['model.layers.0.mlp.up_proj.weight', [3, 3]] as const]);
    expect(() => checkQwen3VLWeightNames(c, foreign, 'dir')).toThrow(/not Qwen3-VL/);
    const wrong = new Map(all);
    wrong.set('model.language_model.norm.weight', [65]);
    expect(() => checkQwen3VLWeightNames(c, wrong, 'dir')).toThrow(/'model.language_model.norm.weight' has shape \[65\], config expects \[64\]/);
  });

  it.runIf(hasFixture)('parses the fixture adapter_config.json', () => {
    const config = parseQwen3VLConfig(JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8')));
    const l = loraConfigFromPeft(JSON.parse(readFileSync(join(FIXTURE_DIR, 'adapter_config.json'), 'utf8')), config);
    expect(l).toMatchObject({ r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj', 'down_proj'] });
  });
});
