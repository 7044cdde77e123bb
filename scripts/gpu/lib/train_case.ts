// One training case (model size × LoRA/full) on one device: random weights,
// a synthetic batch in the processor's layout (no images decoded: no sharp,
// no ffmpeg), the fused step (forward + backward + clip + AdamW) timed over
// `steps` runs after `warmup`. Runs in a child process of the check so its
// device memory and host RSS are its own.
import { performance } from 'node:perf_hooks';
import {
  buildTrainingArtifacts,
  makeLoraConfig,
  midQwen3VLConfig,
  parseQwen3VLConfig,
  prepareQwen3VLInputs,
  QWEN3_VL_2B_CONFIG,
  qwen3VLForwardFlops,
  randomQwen3VLWeights,
  syntheticQwen3VLBatch,
  tinyQwen3VLConfig,
  TrainingSession,
  type Precision,
  type Provider,
  type Session,
  type TensorData,
} from './deps.js';
import type { Mode, ModelSize } from './args.js';
import { stepTransfer, type StepTransfer } from './transfer.js';

export interface TrainCaseSpec {
  readonly size: ModelSize;
  readonly mode: Mode;
  readonly provider: Provider;
  readonly deviceId?: number;
  readonly precision: Precision;
  readonly batch: number;
  readonly images: number;
  readonly height: number;
  readonly width: number;
  readonly textTokens: number;
  readonly steps: number;
  readonly warmup: number;
  readonly threads?: number;
  readonly cuda?: Session.CudaOptions;
}

export interface TrainCaseResult {
  readonly case: string;
  readonly spec: TrainCaseSpec;
  readonly desc: string;
  readonly params: { trainable: number; total: number };
  readonly seqLen: number;
  readonly visionPatches: number;
  readonly buildS: number;
  /** Session creation + first step. */
  readonly firstStepS: number;
  readonly stepTimeS: { mean: number; min: number; median: number; max: number; all: number[] };
  readonly samplesPerS: number;
  readonly tokensPerS: number;
  readonly flopsPerStep: number;
  readonly achievedTflops: number;
  readonly losses: number[];
  readonly gradNorms: number[];
  /** Per step: fp16 loss-scale overflow skipped the update (its grad norm is inf/NaN). */
  readonly skipped: boolean[];
  readonly transfer: StepTransfer;
  readonly peakRssMiB: number;
}

function configFor(size: ModelSize) {
  if (size === 'tiny') return parseQwen3VLConfig(tinyQwen3VLConfig());
  if (size === 'mid') return parseQwen3VLConfig(midQwen3VLConfig());
  return parseQwen3VLConfig(QWEN3_VL_2B_CONFIG); // bf16 storage, as the released weights
}

export async function runTrainCase(spec: TrainCaseSpec): Promise<TrainCaseResult> {
  const config = configFor(spec.size);
  let t0 = performance.now();
  const weights = randomQwen3VLWeights(config, 1);
  const art = buildTrainingArtifacts(config, {
    mode: spec.mode,
    lora: makeLoraConfig({}), // r=16, alpha=32, dropout 0.05, q k v o gate up down
    numClasses: 3,
    weights,
    seed: 1,
    precision: spec.precision,
    graphs: ['train'],
    name: `gpu.${spec.size}.${spec.mode}`,
  });
  weights.clear();
  const buildS = (performance.now() - t0) / 1000;
  const say = (m: string) => process.stderr.write(`[gpu-check]   ${spec.size}.${spec.mode}: ${m}\n`);
  say(`weights + artifacts built in ${buildS.toFixed(1)} s (rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB)`);
  const raw = syntheticQwen3VLBatch(config, { batch: spec.batch, images: spec.images, height: spec.height, width: spec.width, textTokens: spec.textTokens, numClasses: 3, seed: 7 });
  const prep = prepareQwen3VLInputs(config, raw, { labels: true, numClasses: 3 });
  const feeds: Record<string, TensorData> = {};
  for (const i of art.manifest.batchInputs) {
    const t = prep.feeds[i.name];
    if (!t) throw new Error(`batch input '${i.name}' missing from the prepared synthetic batch`);
    feeds[i.name] = t;
  }
  const B = feeds.input_ids!.dims[0]!;
  const S = feeds.input_ids!.dims[1]!;
  const segLen = prep.feeds['vision.pack_index']?.dims[1] ?? 0;
  const flopsPerStep = qwen3VLForwardFlops(config, { P: prep.numPatches, segLen, B, S }) * (spec.mode === 'full' ? 3 : 2);
  const trainable = art.manifest.params.filter((p) => p.trainable).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  const total = art.manifest.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);

  t0 = performance.now();
  const s = await TrainingSession.create(art, {
    provider: spec.provider,
    ...(spec.deviceId !== undefined ? { deviceId: spec.deviceId } : {}),
    ...(spec.threads ? { intraOpThreads: spec.threads } : {}),
    ...(spec.cuda ? { cuda: spec.cuda } : {}),
    // One batch shape per case: a session with fixed dims, which ORT plans ~10x faster (docs/GPU.md).
    specializeShapes: 1,
  });
  const losses: number[] = [];
  const gradNorms: number[] = [];
  const skipped: boolean[] = [];
  const lr = 1e-5;
  const first = await s.step(feeds, lr);
  const firstTransfer = s.lastStepTransfer;
  losses.push(first.loss);
  gradNorms.push(first.gradNorm);
  skipped.push(first.skipped);
  const firstStepS = (performance.now() - t0) / 1000;
  say(`session + first step ${firstStepS.toFixed(1)} s, loss ${first.loss.toFixed(4)}`);
  for (let i = 1; i < spec.warmup; i++) {
    const r = await s.step(feeds, lr);
    losses.push(r.loss);
    gradNorms.push(r.gradNorm);
    skipped.push(r.skipped);
  }
  const all: number[] = [];
  for (let i = 0; i < spec.steps; i++) {
    const a = performance.now();
    const r = await s.step(feeds, lr);
    all.push((performance.now() - a) / 1000);
    losses.push(r.loss);
    gradNorms.push(r.gradNorm);
    skipped.push(r.skipped);
  }
  // Counted on the last steady step (the first one also uploads the initial state).
  const transfer = stepTransfer(art.manifest, firstTransfer, s.lastStepTransfer);
  await s.dispose();
  for (const [i, l] of losses.entries()) if (!Number.isFinite(l)) throw new Error(`step ${i}: loss is ${l} (non-finite) on ${spec.provider} ${spec.precision}`);
  const sorted = [...all].sort((a, b) => a - b);
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  return {
    case: `${spec.size}.${spec.mode}`,
    spec,
    desc: `${spec.size}: ${config.text.numHiddenLayers} text layers, hidden ${config.text.hiddenSize}, vision depth ${config.vision.depth}; B=${B}, S=${S}, ${spec.images}×${spec.height}x${spec.width} images, ${spec.precision}`,
    params: { trainable, total },
    seqLen: S,
    visionPatches: prep.numPatches,
    buildS: round(buildS, 3),
    firstStepS: round(firstStepS, 3),
    stepTimeS: { mean: round(mean, 4), min: round(sorted[0]!, 4), median: round(sorted[Math.floor(sorted.length / 2)]!, 4), max: round(sorted.at(-1)!, 4), all: all.map((x) => round(x, 4)) },
    samplesPerS: round(B / mean, 3),
    tokensPerS: round((B * S) / mean, 1),
    flopsPerStep,
    achievedTflops: round(flopsPerStep / mean / 1e12, 3),
    losses: losses.map((x) => round(x, 6)),
    gradNorms: gradNorms.map((x) => round(x, 6)),
    skipped,
    transfer,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

export function round(v: number, d: number): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}
