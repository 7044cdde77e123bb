// `vlreward export`: a standalone inference ONNX of a reward checkpoint (LoRA merged,
// reward head included, weights as external data) for onnxruntime-web / -node.
import { resolve } from 'node:path';
import { exportRewardOnnx } from '@vlreward/viewer';
import { parseFlags, UsageError, type Command } from '../command.js';
import { readSeedEnv } from '../env.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'standalone inference ONNX of a reward checkpoint (LoRA merged, head included, external data)',
  help: `usage: vlreward export [--ckpt DIR] --out DIR [--model DIR|ID]

Writes DIR/model.onnx + DIR/model.onnx.data (weights) + DIR/export.json. Inputs are the
host-side feeds of the Qwen3-VL graph (prepareQwen3VLInputs in @vlreward/model); output
'logits' [B, num_classes] (and 'pooled'). The viewer's in-browser path runs this file.

  --ckpt DIR       checkpoint or CKPT_DIR (env CKPT_DIR; default checkpoints/qwen3_reward)
  --out DIR        output folder
  --model DIR|ID   base model (default: the one recorded in the checkpoint)`,
  async run(argv) {
    const { values: v } = parseFlags(argv, { ckpt: { type: 'string' }, out: { type: 'string' }, model: { type: 'string' } });
    if (!v.out) throw new UsageError('--out DIR is required');
    const ckpt = v.ckpt ?? readSeedEnv(process.env, process.cwd(), { mode: false }).ckptDir ?? resolve('checkpoints/qwen3_reward');
    const t0 = performance.now();
    const r = await exportRewardOnnx(ckpt, v.out, v.model ? { model: v.model } : {});
    console.log(`exported ${r.checkpoint} → ${r.modelPath}${r.dataPath ? ` + ${r.dataPath}` : ''} (${(r.bytes / 1e6).toFixed(1)} MB, ${r.numClasses} classes, ${r.inputs.length} inputs) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  },
};
