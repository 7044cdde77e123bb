import { writeFile } from 'node:fs/promises';
import * as arrow from 'apache-arrow';
import { parquetWriteBuffer, type ColumnSource, type SchemaElement } from 'hyparquet-writer';

/** Column types LeRobot writes (through HF datasets / pyarrow). */
export type ParquetColumnType =
  | 'float32' | 'float64' | 'int64' | 'bool' | 'string'
  | { list: 'float32' | 'float64' | 'int64' | 'string'; fixed?: number };

export interface ParquetColumn {
  readonly name: string;
  readonly type: ParquetColumnType;
  readonly data: readonly unknown[];
}

const PHYSICAL = { float32: 'FLOAT', float64: 'DOUBLE', int64: 'INT64', bool: 'BOOLEAN', string: 'BYTE_ARRAY' } as const;

function arrowType(t: ParquetColumnType): arrow.DataType {
  const scalar = (s: 'float32' | 'float64' | 'int64' | 'bool' | 'string'): arrow.DataType =>
    s === 'float32' ? new arrow.Float32() : s === 'float64' ? new arrow.Float64() : s === 'int64' ? new arrow.Int64() : s === 'bool' ? new arrow.Bool() : new arrow.Utf8();
  if (typeof t === 'string') return scalar(t);
  const item = new arrow.Field(t.fixed ? 'item' : 'element', scalar(t.list), true);
  return t.fixed ? new arrow.FixedSizeList(t.fixed, item) : new arrow.List(item);
}

/** HF `datasets` feature JSON, as stored under the `huggingface` key by LeRobot. */
function hfFeature(t: ParquetColumnType): unknown {
  const value = (s: string): unknown => ({ dtype: s === 'string' ? 'string' : s, _type: 'Value' });
  if (typeof t === 'string') return value(t);
  return t.fixed ? { feature: value(t.list), length: t.fixed, _type: 'Sequence' } : { feature: value(t.list), _type: 'Sequence' };
}

/** The serialized Arrow schema pyarrow stores as `ARROW:schema`, so readers see fixed_size_list types. */
function arrowSchemaB64(cols: readonly ParquetColumn[], metadata: Map<string, string>): string {
  const schema = new arrow.Schema(cols.map((c) => new arrow.Field(c.name, arrowType(c.type), true)), metadata);
  const ipc = arrow.tableToIPC(new arrow.Table(schema), 'stream');
  return Buffer.from(ipc.subarray(0, ipc.length - 8)).toString('base64'); // drop the end-of-stream marker
}

function toPhysical(t: ParquetColumnType, v: unknown): unknown {
  const conv = (s: string, x: unknown): unknown => (s === 'int64' ? BigInt(x as number) : x);
  if (typeof t === 'string') return conv(t, v);
  return Array.from(v as ArrayLike<unknown>, (x) => conv(t.list, x));
}

/**
 * Writes a parquet file with the schema LeRobot's files have: scalars OPTIONAL, vectors as
 * 3-level LIST, plus `ARROW:schema` (fixed_size_list for fixed vectors) and `huggingface` metadata.
 */
export async function writeParquet(
  file: string,
  cols: readonly ParquetColumn[],
  opts: { huggingface?: boolean; kv?: Record<string, string> } = {},
): Promise<void> {
  const schema: SchemaElement[] = [{ name: 'schema', num_children: cols.length }];
  for (const c of cols) {
    if (typeof c.type === 'string') {
      schema.push({ name: c.name, type: PHYSICAL[c.type], repetition_type: 'OPTIONAL', ...(c.type === 'string' ? { converted_type: 'UTF8' as const } : {}) });
    } else {
      schema.push({ name: c.name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } });
      schema.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
      schema.push({ name: 'element', type: PHYSICAL[c.type.list], repetition_type: 'OPTIONAL', ...(c.type.list === 'string' ? { converted_type: 'UTF8' as const } : {}) });
    }
  }
  const meta = new Map<string, string>();
  if (opts.huggingface !== false) {
    meta.set('huggingface', JSON.stringify({ info: { features: Object.fromEntries(cols.map((c) => [c.name, hfFeature(c.type)])) } }));
  }
  for (const [k, v] of Object.entries(opts.kv ?? {})) meta.set(k, v);
  const columnData: ColumnSource[] = cols.map((c) => ({ name: c.name, data: c.data.map((v) => toPhysical(c.type, v)) as ColumnSource['data'] }));
  const kvMetadata = [...meta.entries()].map(([key, value]) => ({ key, value }));
  kvMetadata.push({ key: 'ARROW:schema', value: arrowSchemaB64(cols, meta) });
  const ab = parquetWriteBuffer({ columnData, schema, kvMetadata, rowGroupSize: 1_000_000 });
  await writeFile(file, new Uint8Array(ab));
}
