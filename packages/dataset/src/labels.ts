// How a value of the label column becomes a class id, and which values are no label at all.
// The seed's rule (argmax of `reward_bins`; a missing or all-zero vector → class 0) is kept
// exactly for valid values; NaN, ±∞, negative, non-numeric and out-of-range values are
// reported instead of silently becoming class 0.

import type { LeRobotDataset } from './lerobot_dataset.js';

/** How a label column becomes a class id. */
export type LabelBinning =
  /**
   * The seed: vector → argmax (first maximum); a missing value, an empty or an all-zero vector → 0;
   * a scalar is a class id (a non-negative integer); booleans → 0/1.
   */
  | 'argmax'
  /** Scalar values digitized by ascending edges: class = number of edges ≤ value (numpy.digitize). */
  | { readonly edges: readonly number[] };

/** A checked label value: its class, or why it is not a label. */
export type LabelCheck = { readonly ok: true; readonly label: number } | { readonly ok: false; readonly reason: string };

/** One row whose label value was rejected. */
export interface InvalidLabel {
  /** Data file (absolute or relative to the working directory, as the dataset root was given). */
  readonly file: string;
  readonly column: string;
  readonly episodeIndex: number;
  /** Frame within the episode (= row of a v2.x data file). */
  readonly frameIndex: number;
  /** Position in the dataset (all loaded episodes, in order). */
  readonly row: number;
  /** The value as text (NaN and ±Infinity spelled out). */
  readonly value: string;
  readonly reason: string;
}

/** Rows dropped (`skipInvalidLabels`) or found (analyze) with an invalid label: how many, and the first few. */
export interface InvalidLabelSummary {
  readonly count: number;
  readonly examples: readonly InvalidLabel[];
}

/** How many invalid rows are kept as examples. */
export const INVALID_LABEL_EXAMPLES = 10;

/** A value as text for messages: JSON, except that NaN and ±Infinity stay readable. */
export function formatLabelValue(v: unknown): string {
  const one = (x: unknown): string => (typeof x === 'number' ? String(x) : typeof x === 'bigint' ? `${x}` : JSON.stringify(x) ?? String(x));
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const a = Array.from(v as ArrayLike<unknown>);
    const shown = a.slice(0, 8).map(one).join(', ');
    return `[${shown}${a.length > 8 ? `, … (${a.length} values)` : ''}]`;
  }
  return one(v);
}

function describeNumber(x: unknown): string | null {
  if (typeof x !== 'number') return `is ${x === null ? 'null' : typeof x} ${formatLabelValue(x)}, not a number`;
  if (Number.isNaN(x)) return 'is NaN';
  if (!Number.isFinite(x)) return `is ${x}`;
  return null;
}

/** argmax with first-maximum tie-breaking (torch.argmax); all-zero → 0 as the seed does. */
function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

/** The class of one label value, or why it has none. `numClasses` bounds the class when given. */
export function checkLabel(v: unknown, binning: LabelBinning = 'argmax', numClasses?: number): LabelCheck {
  const bad = (reason: string): LabelCheck => ({ ok: false, reason });
  let label: number;
  if (typeof v === 'boolean') label = v ? 1 : 0;
  else if (binning !== 'argmax') {
    const x = Array.isArray(v) || ArrayBuffer.isView(v) ? (v as ArrayLike<unknown>)[0] : v;
    const why = describeNumber(x);
    if (why) return bad(`the value to digitize ${why}`);
    label = 0;
    for (const e of binning.edges) if ((x as number) >= e) label++;
  } else if (v === null || v === undefined) {
    label = 0; // the seed: a missing label is class 0
  } else if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const a = v as ArrayLike<unknown>;
    for (let i = 0; i < a.length; i++) {
      const why = describeNumber(a[i]) ?? ((a[i] as number) < 0 ? `is negative (${a[i] as number})` : null);
      if (why) return bad(`element ${i} of the vector ${why}`);
    }
    label = a.length === 0 ? 0 : argmax(a as ArrayLike<number>);
  } else if (typeof v === 'number') {
    const why = describeNumber(v);
    if (why) return bad(`the scalar ${why}`);
    if (v < 0) return bad(`the scalar is negative (${v})`);
    if (!Number.isInteger(v)) return bad(`the scalar ${v} is not a class id (an integer ≥ 0); digitize a continuous column with binning {edges} (--bin-edges)`);
    label = v;
  } else {
    return bad(`expected a vector of numbers, a class id or a boolean, got ${typeof v} ${formatLabelValue(v)}`);
  }
  if (numClasses !== undefined && label >= numClasses) {
    return bad(`label ${label} is outside 0..${numClasses - 1} (numClasses ${numClasses}; set numClasses / --num-classes if the column holds more classes)`);
  }
  return { ok: true, label };
}

/** The class of one label value (see LabelBinning); a RangeError naming the value when it is not a label. */
export function labelFromValue(v: unknown, binning: LabelBinning = 'argmax', numClasses?: number): number {
  const c = checkLabel(v, binning, numClasses);
  if (!c.ok) throw new RangeError(`label value ${formatLabelValue(v)}: ${c.reason}`);
  return c.label;
}

/** The seed's class count: length of the first `reward_bins` (booleans 2, binned edges + 1, a scalar 1). */
export function inferNumClasses(first: unknown, binning: LabelBinning = 'argmax'): number {
  return typeof first === 'boolean' ? 2
    : binning !== 'argmax' ? binning.edges.length + 1
    : Array.isArray(first) || ArrayBuffer.isView(first) ? (first as ArrayLike<unknown>).length
    : 1;
}

/**
 * Labels of the given dataset positions: the class per position (−1 where invalid) and the
 * invalid rows (count + the first few, each naming file, column, episode, frame, row and value).
 */
export function scanLabels(
  ds: LeRobotDataset,
  column: string,
  col: readonly unknown[],
  positions: readonly number[],
  binning: LabelBinning,
  numClasses: number,
): { labels: Int32Array; invalid: InvalidLabelSummary } {
  const labels = new Int32Array(positions.length);
  const examples: InvalidLabel[] = [];
  let count = 0;
  positions.forEach((pos, i) => {
    const c = checkLabel(col[pos], binning, numClasses);
    if (c.ok) {
      labels[i] = c.label;
      return;
    }
    labels[i] = -1;
    count++;
    if (examples.length < INVALID_LABEL_EXAMPLES) {
      const ep = ds.episodeAt(pos);
      examples.push({
        file: `${ds.root}/${ep.meta.dataPath}`,
        column,
        episodeIndex: ep.meta.episodeIndex,
        frameIndex: pos - ep.start,
        row: pos,
        value: formatLabelValue(col[pos]),
        reason: c.reason,
      });
    }
  });
  return { labels, invalid: { count, examples } };
}

/** `episode 3 frame 5 (dataset row 29): value [NaN, NaN]: element 0 of the vector is NaN`. */
export function formatInvalidLabel(x: InvalidLabel): string {
  return `episode ${x.episodeIndex} frame ${x.frameIndex} (dataset row ${x.row}): value ${x.value}: ${x.reason}`;
}
