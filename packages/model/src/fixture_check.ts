// Compare this implementation against a golden-fixture folder in the
// ../shared/fixtures format: config.json + model.safetensors (+ head.safetensors,
// lora.safetensors + adapter_config.json), inputs.safetensors, outputs.safetensors.
// The list of tensors to check is read from outputs.safetensors; every forward
// tensor the model can produce is computed and compared, the rest are listed
// as skipped with the reason.
import { tensorData, type TensorData } from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import type { LoraConfig } from './lora/config.js';
import { buildQwen3VLGraph, paramsFromMap } from './qwen3_vl/build.js';
import type { Qwen3VLConfig } from './qwen3_vl/config.js';
import { prepareQwen3VLInputs, visionRotaryAngles, readGrids, type Qwen3VLBatch } from './qwen3_vl/host_inputs.js';
import { qwen3VLTapNames } from './qwen3_vl/taps.js';
import { fixtureGreedyKv } from './generate/fixture.js';
import { loadFixtureFolder } from './fixture_files.js';

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

export interface TensorCheck {
  readonly name: string;
  readonly shape: readonly number[];
  /** max |got - want| over compared elements */
  readonly maxAbs: number;
  /** maxAbs / max |want| (normwise relative error) */
  readonly maxRel: number;
  /** worst |got - want| / (atol + rtol |want|); <= 1 passes */
  readonly worstRatio: number;
  readonly tol: Tolerance;
  readonly ok: boolean;
  /** How many elements were compared (rows with attention_mask == 0 are left out). */
  readonly compared: number;
}

export interface FixtureReport {
  readonly dir: string;
  readonly checks: TensorCheck[];
  readonly skipped: { name: string; reason: string }[];
  readonly ok: boolean;
}

/** The fixture README's suggested fp32 tolerances for an independent implementation. */
export function toleranceFor(name: string): Tolerance {
  const base = name.startsWith('lora.') ? name.slice(5) : name;
  if (base === 'loss' || base === 'logits') return { atol: 1e-5, rtol: 0 };
  if (base.startsWith('generate.first_logits') || base === 'lm_logits') return { atol: 1e-4, rtol: 1e-4 };
  // Generated tokens and integer ids must match exactly.
  if (base === 'generate.tokens' || base.endsWith('rope_deltas') || base === 'position_ids') return { atol: 0, rtol: 0 };
  return { atol: 1e-4, rtol: 1e-4 };
}

function asNumbers(t: TensorData): ArrayLike<number> {
  if (t.dtype === 'int64') return Array.from(t.data as BigInt64Array, Number);
  return t.data as ArrayLike<number>;
}

/** Compare two tensors of equal shape; `keep(i)` selects the compared elements. */
export function compareTensors(name: string, got: TensorData, want: TensorData, keep?: (i: number) => boolean, tol = toleranceFor(name)): TensorCheck {
  if (got.dims.length !== want.dims.length || got.dims.some((d, i) => d !== want.dims[i])) {
    return { name, shape: [...want.dims], maxAbs: Infinity, maxRel: Infinity, worstRatio: Infinity, tol, ok: false, compared: 0 };
  }
  const a = asNumbers(got);
  const b = asNumbers(want);
  let maxAbs = 0;
  let maxRef = 0;
  let worst = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    if (keep && !keep(i)) continue;
    n++;
    const d = Math.abs(a[i]! - b[i]!);
    const r = Math.abs(b[i]!);
    if (!(d <= maxAbs)) maxAbs = d; // NaN propagates as a failure
    if (r > maxRef) maxRef = r;
    const allowed = tol.atol + tol.rtol * r;
    const ratio = allowed > 0 ? d / allowed : d === 0 ? 0 : Infinity;
    if (!(ratio <= worst)) worst = ratio;
  }
  const maxRel = maxRef > 0 ? maxAbs / maxRef : maxAbs;
  return { name, shape: [...want.dims], maxAbs, maxRel, worstRatio: worst, tol, ok: worst <= 1, compared: n };
}

/** Elements of a [..., B, S, ...] tensor whose (b, s) has attention_mask 1. */
function maskKeep(dims: readonly number[], mask: BigInt64Array, B: number, S: number): ((i: number) => boolean) | undefined {
  let axis = -1;
  for (let k = 0; k + 1 < dims.length; k++) if (dims[k] === B && dims[k + 1] === S) { axis = k; break; }
  if (axis < 0) return undefined;
  const inner = dims.slice(axis + 2).reduce((x, y) => x * y, 1);
  return (i: number) => mask[Math.floor(i / inner) % (B * S)] === 1n;
}

export interface CheckFixtureOptions {
  /** ORT intra-op threads. */
  readonly threads?: number;
  /** Also check grad.* / lora.grad.* with the training artifacts (default true). */
  readonly gradients?: boolean;
}

/** Run every forward tensor of a fixture through this implementation and compare. */
export async function checkFixture(dir: string, opts: CheckFixtureOptions = {}): Promise<FixtureReport> {
  const { config, batch, weights, numClasses, lora, outputs: outFile } = await loadFixtureFolder(dir);
  const outNames = outFile.names;
  const readOut = (n: string): Promise<TensorData> => outFile.read(n);
  const [B, S] = batch.inputIds.dims as [number, number];
  const mask64 = BigInt64Array.from(batch.attentionMask.data as BigInt64Array);

  const withLoss = numClasses !== undefined && batch.labels !== undefined;
  const prepared = prepareQwen3VLInputs(config, batch, { labels: withLoss, ...(numClasses !== undefined ? { numClasses } : {}) });

  const checks: TensorCheck[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const produced = new Map<string, TensorData>();

  // Host-side tensors.
  produced.set('position_ids', prepared.positionIds);
  produced.set('rope_deltas', prepared.ropeDeltas);
  produced.set('text.rope_cos', prepared.feeds['text.rope_cos']!);
  produced.set('text.rope_sin', prepared.feeds['text.rope_sin']!);
  if (batch.imageGridThw) {
    const ang = visionRotaryAngles(config, readGrids(config, batch.imageGridThw));
    produced.set('vision.rot_pos_emb', tensorData('float32', [ang.length / (config.vision.headDim / 2), config.vision.headDim / 2], ang));
  }

  const run = async (prefix: string, loraCfg: LoraConfig | null): Promise<void> => {
    const taps = new Set(qwen3VLTapNames(config, { vision: batch.pixelValues !== undefined, numClasses, loss: withLoss }));
    const wanted = outNames.filter((n) => n.startsWith(prefix) && taps.has(n.slice(prefix.length))).map((n) => n.slice(prefix.length));
    const lmHead = prefix === '' && outNames.includes('generate.first_logits');
    if (wanted.length === 0 && !lmHead) return;
    const { graph } = buildQwen3VLGraph(config, (g) => paramsFromMap(g, weights, { source: dir }), {
      vision: batch.pixelValues !== undefined,
      ...(numClasses !== undefined ? { numClasses } : {}),
      loss: withLoss,
      lora: loraCfg,
      lmHead,
      outputs: wanted,
    });
    const session = await createSession(graph, { intraOpThreads: opts.threads ?? 1 });
    try {
      const feeds: Record<string, TensorData> = {};
      for (const i of session.inputs) feeds[i.name] = prepared.feeds[i.name]!;
      const res = await session.run(feeds);
      for (const n of wanted) produced.set(prefix + n, res[n]!);
      if (lmHead) produced.set('generate.first_logits', res['lm_logits']!);
    } finally {
      await session.dispose();
    }
  };
  await run('', null);
  if (lora) await run('lora.', lora);
  let kvVsNoCache: TensorCheck | undefined;
  if (outNames.includes('generate.tokens') && batch.pixelValues) {
    const steps = (await outFile.read('generate.tokens')).dims[1] ?? 0;
    // generate.* come from the KV-cache decoder (generate/); cache-less greedy decoding cross-checks its tokens.
    for (const [k, v] of await fixtureGreedyKv(config, weights, batch, steps, { threads: opts.threads ?? 1 })) produced.set(k, v);
    const noCache = await greedyGenerate(config, weights, batch, steps, opts.threads ?? 1);
    kvVsNoCache = compareTensors('generate.tokens.kv_vs_no_cache', produced.get('generate.tokens')!, noCache.get('generate.tokens')!, undefined, { atol: 0, rtol: 0 });
  }

  // Gradients come from the training artifacts (artifacts/gradient_check.ts), loaded lazily.
  const gradChecks = new Map<string, TensorCheck[]>();
  const gradSkipped = new Map<string, string>();
  if ((opts.gradients ?? true) && numClasses !== undefined && outNames.some((n) => n.includes('grad.'))) {
    const { checkFixtureGradients } = await import('./artifacts/gradient_check.js');
    const g = await checkFixtureGradients(dir, opts.threads !== undefined ? { threads: opts.threads } : {});
    for (const c of g.checks) {
      if (!c.name.includes('grad.')) continue; // losses are compared by the forward pass above
      const key = c.name.replace(/\.(rows|values|other_rows_zero)$/, '');
      gradChecks.set(key, [...(gradChecks.get(key) ?? []), c]);
    }
    for (const s of g.skipped) gradSkipped.set(s.name, s.reason);
  }

  for (const name of outNames) {
    const grads = gradChecks.get(name.replace(/\.(rows|values)$/, ''));
    if (grads) {
      if (!name.endsWith('.rows')) checks.push(...grads.filter((c) => !checks.includes(c)));
      continue;
    }
    if (gradSkipped.has(name)) {
      skipped.push({ name, reason: gradSkipped.get(name)! });
      continue;
    }
    const got = produced.get(name);
    if (!got) {
      const reason = name.includes('grad.')
        ? 'gradient (needs the training graph)'
        : name.startsWith('lora.') && !lora
          ? 'no lora.safetensors / adapter_config.json'
          : name.startsWith('generate.')
            ? 'greedy generation (chat)'
            : 'not produced by this implementation';
      skipped.push({ name, reason });
      continue;
    }
    const want = await readOut(name);
    // Per-token activations are compared at attention_mask == 1 only (the fixture README's rule).
    const perToken = /^(lora\.)?(last_hidden_state|text\.|position_ids)/.test(name);
    checks.push(compareTensors(name, got, want, perToken ? maskKeep(want.dims, mask64, B, S) : undefined));
  }
  if (kvVsNoCache) checks.push(kvVsNoCache);
  await outFile.close();
  return { dir, checks, skipped, ok: checks.every((c) => c.ok) };
}

/**
 * Greedy decoding without a KV cache, one sample at a time (the fixture
 * README's procedure): each step re-runs the whole forward over the sequence
 * so far and appends argmax of the vocabulary logits at the last token.
 */
async function greedyGenerate(
  config: Qwen3VLConfig,
  weights: ReadonlyMap<string, TensorData>,
  batch: Qwen3VLBatch,
  steps: number,
  threads: number,
): Promise<Map<string, TensorData>> {
  const { graph } = buildQwen3VLGraph(config, (g) => paramsFromMap(g, weights), { lmHead: true });
  const session = await createSession(graph, { intraOpThreads: threads });
  const [B, S] = batch.inputIds.dims as [number, number];
  const ids = Array.from(batch.inputIds.data as BigInt64Array, Number);
  const mask = Array.from(batch.attentionMask.data as BigInt64Array, Number);
  const grids = readGrids(config, batch.imageGridThw);
  const pv = batch.pixelValues!;
  const row = pv.dims[1]!;
  const tokens = new BigInt64Array(B * steps);
  const margins = new Float32Array(B * steps);
  const deltas = new BigInt64Array(B);
  let firstImage = 0;
  let firstPatch = 0;
  try {
    for (let b = 0; b < B; b++) {
      const seq = ids.slice(b * S, b * S + S).filter((_, s) => mask[b * S + s] === 1);
      let nImages = 0;
      for (let i = 0; i + 1 < seq.length; i++) if (seq[i] === config.visionStartTokenId && seq[i + 1] === config.imageTokenId) nImages++;
      const myGrids = grids.slice(firstImage, firstImage + nImages);
      const nPatches = myGrids.reduce((a, g) => a + g.t * g.h * g.w, 0);
      const gridData = BigInt64Array.from(myGrids.flatMap((g) => [g.t, g.h, g.w]), BigInt);
      const pixels = tensorData('float32', [nPatches, row], (pv.data as Float32Array).slice(firstPatch * row, (firstPatch + nPatches) * row));
      firstImage += nImages;
      firstPatch += nPatches;
      for (let step = 0; step < steps; step++) {
        const L = seq.length;
        const prep = prepareQwen3VLInputs(config, {
          inputIds: tensorData('int64', [1, L], BigInt64Array.from(seq, BigInt)),
          attentionMask: tensorData('int64', [1, L], new BigInt64Array(L).fill(1n)),
          pixelValues: pixels,
          imageGridThw: tensorData('int64', [nImages, 3], gridData),
        });
        if (step === 0) deltas[b] = (prep.ropeDeltas.data as BigInt64Array)[0]!;
        const feeds = Object.fromEntries(session.inputs.map((i) => [i.name, prep.feeds[i.name]!]));
        const logits = (await session.run(feeds, ['lm_logits']))['lm_logits']!.data as Float32Array;
        let best = 0;
        for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
        let second = -Infinity;
        for (let i = 0; i < logits.length; i++) if (i !== best && logits[i]! > second) second = logits[i]!;
        tokens[b * steps + step] = BigInt(best);
        margins[b * steps + step] = logits[best]! - second;
        seq.push(best);
      }
    }
  } finally {
    await session.dispose();
  }
  return new Map([
    ['generate.tokens', tensorData('int64', [B, steps], tokens)],
    ['generate.top2_margin', tensorData('float32', [B, steps], margins)],
    ['generate.rope_deltas', tensorData('int64', [B, 1], deltas)],
  ]);
}

export function formatFixtureReport(r: FixtureReport): string {
  const w = Math.max(12, ...r.checks.map((c) => c.name.length));
  const lines = [
    `fixture ${r.dir}: ${r.checks.length} tensors compared, ${r.skipped.length} skipped`,
    `${'tensor'.padEnd(w)}  ${'shape'.padEnd(14)}  ${'max_abs'.padStart(9)}  ${'max_rel'.padStart(9)}  tolerance (|d| <= atol + rtol|ref|)  status`,
  ];
  for (const c of r.checks) {
    lines.push(
      `${c.name.padEnd(w)}  ${`[${c.shape.join(',')}]`.padEnd(14)}  ${c.maxAbs.toExponential(2).padStart(9)}  ${c.maxRel.toExponential(2).padStart(9)}  atol ${c.tol.atol.toExponential(0)} rtol ${c.tol.rtol.toExponential(0)}${' '.repeat(14)}  ${c.ok ? 'ok' : 'FAIL'}`,
    );
  }
  for (const s of r.skipped) lines.push(`${s.name.padEnd(w)}  skipped: ${s.reason}`);
  lines.push(r.ok ? 'all compared tensors within tolerance' : `FAILED: ${r.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')}`);
  return lines.join('\n');
}
