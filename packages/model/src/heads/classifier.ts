// The reward head of the seed: Linear(hidden, num_classes) on the hidden
// state of the last real token, and mean cross-entropy against labels.
import { constant, crossEntropy, gather, linear, reshape, type Tensor } from '@vlreward/graph';
import type { ParamSource } from '../qwen3_vl/params.js';

export const HEAD_WEIGHT = 'classifier.weight';
export const HEAD_BIAS = 'classifier.bias';

/** h [B, S, H] → rows at flat indices lastIndex [B] (b * S + last real position). */
export function poolLastToken(h: Tensor, lastIndex: Tensor): Tensor {
  const H = h.shape[h.rank - 1];
  if (typeof H !== 'number') throw new Error(`poolLastToken: hidden width of '${h.name}' must be static`);
  return gather(reshape(h, [-1, H]), lastIndex, 0);
}

export function classifierHead(params: ParamSource, pooled: Tensor, hidden: number, numClasses: number): Tensor {
  return linear(pooled, params(HEAD_WEIGHT, 'float32', [numClasses, hidden]), params(HEAD_BIAS, 'float32', [numClasses]));
}

/**
 * mean_b(logsumexp(logits[b]) - logits[b, labels[b]]) (F.cross_entropy, reduction='mean');
 * with `classWeights`, torch's weighted mean Σ w[y_b]·nll_b / Σ w[y_b].
 */
export function classificationLoss(logits: Tensor, labels: Tensor, classWeights: readonly number[] | null = null): Tensor {
  const w = classWeights ? constant(logits.graph, { dtype: 'float32', dims: [classWeights.length], data: Float32Array.from(classWeights) }) : null;
  return crossEntropy(logits, labels, w);
}
