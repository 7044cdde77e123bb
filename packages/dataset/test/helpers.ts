import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticDataset, type SyntheticDatasetOptions, type SyntheticDatasetSummary } from '@vlreward/dataset';

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `vlreward-${prefix}-`));
}

/** A small synthetic dataset in a fresh temp dir (64x64, 4 episodes × 8 frames unless overridden). */
export async function synth(opts: Partial<SyntheticDatasetOptions> = {}): Promise<SyntheticDatasetSummary> {
  return writeSyntheticDataset({ root: tmp('ds'), episodes: 4, frames: 8, ...opts });
}

/** Class of a synthetic frame from its pixels: the palette colour covering most of the image. */
export function dominantClass(img: { data: Uint8Array }, numClasses: number): number {
  const palette = [[220, 40, 40], [40, 200, 60], [50, 80, 230], [230, 210, 40]].slice(0, numClasses);
  const votes = new Array<number>(numClasses).fill(0);
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    palette.forEach((p, k) => {
      if (Math.abs(d[i]! - p[0]!) + Math.abs(d[i + 1]! - p[1]!) + Math.abs(d[i + 2]! - p[2]!) < 90) votes[k]!++;
    });
  }
  return votes.indexOf(Math.max(...votes));
}
