// adapter_config.json → LoraConfig, the one conversion every command uses: PEFT
// fields are honoured as PEFT applies them, or rejected naming the field.
import { describe, expect, it } from 'vitest';
import { peftTargets } from '@vlreward/graph';
import { loraConfigFromPeft, loraModulePath, loraScale, parseQwen3VLConfig, peftFieldsFromLora, tinyQwen3VLConfig } from '../src/index.js';

const config = parseQwen3VLConfig(tinyQwen3VLConfig());
const L = config.text.numHiddenLayers;
const base = { peft_type: 'LORA', r: 8, lora_alpha: 16, lora_dropout: 0.1, target_modules: ['q_proj', 'v_proj'] };
const paths = (kinds: string[]) => kinds.flatMap((k) => Array.from({ length: L }, (_, l) => loraModulePath(l, k as never)));

describe('loraConfigFromPeft', () => {
  it('a list of projections, alpha/r scale, dropout', () => {
    const c = loraConfigFromPeft(base, config, 'a.json', paths(['q_proj', 'v_proj']));
    expect(c).toMatchObject({ r: 8, alpha: 16, dropout: 0.1, useRslora: false });
    expect([...c.targetModules].sort()).toEqual(['q_proj', 'v_proj']);
    expect(loraScale(c)).toBe(2);
  });

  it('use_rslora gives alpha/sqrt(r) (it used to be dropped by eval/predict/export)', () => {
    const c = loraConfigFromPeft({ ...base, use_rslora: true }, config);
    expect(loraScale(c)).toBeCloseTo(16 / Math.sqrt(8), 12);
  });

  it('a regex target_modules is matched against the module paths as PEFT does (no silent fall-back to all seven)', () => {
    const c = loraConfigFromPeft({ ...base, target_modules: '.*\\.(q|k)_proj' }, config);
    expect([...c.targetModules].sort()).toEqual(['k_proj', 'q_proj']);
    expect(peftTargets({ target_modules: '.*\\.(q|k)_proj' }, loraModulePath(0, 'v_proj'))).toBe(false);
    expect(() => loraConfigFromPeft({ ...base, target_modules: '.*layers\\.0\\..*q_proj' }, config)).toThrow(/adapts q_proj in 1 of 2 layers/);
    expect(() => loraConfigFromPeft({ ...base, target_modules: '.*qkv' }, config)).toThrow(/selects none/);
  });

  it('rank_pattern / alpha_pattern: honoured when uniform, rejected when per-module', () => {
    const uniform = loraConfigFromPeft({ ...base, rank_pattern: { q_proj: 4, v_proj: 4 }, alpha_pattern: { q_proj: 4, v_proj: 4 } }, config);
    expect(uniform).toMatchObject({ r: 4, alpha: 4 });
    expect(() => loraConfigFromPeft({ ...base, rank_pattern: { q_proj: 4 } }, config)).toThrow(/rank_pattern \/ alpha_pattern give .*r=8.*r=4|r=4.*r=8/);
    expect(() => loraConfigFromPeft({ ...base, alpha_pattern: { 'layers.1.self_attn.v_proj': 64 } }, config)).toThrow(/per-module ranks or scales are not supported/);
  });

  it('unsupported fields are errors naming them', () => {
    expect(() => loraConfigFromPeft({ ...base, use_dora: true }, config, 'x/adapter_config.json')).toThrow(/x\/adapter_config.json: use_dora = true: DoRA/);
    expect(() => loraConfigFromPeft({ ...base, layers_to_transform: [0] }, config)).toThrow(/layers_to_transform/);
    expect(() => loraConfigFromPeft({ ...base, modules_to_save: ['classifier'] }, config)).toThrow(/modules_to_save/);
    expect(() => loraConfigFromPeft({ ...base, bias: 'all' }, config)).toThrow(/bias/);
    expect(() => loraConfigFromPeft({ ...base, target_modules: ['q_proj', 'qkv'] }, config)).toThrow(/\["qkv"\] are not text-decoder projections/);
    expect(() => loraConfigFromPeft({ ...base, peft_type: 'IA3' }, config)).toThrow(/peft_type/);
  });

  it('the adapter tensors must be exactly the targeted modules', () => {
    expect(() => loraConfigFromPeft(base, config, 'a', paths(['q_proj']))).toThrow(/targeted modules without tensors: model.language_model.layers.0.self_attn.v_proj/);
    expect(() => loraConfigFromPeft(base, config, 'a', [...paths(['q_proj', 'v_proj']), 'model.visual.blocks.0.attn.qkv'])).toThrow(/not targeted .*visual.blocks.0.attn.qkv/);
  });

  it('round trip through the fields the trainer writes', () => {
    const c = loraConfigFromPeft({ ...base, use_rslora: true }, config);
    expect(loraConfigFromPeft({ peft_type: 'LORA', ...peftFieldsFromLora(c) }, config)).toEqual(c);
  });
});
