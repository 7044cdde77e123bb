// Training artifacts for the Qwen3-VL reward model: the generic builder
// (build.ts) applied to buildQwen3VLForward with the seed's two regimes.
//   'lora': base model frozen (initializers), LoRA A/B on the text decoder's
//           target projections + the classifier head trainable; the vision
//           tower is untouched (PEFT targets the text decoder only).
//   'full': every weight trainable, vision tower included, head always.
import { dropout, type TensorData } from '@vlreward/graph';
import { initClassifierHead } from '../heads/init.js';
import { HEAD_BIAS, HEAD_WEIGHT } from '../heads/classifier.js';
import { DEFAULT_LORA, type LoraConfig } from '../lora/config.js';
import { initLoraWeights } from '../lora/linear.js';
import { loraTargets } from '../lora/targets.js';
import { buildQwen3VLForward } from '../qwen3_vl/build.js';
import type { Qwen3VLConfig } from '../qwen3_vl/config.js';
import { qwen3VLWeightSpecs } from '../qwen3_vl/weights.js';
import { buildArtifacts, type BuildOptions, type TrainingArtifacts } from './build.js';
import { artifactsCacheKey, cachedArtifacts, type CacheResult, type SaveOptions } from './store.js';
import type { ForwardBuilder, ParamSpec } from './types.js';

/** Bumped when the Qwen3-VL training graphs change for the same inputs (cache key). */
export const QWEN3VL_ARTIFACTS_VERSION = 2;

export type FinetuneMode = 'lora' | 'full';

export interface Qwen3VLTrainingOptions extends Omit<BuildOptions, 'recomputePrefixes'> {
  readonly mode: FinetuneMode;
  /** LoRA hyper-parameters (mode 'lora'; default: the seed's r=16, alpha=32, dropout 0.05, all 7 projections). */
  readonly lora?: LoraConfig;
  readonly numClasses: number;
  /**
   * Weights by HF name: the base model, plus optionally `classifier.*` and
   * PEFT-named LoRA factors; missing head / LoRA factors are initialised
   * (head: Linear default init, LoRA: A Kaiming-uniform, B zero) from `seed`.
   */
  readonly weights: ReadonlyMap<string, TensorData>;
  /** Build the vision tower (default true). */
  readonly vision?: boolean;
  /** Seed for initialising a missing head / missing LoRA factors (default 0). */
  readonly seed?: number;
  /** Per-class loss weights (class imbalance); default plain mean cross-entropy. */
  readonly classWeights?: readonly number[] | null;
  /**
   * Scoring a trained model: every parameter frozen (LoRA factors and the head
   * included, all of which must be in `weights`: nothing is initialised), so
   * no optimizer state exists; build the 'infer' (and/or 'eval') graph.
   */
  readonly inference?: boolean;
}

/** The parameter inventory for a mode: every base weight, the LoRA factors (lora), the head. */
export function qwen3VLParamSpecs(config: Qwen3VLConfig, opts: Qwen3VLTrainingOptions): ParamSpec[] {
  const { mode, weights } = opts;
  if (mode !== 'lora' && mode !== 'full') throw new Error(`buildTrainingArtifacts: mode '${String(mode)}' (expected 'lora' or 'full')`);
  if (!Number.isInteger(opts.numClasses) || opts.numClasses < 2) throw new Error(`buildTrainingArtifacts: numClasses = ${opts.numClasses} (expected an integer >= 2)`);
  const vision = opts.vision ?? true;
  const inference = opts.inference ?? false;
  const trainable = !inference;
  const specs: ParamSpec[] = [];
  const fresh = (what: string, name: string): never => {
    throw new Error(`buildTrainingArtifacts (inference): weights have no '${name}' (the trained ${what}); load it from the checkpoint`);
  };
  const value = (name: string, shape: readonly number[]): TensorData => {
    const w = weights.get(name);
    if (!w) throw new Error(`buildTrainingArtifacts: weights have no '${name}' (expected shape [${shape.join(', ')}])`);
    if (w.dims.length !== shape.length || w.dims.some((d, i) => d !== shape[i])) {
      throw new Error(`buildTrainingArtifacts: weight '${name}' has shape [${w.dims.join(', ')}], config expects [${shape.join(', ')}]`);
    }
    return w;
  };
  for (const s of qwen3VLWeightSpecs(config)) {
    if (s.part === 'vision' && !vision) continue;
    const init = value(s.name, s.shape);
    specs.push({ name: s.name, shape: s.shape, dtype: init.dtype, trainable: trainable && mode === 'full', init });
  }
  if (mode === 'lora') {
    const lora = opts.lora ?? DEFAULT_LORA;
    let initial: Map<string, TensorData> | undefined;
    for (const t of loraTargets(config, lora)) {
      for (const [name, shape] of [
        [t.nameA, [lora.r, t.inFeatures]],
        [t.nameB, [t.outFeatures, lora.r]],
      ] as const) {
        const w = weights.get(name);
        if (w && (w.dims.length !== shape.length || w.dims.some((d, i) => d !== shape[i])))
          throw new Error(`buildTrainingArtifacts: LoRA factor '${name}' has shape [${w.dims.join(', ')}], r=${lora.r} expects [${shape.join(', ')}]`);
        const init = w ?? (inference ? fresh('LoRA factor', name) : (initial ??= initLoraWeights(config, lora, opts.seed ?? 0)).get(name)!);
        specs.push({ name, shape, dtype: init.dtype, trainable, init });
      }
    }
  }
  const hidden = config.headHiddenSize;
  let head: Map<string, TensorData> | undefined;
  for (const [name, shape] of [
    [HEAD_WEIGHT, [opts.numClasses, hidden]],
    [HEAD_BIAS, [opts.numClasses]],
  ] as const) {
    const init = weights.has(name) ? value(name, shape) : inference ? fresh('classifier head', name) : (head ??= initClassifierHead(hidden, opts.numClasses, opts.seed ?? 0)).get(name)!;
    specs.push({ name, shape, dtype: init.dtype, trainable, init });
  }
  return specs;
}

/** The forward builder: Qwen3-VL + reward head + (class-weighted) mean CE; LoRA dropout masks in training graphs. */
export function qwen3VLForwardBuilder(config: Qwen3VLConfig, opts: Pick<Qwen3VLTrainingOptions, 'mode' | 'lora' | 'numClasses' | 'vision' | 'classWeights'>): ForwardBuilder {
  const lora = opts.mode === 'lora' ? (opts.lora ?? DEFAULT_LORA) : null;
  return (g, params, ctx) => {
    const fwd = buildQwen3VLForward(g, config, params, {
      vision: opts.vision ?? true,
      numClasses: opts.numClasses,
      loss: ctx.withLoss,
      ...(opts.classWeights ? { classWeights: opts.classWeights } : {}),
      lora,
      ...(lora && lora.dropout > 0
        ? {
            loraDropout: (x, site) => {
              const keep = ctx.dropoutMask(site.module, x.shape, lora.dropout);
              return keep ? dropout(x, lora.dropout, keep) : x;
            },
          }
        : {}),
    });
    return { ...(fwd.loss ? { loss: fwd.loss } : {}), logits: fwd.logits!, extra: { pooled: fwd.pooled } };
  };
}

/**
 * Training artifacts for Qwen3-VL (train / gradient / optimizer / eval graphs
 * and the inventory). With `checkpointing`, every text decoder layer and
 * vision block is recomputed in the backward pass.
 */
export function buildTrainingArtifacts(config: Qwen3VLConfig, opts: Qwen3VLTrainingOptions): TrainingArtifacts {
  const specs = qwen3VLParamSpecs(config, opts);
  return buildArtifacts(qwen3VLForwardBuilder(config, opts), specs, {
    ...opts,
    name: opts.name ?? `qwen3_vl_reward.${opts.mode}`,
    recomputePrefixes: ['language_model.layers.', 'visual.blocks.'],
  });
}

/** Cache key for buildTrainingArtifacts; `weightsKey` names the base weights (e.g. model dir + file sizes/mtimes). */
export function qwen3VLArtifactsKey(config: Qwen3VLConfig, opts: Omit<Qwen3VLTrainingOptions, 'weights'>, weightsKey: string): string {
  return artifactsCacheKey({ builderVersion: `qwen3_vl/${QWEN3VL_ARTIFACTS_VERSION}`, config, options: opts, weightsKey });
}

/**
 * buildTrainingArtifacts through the disk cache: the first call builds and
 * saves under `cacheDir/<key>`, later calls with the same config, options and
 * `weightsKey` load the saved graphs without building. `params` is the
 * inventory to pass to TrainingSession.create (initial trainable values).
 */
export function cachedTrainingArtifacts(
  cacheDir: string,
  config: Qwen3VLConfig,
  opts: Qwen3VLTrainingOptions,
  weightsKey: string,
  save: SaveOptions = {},
): CacheResult & { readonly params: ParamSpec[]; readonly key: string } {
  const { weights: _w, ...keyed } = opts;
  const key = qwen3VLArtifactsKey(config, keyed, weightsKey);
  const res = cachedArtifacts(cacheDir, key, () => buildTrainingArtifacts(config, opts), save);
  return { ...res, params: res.built?.params.slice() ?? qwen3VLParamSpecs(config, opts), key };
}
