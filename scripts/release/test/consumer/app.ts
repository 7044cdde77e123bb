// A TypeScript application consuming the published packages (copied into a fresh project
// outside the workspace by the release test, type-checked in strict mode, then run):
// synthetic LeRobot dataset → tiny Qwen3-VL → a few LoRA steps → reload → predict.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, type Command } from '@vlreward/cli';
import { AlohaRewardDataset, writeSyntheticDataset, type SyntheticDatasetSummary } from '@vlreward/dataset';
import { inspectSafetensors } from '@vlreward/graph/io';
import { listProviders, type ProviderInfo } from '@vlreward/graph/runtime';
import {
  loadRewardModel,
  predictSample,
  resolveConfig,
  trainRewardModel,
  writeTinyModel,
  type Prediction,
  type TrainConfig,
  type TrainRewardResult,
} from '@vlreward/trainer';

const processorDir = process.env.VLREWARD_PROCESSOR;
if (!processorDir) throw new Error('set VLREWARD_PROCESSOR to a folder with the Qwen3-VL processor files (tokenizer.json, …)');

const work = process.env.VLREWARD_WORK ?? mkdtempSync(join(tmpdir(), 'vlreward-consumer-'));
const root = join(work, 'dataset');
const modelDir = join(work, 'tiny-qwen3vl');

const summary: SyntheticDatasetSummary = await writeSyntheticDataset({ root, episodes: 4, frames: 6, codec: 'h264', size: 64, numClasses: 3, seed: 1 });
await writeTinyModel(modelDir, { processorDir, seed: 0 });
const tensors = (await inspectSafetensors(join(modelDir, 'model.safetensors'))).entries.length;

const config: Partial<TrainConfig> = { mode: 'lora', lr: 1e-3, batchSize: 2, maxSteps: 3, evalEvery: 3, valFraction: 0.25, seed: 0, ckptDir: join(work, 'ckpt') };
const resolved: TrainConfig = resolveConfig(config);
const trained: TrainRewardResult = await trainRewardModel({ root, model: modelDir, minPixels: 64 * 64, maxPixels: 64 * 64, config, progress: null });

const model = await loadRewardModel(trained.ckptDir);
let prediction: Prediction;
try {
  const ds = await AlohaRewardDataset.open(root);
  const sample = await ds.get(0);
  prediction = await predictSample(model, sample.images, sample.text);
} finally {
  await model.dispose();
}

const commands: readonly string[] = COMMANDS.map((c: Command) => c.name);
const cpu: ProviderInfo | undefined = listProviders().find((p) => p.name === 'cpu');
console.log(
  JSON.stringify({
    dataset: { root: summary.root, numClasses: summary.numClasses },
    tensors,
    maxSteps: resolved.maxSteps,
    steps: trained.steps,
    losses: trained.losses,
    numClasses: trained.numClasses,
    ckptDir: trained.ckptDir,
    prediction,
    commands,
    cpu: cpu?.available ?? false,
  }),
);
