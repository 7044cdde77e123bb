// Resolve QWEN3VL_MODEL (a local folder or a Hugging Face hub id) to a local
// folder with config.json and safetensors weights: a folder is used as is; a
// hub id is looked up in the Hugging Face cache layout
// (<HF_HUB_CACHE>/models--org--name/{refs,snapshots}) and, when allowed,
// downloaded from HF_ENDPOINT with HF_TOKEN, streamed to disk file by file.
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface ResolveModelOptions {
  readonly revision?: string;
  /** Download missing files (default: true unless HF_HUB_OFFLINE=1). */
  readonly download?: boolean;
  readonly endpoint?: string;
  readonly token?: string;
  readonly cacheDir?: string;
  /** Extra files to fetch besides config + weights (e.g. tokenizer files). */
  readonly extraFiles?: readonly string[];
}

export function hfHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** The folder of `idOrPath`, downloading into the HF cache when needed. */
export async function resolveModelDir(idOrPath: string, opts: ResolveModelOptions = {}): Promise<string> {
  if (existsSync(idOrPath) && statSync(idOrPath).isDirectory()) {
    if (!existsSync(join(idOrPath, 'config.json'))) throw new Error(`${idOrPath}: not a model folder (no config.json)`);
    return idOrPath;
  }
  if (!HUB_ID.test(idOrPath)) {
    throw new Error(`model '${idOrPath}' is neither an existing folder nor a hub id like 'Qwen/Qwen3-VL-2B-Instruct'`);
  }
  const revision = opts.revision ?? 'main';
  const repoDir = join(opts.cacheDir ?? hfHubCacheDir(), `models--${idOrPath.replace('/', '--')}`);
  const refFile = join(repoDir, 'refs', revision);
  const commit = existsSync(refFile) ? readFileSync(refFile, 'utf8').trim() : /^[0-9a-f]{40}$/.test(revision) ? revision : null;
  if (commit) {
    const snap = join(repoDir, 'snapshots', commit);
    if (isComplete(snap)) return snap;
  }
  const download = opts.download ?? process.env.HF_HUB_OFFLINE !== '1';
  if (!download) {
    throw new Error(`model '${idOrPath}' (revision ${revision}) is not in the Hugging Face cache ${repoDir} and downloads are off (HF_HUB_OFFLINE=1)`);
  }
  return downloadSnapshot(idOrPath, revision, repoDir, opts);
}

function isComplete(dir: string): boolean {
  if (!existsSync(join(dir, 'config.json'))) return false;
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    return [...new Set(Object.values(map))].every((f) => existsSync(join(dir, f)));
  }
  return existsSync(join(dir, 'model.safetensors'));
}

async function downloadSnapshot(repo: string, revision: string, repoDir: string, opts: ResolveModelOptions): Promise<string> {
  const endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/$/, '');
  const token = opts.token ?? process.env.HF_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const url = (file: string): string => `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
  const get = async (file: string, optional = false): Promise<Response | null> => {
    let res: Response;
    try {
      res = await fetch(url(file), { headers, redirect: 'follow' });
    } catch (e) {
      throw new Error(`cannot reach ${endpoint} for ${repo}/${file}: ${(e as Error).message} (set HF_ENDPOINT, or pass a local folder)`);
    }
    if (res.status === 404 && optional) return null;
    if (res.status === 401 || res.status === 403) throw new Error(`${url(file)}: HTTP ${res.status} (gated or private: set HF_TOKEN)`);
    if (!res.ok || !res.body) throw new Error(`${url(file)}: HTTP ${res.status}`);
    return res;
  };
  const cfg = (await get('config.json'))!;
  const commit = cfg.headers.get('x-repo-commit') ?? revision;
  const snap = join(repoDir, 'snapshots', commit);
  mkdirSync(snap, { recursive: true });
  const save = async (file: string, res: Response): Promise<void> => {
    const dest = join(snap, file);
    const tmp = `${dest}.incomplete`;
    try {
      await pipeline(Readable.fromWeb(res.body as never), createWriteStream(tmp));
      renameSync(tmp, dest);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new Error(`download of ${repo}/${file} failed: ${(e as Error).message}`);
    }
  };
  await save('config.json', cfg);
  const index = await get('model.safetensors.index.json', true);
  const files: string[] = [];
  if (index) {
    await save('model.safetensors.index.json', index);
    const map = (JSON.parse(readFileSync(join(snap, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> }).weight_map;
    files.push(...new Set(Object.values(map)));
  } else {
    files.push('model.safetensors');
  }
  for (const f of [...files, ...(opts.extraFiles ?? [])]) {
    if (existsSync(join(snap, f))) continue;
    const res = await get(f, (opts.extraFiles ?? []).includes(f));
    if (res) await save(f, res);
  }
  mkdirSync(join(repoDir, 'refs'), { recursive: true });
  if (!/^[0-9a-f]{40}$/.test(revision)) writeFileSync(join(repoDir, 'refs', revision), commit);
  return snap;
}
