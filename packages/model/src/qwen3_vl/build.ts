// The Qwen3-VL reward-model forward as one graph-building function. Every
// weight comes through a ParamSource, every grid/layout-dependent table is a
// graph input computed by host_inputs.ts, and batch / sequence / patch counts
// stay symbolic. Training builds (autodiff + AdamW) call the same function.
import { gather, Graph, linear, type DType, type Shape, type Tensor, type TensorData } from '@vlreward/graph';
import { classificationLoss, classifierHead, poolLastToken } from '../heads/classifier.js';
import { loraScale, type LoraConfig, type LoraModule } from '../lora/config.js';
import type { LoraFactors } from '../lora/linear.js';
import { loraTargets, type LoraTarget } from '../lora/targets.js';
import type { Qwen3VLConfig } from './config.js';
import { mergeImageEmbeds } from './deepstack.js';
import { INPUT_NAMES } from './host_inputs.js';
import type { ParamSource } from './params.js';
import { buildTextDecoder } from './text.js';
import { buildVisionTower } from './vision.js';

/** Symbolic dimension names of the graph inputs. */
export const DIMS = {
  batch: 'batch',
  seq: 'seq',
  patches: 'patches',
  segments: 'segments',
  segmentLen: 'segment_len',
} as const;

export interface ForwardOptions {
  /** Build the vision tower and its inputs (default true). */
  readonly vision?: boolean;
  /** Reward head Linear(hidden, numClasses) → `logits`; omit for no head. */
  readonly numClasses?: number;
  /** Add a `labels` input and the mean cross-entropy `loss` (needs numClasses). */
  readonly loss?: boolean;
  /** Per-class loss weights (F.cross_entropy's `weight`: a weighted mean); default unweighted. */
  readonly classWeights?: readonly number[] | null;
  /** LoRA adapters on the text decoder projections (PEFT names via ParamSource). */
  readonly lora?: LoraConfig | null;
  /**
   * Dropout applied to each adapter's input (training graphs only). Called once
   * per LoRA site; return e.g. x * mask / (1 - p) built from a seed or mask input.
   */
  readonly loraDropout?: (x: Tensor, site: LoraTarget) => Tensor;
  /** Causal-LM logits over the vocabulary at the last real token (`lm_logits` [B, V]). */
  readonly lmHead?: boolean;
  /** Intermediate tensors to expose in `taps` (fixture names such as 'vision.block_out.1'), or 'all'. */
  readonly taps?: readonly string[] | 'all';
}

export interface ForwardResult {
  /** Graph inputs the forward created, by name (feed them with prepareQwen3VLInputs). */
  readonly inputs: Readonly<Record<string, Tensor>>;
  readonly lastHiddenState: Tensor;
  readonly pooled: Tensor;
  readonly logits?: Tensor;
  readonly loss?: Tensor;
  readonly lmLogits?: Tensor;
  /** Named intermediates, fixture naming (image_embeds, deepstack.k, text.layer_out.i, …). */
  readonly taps: ReadonlyMap<string, Tensor>;
  /** LoRA sites in build order (PEFT names of A/B). */
  readonly loraTargets: readonly LoraTarget[];
}

/**
 * Qwen3VLModel + reward head (modeling_qwen3_vl.py Qwen3VLModel.forward):
 * vision tower → image features scattered into token embeddings → decoder
 * with DeepStack adds after the first layers → final norm → last-token pool →
 * classifier → loss.
 */
export function buildQwen3VLForward(g: Graph, config: Qwen3VLConfig, params: ParamSource, opts: ForwardOptions = {}): ForwardResult {
  const useVision = opts.vision ?? true;
  const t = config.text;
  const v = config.vision;
  const { batch: B, seq: S, patches: P, segments: N, segmentLen: L } = DIMS;
  const inputs: Record<string, Tensor> = {};
  const input = (name: string, dtype: DType, shape: Shape): Tensor => (inputs[name] = g.input(name, dtype, shape));
  const taps = new Map<string, Tensor>();
  const want = (name: string): boolean => opts.taps === 'all' || (opts.taps?.includes(name) ?? false);

  const inputIds = input(INPUT_NAMES.inputIds, 'int64', [B, S]);
  let embeds = g.scope('language_model.embed_tokens', () =>
    gather(params('model.language_model.embed_tokens.weight', 'float32', [t.vocabSize, t.hiddenSize]), inputIds, 0),
  );

  let deepstack: Tensor[] = [];
  let deepstackIndex: Tensor | undefined;
  if (useVision) {
    const vis = buildVisionTower(
      g,
      config,
      params,
      {
        pixelValues: input(INPUT_NAMES.pixelValues, 'float32', [P, v.patchDim]),
        posIndex: input(INPUT_NAMES.posIndex, 'int64', [4, P]),
        posWeight: input(INPUT_NAMES.posWeight, 'float32', [4, P]),
        packIndex: input(INPUT_NAMES.visionPack, 'int64', [N, L]),
        unpackIndex: input(INPUT_NAMES.visionUnpack, 'int64', [P]),
        attnBias: input(INPUT_NAMES.visionBias, 'float32', [N, 1, 1, L]),
        cos: input(INPUT_NAMES.visionCos, 'float32', [N, L, v.headDim]),
        sin: input(INPUT_NAMES.visionSin, 'float32', [N, L, v.headDim]),
      },
      want,
    );
    for (const [k, x] of vis.taps) taps.set(k, x);
    const embedIndex = input(INPUT_NAMES.embedIndex, 'int64', [B, S]);
    deepstackIndex = input(INPUT_NAMES.deepstackIndex, 'int64', [B, S]);
    embeds = g.scope('merge_image_embeds', () => mergeImageEmbeds(embeds, vis.imageEmbeds, embedIndex));
    deepstack = vis.deepstack;
  }
  taps.set('text.inputs_embeds', embeds);

  const sites = opts.lora ? loraTargets(config, opts.lora) : [];
  const factors = new Map<string, LoraFactors>();
  if (opts.lora) {
    const scale = loraScale(opts.lora);
    for (const s of sites) {
      const dropout = opts.loraDropout && opts.lora.dropout > 0 ? (x: Tensor) => opts.loraDropout!(x, s) : undefined;
      factors.set(`${s.layer}:${s.kind}`, {
        a: params(s.nameA, 'float32', [opts.lora.r, s.inFeatures]),
        b: params(s.nameB, 'float32', [s.outFeatures, opts.lora.r]),
        scale,
        ...(dropout ? { dropout } : {}),
      });
    }
  }
  const lookup = (layer: number, kind: LoraModule): LoraFactors | null => factors.get(`${layer}:${kind}`) ?? null;

  const textCos = input(INPUT_NAMES.textCos, 'float32', [B, S, t.headDim]);
  const textSin = input(INPUT_NAMES.textSin, 'float32', [B, S, t.headDim]);
  const textBias = input(INPUT_NAMES.textBias, 'float32', [B, 1, S, S]);
  const hidden = buildTextDecoder(
    g,
    config,
    params,
    {
      inputsEmbeds: embeds,
      cos: textCos,
      sin: textSin,
      attnBias: textBias,
      deepstack,
      ...(deepstackIndex ? { deepstackIndex } : {}),
    },
    lookup,
    taps,
  );

  const lastIndex = input(INPUT_NAMES.lastIndex, 'int64', [B]);
  const pooled = g.scope('pool', () => poolLastToken(hidden, lastIndex));
  taps.set('pooled', pooled);
  let logits: Tensor | undefined;
  let loss: Tensor | undefined;
  if (opts.numClasses !== undefined) {
    logits = g.scope('classifier', () => classifierHead(params, pooled, config.headHiddenSize, opts.numClasses!));
    taps.set('logits', logits);
    if (opts.loss) {
      const labels = input(INPUT_NAMES.labels, 'int64', [B]);
      const w = opts.classWeights ?? null;
      if (w && w.length !== opts.numClasses) throw new Error(`buildQwen3VLForward: ${w.length} class weights for ${opts.numClasses} classes`);
      loss = g.scope('loss', () => classificationLoss(logits!, labels, w));
      taps.set('loss', loss);
    }
  } else if (opts.loss) {
    throw new Error('buildQwen3VLForward: loss needs numClasses (the classifier head)');
  }
  let lmLogits: Tensor | undefined;
  if (opts.lmHead) {
    const w = config.tieWordEmbeddings
      ? params('model.language_model.embed_tokens.weight', 'float32', [t.vocabSize, t.hiddenSize])
      : params('lm_head.weight', 'float32', [t.vocabSize, t.hiddenSize]);
    lmLogits = g.scope('lm_head', () => linear(pooled, w));
    taps.set('lm_logits', lmLogits);
  }
  return {
    inputs,
    lastHiddenState: hidden,
    pooled,
    ...(logits ? { logits } : {}),
    ...(loss ? { loss } : {}),
    ...(lmLogits ? { lmLogits } : {}),
    taps,
    loraTargets: sites,
  };
}

export class ParamError extends Error {
  override readonly name = 'ParamError';
}

export interface MapParamOptions {
  /** Names for which a graph input is created instead of an initializer (trainable weights). */
  readonly trainable?: (name: string) => boolean;
  /** Where the values came from, for error messages. */
  readonly source?: string;
}

/**
 * A ParamSource over host tensors: initializers for frozen weights, graph
 * inputs (same name) for trainable ones; repeated requests share one tensor
 * (tied embeddings); a missing name or a wrong shape/dtype throws.
 */
export function paramsFromMap(g: Graph, weights: ReadonlyMap<string, TensorData>, opts: MapParamOptions = {}): ParamSource & { used: Set<string> } {
  const cache = new Map<string, Tensor>();
  const used = new Set<string>();
  const src = opts.source ?? 'weights';
  const fn = (name: string, dtype: DType, shape: readonly number[]): Tensor => {
    const hit = cache.get(name);
    if (hit) return hit;
    const w = weights.get(name);
    if (!w) throw new ParamError(`${src}: no tensor '${name}' (needed with shape [${shape.join(', ')}])`);
    if (w.dtype !== dtype) throw new ParamError(`${src}: tensor '${name}' is ${w.dtype}, expected ${dtype}`);
    if (w.dims.length !== shape.length || w.dims.some((d, i) => d !== shape[i])) {
      throw new ParamError(`${src}: tensor '${name}' has shape [${w.dims.join(', ')}], expected [${shape.join(', ')}]`);
    }
    const t = opts.trainable?.(name) ? g.input(name, dtype, shape) : g.initializer(name, w);
    cache.set(name, t);
    used.add(name);
    return t;
  };
  return Object.assign(fn, { used });
}

export interface InferenceGraphOptions extends ForwardOptions {
  /** Tap names to add as graph outputs (besides pooled / logits / loss / lm_logits). */
  readonly outputs?: readonly string[];
  readonly name?: string;
}

/** An inference graph: outputs `pooled`, and `logits` / `loss` / `lm_logits` when requested, plus tap outputs. */
export function buildQwen3VLGraph(
  config: Qwen3VLConfig,
  makeParams: (g: Graph) => ParamSource,
  opts: InferenceGraphOptions = {},
): { graph: Graph; forward: ForwardResult } {
  const g = new Graph(opts.name ?? 'qwen3_vl_reward', { opset: 21 });
  const ps = makeParams(g);
  const extra = opts.outputs ?? [];
  const fwd = buildQwen3VLForward(g, config, ps, { ...opts, taps: opts.taps ?? extra });
  g.output(fwd.pooled, 'pooled');
  if (fwd.logits) g.output(fwd.logits, 'logits');
  if (fwd.loss) g.output(fwd.loss, 'loss');
  if (fwd.lmLogits) g.output(fwd.lmLogits, 'lm_logits');
  const done = new Set(['pooled', 'logits', 'loss', 'lm_logits']);
  for (const name of extra) {
    if (done.has(name)) continue;
    const t = fwd.taps.get(name);
    if (!t) throw new Error(`buildQwen3VLGraph: no intermediate named '${name}' (available: ${[...fwd.taps.keys()].join(', ')})`);
    g.output(t, name);
    done.add(name);
  }
  return { graph: g, forward: fwd };
}
