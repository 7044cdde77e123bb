// Generic training artifacts, in the spirit of ONNX Runtime's on-device
// training artifacts (training model, eval model, optimizer model,
// checkpoint), generated with @vlreward/graph's autodiff because
// onnxruntime-node has no training API:
//   train     forward + backward + clip + AdamW: ONE session run per step
//   gradient  forward + backward, adding into gradient accumulators
//   optimizer scale accumulated gradients, clip, AdamW
//   eval      forward only (no dropout): logits, loss (takes labels)
//   infer     forward only, no labels: logits (+ extras) for scoring
import {
  accumulateGrads,
  ADAMW_DEFAULTS,
  adamw,
  clipByGlobalNorm,
  globalNorm,
  grad,
  Graph,
  LOSS_SCALE_DEFAULTS,
  mul,
  scaleGrads,
  unscaleGrads,
  anyNonFinite,
  updateLossScale,
  type DType,
  type Node,
  type Tensor,
  type TensorData,
} from '@vlreward/graph';
import { IO } from './names.js';
import { autocastGraph } from './autocast.js';
import { BoundParams } from './param_source.js';
import type {
  ArtifactOptions,
  DropoutSpec,
  ForwardBuilder,
  ForwardContext,
  ForwardOutputs,
  IOSpec,
  LossScaleOptions,
  OptimizerOptions,
  ParamInfo,
  ParamSpec,
  Precision,
} from './types.js';

/** Bumped whenever generated graphs change for the same inputs (part of the cache key). */
export const ARTIFACTS_FORMAT_VERSION = 2;

export type GraphKind = 'train' | 'gradient' | 'optimizer' | 'eval' | 'infer';
/** Every graph kind; the default build is the four training ones (TRAINING_GRAPHS). */
export const GRAPH_KINDS: readonly GraphKind[] = ['train', 'gradient', 'optimizer', 'eval', 'infer'];
export const TRAINING_GRAPHS: readonly GraphKind[] = ['train', 'gradient', 'optimizer', 'eval'];

export interface ArtifactManifest {
  readonly format: number;
  readonly name: string;
  readonly precision: Precision;
  readonly computeDType: DType;
  /** fp16 dynamic loss scaling state (amp.*) is part of the training state. */
  readonly lossScaling: boolean;
  readonly optimizer: Required<{ [K in keyof OptimizerOptions]: Exclude<OptimizerOptions[K], undefined> }>;
  readonly lossScale: Required<LossScaleOptions>;
  readonly checkpointing: boolean;
  readonly recomputePrefixes: readonly string[];
  /** The builder computed in float32 and its MatMul/Gemm were autocast to computeDType (autocast.ts). */
  readonly autocast: boolean;
  /** Frozen weights are graph initializers or graph inputs fed by the runner. */
  readonly frozenAs: 'initializer' | 'input';
  /** Every parameter, trainable and frozen, in inventory order. */
  readonly params: readonly ParamInfo[];
  /** Batch inputs of the train and gradient graphs (labels included). */
  readonly batchInputs: readonly IOSpec[];
  /** Batch inputs of the eval graph. */
  readonly evalInputs: readonly IOSpec[];
  /** Outputs of the eval graph (logits, loss, extras). */
  readonly evalOutputs: readonly string[];
  /** Batch inputs of the label-free infer graph (empty when it was not built). */
  readonly inferInputs: readonly IOSpec[];
  /** Outputs of the infer graph (logits, extras). */
  readonly inferOutputs: readonly string[];
  /** Dropout keep-masks each graph takes as inputs (filled by the runner). */
  readonly dropout: Readonly<Partial<Record<GraphKind, readonly DropoutSpec[]>>>;
  readonly graphs: readonly GraphKind[];
}

export interface TrainingArtifacts {
  readonly manifest: ArtifactManifest;
  readonly graphs: Readonly<Partial<Record<GraphKind, Graph>>>;
  /** The inventory the artifacts were built from (initial values of trainable params). */
  readonly params: readonly ParamSpec[];
}

export interface BuildOptions extends ArtifactOptions {
  /** Graph name prefix (default 'model'). */
  readonly name?: string;
  /** Which graphs to build (default the four training graphs; add 'infer' for label-free scoring). */
  readonly graphs?: readonly GraphKind[];
  /**
   * Force fp16-style dynamic loss scaling even in fp32 (tests the overflow
   * path on CPU); default: on for 'fp16' only.
   */
  readonly lossScaling?: boolean;
}

const COMPUTE: Record<Precision, DType> = { fp32: 'float32', bf16: 'bfloat16', fp16: 'float16' };

export function resolveOptimizer(o: OptimizerOptions = {}): ArtifactManifest['optimizer'] {
  return {
    beta1: o.beta1 ?? ADAMW_DEFAULTS.beta1,
    beta2: o.beta2 ?? ADAMW_DEFAULTS.beta2,
    eps: o.eps ?? ADAMW_DEFAULTS.eps,
    weightDecay: o.weightDecay ?? ADAMW_DEFAULTS.weightDecay,
    maxGradNorm: o.maxGradNorm === undefined ? 1.0 : o.maxGradNorm,
  };
}

/** Materialize a parameter's value (calling its loader at most once per build). */
export function loadParam(spec: ParamSpec): TensorData {
  return typeof spec.init === 'function' ? spec.init() : spec.init;
}

export function buildArtifacts(builder: ForwardBuilder, params: readonly ParamSpec[], options: BuildOptions = {}): TrainingArtifacts {
  const name = options.name ?? 'model';
  const precision = options.precision ?? 'fp32';
  if (!(precision in COMPUTE)) throw new Error(`buildArtifacts: precision '${precision}' is not one of fp32, bf16, fp16`);
  const computeDType = COMPUTE[precision];
  const optimizer = resolveOptimizer(options.optimizer);
  const lossScale: Required<LossScaleOptions> = {
    initScale: options.lossScale?.initScale ?? LOSS_SCALE_DEFAULTS.initScale,
    growthFactor: options.lossScale?.growthFactor ?? LOSS_SCALE_DEFAULTS.growthFactor,
    backoffFactor: options.lossScale?.backoffFactor ?? LOSS_SCALE_DEFAULTS.backoffFactor,
    growthInterval: options.lossScale?.growthInterval ?? LOSS_SCALE_DEFAULTS.growthInterval,
  };
  const lossScaling = options.lossScaling ?? precision === 'fp16';
  const kinds = options.graphs ?? TRAINING_GRAPHS;
  const checkpointing = options.checkpointing ?? false;
  const frozenAs = options.frozenAs ?? 'initializer';
  if (frozenAs !== 'initializer' && frozenAs !== 'input') throw new Error(`buildArtifacts: frozenAs '${String(frozenAs)}' (expected 'initializer' or 'input')`);

  checkInventory(params);
  const trainable = params.filter((p) => p.trainable);
  if (trainable.length === 0 && kinds.some((k) => k !== 'eval' && k !== 'infer')) {
    throw new Error('buildArtifacts: no trainable parameters; mark at least one ParamSpec trainable (or build only the eval / infer graphs)');
  }
  const wd = trainable.map((p) => p.weightDecay ?? optimizer.weightDecay);

  // Frozen values are shared by every graph that embeds them (loaded once).
  const frozenCache = new Map<string, TensorData>();
  const loadFrozen = (s: ParamSpec): TensorData => {
    let v = frozenCache.get(s.name);
    if (!v) frozenCache.set(s.name, (v = loadParam(s)));
    return v;
  };

  const dropout: Partial<Record<GraphKind, DropoutSpec[]>> = {};
  /** Set when a float32-only builder was autocast to the compute dtype. */
  let autocast = false;
  let regions = 0;
  let batchInputs: IOSpec[] = [];
  let evalInputs: IOSpec[] = [];
  let evalOutputs: string[] = [];
  let inferInputs: IOSpec[] = [];
  let inferOutputs: string[] = [];

  /** Run the builder into a fresh graph; returns the bound params and batch inputs. */
  const forward = (kind: GraphKind, training: boolean) => {
    const g = new Graph(`${name}.${kind}`);
    /** Forward node → its recompute block (one block per ctx.checkpoint call). */
    const recompute = new Map<Node, string>();
    const src = new BoundParams(g, params, loadFrozen, frozenAs);
    const masks: DropoutSpec[] = [];
    const ctx: ForwardContext = {
      hasParam: (n) => src.has(n),
      training,
      withLoss: kind !== 'infer',
      computeDType,
      dropoutMask: (maskName, shape, p) => {
        if (!(p >= 0 && p < 1)) throw new Error(`dropoutMask('${maskName}'): p must be in [0, 1), got ${p}`);
        if (!training || p === 0) return null;
        const spec: DropoutSpec = { input: IO.dropout(maskName), shape: [...shape], p };
        masks.push(spec);
        return g.input(spec.input, 'bool', shape);
      },
      checkpoint: (region, fn) => {
        if (!checkpointing) return fn();
        const start = g.nodes.length;
        const out = g.scope(region, fn);
        const block = `${region}#${regions++}`;
        for (const n of g.nodes.slice(start)) recompute.set(n, block);
        return out;
      },
    };
    const out: ForwardOutputs = builder(g, src.source, ctx);
    checkForward(out, kind);
    dropout[kind] = masks;
    const paramNames = new Set(params.map((p) => p.name));
    const maskNames = new Set(masks.map((m) => m.input));
    const batch = g.inputs.filter((t) => !paramNames.has(t.name) && !maskNames.has(t.name)).map(ioSpec);
    const trainableInput = (n: string) => src.trainableInput(n);
    if (computeDType === 'float32' || computesIn(g, computeDType)) return { g, out, batch, recompute, trainableInput };
    // The builder computed in float32 only: autocast its matmuls (autocast.ts).
    const ac = autocastGraph(g, computeDType);
    autocast = true;
    const extra = Object.fromEntries(Object.entries(out.extra ?? {}).map(([k, t]) => [k, ac.map(t)]));
    return {
      g: ac.graph,
      out: { ...(out.loss ? { loss: ac.map(out.loss) } : {}), logits: ac.map(out.logits), extra },
      batch,
      recompute: new Map([...recompute].flatMap(([n, b]) => (ac.nodes.has(n) ? [[ac.nodes.get(n)!, b] as const] : []))),
      trainableInput: (n: string) => {
        const t = src.trainableInput(n);
        return t ? ac.map(t) : undefined;
      },
    };
  };

  const trainableInputs = (src: { trainableInput(n: string): Tensor | undefined }): Tensor[] => {
    const unused: string[] = [];
    const ts = trainable.map((p) => {
      const t = src.trainableInput(p.name);
      if (!t) unused.push(p.name);
      return t!;
    });
    if (unused.length) {
      throw new Error(`buildArtifacts: trainable parameters never used by the forward (no gradient): ${unused.slice(0, 8).join(', ')}${unused.length > 8 ? ` … (${unused.length})` : ''}`);
    }
    return ts;
  };

  /** Loss (times the loss scale when scaling) → float32 gradients of every trainable param, plus overflow flag. */
  const backward = (g: Graph, out: ForwardOutputs, wrt: Tensor[], recompute: ReadonlyMap<Node, string>) => {
    let scale: Tensor | undefined;
    let loss = out.loss!;
    if (lossScaling) {
      scale = g.input(IO.lossScale, 'float32', []);
      loss = mul(loss, scale);
    }
    // Activation checkpointing: nodes built inside ctx.checkpoint regions are
    // re-emitted in the backward pass (autodiff's recompute).
    const prefixes = checkpointing ? (options.recomputePrefixes ?? []) : [];
    const marked = recompute.size > 0 || prefixes.length > 0;
    // Block ids: the ctx.checkpoint region, else (prefix match) the node's top scope, e.g. 'language_model.layers.3'.
    let grads = grad(loss, wrt, marked ? { recompute: (n) => recompute.get(n) ?? prefixes.some((p) => n.name.startsWith(p)) } : {});
    let foundInf: Tensor | undefined;
    if (scale) ({ grads, foundInf } = unscaleGrads(grads, scale));
    return { grads, scale, foundInf };
  };

  const optimizerTail = (g: Graph, ps: Tensor[], grads: Tensor[], foundInf: Tensor | undefined, scale: Tensor | undefined) => {
    const step = g.input(IO.step, 'float32', []);
    const lr = g.input(IO.lr, 'float32', []);
    const m = trainable.map((p) => g.input(IO.m(p.name), 'float32', p.shape));
    const v = trainable.map((p) => g.input(IO.v(p.name), 'float32', p.shape));
    let norm: Tensor;
    let clipped = grads;
    if (optimizer.maxGradNorm === null) norm = globalNorm(grads);
    else ({ clipped, norm } = clipByGlobalNorm(grads, optimizer.maxGradNorm));
    const upd = adamw({
      params: ps,
      grads: clipped,
      m,
      v,
      step,
      lr,
      beta1: optimizer.beta1,
      beta2: optimizer.beta2,
      eps: optimizer.eps,
      weightDecay: wd,
      ...(foundInf ? { skip: foundInf } : {}),
    });
    g.output(norm, IO.gradNorm);
    // One reduction over the updated parameters: a NaN/Inf anywhere in them makes
    // it non-finite, so the runner can refuse the update without reading the state back.
    g.output(globalNorm(upd.params), IO.paramNorm);
    trainable.forEach((p, i) => {
      g.output(upd.params[i]!, IO.updated(p.name));
      g.output(upd.m[i]!, IO.updated(IO.m(p.name)));
      g.output(upd.v[i]!, IO.updated(IO.v(p.name)));
    });
    if (foundInf && scale) {
      const tracker = g.input(IO.growthTracker, 'float32', []);
      const next = updateLossScale({ scale, growthTracker: tracker, foundInf, ...lossScale });
      g.output(foundInf, IO.foundInf);
      g.output(next.scale, IO.updated(IO.lossScale));
      g.output(next.growthTracker, IO.updated(IO.growthTracker));
    }
  };

  const graphs: Partial<Record<GraphKind, Graph>> = {};
  for (const kind of kinds) {
    if (kind === 'train') {
      const { g, out, batch, recompute, trainableInput } = forward('train', true);
      batchInputs = batch;
      const ps = trainableInputs({ trainableInput });
      const { grads, scale, foundInf } = backward(g, out, ps, recompute);
      g.output(out.loss!, IO.loss);
      g.output(out.logits, IO.logits);
      optimizerTail(g, ps, grads, foundInf, scale);
      graphs.train = g;
    } else if (kind === 'gradient') {
      const { g, out, batch, recompute, trainableInput } = forward('gradient', true);
      batchInputs = batch;
      const ps = trainableInputs({ trainableInput });
      const { grads } = backward(g, out, ps, recompute);
      const acc = trainable.map((p) => g.input(IO.acc(p.name), 'float32', p.shape));
      const sums = accumulateGrads(acc, grads);
      g.output(out.loss!, IO.loss);
      g.output(out.logits, IO.logits);
      trainable.forEach((p, i) => g.output(sums[i]!, IO.updated(IO.acc(p.name))));
      graphs.gradient = g;
    } else if (kind === 'optimizer') {
      const g = new Graph(`${name}.optimizer`);
      const ps = trainable.map((p) => g.input(p.name, 'float32', p.shape));
      const acc = trainable.map((p) => g.input(IO.acc(p.name), 'float32', p.shape));
      const gradScale = g.input(IO.gradScale, 'float32', []);
      const grads = scaleGrads(acc, gradScale);
      let scale: Tensor | undefined;
      let foundInf: Tensor | undefined;
      if (lossScaling) {
        scale = g.input(IO.lossScale, 'float32', []);
        foundInf = anyNonFinite(grads);
      }
      optimizerTail(g, ps, grads, foundInf, scale);
      graphs.optimizer = g;
    } else if (kind === 'eval') {
      const { g, out, batch } = forward('eval', false);
      evalInputs = batch;
      g.output(out.logits, IO.logits);
      g.output(out.loss!, IO.loss);
      for (const [k, t] of Object.entries(out.extra ?? {})) g.output(t, k);
      evalOutputs = [IO.logits, IO.loss, ...Object.keys(out.extra ?? {})];
      graphs.eval = g;
    } else if (kind === 'infer') {
      const { g, out, batch } = forward('infer', false);
      inferInputs = batch;
      g.output(out.logits, IO.logits);
      for (const [k, t] of Object.entries(out.extra ?? {})) g.output(t, k);
      inferOutputs = [IO.logits, ...Object.keys(out.extra ?? {})];
      graphs.infer = g;
    } else {
      throw new Error(`buildArtifacts: unknown graph kind '${String(kind)}' (expected ${GRAPH_KINDS.join(', ')})`);
    }
  }

  const manifest: ArtifactManifest = {
    format: ARTIFACTS_FORMAT_VERSION,
    name,
    precision,
    computeDType,
    lossScaling,
    optimizer,
    lossScale,
    checkpointing,
    recomputePrefixes: [...(options.recomputePrefixes ?? [])],
    frozenAs,
    autocast,
    params: params.map((p) => ({
      name: p.name,
      shape: [...p.shape],
      dtype: p.trainable ? 'float32' : (p.dtype ?? 'float32'),
      trainable: p.trainable,
      weightDecay: p.trainable ? wd[trainable.indexOf(p)]! : 0,
    })),
    batchInputs,
    evalInputs,
    evalOutputs,
    inferInputs,
    inferOutputs,
    dropout,
    graphs: [...kinds],
  };
  return { manifest, graphs, params };
}

function ioSpec(t: Tensor): IOSpec {
  return { name: t.name, dtype: t.dtype, shape: [...t.shape] };
}

const RESERVED = ['adam.', 'updated/', 'grad_acc/', 'optim.', 'amp.', 'dropout/'];

function checkInventory(params: readonly ParamSpec[]): void {
  const seen = new Set<string>();
  params.forEach((p, i) => {
    if (!p.name) throw new Error(`parameter inventory[${i}]: empty name`);
    if (seen.has(p.name)) throw new Error(`parameter inventory[${i}]: duplicate name '${p.name}'`);
    seen.add(p.name);
    if (p.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`parameter '${p.name}': shape [${p.shape.join(', ')}] must be non-negative integers`);
    }
    if (RESERVED.some((r) => p.name.startsWith(r))) {
      throw new Error(`parameter '${p.name}': names starting with ${RESERVED.join(', ')} are reserved`);
    }
  });
}

/** Whether a builder honoured ctx.computeDType: some MatMul/Gemm already runs in it. */
function computesIn(g: Graph, dt: DType): boolean {
  return g.nodes.some((n) => (n.opType === 'MatMul' || n.opType === 'Gemm') && n.outputs[0]!.dtype === dt);
}

function checkForward(out: ForwardOutputs, kind: GraphKind): void {
  if (kind === 'infer') {
    if (!out || !out.logits) throw new Error('forward builder (infer graph) must return { logits }');
    if (out.loss) throw new Error('forward builder (infer graph): ctx.withLoss is false, so it must not build a loss (no labels input)');
    return;
  }
  if (!out || !out.loss || !out.logits) throw new Error(`forward builder (${kind} graph) must return { loss, logits }`);
  if (out.loss.rank !== 0 || out.loss.dtype !== 'float32') {
    throw new Error(`forward builder (${kind} graph): loss must be a float32 scalar, got ${out.loss.toString()}`);
  }
}
