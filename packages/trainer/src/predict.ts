// Scoring: class probabilities, predicted bin and expected reward for samples, and a
// per-frame reward curve over an episode (CSV / JSON / PNG).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argmaxRows, softmaxRows } from './metrics.js';
import { rewardCurveSvg, svgToPng, type CurvePoint } from './plot.js';
import type { EncodeFn, RewardSample, TrainerSession } from './types.js';

export interface Prediction {
  readonly probs: readonly number[];
  /** argmax bin. */
  readonly predicted: number;
  /** Σ p_c · c: the expected bin. */
  readonly expectedBin: number;
  /** expected bin / (C - 1), in [0, 1]: a dense reward signal. */
  readonly expectedReward: number;
}

export function predictionFromLogits(logits: ArrayLike<number>, numClasses: number): Prediction[] {
  const probs = softmaxRows(logits, numClasses);
  const argmax = argmaxRows(logits, numClasses);
  return probs.map((p, r) => {
    const expectedBin = p.reduce((acc, v, c) => acc + v * c, 0);
    return { probs: p, predicted: argmax[r]!, expectedBin, expectedReward: numClasses > 1 ? expectedBin / (numClasses - 1) : 0 };
  });
}

/** Scores samples in batches (labels in the samples are ignored). */
export async function predict<B>(
  session: Pick<TrainerSession<B>, 'evaluate' | 'numClasses'>,
  encode: EncodeFn<B>,
  samples: readonly Omit<RewardSample, 'label'>[],
  batchSize = 2,
): Promise<Prediction[]> {
  const out: Prediction[] = [];
  for (let s = 0; s < samples.length; s += batchSize) {
    // The label feeds only the loss, which predict() does not use.
    const chunk = samples.slice(s, s + batchSize).map((x) => ({ ...x, label: 0 }));
    const r = await session.evaluate(await encode(chunk));
    out.push(...predictionFromLogits(r.logits, session.numClasses));
  }
  return out;
}

export interface CurveRow extends CurvePoint {
  readonly episode: number;
  readonly timestamp?: number;
  readonly probs: readonly number[];
}

export function curveCsv(rows: readonly CurveRow[]): string {
  const C = rows[0]?.probs.length ?? 0;
  const head = ['episode', 'frame', 'timestamp', 'label', 'predicted', 'expected_reward', ...Array.from({ length: C }, (_, c) => `p${c}`)];
  const lines = rows.map((r) =>
    [r.episode, r.frame, r.timestamp ?? '', r.label ?? '', r.predicted, r.expected.toFixed(6), ...r.probs.map((p) => p.toFixed(6))].join(','),
  );
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** Writes `<stem>.csv`, `<stem>.json` and `<stem>.png` into `dir`; returns the paths. */
export async function writeRewardCurve(
  dir: string,
  stem: string,
  rows: readonly CurveRow[],
  o: { numClasses: number; title?: string },
): Promise<{ csv: string; json: string; png: string }> {
  mkdirSync(dir, { recursive: true });
  const paths = { csv: join(dir, `${stem}.csv`), json: join(dir, `${stem}.json`), png: join(dir, `${stem}.png`) };
  writeFileSync(paths.csv, curveCsv(rows));
  writeFileSync(paths.json, JSON.stringify({ numClasses: o.numClasses, frames: rows }, null, 1));
  const { png } = await svgToPng(rewardCurveSvg(rows, o));
  writeFileSync(paths.png, png);
  return paths;
}
