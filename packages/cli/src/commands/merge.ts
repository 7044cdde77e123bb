// `vlreward merge`: fold a LoRA adapter into the base weights
// (W + alpha/r · B·A per adapted module, peft LoraModel.merge_and_unload) and
// write a Hugging Face layout model folder that `chat --model`, `train --model`
// and transformers load without PEFT.
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tensorData, writeSafetensorsSharded, type TensorData } from '@vlreward/graph';
import { float32ToBf16 } from '@vlreward/graph/runtime';
import { PROCESSOR_FILES, writeDirAtomic } from '@vlreward/checkpoint';
import { mergeLoraAdapter } from '@vlreward/model';
import { numberFlag, parseFlags, UsageError, type Command } from '../command.js';
import { readSeedEnv } from '../env.js';
import { loadChatModel } from './chat.js';

const HELP = `usage: vlreward merge --model DIR|HUB_ID --adapter CKPT --out DIR [--dtype bf16|f32] [--threads N]

Merges a LoRA adapter (a vlreward LoRA checkpoint or a PEFT adapter folder) into
the base model and writes a Hugging Face layout folder: model.safetensors (sharded
above 5 GB, with model.safetensors.index.json), config.json and the processor files.
The folder is written atomically (a temporary sibling, then renamed).

  --model DIR|ID   base model (env QWEN3VL_MODEL)
  --adapter CKPT   the adapter
  --out DIR        output folder (replaced if it exists)
  --dtype D        bf16 | f32 (default: the base config's dtype, else f32)
  --threads N      ONNX Runtime threads for the merge matmuls`;

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'merge a LoRA adapter into the base weights and write an HF-layout model folder',
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags(argv, {
      model: { type: 'string' },
      adapter: { type: 'string' },
      out: { type: 'string' },
      dtype: { type: 'string' },
      threads: { type: 'string' },
      processor: { type: 'string' },
    });
    const model = v.model ?? readSeedEnv().model;
    if (!model) throw new UsageError('--model DIR|HUB_ID is required (or QWEN3VL_MODEL)');
    if (!v.adapter) throw new UsageError('--adapter CKPT is required');
    if (!v.out) throw new UsageError('--out DIR is required');
    const threads = numberFlag('threads', v.threads, { integer: true, min: 1 });
    const loaded = await loadChatModel(model, v.adapter, v.processor);
    if (!loaded.adapter) throw new UsageError(`--adapter '${v.adapter}' holds full weights, not a LoRA adapter: it is already a complete model`);
    const raw = loaded.config.raw;
    const srcDtype = String(raw.dtype ?? raw.torch_dtype ?? (raw.text_config as Record<string, unknown> | undefined)?.dtype ?? 'float32');
    const dtype = v.dtype ?? (srcDtype === 'bfloat16' ? 'bf16' : 'f32');
    if (dtype !== 'bf16' && dtype !== 'f32') throw new UsageError(`--dtype '${dtype}': expected bf16 or f32`);
    const t0 = performance.now();
    const merged = await mergeLoraAdapter(loaded.weights, loaded.adapter, threads !== undefined ? { threads } : {});
    const mergeMs = performance.now() - t0;
    const out = new Map<string, TensorData>();
    for (const [k, t] of merged) out.set(k, dtype === 'bf16' && t.dtype === 'float32' ? tensorData('bfloat16', t.dims, float32ToBf16(t.data as Float32Array)) : t);
    const target = resolve(v.out);
    const torchDtype = dtype === 'bf16' ? 'bfloat16' : 'float32';
    const config = { ...raw, ...(raw.dtype !== undefined || raw.torch_dtype === undefined ? { dtype: torchDtype } : {}), ...(raw.torch_dtype !== undefined ? { torch_dtype: torchDtype } : {}) };
    const files = await writeDirAtomic(target, async (tmp) => {
      const w = await writeSafetensorsSharded(tmp, out, { metadata: { format: 'pt' } });
      writeFileSync(join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
      const copied: string[] = [];
      for (const f of PROCESSOR_FILES) {
        if (f === 'config.json') continue;
        const src = join(loaded.processorDir, f);
        if (existsSync(src)) {
          copyFileSync(src, join(tmp, f));
          copied.push(f);
        }
      }
      for (const f of ['generation_config.json']) if (existsSync(join(loaded.modelDir, f))) copyFileSync(join(loaded.modelDir, f), join(tmp, f)), copied.push(f);
      return { w, copied };
    });
    console.log(`merged ${loaded.adapter.modules.size} LoRA modules of ${loaded.adapter.source} into ${loaded.modelDir} in ${(mergeMs / 1000).toFixed(1)} s`);
    console.log(`wrote ${target}: ${out.size} tensors (${dtype}), config.json, ${files.copied.join(', ')}`);
    return 0;
  },
};
