import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tensorData, type TensorData } from '@vlreward/graph/io';
import type { CheckpointContents, LoraModuleWeights } from '@vlreward/checkpoint';

/** Deterministic pseudo-random float32 tensor (LCG), so tests need no fixtures on disk. */
export function rand(dims: number[], seed: number): TensorData {
  const n = dims.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 2 ** 32 - 0.5;
  }
  return tensorData('float32', dims, d);
}

/** A small processor folder with the file names Qwen3-VL ships. */
export async function makeProcessorDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', model: { type: 'BPE' } }));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 262144 }));
  await writeFile(join(dir, 'preprocessor_config.json'), JSON.stringify({ patch_size: 16, merge_size: 2 }));
  await writeFile(join(dir, 'chat_template.json'), JSON.stringify({ chat_template: '{{ messages }}' }));
  await writeFile(join(dir, 'model.safetensors'), 'not a processor file');
  return dir;
}

/** LoRA-mode checkpoint contents of a tiny 2-layer model, seeded. */
export function loraContents(seed: number, processorDir?: string): CheckpointContents {
  const modules = new Map<string, LoraModuleWeights>();
  for (let l = 0; l < 2; l++) {
    for (const [proj, out, inp] of [
      ['self_attn.q_proj', 64, 64],
      ['self_attn.v_proj', 32, 64],
      ['mlp.down_proj', 64, 128],
    ] as const) {
      modules.set(`model.language_model.layers.${l}.${proj}`, { A: rand([4, inp], seed + l), B: rand([out, 4], seed + 7 + l) });
    }
  }
  const moments = new Map([...modules].flatMap(([p, w]) => [
    [`${p}.lora_A.weight`, { m: rand([...w.A.dims], seed + 100), v: rand([...w.A.dims], seed + 200) }],
    [`${p}.lora_B.weight`, { m: rand([...w.B.dims], seed + 300), v: rand([...w.B.dims], seed + 400) }],
  ]));
  return {
    head: { weight: rand([3, 64], seed + 1000), bias: rand([3], seed + 1001), labels: ['fail', 'partial', 'success'] },
    adapter: { config: { r: 4, lora_alpha: 8, lora_dropout: 0.05, target_modules: ['q_proj', 'v_proj', 'down_proj'] }, modules },
    ...(processorDir ? { processor: { dir: processorDir } } : {}),
    state: {
      trainer: {
        step: seed,
        epoch: 1.5,
        rng: { seed: 42, words: ['123456789012345678901', '2'] },
        shuffle: { order: [3, 1, 2, 0], position: 2 },
        scheduler: { kind: 'cosine', warmup: 10 },
        bestMetric: { name: 'val_accuracy', value: 0.75, step: 4 },
      },
      optimizer: { moments, hyper: { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 } },
    },
    manifest: {
      baseModel: 'Qwen/Qwen3-VL-2B-Instruct',
      versions: { vlreward: '0.1.0' },
      config: { hidden_size: 64 },
      options: { BATCH_SIZE: 2, LR: 1e-4 },
      metrics: { val_accuracy: 0.5 + seed / 100, train_loss: 1 / (seed + 1) },
      datasetFingerprint: 'sha256:abc',
    },
  };
}
