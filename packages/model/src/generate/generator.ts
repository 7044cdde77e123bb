// KV-cache text generation with Qwen3-VL (transformers generation/utils.py
// GenerationMixin._sample with use_cache=True, for one sequence): prefill the
// prompt once (vision tower for its images, then the decoder over all its
// tokens), then one decoder step per new token with the cached k/v. The cache
// stays as ORT tensors between steps (present.* of step n is fed as past.* of
// step n + 1 without a copy into JS); only the last token's logits come back.
// M-RoPE: new token k of a prompt of length L gets position L + k + rope_delta
// on all three axes (HF: cache_position + rope_deltas), i.e. max position + 1.
import { tensorData, type TensorData } from '@vlreward/graph';
import { createSession, ort, type InferenceSession, type OrtTensor, type Provider, type Session } from '@vlreward/graph/runtime';
import { paramsFromMap } from '../qwen3_vl/build.js';
import type { Qwen3VLConfig } from '../qwen3_vl/config.js';
import { getRopeIndex, InputError, MASK_MIN, prepareQwen3VLInputs, readGrids, type Grid } from '../qwen3_vl/host_inputs.js';
import { textRopeCosSin } from '../qwen3_vl/rope.js';
import { buildDecoderGraph, buildVisionGraph, GEN_NAMES } from './graphs.js';
import { checkLoraAdapter, loraAdapterTensors, mergeLoraAdapter, type LoraAdapter } from './lora.js';
import { Sampler, type SamplingOptions } from './sampling.js';

/** One image as the processor gives it: its pixel rows [t·h·w, patchDim] and grid (t, h, w) in patches. */
export interface GenerationImage {
  readonly pixelValues: TensorData;
  readonly grid: readonly [number, number, number];
}

export interface GeneratorOptions {
  /** ORT intra-op threads (default: ORT's choice). */
  readonly threads?: number;
  readonly provider?: Provider;
  /** LoRA adapter on top of the base weights. */
  readonly adapter?: LoraAdapter | null;
  /** 'merge' (default): W + s·B·A once, fastest; 'apply': factors as initializers in the graph (as in training). */
  readonly lora?: 'merge' | 'apply';
  /** Longest sequence (prompt + new tokens); default text_config.max_position_embeddings (else 262144). */
  readonly maxContext?: number;
  /** Extra ORT session options (profiling, graph optimization level, …) for the decoder and vision sessions. */
  readonly session?: Session.Options;
}

export interface GenerateRequest {
  /** Prompt token ids, image placeholders already expanded (one <|image_pad|> per merged image token). */
  readonly inputIds: readonly number[];
  /** Every image of the prompt, in order (their placeholders are in inputIds). */
  readonly images?: readonly GenerationImage[];
  /** Default 128. */
  readonly maxNewTokens?: number;
  readonly sampling?: SamplingOptions;
  /** Generation stops after emitting one of these (default: <|im_end|> 151645 and the config's eos ids). Pass [] to never stop early. */
  readonly stopTokens?: readonly number[];
  /** Called with every new token as soon as it is chosen (streaming). */
  readonly onToken?: (token: number, index: number) => void;
  /** Keep the vocabulary logits of every step in the result (tests; 600 KB per step at Qwen's vocabulary). */
  readonly keepLogits?: boolean;
}

export interface GenerateResult {
  /** New tokens (including the stop token when one ended generation). */
  readonly tokens: number[];
  readonly stopReason: 'stop' | 'length' | 'context';
  /** Logits of the prompt's last position (before any new token). */
  readonly firstLogits: Float32Array;
  /** Logits that chose each token (keepLogits). */
  readonly stepLogits?: Float32Array[];
  /** max M-RoPE position of the prompt + 1 − prompt length (HF rope_deltas for an unpadded prompt). */
  readonly ropeDelta: number;
  readonly promptTokens: number;
  /** Prompt tokens whose k/v were reused from the previous call (a conversation's earlier turns). */
  readonly reusedTokens: number;
  readonly prefillMs: number;
  /** Decoder steps after the prefill and their total time. */
  readonly decodeSteps: number;
  readonly decodeMs: number;
}

export class GenerateError extends Error {
  override readonly name = 'GenerateError';
}

interface CacheState {
  ids: number[];
  images: GenerationImage[];
  kv: OrtTensor[];
}

const DEFAULT_CONTEXT = 262144;

/**
 * A loaded Qwen3-VL causal LM with a KV cache. Batch size 1. The cache of the
 * last call is kept: a request whose prompt extends the previous prompt +
 * generated tokens (the next turn of a chat) only prefills the new tokens.
 */
export class Qwen3VLGenerator {
  private vision: InferenceSession | null = null;
  private cache: CacheState | null = null;
  readonly maxContext: number;
  readonly stopTokens: readonly number[];

  private constructor(
    readonly config: Qwen3VLConfig,
    private readonly weights: ReadonlyMap<string, TensorData>,
    readonly decoder: InferenceSession,
    private readonly opts: GeneratorOptions,
  ) {
    const tc = (config.raw.text_config ?? {}) as Record<string, unknown>;
    const mpe = typeof tc.max_position_embeddings === 'number' ? tc.max_position_embeddings : DEFAULT_CONTEXT;
    this.maxContext = opts.maxContext ?? mpe;
    const eos = tc.eos_token_id ?? config.raw.eos_token_id;
    const eosIds = (Array.isArray(eos) ? eos : eos === undefined ? [] : [eos]).filter((x): x is number => typeof x === 'number');
    this.stopTokens = [...new Set([151645, ...eosIds])];
  }

  /** Build the decoder graph (base weights as initializers; LoRA merged or applied) and load it into ORT. */
  static async create(config: Qwen3VLConfig, weights: ReadonlyMap<string, TensorData>, opts: GeneratorOptions = {}): Promise<Qwen3VLGenerator> {
    if (opts.maxContext !== undefined && !(Number.isInteger(opts.maxContext) && opts.maxContext > 0)) {
      throw new GenerateError(`maxContext ${opts.maxContext}: expected a positive integer`);
    }
    let base = weights;
    let applied: LoraAdapter | null = null;
    if (opts.adapter) {
      if ((opts.lora ?? 'merge') === 'merge') base = await mergeLoraAdapter(weights, opts.adapter, opts.threads !== undefined ? { threads: opts.threads } : {});
      else {
        applied = checkLoraAdapter(opts.adapter, weights);
        base = new Map([...weights, ...loraAdapterTensors(applied)]);
      }
    }
    const graph = buildDecoderGraph(config, (g) => paramsFromMap(g, base), applied);
    const decoder = await createSession(graph, sessionOpts(opts));
    // Only the vision weights stay referenced (the tower is built on the first image); the text weights now live in ORT.
    const visual = new Map([...base].filter(([k]) => k.startsWith('model.visual.')));
    return new Qwen3VLGenerator(config, visual, decoder, opts);
  }

  /** Forget the cached conversation (the next call prefills from scratch). */
  reset(): void {
    this.cache = null;
  }

  async dispose(): Promise<void> {
    this.cache = null;
    await this.decoder.dispose();
    await this.vision?.dispose();
  }

  /** Prefill (reusing the cache where the prompt extends it), then sample up to maxNewTokens. */
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const sampler = new Sampler(req.sampling ?? {});
    const maxNew = req.maxNewTokens ?? 128;
    if (!(Number.isInteger(maxNew) && maxNew >= 0)) throw new GenerateError(`maxNewTokens ${maxNew}: expected an integer >= 0`);
    const ids = [...req.inputIds];
    const images = [...(req.images ?? [])];
    if (ids.length === 0) throw new GenerateError('the prompt is empty (no input ids)');
    if (ids.length > this.maxContext) {
      throw new GenerateError(`the prompt is ${ids.length} tokens, longer than the context of ${this.maxContext} tokens (max_position_embeddings or maxContext)`);
    }
    const stop = new Set(req.stopTokens ?? this.stopTokens);

    const t0 = performance.now();
    const { logits: first, reused, nextPos, ropeDelta } = await this.prefill(ids, images);
    const prefillMs = performance.now() - t0;
    let logits = first;
    const firstLogits = Float32Array.from(first);
    const stepLogits: Float32Array[] = [];
    const tokens: number[] = [];
    const seen = [...ids];
    let stopReason: GenerateResult['stopReason'] = 'length';
    let pos = nextPos;
    let decodeSteps = 0;
    const t1 = performance.now();
    for (let k = 0; k < maxNew; k++) {
      if (ids.length + tokens.length >= this.maxContext) {
        stopReason = 'context';
        break;
      }
      if (req.keepLogits) stepLogits.push(Float32Array.from(logits));
      const tok = sampler.next(logits, seen);
      tokens.push(tok);
      seen.push(tok);
      req.onToken?.(tok, k);
      if (stop.has(tok)) {
        stopReason = 'stop';
        break;
      }
      if (k + 1 === maxNew) break;
      logits = await this.step(tok, pos++);
      decodeSteps++;
    }
    return {
      tokens,
      stopReason,
      firstLogits,
      ...(req.keepLogits ? { stepLogits } : {}),
      ropeDelta,
      promptTokens: ids.length,
      reusedTokens: reused,
      prefillMs,
      decodeSteps,
      decodeMs: performance.now() - t1,
    };
  }

  /** Logits of the last prompt position with the cache filled for `ids`. */
  private async prefill(ids: number[], images: GenerationImage[]): Promise<{ logits: Float32Array; reused: number; nextPos: number; ropeDelta: number }> {
    const c = this.config;
    const grids: Grid[] = readGrids(
      c,
      images.length ? tensorData('int64', [images.length, 3], BigInt64Array.from(images.flatMap((im) => im.grid.map(BigInt)))) : undefined,
    );
    images.forEach((im, i) => {
      const [t, h, w] = im.grid;
      if (im.pixelValues.dims[0] !== t * h * w || im.pixelValues.dims[1] !== c.vision.patchDim) {
        throw new InputError(`image ${i}: pixel_values [${im.pixelValues.dims.join(', ')}] do not match grid [${t}, ${h}, ${w}] (expected [${t * h * w}, ${c.vision.patchDim}])`);
      }
    });
    const pads = ids.filter((x) => x === c.imageTokenId).length;
    const want = grids.reduce((a, g) => a + (g.t * g.h * g.w) / c.vision.spatialMergeSize ** 2, 0);
    if (pads !== want) throw new InputError(`the prompt holds ${pads} <|image_pad|> tokens but the ${images.length} image(s) give ${want} features`);
    const L = ids.length;
    const one = tensorData('int64', [1, L], new BigInt64Array(L).fill(1n));
    const { positionIds, ropeDeltas } = getRopeIndex(c, tensorData('int64', [1, L], BigInt64Array.from(ids, BigInt)), one, grids);
    const ropeDelta = Number(ropeDeltas[0]);
    let maxPos = 0;
    for (const p of positionIds) maxPos = Math.max(maxPos, Number(p));

    // Reuse the cached k/v of the longest common token prefix (a chat's earlier turns), never cutting
    // through an image's placeholder run, and only when the images before the cut are the same.
    let start = 0;
    let firstImage = 0;
    let past: OrtTensor[] | null = null;
    const prev = this.cache;
    if (prev) {
      let n = 0;
      const lim = Math.min(prev.ids.length, L - 1);
      while (n < lim && prev.ids[n] === ids[n]) n++;
      while (n > 0 && ids[n] === c.imageTokenId) n--; // back out of a placeholder run
      let runs = 0;
      for (let i = 0; i < n; i++) if (ids[i] === c.imageTokenId && (i === 0 || ids[i - 1] !== c.imageTokenId)) runs++;
      const sameImages = runs <= prev.images.length && prev.images.slice(0, runs).every((im, i) => images[i] !== undefined && sameImage(im, images[i]!));
      if (n > 0 && sameImages) {
        start = n;
        firstImage = runs;
        past = n === prev.ids.length ? prev.kv : await truncateKv(prev.kv, n);
        if (past !== prev.kv) this.cache = { ...prev, ids: prev.ids.slice(0, n), kv: past };
      }
    }
    const chunk = ids.slice(start);
    const S = chunk.length;
    const pos = new BigInt64Array(3 * S);
    for (let a = 0; a < 3; a++) for (let s = 0; s < S; s++) pos[a * S + s] = positionIds[a * L + start + s]!;
    const vis = await this.visionFeeds(images.slice(firstImage));
    const logits = await this.runChunk(chunk, pos, past, vis);
    this.cache!.images = images;
    return { logits, reused: start, nextPos: maxPos + 1, ropeDelta };
  }

  /** One decoder step: `token` at M-RoPE position `pos` (all three axes). */
  private async step(token: number, pos: number): Promise<Float32Array> {
    const p = BigInt(pos);
    return this.runChunk([token], BigInt64Array.from([p, p, p]), this.cache!.kv, null);
  }

  private async visionFeeds(images: GenerationImage[]): Promise<Record<string, TensorData> | null> {
    if (images.length === 0) return null;
    const c = this.config;
    if (!this.vision) this.vision = await createSession(buildVisionGraph(c, (g) => paramsFromMap(g, this.weights)), sessionOpts(this.opts));
    const rows = images.reduce((a, im) => a + im.pixelValues.dims[0]!, 0);
    const pixels = new Float32Array(rows * c.vision.patchDim);
    let off = 0;
    for (const im of images) {
      pixels.set(im.pixelValues.data as Float32Array, off);
      off += (im.pixelValues.data as Float32Array).length;
    }
    const T = rows / c.vision.spatialMergeSize ** 2;
    // prepareQwen3VLInputs computes the tower's index/table feeds; a row of T placeholders stands in for the text.
    const prep = prepareQwen3VLInputs(c, {
      inputIds: tensorData('int64', [1, T], new BigInt64Array(T).fill(BigInt(c.imageTokenId))),
      attentionMask: tensorData('int64', [1, T], new BigInt64Array(T).fill(1n)),
      pixelValues: tensorData('float32', [rows, c.vision.patchDim], pixels),
      imageGridThw: tensorData('int64', [images.length, 3], BigInt64Array.from(images.flatMap((im) => im.grid.map(BigInt)))),
    });
    const feeds = Object.fromEntries(this.vision.inputs.map((i) => [i.name, prep.feeds[i.name]!]));
    return this.vision.run(feeds);
  }

  /** Run the decoder over `chunk` after the cached `past` (null = empty); keeps present k/v as the new cache. */
  private async runChunk(chunk: number[], pos: BigInt64Array, past: OrtTensor[] | null, vis: Record<string, TensorData> | null): Promise<Float32Array> {
    const c = this.config;
    const t = c.text;
    const S = chunk.length;
    const P = past ? past[0]!.dims[2]! : 0;
    const H = t.hiddenSize;
    const rope = textRopeCosSin(c, pos, 1, S);
    const embedIndex = new BigInt64Array(S);
    const dsIndex = new BigInt64Array(S);
    let k = 0;
    for (let s = 0; s < S; s++) {
      if (chunk[s] === c.imageTokenId && vis) {
        embedIndex[s] = BigInt(S + k);
        dsIndex[s] = BigInt(1 + k);
        k++;
      } else embedIndex[s] = BigInt(s);
    }
    const bias = new Float32Array(S * (P + S));
    for (let i = 0; i < S; i++) for (let j = P + i + 1; j < P + S; j++) bias[i * (P + S) + j] = MASK_MIN;
    const empty = tensorData('float32', [0, H], new Float32Array(0));
    const feeds: Record<string, TensorData | OrtTensor> = {
      [GEN_NAMES.inputIds]: tensorData('int64', [1, S], BigInt64Array.from(chunk, BigInt)),
      [GEN_NAMES.imageEmbeds]: vis ? vis[GEN_NAMES.imageEmbeds]! : empty,
      [GEN_NAMES.embedIndex]: tensorData('int64', [1, S], embedIndex),
      [GEN_NAMES.deepstackIndex]: tensorData('int64', [1, S], dsIndex),
      [GEN_NAMES.cos]: tensorData('float32', [1, S, t.headDim], rope.cos),
      [GEN_NAMES.sin]: tensorData('float32', [1, S, t.headDim], rope.sin),
      [GEN_NAMES.bias]: tensorData('float32', [1, 1, S, P + S], bias),
      [GEN_NAMES.lastIndex]: tensorData('int64', [1], BigInt64Array.from([BigInt(S - 1)])),
    };
    c.vision.deepstackVisualIndexes.forEach((_, d) => (feeds[GEN_NAMES.deepstack(d)] = vis ? vis[GEN_NAMES.deepstack(d)]! : empty));
    const kvEmpty = tensorData('float32', [1, t.numKeyValueHeads, 0, t.headDim], new Float32Array(0));
    for (let i = 0; i < t.numHiddenLayers; i++) {
      feeds[GEN_NAMES.pastKey(i)] = past ? past[2 * i]! : kvEmpty;
      feeds[GEN_NAMES.pastValue(i)] = past ? past[2 * i + 1]! : kvEmpty;
    }
    const out = await this.decoder.runOrt(feeds);
    const kv: OrtTensor[] = [];
    for (let i = 0; i < t.numHiddenLayers; i++) kv.push(out[GEN_NAMES.presentKey(i)]!, out[GEN_NAMES.presentValue(i)]!);
    const ids = past && this.cache ? this.cache.ids : [];
    this.cache = { ids: [...ids, ...chunk], images: this.cache?.images ?? [], kv };
    const logits = out[GEN_NAMES.logits]!;
    return (await logits.getData()) as Float32Array;
  }

  /** Tokens whose k/v the cache holds. */
  get cachedTokens(): number {
    return this.cache?.ids.length ?? 0;
  }
}

/** The first n positions of cached k/v [1, Hkv, T, D] (a host copy; once per turn at most). */
async function truncateKv(kv: readonly OrtTensor[], n: number): Promise<OrtTensor[]> {
  return Promise.all(
    kv.map(async (t) => {
      const [b, h, T, d] = t.dims as [number, number, number, number];
      const src = (await t.getData()) as Float32Array;
      const dst = new Float32Array(b * h * n * d);
      for (let i = 0; i < b * h; i++) dst.set(src.subarray(i * T * d, i * T * d + n * d), i * n * d);
      return new ort.Tensor('float32', dst, [b, h, n, d]);
    }),
  );
}

function sessionOpts(o: GeneratorOptions): Session.Options {
  return { ...(o.session ?? {}), ...(o.provider ? { provider: o.provider } : {}), ...(o.threads !== undefined ? { intraOpThreads: o.threads } : {}) };
}

function sameImage(a: GenerationImage, b: GenerationImage): boolean {
  if (a === b) return true;
  if (a.grid.some((v, i) => v !== b.grid[i])) return false;
  const x = a.pixelValues.data as Float32Array;
  const y = b.pixelValues.data as Float32Array;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
