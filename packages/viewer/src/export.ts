// Standalone inference ONNX of a reward checkpoint: base weights with the LoRA adapter
// merged in (W + alpha/r·B·A, peft merge_and_unload), the reward head included, weights in
// an external-data side file. One file pair that onnxruntime-web / -node runs with no
// vlreward code: feeds are what prepareQwen3VLInputs computes, output `logits` [B, C].

import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { saveModel, type TensorData } from '@vlreward/graph';
import { buildQwen3VLGraph, checkLoraAdapter, loraConfigFromPeft, loraScale, mergeLoraAdapter, paramsFromMap, parsePeftName, parseQwen3VLConfig } from '@vlreward/model';
import { loadCheckpoint } from '@vlreward/checkpoint';
import { loadBaseModel, resolveCheckpointDir, trainedParamsFromCheckpoint } from '@vlreward/trainer';

export interface ExportResult {
  readonly dir: string;
  readonly modelPath: string;
  readonly dataPath: string | null;
  readonly numClasses: number;
  readonly inputs: readonly string[];
  readonly bytes: number;
  readonly checkpoint: string;
}

/** Writes `<outDir>/model.onnx` (+ `model.onnx.data`) and `export.json` for the checkpoint at `ckptPath`. */
export async function exportRewardOnnx(ckptPath: string, outDir: string, o: { model?: string } = {}): Promise<ExportResult> {
  const ckDir = await resolveCheckpointDir(ckptPath);
  const ck = await loadCheckpoint(ckDir, { optimizer: false });
  const modelRef = o.model ?? ck.manifest.baseModel;
  if (!modelRef) throw new Error(`${ckDir}: the manifest names no base model; pass --model`);
  const base = await loadBaseModel(modelRef);
  const cfg = parseQwen3VLConfig(base.configJson);
  const trained = await trainedParamsFromCheckpoint(ck);
  let weights: Map<string, TensorData> = base.weights;
  if (ck.mode === 'full') weights = new Map([...base.weights].map(([n, t]) => [n, trained[n] ?? t]));
  if (ck.adapter) {
    // The one PEFT → LoraConfig conversion, as eval / predict / chat read the adapter.
    const lc = loraConfigFromPeft(ck.adapter.config, cfg, join(ckDir, 'adapter_config.json'), ck.adapter.modules.keys());
    const modules = new Map([...ck.adapter.modules].map(([path, m]) => [path, { A: m.A, B: m.B, scale: loraScale(lc) }] as const));
    weights = await mergeLoraAdapter(base.weights, checkLoraAdapter({ modules, source: ckDir }, base.weights));
  }
  const all = new Map(weights);
  // The head (and, in full mode, nothing else new): every trained tensor that is not a LoRA factor.
  for (const [n, t] of Object.entries(trained)) if (!parsePeftName(n)) all.set(n, t);
  const numClasses = ck.head.numClasses;
  const { graph, forward } = buildQwen3VLGraph(cfg, (g) => paramsFromMap(g, all, { source: ckDir }), { numClasses, lora: null, name: 'qwen3_vl_reward_inference' });
  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true });
  const saved = saveModel(graph, dir, 'model.onnx', { metadata: { checkpoint: ckDir, num_classes: String(numClasses) } });
  const inputs = Object.keys(forward.inputs);
  const dataPath = saved.dataPath ?? null;
  const bytes = statSync(saved.modelPath).size + (dataPath ? statSync(dataPath).size : 0);
  writeFileSync(join(dir, 'export.json'), JSON.stringify({ checkpoint: ckDir, baseModel: modelRef, numClasses, inputs, outputs: ['pooled', 'logits'], loraMerged: !!ck.adapter }, null, 2) + '\n');
  return { dir, modelPath: saved.modelPath, dataPath, numClasses, inputs, bytes, checkpoint: ckDir };
}
