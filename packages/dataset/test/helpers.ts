import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readParquet, writeParquet, writeSyntheticDataset,
  type ColumnType, type ParquetColumnType, type SyntheticDatasetOptions, type SyntheticDatasetSummary,
} from '@vlreward/dataset';

const made: string[] = [];
/** A fresh directory under os.tmpdir() (removed by cleanupTmp). */
export function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `vlreward-${prefix}-`));
  made.push(d);
  return d;
}
/** Removes every directory tmp() made; each test file calls it in afterAll. */
export function cleanupTmp(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
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

/** The writer's column type for a column read back (float → float32, int → int64, lists kept). */
function writerType(t: ColumnType): ParquetColumnType {
  const scalar = t.kind === 'float' ? 'float32' : t.kind === 'int' ? 'int64' : t.kind === 'bool' ? 'bool' : 'string';
  if (t.depth === 0) return scalar as ParquetColumnType;
  if (scalar === 'bool') throw new Error('lists of bool are not written by the package writer');
  return { list: scalar as 'float32' | 'int64' | 'string' };
}

/**
 * Rewrites a data file with the package's own writer, replacing some columns (new type and
 * values, or new values in the same type); every other column keeps its type and values.
 */
export async function rewriteColumns(
  file: string,
  replace: Record<string, { type?: ParquetColumnType; data: (old: unknown, row: number) => unknown }>,
): Promise<void> {
  const t = await readParquet(file);
  await writeParquet(file, t.names.map((name) => {
    const r = replace[name];
    const old = t.columns.get(name)!;
    return { name, type: r?.type ?? writerType(t.types.get(name)!), data: r ? old.map((v, i) => r.data(v, i)) : old };
  }));
}
