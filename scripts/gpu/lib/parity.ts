// Numerical parity on the device:
//  - self: the same tiny random Qwen3-VL and batch through the gradient graph
//    on the CPU provider in fp32 (the reference) and on the device in fp32 and
//    in the mixed precision (bf16/fp16 compute, fp32 master weights, fp32
//    loss/softmax/norm accumulation);
//  - fixture: a golden folder made by transformers (../shared/fixtures
//    format): loss and every grad.* / lora.grad.* tensor, on the device.
// Error measure: relative L2 over all gradient tensors together
// (‖got − ref‖₂ / ‖ref‖₂), the worst per-tensor max|Δ|/max|ref|, |Δloss|,
// and relative L2 of the logits. Tolerances (TOLERANCE) are per precision; fp32
// on CUDA allows for TF32 matmuls, ORT's default (use_tf32=1).
import {
  buildTrainingArtifacts,
  loadFixtureFolder,
  makeLoraConfig,
  parseQwen3VLConfig,
  prepareQwen3VLInputs,
  randomQwen3VLWeights,
  syntheticQwen3VLBatch,
  tinyQwen3VLConfig,
  TrainingSession,
  type LoraConfig,
  type Precision,
  type Provider,
  type Qwen3VLConfig,
  type TensorData,
} from './deps.js';
import type { Mode } from './args.js';

export interface ParityTolerance {
  /** |loss − ref| ≤ loss·max(1, |ref|). */
  readonly loss: number;
  /** Relative L2 of the logits. */
  readonly logits: number;
  /** Relative L2 over all gradients together. */
  readonly grads: number;
}

/** Stated tolerances: fp32 (TF32 matmuls on CUDA), bf16 and fp16 compute with fp32 master weights. */
export const TOLERANCE: Record<Precision, ParityTolerance> = {
  fp32: { loss: 1e-3, logits: 1e-2, grads: 1e-2 },
  bf16: { loss: 3e-2, logits: 6e-2, grads: 1e-1 },
  fp16: { loss: 1e-2, logits: 2e-2, grads: 5e-2 },
};

export interface ParityResult {
  readonly name: string;
  readonly mode: Mode;
  readonly precision: Precision;
  readonly provider: Provider;
  readonly ok: boolean;
  readonly lossRef: number;
  readonly loss: number;
  readonly lossAbsDiff: number;
  readonly logitsRelL2: number | null;
  readonly gradsRelL2: number;
  readonly worstTensor: { name: string; maxRel: number } | null;
  readonly tensors: number;
  readonly tolerance: ParityTolerance;
  readonly error?: string;
}

interface Grads {
  loss: number;
  logits: TensorData;
  grads: Record<string, TensorData>;
}

async function gradients(
  config: Qwen3VLConfig,
  weights: Map<string, TensorData>,
  lora: LoraConfig | null,
  mode: Mode,
  precision: Precision,
  feedsAll: Record<string, TensorData>,
  numClasses: number,
  vision: boolean,
  provider: Provider,
  deviceId: number | undefined,
): Promise<Grads> {
  const art = buildTrainingArtifacts(config, {
    mode,
    ...(lora ? { lora } : {}),
    numClasses,
    weights,
    vision,
    precision,
    graphs: ['gradient'],
    name: `parity.${mode}.${precision}`,
  });
  const s = await TrainingSession.create(art, { provider, ...(deviceId !== undefined ? { deviceId } : {}), ...(provider === 'cpu' ? { intraOpThreads: 2 } : {}) });
  try {
    const feeds: Record<string, TensorData> = {};
    for (const i of art.manifest.batchInputs) feeds[i.name] = feedsAll[i.name]!;
    return await s.computeGradients(feeds);
  } finally {
    await s.dispose();
  }
}

function f32(t: TensorData): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  return Float32Array.from(t.data as ArrayLike<number>);
}

function relL2(a: TensorData, b: TensorData): number {
  const x = f32(a);
  const y = f32(b);
  let d = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    d += (x[i]! - y[i]!) ** 2;
    n += y[i]! ** 2;
  }
  return n > 0 ? Math.sqrt(d / n) : Math.sqrt(d);
}

/** Compare gradients by name (`pairs`: got name → reference tensor). */
function judge(
  name: string,
  mode: Mode,
  precision: Precision,
  provider: Provider,
  got: Grads,
  ref: { loss: number; logits: TensorData | null; grads: [string, TensorData, TensorData][] },
): ParityResult {
  const tol = TOLERANCE[precision];
  let d = 0;
  let n = 0;
  let worst: { name: string; maxRel: number } | null = null;
  for (const [gname, g, r] of ref.grads) {
    const x = f32(g);
    const y = f32(r);
    let maxD = 0;
    let maxR = 0;
    for (let i = 0; i < y.length; i++) {
      const e = x[i]! - y[i]!;
      d += e * e;
      n += y[i]! ** 2;
      if (!(Math.abs(e) <= maxD)) maxD = Math.abs(e);
      maxR = Math.max(maxR, Math.abs(y[i]!));
    }
    const rel = maxR > 0 ? maxD / maxR : maxD;
    if (!worst || !(rel <= worst.maxRel)) worst = { name: gname, maxRel: rel };
  }
  const gradsRelL2 = n > 0 ? Math.sqrt(d / n) : Math.sqrt(d);
  const lossAbsDiff = Math.abs(got.loss - ref.loss);
  const logitsRelL2 = ref.logits ? relL2(got.logits, ref.logits) : null;
  const ok =
    Number.isFinite(got.loss) &&
    lossAbsDiff <= tol.loss * Math.max(1, Math.abs(ref.loss)) &&
    (logitsRelL2 === null || logitsRelL2 <= tol.logits) &&
    gradsRelL2 <= tol.grads &&
    ref.grads.length > 0;
  return { name, mode, precision, provider, ok, lossRef: ref.loss, loss: got.loss, lossAbsDiff, logitsRelL2, gradsRelL2, worstTensor: worst, tensors: ref.grads.length, tolerance: tol };
}

function failed(name: string, mode: Mode, precision: Precision, provider: Provider, e: unknown): ParityResult {
  const msg = (e as Error).message.split('\n')[0]!;
  return { name, mode, precision, provider, ok: false, lossRef: NaN, loss: NaN, lossAbsDiff: NaN, logitsRelL2: null, gradsRelL2: NaN, worstTensor: null, tensors: 0, tolerance: TOLERANCE[precision], error: msg };
}

/** CPU fp32 reference vs the device in each of `precisions`, on a tiny random model. */
export async function selfParity(o: { provider: Provider; deviceId?: number; precisions: readonly Precision[]; modes: readonly Mode[] }): Promise<ParityResult[]> {
  const config = parseQwen3VLConfig(tinyQwen3VLConfig());
  const weights = randomQwen3VLWeights(config, 3);
  const lora = makeLoraConfig({});
  const batch = syntheticQwen3VLBatch(config, { batch: 2, images: 3, height: 64, width: 96, textTokens: 16, numClasses: 3, seed: 5 });
  const prep = prepareQwen3VLInputs(config, batch, { labels: true, numClasses: 3 });
  const out: ParityResult[] = [];
  for (const mode of o.modes) {
    // LoRA factors come from the builder's seeded init: the same on both providers.
    const ref = await gradients(config, weights, lora, mode, 'fp32', prep.feeds, 3, true, 'cpu', undefined);
    for (const precision of o.precisions) {
      const name = `self.${mode}.${precision}`;
      try {
        const got = await gradients(config, weights, lora, mode, precision, prep.feeds, 3, true, o.provider, o.deviceId);
        const pairs: [string, TensorData, TensorData][] = Object.keys(ref.grads).map((k) => [k, got.grads[k]!, ref.grads[k]!]);
        out.push(judge(name, mode, precision, o.provider, got, { loss: ref.loss, logits: ref.logits, grads: pairs }));
      } catch (e) {
        out.push(failed(name, mode, precision, o.provider, e));
      }
    }
  }
  return out;
}

const EMBED = 'model.language_model.embed_tokens.weight';

/** The fixture's loss, logits and grads (full and LoRA passes) vs this implementation on the device. */
export async function fixtureParity(dir: string, o: { provider: Provider; deviceId?: number; precisions: readonly Precision[] }): Promise<ParityResult[]> {
  const fx = await loadFixtureFolder(dir, {
    require: ['model.safetensors', 'head.safetensors'],
    expected: 'a golden folder in ../shared/fixtures format is expected',
  });
  const { config, weights, lora, outputs: out } = fx;
  if (!fx.batch.labels) throw new Error(`${dir}/inputs.safetensors: missing 'labels'`);
  const numClasses = fx.numClasses!;
  const vision = fx.batch.pixelValues !== undefined;
  const prep = prepareQwen3VLInputs(config, fx.batch, { labels: true, numClasses, vision });
  const results: ParityResult[] = [];
  for (const mode of ['full', 'lora'] as const) {
    const prefix = mode === 'full' ? 'grad.' : 'lora.grad.';
    const wanted = out.names.filter((n) => n.startsWith(prefix));
    if (wanted.length === 0 || (mode === 'lora' && !lora)) continue;
    const lossName = mode === 'full' ? 'loss' : 'lora.loss';
    const logitsName = mode === 'full' ? 'logits' : 'lora.logits';
    const lossRef = Number((await out.read(lossName)).data[0]);
    const logitsRef = out.names.includes(logitsName) ? await out.read(logitsName) : null;
    for (const precision of o.precisions) {
      const name = `fixture.${mode}.${precision}`;
      try {
        const got = await gradients(config, weights, lora, mode, precision, prep.feeds, numClasses, vision, o.provider, o.deviceId);
        const pairs: [string, TensorData, TensorData][] = [];
        for (const n of wanted) {
          const param = n.slice(prefix.length);
          if (param === `${EMBED}.rows`) continue;
          if (param === `${EMBED}.values`) {
            const g = got.grads[EMBED];
            if (!g) continue;
            const rows = Array.from((await out.read(`${prefix}${EMBED}.rows`)).data as BigInt64Array, Number);
            const H = g.dims[1]!;
            const picked = new Float32Array(rows.length * H);
            rows.forEach((r, i) => picked.set(f32(g).subarray(r * H, (r + 1) * H), i * H));
            pairs.push([n, { dtype: 'float32', dims: [rows.length, H], data: picked }, await out.read(n)]);
            continue;
          }
          const g = got.grads[param];
          if (g) pairs.push([n, g, await out.read(n)]);
        }
        results.push(judge(name, mode, precision, o.provider, got, { loss: lossRef, logits: logitsRef, grads: pairs }));
      } catch (e) {
        results.push(failed(name, mode, precision, o.provider, e));
      }
    }
  }
  await out.close();
  return results;
}
