// Classification metrics for the reward bins. Definitions follow scikit-learn
// (sklearn/metrics/_classification.py: precision_recall_fscore_support,
// zero_division=0); macro-F1 averages over the classes that occur in the labels or
// the predictions, as sklearn does when `labels` is not given.

export interface ClassStats {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** true samples of this class. */
  readonly support: number;
}

export interface ClassificationReport {
  readonly numClasses: number;
  readonly count: number;
  readonly accuracy: number;
  readonly macroF1: number;
  readonly perClass: readonly ClassStats[];
  /** confusion[true][predicted]. */
  readonly confusion: readonly (readonly number[])[];
  /** mean loss, when the caller had one. */
  readonly loss?: number;
}

/** confusion[t][p] = samples of true class t predicted as p. */
export function confusionMatrix(labels: ArrayLike<number>, preds: ArrayLike<number>, numClasses: number): number[][] {
  if (labels.length !== preds.length)
    throw new RangeError(`confusionMatrix: ${labels.length} labels but ${preds.length} predictions`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i]!;
    const p = preds[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= numClasses)
      throw new RangeError(`confusionMatrix: labels[${i}] = ${t} is outside [0, ${numClasses})`);
    if (!Number.isInteger(p) || p < 0 || p >= numClasses)
      throw new RangeError(`confusionMatrix: preds[${i}] = ${p} is outside [0, ${numClasses})`);
    m[t]![p]! += 1;
  }
  return m;
}

export function classificationReport(
  labels: ArrayLike<number>,
  preds: ArrayLike<number>,
  numClasses: number,
  loss?: number,
): ClassificationReport {
  const confusion = confusionMatrix(labels, preds, numClasses);
  const perClass: ClassStats[] = [];
  let correct = 0;
  let f1Sum = 0;
  let present = 0;
  for (let c = 0; c < numClasses; c++) {
    const tp = confusion[c]![c]!;
    correct += tp;
    let support = 0;
    let predicted = 0;
    for (let k = 0; k < numClasses; k++) {
      support += confusion[c]![k]!;
      predicted += confusion[k]![c]!;
    }
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ precision, recall, f1, support });
    if (support > 0 || predicted > 0) {
      f1Sum += f1;
      present += 1;
    }
  }
  const count = labels.length;
  const report: ClassificationReport = {
    numClasses,
    count,
    accuracy: count > 0 ? correct / count : 0,
    macroF1: present > 0 ? f1Sum / present : 0,
    perClass,
    confusion,
    ...(loss === undefined ? {} : { loss }),
  };
  return report;
}

/** Row-wise argmax of logits [N, C] laid out flat. */
export function argmaxRows(logits: ArrayLike<number>, numClasses: number): number[] {
  if (logits.length % numClasses !== 0)
    throw new RangeError(`argmaxRows: ${logits.length} values is not a multiple of ${numClasses} classes`);
  const out: number[] = [];
  for (let r = 0; r < logits.length / numClasses; r++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (logits[r * numClasses + c]! > logits[r * numClasses + best]!) best = c;
    out.push(best);
  }
  return out;
}

/** Numerically stable softmax of each row of logits [N, C]. */
export function softmaxRows(logits: ArrayLike<number>, numClasses: number): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < logits.length / numClasses; r++) {
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, logits[r * numClasses + c]!);
    const e: number[] = [];
    let sum = 0;
    for (let c = 0; c < numClasses; c++) {
      const v = Math.exp(logits[r * numClasses + c]! - max);
      e.push(v);
      sum += v;
    }
    rows.push(e.map((v) => v / sum));
  }
  return rows;
}

/**
 * Per-class loss weights from a label histogram: n / (C · count_c), scikit-learn's
 * compute_class_weight('balanced'). A class with no samples gets weight 0 (it never
 * contributes to the loss anyway, and 0 keeps the weights finite).
 */
export function classWeightsFromHistogram(histogram: readonly number[]): number[] {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) throw new RangeError('classWeightsFromHistogram: the histogram is empty (no labelled samples)');
  const C = histogram.length;
  return histogram.map((n) => (n > 0 ? total / (C * n) : 0));
}

export function labelHistogram(labels: Iterable<number>, numClasses: number): number[] {
  const h = new Array<number>(numClasses).fill(0);
  let i = 0;
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l >= numClasses)
      throw new RangeError(`labelHistogram: label #${i} = ${l} is outside [0, ${numClasses})`);
    h[l]! += 1;
    i++;
  }
  return h;
}

const fmt = (x: number) => x.toFixed(3);

/** Plain-text per-class table plus accuracy / macro-F1 (like sklearn's classification_report). */
export function renderReport(r: ClassificationReport, classNames?: readonly string[]): string {
  const names = Array.from({ length: r.numClasses }, (_, c) => classNames?.[c] ?? `bin ${c}`);
  const w = Math.max(9, ...names.map((n) => n.length));
  const lines = [`${''.padEnd(w)}  precision  recall     f1  support`];
  r.perClass.forEach((s, c) => {
    lines.push(
      `${names[c]!.padEnd(w)}  ${fmt(s.precision).padStart(9)}  ${fmt(s.recall).padStart(6)}  ${fmt(s.f1).padStart(5)}  ${String(s.support).padStart(7)}`,
    );
  });
  lines.push('');
  lines.push(`${'accuracy'.padEnd(w)}  ${fmt(r.accuracy).padStart(9)}  (${r.count} samples)`);
  lines.push(`${'macro F1'.padEnd(w)}  ${fmt(r.macroF1).padStart(9)}`);
  if (r.loss !== undefined) lines.push(`${'loss'.padEnd(w)}  ${r.loss.toFixed(4).padStart(9)}`);
  return lines.join('\n');
}

/** Confusion matrix as text: rows = true bin, columns = predicted bin. */
export function renderConfusion(r: Pick<ClassificationReport, 'confusion' | 'numClasses'>): string {
  const cells = r.confusion.flat();
  const w = Math.max(4, ...cells.map((v) => String(v).length));
  const header = `true\\pred ${Array.from({ length: r.numClasses }, (_, c) => String(c).padStart(w)).join(' ')}`;
  const rows = r.confusion.map((row, t) => `${String(t).padStart(9)} ${row.map((v) => String(v).padStart(w)).join(' ')}`);
  return [header, ...rows].join('\n');
}
