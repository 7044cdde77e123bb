import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peftModuleScale, peftTargets, readSafetensors, tensorData, writeSafetensors, type TensorData } from '@vlreward/graph/io';

const peftScale = (cfg: Parameters<typeof peftModuleScale>[0], path: string) => peftModuleScale(cfg, path).scale;
import {
  PEFT_LORA_DEFAULTS,
  SEED_LORA,
  formatAdapterConfig,
  parsePeftTensorName,
  peftLoraConfig,
  peftTensorName,
  readClassifierHead,
  readPeftAdapter,
  writeClassifierHead,
  writePeftAdapter,
  type LoraModuleWeights,
} from '@vlreward/checkpoint';

const FIXTURE = join(__dirname, '../../../../shared/fixtures/qwen3vl-tiny-a');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vlreward-peft-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function rand(dims: number[], seed: number): TensorData {
  const n = dims.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 2 ** 32 - 0.5;
  }
  return tensorData('float32', dims, d);
}

// The exact key set PEFT 0.17.1 writes for a LoraConfig: PeftConfigMixin (task_type, peft_type,
// auto_mapping) + PeftConfig (base_model_name_or_path, revision, inference_mode) + LoraConfig
// fields minus runtime_config (peft/tuners/lora/config.py LoraConfig.to_dict).
const PEFT_0_17_1_KEYS = [
  'alpha_pattern', 'auto_mapping', 'base_model_name_or_path', 'bias', 'corda_config', 'eva_config',
  'exclude_modules', 'fan_in_fan_out', 'inference_mode', 'init_lora_weights', 'layer_replication',
  'layers_pattern', 'layers_to_transform', 'loftq_config', 'lora_alpha', 'lora_bias', 'lora_dropout',
  'megatron_config', 'megatron_core', 'modules_to_save', 'peft_type', 'qalora_group_size', 'r',
  'rank_pattern', 'revision', 'target_modules', 'target_parameters', 'task_type',
  'trainable_token_indices', 'use_dora', 'use_qalora', 'use_rslora',
];

describe('PEFT adapter format', () => {
  it('reads the fixture adapter saved in PEFT format and writes it back identically', async () => {
    // The fixture stores the weights as lora.safetensors beside adapter_config.json.
    const a = await readPeftAdapter(FIXTURE, { weightsPath: join(FIXTURE, 'lora.safetensors') });
    expect(a.config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, lora_dropout: 0, bias: 'none', use_dora: false });
    expect(a.config.target_modules).toEqual(['q_proj', 'v_proj', 'down_proj']);
    expect(a.modules.size).toBe(9); // 3 text layers × (q, v, down)
    expect(a.extra.size).toBe(0);
    const down = a.modules.get('model.language_model.layers.0.mlp.down_proj')!;
    expect(down.A.dims).toEqual([4, 128]);
    expect(down.B.dims).toEqual([64, 4]);
    expect(a.modules.get('model.language_model.layers.2.self_attn.v_proj')!.B.dims).toEqual([32, 4]);
    expect(peftScale(a.config, 'model.language_model.layers.1.self_attn.q_proj')).toBe(2); // README: alpha/r = 2

    const out = join(dir, 'fixture-copy');
    await writePeftAdapter(out, { config: a.config, modules: a.modules });
    const back = await readPeftAdapter(out);
    const orig = await readSafetensors(join(FIXTURE, 'lora.safetensors'));
    const copy = await readSafetensors(join(out, 'adapter_model.safetensors'));
    expect([...copy.tensors.keys()].sort()).toEqual([...orig.tensors.keys()].sort());
    for (const [k, t] of orig.tensors) expect(copy.tensors.get(k)!.data).toEqual(t.data);
    // Every field the fixture (written by the Python generator) has is preserved.
    const fixtureCfg = JSON.parse(await readFile(join(FIXTURE, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(fixtureCfg)) {
      if (k === 'inference_mode' || k === 'target_modules') continue;
      expect(back.config[k], k).toEqual(v);
    }
    expect([...(back.config.target_modules as string[])].sort()).toEqual(['down_proj', 'q_proj', 'v_proj']);
    await expect(readPeftAdapter(FIXTURE)).rejects.toThrow(/adapter_model\.safetensors: file not found/);
  });

  it('parses PEFT tensor names, with and without the adapter name', () => {
    expect(parsePeftTensorName('base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight')).toEqual({
      modulePath: 'model.language_model.layers.0.self_attn.q_proj',
      which: 'A',
    });
    expect(parsePeftTensorName('base_model.model.x.v_proj.lora_B.default.weight')).toEqual({ modulePath: 'x.v_proj', which: 'B' });
    expect(parsePeftTensorName('base_model.model.x.v_proj.bias')).toBeUndefined();
    expect(peftTensorName('model.language_model.layers.2.mlp.down_proj', 'B')).toBe(
      'base_model.model.model.language_model.layers.2.mlp.down_proj.lora_B.weight',
    );
  });

  it('writes adapter_config.json with exactly the keys and formatting PEFT writes', async () => {
    const out = join(dir, 'seed');
    const modules = new Map<string, LoraModuleWeights>();
    for (const proj of ['q_proj', 'v_proj']) {
      modules.set(`model.language_model.layers.0.self_attn.${proj}`, { A: rand([16, 64], 1), B: rand([64, 16], 2) });
    }
    await writePeftAdapter(out, {
      config: { ...SEED_LORA, target_modules: [...SEED_LORA.target_modules], base_model_name_or_path: 'Qwen/Qwen3-VL-2B-Instruct' },
      modules,
    });
    const text = await readFile(join(out, 'adapter_config.json'), 'utf8');
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(PEFT_0_17_1_KEYS); // sorted, as json.dumps(sort_keys=True)
    expect(json).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM', // the seed's LoraConfig
      r: 16,
      lora_alpha: 32,
      lora_dropout: 0.05,
      bias: 'none',
      inference_mode: true, // PeftModel.save_pretrained sets it while saving
      base_model_name_or_path: 'Qwen/Qwen3-VL-2B-Instruct',
      revision: null,
      fan_in_fan_out: false,
      use_rslora: false,
      use_dora: false,
      init_lora_weights: true,
      modules_to_save: null,
      megatron_core: 'megatron.core',
      qalora_group_size: 16,
      loftq_config: {},
      rank_pattern: {},
      alpha_pattern: {},
    });
    expect(json['target_modules']).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    // Python json.dumps(indent=2) layout.
    expect(text.startsWith('{\n  "alpha_pattern": {},\n  "auto_mapping": null,\n')).toBe(true);
    expect(text).toContain('\n  "target_modules": [\n    "down_proj",\n');
    // Float fields keep a decimal point like Python.
    expect(formatAdapterConfig(peftLoraConfig({ r: 4, target_modules: ['q_proj'] }))).toContain('"lora_dropout": 0.0,');

    const w = await readSafetensors(join(out, 'adapter_model.safetensors'));
    expect(w.metadata).toEqual({ format: 'pt' });
    expect([...w.tensors.keys()].sort()).toEqual([
      'base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_B.weight',
      'base_model.model.model.language_model.layers.0.self_attn.v_proj.lora_A.weight',
      'base_model.model.model.language_model.layers.0.self_attn.v_proj.lora_B.weight',
    ]);

    const back = await readPeftAdapter(out);
    expect(back.config.r).toBe(16);
    expect([...back.modules.keys()].sort()).toEqual([...modules.keys()].sort());
    for (const [k, m] of modules) {
      expect(back.modules.get(k)!.A.data).toEqual(m.A.data);
      expect(back.modules.get(k)!.B.data).toEqual(m.B.data);
    }
    expect(peftScale(back.config, 'model.language_model.layers.0.self_attn.q_proj')).toBe(2);
  });

  it('refuses modules PEFT would not target and shapes that contradict r', async () => {
    const cfg = { r: 4, lora_alpha: 8, target_modules: ['q_proj'] };
    await expect(
      writePeftAdapter(join(dir, 'bad1'), { config: cfg, modules: { 'model.layers.0.mlp.up_proj': { A: rand([4, 8], 1), B: rand([8, 4], 2) } } }),
    ).rejects.toThrow(/module 'model\.layers\.0\.mlp\.up_proj' is not matched by target_modules \["q_proj"\]/);
    await expect(
      writePeftAdapter(join(dir, 'bad2'), { config: cfg, modules: { 'model.layers.0.q_proj': { A: rand([3, 8], 1), B: rand([8, 4], 2) } } }),
    ).rejects.toThrow(/lora_A\.weight has shape \[3, 8\], expected \[r=4, in_features\]/);
    expect(peftTargets({ target_modules: '.*\\.(q|v)_proj', exclude_modules: null }, 'a.q_proj')).toBe(true);
    expect(peftTargets({ target_modules: ['q_proj'], exclude_modules: ['layers.0.q_proj'] }, 'm.layers.0.q_proj')).toBe(false);
    expect(peftScale(peftLoraConfig({ r: 16, lora_alpha: 32, use_rslora: true }), 'x')).toBe(8);
    expect(peftScale(peftLoraConfig({ r: 16, lora_alpha: 32, rank_pattern: { 'layers.1.q_proj': 4 } }), 'm.layers.1.q_proj')).toBe(8);
    expect(PEFT_LORA_DEFAULTS.peft_type).toBe('LORA');
  });
});

describe('classifier head', () => {
  it('reads the fixture head (no metadata) and round-trips with num_classes and labels', async () => {
    const h = await readClassifierHead(join(FIXTURE, 'head.safetensors'));
    expect(h.numClasses).toBe(3);
    expect(h.hiddenSize).toBe(64);
    const p = join(dir, 'classifier.safetensors');
    await writeClassifierHead(p, { weight: h.weight, bias: h.bias, labels: ['fail', 'partial', 'success'] });
    const back = await readClassifierHead(p);
    expect(back.metadata).toMatchObject({ num_classes: '3', hidden_size: '64', format: 'pt' });
    expect(back.labels).toEqual(['fail', 'partial', 'success']);
    expect(back.weight.data).toEqual(h.weight.data);
    expect(back.bias.data).toEqual(h.bias.data);
  });

  it("reads the seed's state_dict naming (weight / bias) in bf16", async () => {
    const p = join(dir, 'seed_head.safetensors');
    const w = tensorData('bfloat16', [2, 4], new Uint16Array(8).fill(0x3f80));
    const b = tensorData('bfloat16', [2], new Uint16Array(2));
    await writeSafetensors(p, { weight: w, bias: b });
    const h = await readClassifierHead(p);
    expect(h).toMatchObject({ numClasses: 2, hiddenSize: 4 });
    expect(h.weight.dtype).toBe('bfloat16');
  });

  it('names the shape problem', async () => {
    await expect(
      writeClassifierHead(join(dir, 'bad.safetensors'), { weight: rand([3, 8], 1), bias: rand([2], 1) }),
    ).rejects.toThrow(/classifier\.bias has shape \[2\], expected \[3\]/);
    await expect(readClassifierHead(join(FIXTURE, 'lora.safetensors'))).rejects.toThrow(/expected tensors 'classifier\.weight' and 'classifier\.bias'/);
  });
});
