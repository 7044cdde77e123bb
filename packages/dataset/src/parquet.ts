import { readFile } from 'node:fs/promises';
import { parquetMetadata, parquetReadObjects, parquetSchema, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { columnTypeOf, type ColumnType } from './column_types.js';
import { DatasetError } from './errors.js';

/** A parquet file read whole, column by column. INT64 values are converted to `number`. */
export interface ParquetTable {
  readonly file: string;
  readonly numRows: number;
  /** Column names in file order (top-level fields). */
  readonly names: readonly string[];
  readonly columns: ReadonlyMap<string, unknown[]>;
  /** What each top-level column holds, from the parquet schema (every column, also those not read). */
  readonly types: ReadonlyMap<string, ColumnType>;
  /** Key/value metadata (`huggingface`, `pandas`, `ARROW:schema`, …). */
  readonly kv: Readonly<Record<string, string>>;
}

/** BigInt → number, refusing values that would lose precision. */
export function int64ToNumber(v: bigint, file: string, field: string, row: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new DatasetError(`row ${row}: int64 ${v} does not fit in a JavaScript number`, { file, field });
  }
  return Number(v);
}

function normalize(v: unknown, file: string, field: string, row: number): unknown {
  if (typeof v === 'bigint') return int64ToNumber(v, file, field, row);
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'bigint') return v.map((x) => normalize(x, file, field, row));
    if (v.length > 0 && Array.isArray(v[0])) return v.map((x) => normalize(x, file, field, row));
    return v;
  }
  return v;
}

/** Reads a parquet file (all row groups). Missing or corrupt files raise a DatasetError naming the file. */
export async function readParquet(file: string, opts: { columns?: string[] } = {}): Promise<ParquetTable> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DatasetError(err.code === 'ENOENT' ? 'parquet file is missing' : `cannot read parquet file (${err.message})`, { file });
  }
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  let md: FileMetaData;
  try {
    md = parquetMetadata(ab);
  } catch (e) {
    throw new DatasetError(`not a valid parquet file (${(e as Error).message})`, { file });
  }
  const tree = parquetSchema(md).children;
  const names = tree.map((c) => c.element.name);
  const types = new Map(tree.map((c) => [c.element.name, columnTypeOf(c)]));
  if (opts.columns) {
    for (const c of opts.columns) {
      if (!names.includes(c)) throw new DatasetError(`column is missing; the file has ${names.join(', ')}`, { file, field: c });
    }
  }
  let rows: Record<string, unknown>[];
  try {
    // utf8: false keeps un-annotated BYTE_ARRAY (inline image bytes) binary; STRING columns are still strings.
    rows = (await parquetReadObjects({ file: ab, compressors, utf8: false, ...(opts.columns ? { columns: opts.columns } : {}) })) as Record<string, unknown>[];
  } catch (e) {
    throw new DatasetError(`corrupt parquet data (${(e as Error).message})`, { file });
  }
  const numRows = Number(md.num_rows);
  if (rows.length !== numRows) {
    throw new DatasetError(`footer says ${numRows} rows but ${rows.length} were decoded`, { file });
  }
  const wanted = opts.columns ?? names;
  const columns = new Map<string, unknown[]>();
  for (const name of wanted) {
    const col = new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) col[i] = normalize(rows[i]![name], file, name, i);
    columns.set(name, col);
  }
  const kv: Record<string, string> = {};
  for (const e of md.key_value_metadata ?? []) kv[e.key] = e.value ?? '';
  return { file, numRows, names, columns, types, kv };
}

/** A column that must exist, with a DatasetError naming file and column otherwise. */
export function requireColumn(t: ParquetTable, name: string): unknown[] {
  const c = t.columns.get(name);
  if (!c) throw new DatasetError(`column is missing; the file has ${t.names.join(', ')}`, { file: t.file, field: name });
  return c;
}
