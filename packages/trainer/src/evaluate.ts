// Validation / test metrics of a session over a set of samples: mean loss,
// accuracy, macro-F1, per-class precision/recall and the confusion matrix.

import { getSamples } from './loader.js';
import { argmaxRows, classificationReport, softmaxRows, type ClassificationReport } from './metrics.js';
import type { EncodeFn, RewardSample, SampleSource, TrainerSession } from './types.js';

export interface EvaluateOptions<B> {
  session: Pick<TrainerSession<B>, 'evaluate' | 'numClasses'>;
  source: SampleSource;
  encode: EncodeFn<B>;
  /** samples to score (default: all). */
  indices?: readonly number[];
  batchSize?: number;
  /** called with each batch's probabilities (for predictions files). */
  onBatch?: (rows: { index: number; label: number; probs: number[] }[]) => void;
}

export async function evaluate<B>(o: EvaluateOptions<B>): Promise<ClassificationReport & { loss: number }> {
  const indices = o.indices ?? Array.from({ length: o.source.length }, (_, i) => i);
  if (indices.length === 0) throw new RangeError('evaluate: no samples to evaluate (empty validation split?)');
  const bs = o.batchSize ?? 2;
  const C = o.session.numClasses;
  const labels: number[] = [];
  const preds: number[] = [];
  let lossSum = 0;
  // Decode the next batch while the current one runs.
  const load = async (start: number) => {
    const idx = indices.slice(start, start + bs);
    const samples: RewardSample[] = await getSamples(o.source, idx);
    return { idx, samples, batch: await o.encode(samples) };
  };
  let pending = load(0);
  for (let start = 0; start < indices.length; start += bs) {
    const cur = await pending;
    if (start + bs < indices.length) pending = load(start + bs);
    const out = await o.session.evaluate(cur.batch);
    if (out.logits.length !== cur.idx.length * C)
      throw new RangeError(`evaluate: the model returned ${out.logits.length} logits for ${cur.idx.length} samples × ${C} classes`);
    lossSum += out.loss * cur.idx.length;
    const p = argmaxRows(out.logits, C);
    preds.push(...p);
    labels.push(...cur.samples.map((s) => s.label));
    if (o.onBatch) {
      const probs = softmaxRows(out.logits, C);
      o.onBatch(cur.idx.map((index, k) => ({ index, label: cur.samples[k]!.label, probs: probs[k]! })));
    }
  }
  const loss = lossSum / indices.length;
  return { ...classificationReport(labels, preds, C, loss), loss };
}
