import type { Tensor } from '../builder.js';
import { formatShape } from '../shape.js';
import { cast } from '../ops/Cast.js';
import { div } from '../ops/Div.js';
import { equal } from '../ops/Equal.js';
import { gather } from '../ops/Gather.js';
import { gatherElements } from '../ops/GatherElements.js';
import { logSoftmax } from '../ops/LogSoftmax.js';
import { mul } from '../ops/Mul.js';
import { neg } from '../ops/Neg.js';
import { not } from '../ops/Not.js';
import { reduceSum } from '../ops/ReduceSum.js';
import { squeeze } from '../ops/Squeeze.js';
import { unsqueeze } from '../ops/Unsqueeze.js';
import { where } from '../ops/Where.js';

export interface CrossEntropyOptions {
  /** Labels equal to this are skipped (torch default -100). */
  readonly ignoreIndex?: number;
}

// torch.nn.functional.cross_entropy(reduction='mean', weight=..., ignore_index=-100)
/**
 * Mean cross-entropy of logits [B, C] against int64 labels [B]. With class
 * weights w [C]: sum_i w[y_i]·(-log p_i[y_i]) / sum_i w[y_i] (PyTorch's
 * weighted mean). Returns a scalar (rank 0). The log-softmax runs in float32
 * for 16-bit logits.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, weights: Tensor | null = null, opts: CrossEntropyOptions = {}): Tensor {
  const where_ = `crossEntropy(${logits.name} ${formatShape(logits.shape)}, ${labels.name} ${formatShape(labels.shape)})`;
  if (logits.rank !== 2) throw new Error(`${where_}: logits must be [B, C]`);
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) throw new Error(`${where_}: labels must be [${logits.shape[0]}]`);
  if (labels.dtype !== 'int64') throw new Error(`${where_}: labels must be int64, got ${labels.dtype}`);
  const x = logits.dtype === 'float16' || logits.dtype === 'bfloat16' ? cast(logits, 'float32') : logits;
  if (weights && (weights.rank !== 1 || weights.shape[0] !== logits.shape[1])) throw new Error(`${where_}: weights ${weights.name} ${formatShape(weights.shape)} must be [${logits.shape[1]}]`);
  const w = weights && weights.dtype !== x.dtype ? cast(weights, x.dtype) : weights;
  const valid = not(equal(labels, opts.ignoreIndex ?? -100));
  const safe = where(valid, labels, 0);
  const logp = logSoftmax(x, -1);
  const picked = squeeze(gatherElements(logp, unsqueeze(safe, [1]), 1), [1]); // [B]
  const validF = cast(valid, x.dtype);
  const wi = w ? mul(gather(w, safe, 0), validF) : validF;
  return div(neg(reduceSum(mul(picked, wi), [], false)), reduceSum(wi, [], false));
}
