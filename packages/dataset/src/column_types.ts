// Parquet column types against info.json features: what a column holds (from the parquet
// schema), what a feature's dtype/shape asks for, and whether one value fits its feature.
// The reader checks types when it opens a data file; verifyDataset also checks every value.

import type { SchemaTree } from 'hyparquet';
import type { FeatureSpec } from './meta/info.js';

/** The kind of the values at the bottom of a column (through any lists). */
export type ValueKind = 'float' | 'int' | 'bool' | 'string' | 'bytes' | 'struct' | 'other';

/** What a top-level parquet column holds. */
export interface ColumnType {
  readonly kind: ValueKind;
  /** List nesting: 0 for a scalar column, 1 for `list<float>`, 2 for a list of lists. */
  readonly depth: number;
  /** e.g. `float`, `list<double>`, `string`, `struct<bytes, path>`. */
  readonly text: string;
}

function leafOf(t: SchemaTree): { kind: ValueKind; text: string } {
  const e = t.element;
  if (t.children.length > 0) {
    return { kind: 'struct', text: `struct<${t.children.map((c) => c.element.name).join(', ')}>` };
  }
  const logical = e.logical_type?.type;
  switch (e.type) {
    case 'BOOLEAN': return { kind: 'bool', text: 'bool' };
    case 'INT32': return { kind: 'int', text: 'int32' };
    case 'INT64': return { kind: 'int', text: 'int64' };
    case 'FLOAT': return { kind: 'float', text: 'float' };
    case 'DOUBLE': return { kind: 'float', text: 'double' };
    case 'FIXED_LEN_BYTE_ARRAY': return logical === 'FLOAT16' ? { kind: 'float', text: 'halffloat' } : { kind: 'bytes', text: 'fixed_size_binary' };
    case 'BYTE_ARRAY':
      return e.converted_type === 'UTF8' || logical === 'STRING' || logical === 'JSON' || logical === 'ENUM'
        ? { kind: 'string', text: 'string' }
        : { kind: 'bytes', text: 'binary' };
    default: return { kind: 'other', text: String(e.type ?? 'unknown').toLowerCase() };
  }
}

/** Is this schema node a list (3-level LIST annotation, or a legacy repeated field)? */
function listItem(t: SchemaTree): SchemaTree | null {
  const e = t.element;
  if (e.converted_type === 'LIST' || e.logical_type?.type === 'LIST') {
    const rep = t.children[0];
    if (!rep) return null;
    // 3-level: list (repeated group) → element; 2-level: a repeated primitive directly.
    return rep.children.length === 1 && rep.element.repetition_type === 'REPEATED' ? rep.children[0]! : rep;
  }
  return null;
}

/** The type of a top-level column of a parquet schema. */
export function columnTypeOf(t: SchemaTree): ColumnType {
  let depth = 0;
  let node = t;
  if (node.element.repetition_type === 'REPEATED') depth++; // legacy repeated top-level field
  for (let item = listItem(node); item; item = listItem(node)) {
    depth++;
    node = item;
  }
  const leaf = leafOf(node);
  let text = leaf.text;
  for (let i = 0; i < depth; i++) text = `list<${text}>`;
  return { kind: leaf.kind, depth, text };
}

const FLOATS = ['float16', 'float32', 'float64'];
const INTS = ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'];

/** The value kind an info.json dtype asks for; null for dtypes not stored as plain values (video, image, unknown). */
export function kindOfDtype(dtype: string): ValueKind | null {
  if (FLOATS.includes(dtype)) return 'float';
  if (INTS.includes(dtype)) return 'int';
  if (dtype === 'bool' || dtype === 'string') return dtype;
  return null;
}

/** `float32[14]`, `int64[1]`, `string[1]`. */
export function describeFeature(f: FeatureSpec): string {
  return `${f.dtype}[${f.shape.join(',')}]`;
}

/** List depths a feature's shape allows: [1] is a scalar or a 1-element list (LeRobot writes both), [n] a list, [a,b] nested lists. */
function depthsFor(shape: readonly number[]): number[] {
  if (shape.length === 0) return [0];
  if (shape.length === 1) return shape[0] === 1 ? [0, 1] : [1];
  return [shape.length];
}

/**
 * Why a column's parquet type does not fit its feature, or null when it does. Features
 * stored otherwise (video, image) or with dtypes we do not know are not judged.
 */
export function columnTypeMismatch(f: FeatureSpec, t: ColumnType): string | null {
  if (f.dtype === 'image') {
    return t.kind === 'struct' || t.kind === 'bytes' ? null : `info.json says image (a {bytes, path} struct) but the file has ${t.text}`;
  }
  const kind = kindOfDtype(f.dtype);
  if (kind === null) return null;
  const depths = depthsFor(f.shape);
  if (t.kind !== kind || !depths.includes(t.depth)) {
    const want = depths.map((d) => {
      let s = kind === 'float' ? 'float/double' : kind === 'int' ? 'int32/int64' : kind;
      for (let i = 0; i < d; i++) s = `list<${s}>`;
      return s;
    }).join(' or ');
    return `info.json says ${describeFeature(f)}, so the column must hold ${want}, but the file has ${t.text}`;
  }
  return null;
}

function scalarProblem(x: unknown, kind: ValueKind): string | null {
  switch (kind) {
    case 'float': return typeof x === 'number' ? (Number.isFinite(x) ? null : `${x}`) : `${typeof x} ${JSON.stringify(x)}`;
    case 'int': return typeof x === 'number' && Number.isInteger(x) ? null : typeof x === 'number' ? `non-integer ${x}` : `${typeof x} ${JSON.stringify(x)}`;
    case 'bool': return typeof x === 'boolean' ? null : `${typeof x} ${JSON.stringify(x)}`;
    case 'string': return typeof x === 'string' ? null : `${typeof x} ${JSON.stringify(x)}`;
    default: return null;
  }
}

/**
 * Why one decoded value does not fit its feature (wrong type, wrong length, NaN/±∞, null),
 * or null when it fits. Only features with a plain-value dtype are judged.
 */
export function valueMismatch(f: FeatureSpec, v: unknown): string | null {
  const kind = kindOfDtype(f.dtype);
  if (kind === null) return null;
  if (v === null || v === undefined) return 'is null';
  const shape = f.shape.length === 1 && f.shape[0] === 1 && !Array.isArray(v) ? [] : f.shape;
  const walk = (x: unknown, dims: readonly number[], at: string): string | null => {
    if (dims.length === 0) {
      const p = scalarProblem(x, kind);
      return p ? `${at ? `element ${at} ` : ''}is ${p}, expected ${f.dtype}` : null;
    }
    if (!Array.isArray(x)) return `${at ? `element ${at} ` : ''}is ${typeof x}, expected a list of ${dims[0]}`;
    if (x.length !== dims[0]) return `${at ? `element ${at} ` : ''}has ${x.length} values, expected ${dims[0]} (shape [${f.shape.join(',')}])`;
    for (let i = 0; i < x.length; i++) {
      const p = walk(x[i], dims.slice(1), at ? `${at},${i}` : String(i));
      if (p) return p;
    }
    return null;
  };
  return walk(v, shape, '');
}
