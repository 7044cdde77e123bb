// The Hugging Face hub cache, as huggingface_hub lays it out (file_download.py
// hf_hub_download / _create_symlink), and resolving a model argument (a local
// folder or a hub id like 'Qwen/Qwen3-VL-2B-Instruct') to a local folder:
//
//   <cache>/models--<org>--<name>/
//     refs/<revision>                  the commit hash a branch or tag points at
//     blobs/<etag>                     file contents, named by the hub's ETag (sha256 for LFS files,
//                                      the git blob sha1 for small files)
//     snapshots/<commit>/<file>        relative symlinks ../../blobs/<etag>
//
// The one resolver of the repository: @vlreward/processor (processor files) and
// @vlreward/model (config + weights) call it with the files they need.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { lstat, mkdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME } from './safetensors_dir.js';

/** What a snapshot must hold: checked in the cache, and downloaded when missing. */
export interface HubFiles {
  /** Names the files in messages, e.g. 'processor' or 'model'. */
  readonly what: string;
  /** Files a cached snapshot must have; a download fails without them. */
  readonly required: readonly string[];
  /** Files downloaded when the hub has them (a 404 is fine); not needed for a cached snapshot to count. */
  readonly optional?: readonly string[];
  /** Also the safetensors weights: the shards listed by model.safetensors.index.json, else model.safetensors. */
  readonly weights?: boolean;
}

export interface ResolveModelOptions {
  /** Branch, tag or commit on the hub (default 'main'). */
  readonly revision?: string;
  /** Never touch the network, only the cache (also on when HF_HUB_OFFLINE=1). */
  readonly localFilesOnly?: boolean;
  /** Hub root (default $HF_ENDPOINT, else https://huggingface.co). */
  readonly endpoint?: string;
  /** Bearer token (default $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN). */
  readonly token?: string;
  /** Cache root (default hfHubCacheDir()). */
  readonly cacheDir?: string;
}

/** The hub cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
export function hfHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

/** Which variable chose the cache root, for error messages. */
function cacheSource(env: NodeJS.ProcessEnv): string {
  if (env.HF_HUB_CACHE) return 'from HF_HUB_CACHE';
  if (env.HF_HOME) return 'from HF_HOME; HF_HUB_CACHE unset';
  return 'the default: neither HF_HUB_CACHE nor HF_HOME is set';
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const COMMIT = /^[0-9a-f]{40}$/;

/** True for 'org/name' hub ids. */
export function isHubId(s: string): boolean {
  return HUB_ID.test(s);
}

/** <cache>/models--<org>--<name> (huggingface_hub repo_folder_name). */
export function hubRepoDir(repoId: string, cacheDir: string = hfHubCacheDir()): string {
  if (!isHubId(repoId)) throw new Error(`'${repoId}' is not a hub id of the form 'org/name'`);
  return join(cacheDir, `models--${repoId.replace('/', '--')}`);
}

/** Every file `files` asks for that `dir` lacks (weights: the index's shards, else model.safetensors). */
function missingFiles(dir: string, files: HubFiles): string[] {
  const missing = files.required.filter((f) => !existsSync(join(dir, f)));
  if (files.weights) {
    const index = join(dir, SAFE_WEIGHTS_INDEX_NAME);
    if (existsSync(index)) missing.push(...shardsOf(index).filter((f) => !existsSync(join(dir, f))));
    else if (!existsSync(join(dir, SAFE_WEIGHTS_NAME))) missing.push(SAFE_WEIGHTS_NAME);
  }
  return missing;
}

function shardsOf(indexPath: string): string[] {
  let map: unknown;
  try {
    map = (JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: unknown }).weight_map;
  } catch (e) {
    throw new Error(`${indexPath}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof map !== 'object' || map === null) throw new Error(`${indexPath}: missing 'weight_map' object`);
  return [...new Set(Object.values(map as Record<string, string>))];
}

/**
 * A local folder for `idOrPath`: the folder itself when it is one (callers check its contents),
 * else the cached snapshot of that hub id when it holds `files`, else a download into the cache
 * (unless `localFilesOnly` or HF_HUB_OFFLINE=1, which make a missing snapshot an error naming the
 * cache path tried and the variables that choose it).
 */
export async function resolveHubModel(idOrPath: string, files: HubFiles, opts: ResolveModelOptions = {}): Promise<string> {
  if (existsSync(idOrPath)) {
    if (!statSync(idOrPath).isDirectory()) throw new Error(`model '${idOrPath}': expected a directory in Hugging Face layout, found a file`);
    return idOrPath;
  }
  if (!isHubId(idOrPath)) {
    throw new Error(`model '${idOrPath}': no such directory, and not a hub id of the form 'org/name' (like 'Qwen/Qwen3-VL-2B-Instruct')`);
  }
  const revision = opts.revision ?? 'main';
  const cacheDir = opts.cacheDir ?? hfHubCacheDir();
  const repoDir = hubRepoDir(idOrPath, cacheDir);
  const refFile = join(repoDir, 'refs', revision);
  const commit = existsSync(refFile) ? readFileSync(refFile, 'utf8').trim() : COMMIT.test(revision) ? revision : null;
  const snap = commit ? join(repoDir, 'snapshots', commit) : null;
  const missing = snap && existsSync(snap) ? missingFiles(snap, files) : null;
  if (snap && missing?.length === 0) return snap;
  if (opts.localFilesOnly || process.env.HF_HUB_OFFLINE === '1') {
    const where = opts.cacheDir ? `${cacheDir} (the cacheDir option)` : `${cacheDir} (${cacheSource(process.env)})`;
    const found = !commit
      ? `no ${refFile}`
      : missing === null
        ? `no snapshot ${snap}`
        : `snapshot ${snap} lacks ${missing.join(', ')}`;
    throw new Error(
      `model '${idOrPath}' (revision ${revision}): the ${files.what} files are not in the HF cache (${found}; cache root ${where}) ` +
        `and offline mode is on (${opts.localFilesOnly ? 'local files only' : 'HF_HUB_OFFLINE=1'}); ` +
        `point HF_HUB_CACHE or HF_HOME at the cache that holds it, or pass a local folder`,
    );
  }
  return downloadSnapshot(idOrPath, revision, repoDir, files, opts);
}

/** The hub's ETag as huggingface_hub reads it (X-Linked-Etag for LFS files, else ETag; quotes and W/ stripped). */
function etagOf(res: Response): string | null {
  const raw = res.headers.get('x-linked-etag') ?? res.headers.get('etag');
  if (!raw) return null;
  const tag = raw.replace(/^W\//, '').replace(/^"|"$/g, '');
  return /^[\w.-]+$/.test(tag) ? tag : null;
}

async function downloadSnapshot(repo: string, revision: string, repoDir: string, files: HubFiles, opts: ResolveModelOptions): Promise<string> {
  const endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const token = opts.token ?? process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const url = (file: string): string => `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
  const get = async (file: string, optional: boolean): Promise<Response | null> => {
    let res: Response;
    try {
      res = await fetch(url(file), { headers, redirect: 'follow' });
    } catch (e) {
      if (optional) return null;
      throw new Error(`model '${repo}': cannot download ${url(file)} (${(e as Error).message}); set HF_ENDPOINT, or pass a local directory instead`);
    }
    if (res.status === 404) {
      if (optional) return null;
      throw new Error(`model '${repo}': ${file} not found on ${endpoint} (HTTP 404)`);
    }
    if (!res.ok || !res.body) {
      const hint = res.status === 401 || res.status === 403 ? ' (set HF_TOKEN for gated/private models)' : '';
      throw new Error(`model '${repo}': GET ${url(file)} failed with HTTP ${res.status}${hint}`);
    }
    return res;
  };
  // The first response names the commit the revision points at; every file goes under that snapshot.
  const [first, ...rest] = files.required;
  if (first === undefined) throw new Error(`resolveHubModel: HubFiles.required is empty (name at least one file, e.g. config.json)`);
  const firstRes = (await get(first, false))!;
  const commit = firstRes.headers.get('x-repo-commit') ?? revision;
  const save = async (file: string, res: Response): Promise<void> => {
    await mkdir(join(repoDir, 'blobs'), { recursive: true });
    const tmp = join(repoDir, 'blobs', `${randomBytes(8).toString('hex')}.incomplete`);
    const sha = createHash('sha256');
    try {
      await pipeline(
        Readable.fromWeb(res.body as never),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const b of chunks) {
            sha.update(b);
            yield b;
          }
        },
        createWriteStream(tmp),
      );
      await storeCacheFile(repoDir, commit, file, tmp, etagOf(res) ?? sha.digest('hex'));
    } catch (e) {
      await rm(tmp, { force: true });
      throw new Error(`model '${repo}': download of ${file} failed: ${(e as Error).message}`);
    }
  };
  const snap = join(repoDir, 'snapshots', commit);
  await save(first, firstRes);
  const want = async (file: string, optional: boolean): Promise<void> => {
    if (existsSync(join(snap, file))) return;
    const res = await get(file, optional);
    if (res) await save(file, res);
  };
  for (const f of rest) await want(f, false);
  for (const f of files.optional ?? []) await want(f, true);
  if (files.weights) {
    await want(SAFE_WEIGHTS_INDEX_NAME, true);
    const index = join(snap, SAFE_WEIGHTS_INDEX_NAME);
    for (const f of existsSync(index) ? shardsOf(index) : [SAFE_WEIGHTS_NAME]) await want(f, false);
  }
  if (!COMMIT.test(revision)) await writeCacheRef(repoDir, revision, commit);
  return snap;
}

/**
 * Move a finished file `tmp` (on the cache's filesystem) to blobs/<blobId> and point
 * snapshots/<commit>/<file> at it with a relative symlink, as huggingface_hub does.
 * Returns the snapshot path of the file.
 */
export async function storeCacheFile(repoDir: string, commit: string, file: string, tmp: string, blobId: string): Promise<string> {
  if (!/^[\w.-]+$/.test(blobId)) throw new Error(`storeCacheFile: blob id '${blobId}' is not a plain file name`);
  if (file.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new Error(`storeCacheFile: '${file}' is not a relative file path`);
  const blob = join(repoDir, 'blobs', blobId);
  await mkdir(dirname(blob), { recursive: true });
  await rename(tmp, blob);
  const pointer = join(repoDir, 'snapshots', commit, file);
  await mkdir(dirname(pointer), { recursive: true });
  if (await lstat(pointer).catch(() => null)) await unlink(pointer);
  await symlink(relative(dirname(pointer), blob), pointer);
  return pointer;
}

/**
 * refs/<ref> = commit (huggingface_hub writes it without a newline). The commit is a 40-hex hash from
 * the hub's X-Repo-Commit; a server that sends none leaves the revision name itself.
 */
export async function writeCacheRef(repoDir: string, ref: string, commit: string): Promise<void> {
  if (!/^[\w.-]+$/.test(commit)) throw new Error(`writeCacheRef: '${commit}' is not a commit hash or revision name`);
  const refFile = join(repoDir, 'refs', ref);
  await mkdir(dirname(refFile), { recursive: true });
  await writeFile(refFile, commit);
}

/** The git blob id of `bytes` (sha1 of "blob <size>\0" + bytes): the ETag the hub gives a file kept in git, not LFS. */
export function gitBlobSha1(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}
