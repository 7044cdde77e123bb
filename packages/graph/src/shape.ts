/** A dimension: a number when known at build time, a name when symbolic (e.g. 'batch'). */
export type Dim = number | string;
export type Shape = readonly Dim[];

export function formatShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

export function isStatic(s: Shape): s is readonly number[] {
  return s.every((d) => typeof d === 'number');
}

export function numel(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

export function dimsEqual(a: Dim, b: Dim): boolean {
  return a === b;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Numpy/ONNX multidirectional broadcasting at build time. Two different
 * symbolic names are accepted only when one side is 1; otherwise we cannot
 * prove they agree and say so, because a wrong guess would surface later as
 * an opaque ORT error.
 */
export function broadcastShapes(a: Shape, b: Shape, where: string): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da === db) out.push(da);
    else if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else {
      throw new Error(
        `${where}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (dim ${i}: ${da} vs ${db})`,
      );
    }
  }
  return out;
}

/** Resolve a possibly negative axis against a rank, with a clear error. */
export function normAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${where}: axis ${axis} out of range for rank ${rank}`);
  return a;
}
