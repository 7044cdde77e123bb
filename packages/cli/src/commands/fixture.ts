// `vlreward fixture check DIR [--json]`: recompute every forward tensor of a
// golden-fixture folder (../shared/fixtures format) with this implementation
// and report per-tensor errors; exit 1 when any exceeds its tolerance.
import { existsSync } from 'node:fs';
import { checkFixture, formatFixtureReport } from '@vlreward/model';
import { numberFlag, parseFlags, UsageError, type Command } from '../command.js';

const HELP = `usage: vlreward fixture check DIR [--json] [--threads N] [--forward-only]

Loads a fixture folder (config.json, model.safetensors, head.safetensors,
lora.safetensors + adapter_config.json, inputs.safetensors, outputs.safetensors),
computes every tensor of outputs.safetensors the model can produce (vision tower,
DeepStack, M-RoPE ids and tables, every text layer, last_hidden_state, pooled,
logits, loss, the same with LoRA, greedy generation with the KV-cache decoder,
cross-checked against cache-less decoding) and, through the training
graphs, every gradient (grad.*, lora.grad.*); prints max-abs and max-rel error
per tensor. Activations are compared where attention_mask == 1. Tensors it
cannot produce are listed as skipped with the reason.

  --json           print the report as JSON
  --threads N      ONNX Runtime intra-op threads (default 1)
  --forward-only   skip the gradient checks

Exit code: 0 when every compared tensor is within tolerance, 1 otherwise.`;

export const fixtureCheckCommand: Command = {
  name: 'fixture check',
  summary: 'compare the model with golden tensors from transformers (a fixture folder)',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      { json: { type: 'boolean' }, threads: { type: 'string' }, 'forward-only': { type: 'boolean' } },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('expected exactly one fixture folder (vlreward fixture check DIR)');
    const dir = positionals[0]!;
    if (!existsSync(dir)) throw new UsageError(`fixture folder '${dir}' does not exist`);
    const threads = numberFlag('threads', values.threads, { integer: true, min: 1 });
    const report = await checkFixture(dir, { ...(threads !== undefined ? { threads } : {}), gradients: !values['forward-only'] });
    if (values.json) console.log(JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2));
    else console.log(formatFixtureReport(report));
    return report.ok ? 0 : 1;
  },
};
