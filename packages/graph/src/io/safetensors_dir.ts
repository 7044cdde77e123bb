import { access, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { numel } from '../shape.js';
import type { TensorData } from '../tensor_data.js';
import { BYTES_PER_ELEMENT } from '../dtype.js';
import {
  openSafetensors,
  writeSafetensors,
  type SafetensorsEntry,
  type SafetensorsFile,
  type SafetensorsMetadata,
  type TensorMap,
} from './safetensors.js';

// Hugging Face weight folders: either one `model.safetensors`, or shards
// `model-00001-of-0000N.safetensors` listed by `model.safetensors.index.json`
// = {"metadata": {"total_size": bytes}, "weight_map": {tensor: shard file}}
// (transformers modeling_utils.save_pretrained / huggingface_hub split_torch_state_dict_into_shards).

export const SAFE_WEIGHTS_NAME = 'model.safetensors';
export const SAFE_WEIGHTS_INDEX_NAME = 'model.safetensors.index.json';
/** transformers' default max_shard_size ("5GB", decimal). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

export interface SafetensorsIndex {
  readonly metadata: Record<string, unknown>;
  readonly weight_map: Record<string, string>;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** Every tensor of a weight folder, whichever shard holds it; read lazily. */
export class SafetensorsDir {
  private constructor(
    readonly dir: string,
    /** Open shard files, by file name. */
    readonly files: ReadonlyMap<string, SafetensorsFile>,
    private readonly owner: ReadonlyMap<string, SafetensorsFile>,
    /** The index's metadata, or the single file's __metadata__. */
    readonly metadata: Readonly<Record<string, unknown>>,
  ) {}

  static async open(dir: string, options: { indexName?: string; singleName?: string } = {}): Promise<SafetensorsDir> {
    const indexPath = join(dir, options.indexName ?? SAFE_WEIGHTS_INDEX_NAME);
    const singlePath = join(dir, options.singleName ?? SAFE_WEIGHTS_NAME);
    const files = new Map<string, SafetensorsFile>();
    const closeAll = async (): Promise<void> => {
      for (const f of files.values()) await f.close();
    };
    try {
      if (await exists(indexPath)) {
        let index: SafetensorsIndex;
        try {
          index = JSON.parse(await readFile(indexPath, 'utf8')) as SafetensorsIndex;
        } catch (e) {
          throw new Error(`${indexPath}: not valid JSON (${(e as Error).message})`);
        }
        if (!index || typeof index.weight_map !== 'object' || index.weight_map === null) {
          throw new Error(`${indexPath}: missing 'weight_map' object`);
        }
        const owner = new Map<string, SafetensorsFile>();
        for (const [name, file] of Object.entries(index.weight_map)) {
          if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) {
            throw new Error(`${indexPath}: weight_map['${name}'] must be a file name in ${dir} (got ${JSON.stringify(file)})`);
          }
          let f = files.get(file);
          if (!f) {
            const p = join(dir, file);
            if (!(await exists(p))) throw new Error(`${indexPath}: shard '${file}' (holding '${name}') is missing from ${dir}`);
            f = await openSafetensors(p);
            files.set(file, f);
          }
          if (!f.has(name)) throw new Error(`${indexPath}: weight_map says '${name}' is in '${file}', but that shard has no such tensor`);
          owner.set(name, f);
        }
        const total = (index.metadata ?? {})['total_size'];
        if (typeof total === 'number') {
          let sum = 0;
          for (const [name, f] of owner) sum += f.entry(name).byteLength;
          if (sum !== total) {
            throw new Error(`${indexPath}: metadata.total_size is ${total} but the listed tensors hold ${sum} bytes`);
          }
        }
        return new SafetensorsDir(dir, files, owner, index.metadata ?? {});
      }
      if (await exists(singlePath)) {
        const f = await openSafetensors(singlePath);
        files.set(options.singleName ?? SAFE_WEIGHTS_NAME, f);
        return new SafetensorsDir(dir, files, new Map(f.names.map((n) => [n, f])), f.metadata);
      }
    } catch (e) {
      await closeAll();
      throw e;
    }
    throw new Error(`${dir}: no weights found (looked for ${indexPath} and ${singlePath})`);
  }

  /** Tensor names (index order for sharded folders, file order otherwise). */
  get names(): string[] {
    return [...this.owner.keys()];
  }
  has(name: string): boolean {
    return this.owner.has(name);
  }
  private fileOf(name: string): SafetensorsFile {
    const f = this.owner.get(name);
    if (!f) throw new Error(`${this.dir}: no tensor named '${name}' (${this.owner.size} tensors in ${this.files.size} file(s))`);
    return f;
  }
  entry(name: string): SafetensorsEntry {
    return this.fileOf(name).entry(name);
  }
  read(name: string): Promise<TensorData> {
    return this.fileOf(name).read(name);
  }
  /** One tensor as float32 (SafetensorsFile.readFloat32: 16-bit floats widened in place). */
  readFloat32(name: string): Promise<TensorData> {
    return this.fileOf(name).readFloat32(name);
  }
  async readAll(filter?: (name: string) => boolean): Promise<Map<string, TensorData>> {
    const out = new Map<string, TensorData>();
    for (const name of this.owner.keys()) {
      if (filter && !filter(name)) continue;
      out.set(name, await this.read(name));
    }
    return out;
  }
  async close(): Promise<void> {
    for (const f of this.files.values()) await f.close();
  }
}

/** Open a Hugging Face weight folder (sharded with index.json, or a single model.safetensors). */
export function openSafetensorsDir(dir: string, options?: { indexName?: string; singleName?: string }): Promise<SafetensorsDir> {
  return SafetensorsDir.open(dir, options);
}

export interface WriteShardedOptions {
  /** Start a new shard before one would exceed this many bytes (default 5e9, transformers' "5GB"). */
  readonly maxShardBytes?: number;
  /** File name stem: `<prefix>.safetensors` / `<prefix>-00001-of-00002.safetensors` (default 'model'). */
  readonly prefix?: string;
  /** Each shard's __metadata__ (default {format: 'pt'}, which transformers requires). */
  readonly metadata?: SafetensorsMetadata;
  readonly fsync?: boolean;
}

export interface ShardedWriteResult {
  /** Files written, in order (shards, then the index if any). */
  readonly files: string[];
  readonly totalBytes: number;
}

/**
 * Write weights the way transformers' save_pretrained does: one
 * `<prefix>.safetensors` when everything fits in one shard, else numbered
 * shards plus `<prefix>.safetensors.index.json`. Tensors fill shards in the
 * given order; a tensor larger than the limit gets a shard of its own.
 */
export async function writeSafetensorsSharded(
  dir: string,
  tensors: TensorMap,
  options: WriteShardedOptions = {},
): Promise<ShardedWriteResult> {
  const max = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  const prefix = options.prefix ?? 'model';
  const metadata = options.metadata ?? { format: 'pt' };
  const entries: [string, TensorData][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const shards: [string, TensorData][][] = [];
  let cur: [string, TensorData][] = [];
  let curBytes = 0;
  let totalBytes = 0;
  for (const [name, t] of entries) {
    const b = numel(t.dims) * BYTES_PER_ELEMENT[t.dtype];
    if (cur.length > 0 && curBytes + b > max) {
      shards.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push([name, t]);
    curBytes += b;
    totalBytes += b;
  }
  if (cur.length > 0 || shards.length === 0) shards.push(cur);
  await mkdir(dir, { recursive: true });
  const fsync = options.fsync ?? true;
  if (shards.length === 1) {
    const file = `${prefix}.safetensors`;
    await writeSafetensors(join(dir, file), new Map(shards[0]), metadata, { fsync });
    return { files: [file], totalBytes };
  }
  const n = shards.length;
  const pad = (i: number): string => String(i).padStart(5, '0');
  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const file = `${prefix}-${pad(i + 1)}-of-${pad(n)}.safetensors`;
    await writeSafetensors(join(dir, file), new Map(shards[i]), metadata, { fsync });
    for (const [name] of shards[i]!) weightMap[name] = file;
    files.push(file);
  }
  // transformers writes the index with sorted keys and indent 2.
  const sortedMap: Record<string, string> = {};
  for (const k of Object.keys(weightMap).sort()) sortedMap[k] = weightMap[k]!;
  const indexFile = `${prefix}.safetensors.index.json`;
  const index = { metadata: { total_size: totalBytes }, weight_map: sortedMap };
  const indexPath = join(dir, indexFile);
  const tmp = `${indexPath}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(index, null, 2) + '\n');
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, indexPath);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  files.push(indexFile);
  return { files, totalBytes };
}
