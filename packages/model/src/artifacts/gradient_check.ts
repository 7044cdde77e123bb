// Gradient parity against a golden fixture folder (../shared/fixtures
// format): `grad.*` (full fine-tuning, every base param trainable) and
// `lora.grad.*` (LoRA attached, base frozen, head trainable) computed with
// the training artifacts' gradient graph and compared with the README's
// fp32 gradient tolerances. `vlreward fixture check` calls this after the
// forward checks.
import type { TensorData } from '@vlreward/graph';
import { compareTensors, type TensorCheck, type Tolerance } from '../fixture_check.js';
import { loadFixtureFolder, type FixtureFolder } from '../fixture_files.js';
import { prepareQwen3VLInputs, type Qwen3VLBatch } from '../qwen3_vl/host_inputs.js';
import { buildTrainingArtifacts, type FinetuneMode, type Qwen3VLTrainingOptions } from './qwen3_vl.js';
import { TrainingSession } from './session.js';

/** The fixture README's fp32 gradient tolerance for an independent implementation. */
export const GRAD_TOLERANCE: Tolerance = { atol: 1e-5, rtol: 1e-3 };

export interface GradientReport {
  readonly dir: string;
  /** Every `grad.*` / `lora.grad.*` tensor of the fixture, plus the two losses. */
  readonly checks: TensorCheck[];
  readonly skipped: { name: string; reason: string }[];
  readonly ok: boolean;
  /** Largest normwise relative error (max|d| / max|ref|) over the gradient tensors. */
  readonly worstRelative: number;
}

export interface GradientCheckOptions {
  readonly threads?: number;
  /** Which passes to run (default both that the fixture has). */
  readonly modes?: readonly FinetuneMode[];
  /** Build the gradient graphs with activation checkpointing (recomputed layers). */
  readonly checkpointing?: boolean;
}

const EMBED = 'model.language_model.embed_tokens.weight';

/**
 * The buildTrainingArtifacts options this check verifies for one mode: the
 * fixture's weights, head and LoRA config, defaults for everything else (the
 * defaults `vlreward train` uses), the gradient graph. Exported so a test can
 * show the trainer builds the very same graphs.
 */
export function fixtureTrainingOptions(
  fx: Pick<FixtureFolder, 'weights' | 'lora' | 'numClasses'>,
  mode: FinetuneMode,
  o: { readonly vision?: boolean; readonly checkpointing?: boolean } = {},
): Qwen3VLTrainingOptions {
  if (fx.numClasses === undefined) throw new Error('fixtureTrainingOptions: the fixture has no head (head.safetensors)');
  return {
    mode,
    ...(mode === 'lora' && fx.lora ? { lora: fx.lora } : {}),
    numClasses: fx.numClasses,
    weights: fx.weights,
    vision: o.vision ?? true,
    graphs: ['gradient'],
    // The check runs on the CPU provider, where vlreward train feeds frozen weights as inputs too.
    frozenAs: 'input',
    ...(o.checkpointing ? { checkpointing: true } : {}),
  };
}

/** Compute every gradient the fixture stores with the training graphs and compare. */
export async function checkFixtureGradients(dir: string, opts: GradientCheckOptions = {}): Promise<GradientReport> {
  const fx = await loadFixtureFolder(dir, {
    require: ['head.safetensors'],
    expected: 'gradient checks need config.json, model.safetensors, head.safetensors, inputs.safetensors, outputs.safetensors',
  });
  const { config, lora, outputs: out } = fx;
  if (!fx.batch.labels) throw new Error(`${dir}/inputs.safetensors: missing 'labels'`);
  const batch: Qwen3VLBatch = fx.batch;
  const numClasses = fx.numClasses!;
  const vision = batch.pixelValues !== undefined;
  const prepared = prepareQwen3VLInputs(config, batch, { labels: true, numClasses, vision });

  const checks: TensorCheck[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const names = out.names;
  const modes = opts.modes ?? (['full', 'lora'] as const);

  for (const mode of modes) {
    const prefix = mode === 'full' ? 'grad.' : 'lora.grad.';
    const wanted = names.filter((n) => n.startsWith(prefix));
    if (wanted.length === 0) continue;
    if (mode === 'lora' && !lora) {
      for (const n of wanted) skipped.push({ name: n, reason: 'no lora.safetensors / adapter_config.json' });
      continue;
    }
    const art = buildTrainingArtifacts(config, fixtureTrainingOptions(fx, mode, { vision, ...(opts.checkpointing ? { checkpointing: true } : {}) }));
    const session = await TrainingSession.create(art, { intraOpThreads: opts.threads ?? 1 });
    try {
      const feeds: Record<string, TensorData> = {};
      for (const i of art.manifest.batchInputs) feeds[i.name] = prepared.feeds[i.name]!;
      const res = await session.computeGradients(feeds);
      const lossName = mode === 'full' ? 'loss' : 'lora.loss';
      if (names.includes(lossName)) {
        checks.push(compareTensors(lossName, { dtype: 'float32', dims: [], data: Float32Array.of(res.loss) }, await out.read(lossName), undefined, { atol: 1e-5, rtol: 0 }));
      }
      for (const n of wanted) {
        const param = n.slice(prefix.length);
        if (param === `${EMBED}.rows`) continue;
        if (param === `${EMBED}.values`) {
          checks.push(...embedChecks(n, res.grads[EMBED], await out.read(`${prefix}${EMBED}.rows`), await out.read(n)));
          continue;
        }
        const got = res.grads[param];
        if (!got) {
          skipped.push({ name: n, reason: `'${param}' is not trainable in ${mode} mode` });
          continue;
        }
        checks.push(compareTensors(n, got, await out.read(n), undefined, GRAD_TOLERANCE));
      }
    } finally {
      await session.dispose();
    }
  }
  await out.close();
  const grads = checks.filter((c) => c.name.includes('grad.'));
  return {
    dir,
    checks,
    skipped,
    ok: checks.length > 0 && checks.every((c) => c.ok),
    worstRelative: grads.reduce((a, c) => Math.max(a, c.maxRel), 0),
  };
}

/** The embedding gradient is stored sparse: listed rows must match, every other row must be exactly 0. */
function embedChecks(name: string, got: TensorData | undefined, rows: TensorData, values: TensorData): TensorCheck[] {
  if (!got) return [compareTensors(name, { dtype: 'float32', dims: [0], data: new Float32Array(0) }, values)];
  const H = got.dims[1]!;
  const idx = Array.from(rows.data as BigInt64Array, Number);
  const g = got.data as Float32Array;
  const picked = new Float32Array(idx.length * H);
  idx.forEach((r, i) => picked.set(g.subarray(r * H, (r + 1) * H), i * H));
  const listed = new Set(idx);
  let strayMax = 0;
  let stray = 0;
  for (let r = 0; r < got.dims[0]!; r++) {
    if (listed.has(r)) continue;
    for (let j = 0; j < H; j++) {
      const x = Math.abs(g[r * H + j]!);
      if (x > 0) stray++;
      strayMax = Math.max(strayMax, x);
    }
  }
  const rowsCheck = compareTensors(name, { dtype: 'float32', dims: [idx.length, H], data: picked }, values, undefined, GRAD_TOLERANCE);
  const zeroCheck: TensorCheck = {
    name: name.replace(/\.values$/, '.other_rows_zero'),
    shape: [got.dims[0]! - idx.length, H],
    maxAbs: strayMax,
    maxRel: strayMax,
    worstRatio: stray === 0 ? 0 : Infinity,
    tol: { atol: 0, rtol: 0 },
    ok: stray === 0,
    compared: (got.dims[0]! - idx.length) * H,
  };
  return [rowsCheck, zeroCheck];
}
