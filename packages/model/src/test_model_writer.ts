// A random-weight Qwen3-VL written into the Hugging Face hub cache exactly where and
// how a real download of the repository would land (refs/main → snapshots/<commit>/
// with symlinks into blobs/), so `--model Qwen/Qwen3-VL-2B-Instruct` resolves offline
// through the ordinary resolver. Qwen/Qwen3-VL-2B-Instruct ships one bf16
// model.safetensors (no shard index), tied embeddings (no lm_head.weight) and the
// processor files beside config.json; so does this.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  castTensorData,
  gitBlobSha1,
  hfHubCacheDir,
  hubRepoDir,
  SAFE_WEIGHTS_NAME,
  storeCacheFile,
  writeCacheRef,
  writeSafetensorsStreaming,
  type SafetensorsTensorSpec,
} from '@vlreward/graph';
import { parseQwen3VLConfig, type Qwen3VLConfigJson } from './qwen3_vl/config.js';
import { qwen3VLWeightSpecs, randomWeight } from './qwen3_vl/weights.js';

export const QWEN3_VL_2B_REPO = 'Qwen/Qwen3-VL-2B-Instruct';

export interface WriteHubTestModelOptions {
  /** The config.json to write (e.g. ../shared/models/qwen3-vl-2b-instruct.config.json, or tinyQwen3VLConfig()). */
  readonly config: Qwen3VLConfigJson;
  /** Folder with the processor files (tokenizer.json, tokenizer_config.json, preprocessor_config.json, chat template). */
  readonly processorDir: string;
  /** Hub id the cache entry is for (default Qwen/Qwen3-VL-2B-Instruct). */
  readonly repoId?: string;
  /** Cache root (default hfHubCacheDir(): $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub). */
  readonly cacheDir?: string;
  /** Branch the ref file names (default 'main'). */
  readonly revision?: string;
  /** Snapshot commit (40 hex; default derived from the config and seed, so a rewrite replaces the same snapshot). */
  readonly commit?: string;
  /** Seed of the random init (randomQwen3VLWeights' values, stored as bf16). */
  readonly seed?: number;
  /** fsync model.safetensors before linking it (default true). */
  readonly fsync?: boolean;
  /** Called as weight bytes reach the file. */
  readonly onProgress?: (written: number, total: number) => void;
}

export interface CacheFileInfo {
  readonly file: string;
  readonly blob: string;
  readonly bytes: number;
}

export interface WrittenHubTestModel {
  readonly repoId: string;
  /** <cache>/models--org--name */
  readonly repoDir: string;
  readonly commit: string;
  /** What resolveModelDir(repoId) returns: <repoDir>/snapshots/<commit> */
  readonly snapshotDir: string;
  readonly files: readonly CacheFileInfo[];
  /** Tensor count and parameter count of model.safetensors. */
  readonly tensors: number;
  readonly params: number;
}

/** The hub keeps files over 10 MB (and every *.safetensors) in LFS; their ETag, hence blob name, is the sha256. */
const LFS_MIN_BYTES = 10_000_000;

/** Every tensor is written in pieces of at most this many values, so memory stays flat whatever the model size. */
const CHUNK_VALUES = 1 << 22;

/** Processor and tokenizer files are the folder's JSON, Jinja and text files (SOURCES.md and friends are not). */
const PROCESSOR_FILE = /\.(json|jinja|txt)$/;

/**
 * Write a random-weight model in the hub cache layout and point refs/<revision> at it.
 * Weights go to disk tensor by tensor in bounded chunks (the 2B model is ~4.3 GB bf16).
 */
export async function writeHubTestModel(o: WriteHubTestModelOptions): Promise<WrittenHubTestModel> {
  const repoId = o.repoId ?? QWEN3_VL_2B_REPO;
  const config = parseQwen3VLConfig(o.config, 'config');
  const seed = o.seed ?? 0;
  const configBytes = new TextEncoder().encode(JSON.stringify(o.config, null, 2) + '\n');
  const commit = o.commit ?? createHash('sha1').update('vlreward hub test model\0').update(configBytes).update(`\0${seed}`).digest('hex');
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`writeHubTestModel: commit '${commit}' is not 40 hex digits`);
  const processorFiles = listProcessorFiles(o.processorDir);
  const repoDir = hubRepoDir(repoId, o.cacheDir ?? hfHubCacheDir());
  const blobs = join(repoDir, 'blobs');
  await mkdir(blobs, { recursive: true });
  const files: CacheFileInfo[] = [];

  const storeBytes = async (file: string, bytes: Uint8Array): Promise<void> => {
    const blob = bytes.length >= LFS_MIN_BYTES ? createHash('sha256').update(bytes).digest('hex') : gitBlobSha1(bytes);
    const tmp = join(blobs, `${randomBytes(8).toString('hex')}.incomplete`);
    await writeFile(tmp, bytes);
    await storeCacheFile(repoDir, commit, file, tmp, blob);
    files.push({ file, blob, bytes: bytes.length });
  };
  await storeBytes('config.json', configBytes);
  for (const f of processorFiles) await storeBytes(f, readFileSync(join(o.processorDir, f)));

  const specs: SafetensorsTensorSpec[] = qwen3VLWeightSpecs(config).map((s) => ({ name: s.name, dtype: 'bfloat16', dims: s.shape }));
  const total = specs.reduce((a, s) => a + 2 * s.dims.reduce((x, y) => x * y, 1), 0);
  const free = await statfs(blobs);
  if (free.bavail * free.bsize < total + (64 << 20)) {
    const gb = (b: number): string => (b / 1e9).toFixed(2);
    throw new Error(`${blobs}: ${gb(free.bavail * free.bsize)} GB free, the weights need ${gb(total)} GB (choose another cache with --cache / HF_HUB_CACHE)`);
  }
  const tmp = join(blobs, `${randomBytes(8).toString('hex')}.incomplete`);
  const sha = createHash('sha256');
  let written = 0;
  let header = true;
  try {
    const bytes = await writeSafetensorsStreaming(tmp, specs, (spec) => bf16Chunks(spec, seed), { format: 'pt' }, {
      atomic: false,
      fsync: o.fsync ?? true,
      onWrite: (chunk) => {
        sha.update(chunk);
        if (header) header = false; // the first chunk is the header; progress counts weight bytes
        else o.onProgress?.((written += chunk.byteLength), total);
      },
    });
    const blob = sha.digest('hex');
    await storeCacheFile(repoDir, commit, SAFE_WEIGHTS_NAME, tmp, blob);
    files.push({ file: SAFE_WEIGHTS_NAME, blob, bytes });
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await writeCacheRef(repoDir, o.revision ?? 'main', commit);
  return {
    repoId,
    repoDir,
    commit,
    snapshotDir: join(repoDir, 'snapshots', commit),
    files,
    tensors: specs.length,
    params: total / 2,
  };
}

/**
 * One tensor's bf16 bytes in bounded chunks. The values are randomWeight()'s for this name
 * (norms 1, biases 0, matrices N(0, 0.02) tiling one 64K-value block), so the file equals
 * randomQwen3VLWeights(config, seed) rounded to bf16 without ever holding a whole tensor.
 */
function* bf16Chunks(spec: SafetensorsTensorSpec, seed: number): Iterable<Uint8Array> {
  const n = spec.dims.reduce((a, b) => a * b, 1);
  const blockLen = Math.min(n, 1 << 16);
  const block = castTensorData(randomWeight({ name: spec.name, shape: [blockLen] }, seed), 'bfloat16').data as Uint16Array;
  const chunkLen = Math.min(n, Math.max(blockLen, Math.floor(CHUNK_VALUES / blockLen) * blockLen));
  const chunk = new Uint16Array(chunkLen);
  for (let off = 0; off < chunkLen; off += blockLen) chunk.set(block.subarray(0, Math.min(blockLen, chunkLen - off)), off);
  const bytes = new Uint8Array(chunk.buffer);
  // chunkLen is a multiple of blockLen (or all of n), so every chunk starts on a block boundary.
  for (let done = 0; done < n; done += chunkLen) yield bytes.subarray(0, 2 * Math.min(chunkLen, n - done));
}

function listProcessorFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`processor dir ${dir}: cannot read (${(e as Error).message})`);
  }
  const files = names.filter((f) => PROCESSOR_FILE.test(f) && f !== 'config.json' && !f.startsWith('model') && statSync(join(dir, f)).isFile()).sort();
  const need = ['tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json'].filter((f) => !files.includes(f));
  if (need.length > 0) throw new Error(`processor dir ${dir}: no ${need.join(', ')} (expected the Qwen3-VL processor files, e.g. ../shared/models/qwen3vl-processor)`);
  return files;
}
