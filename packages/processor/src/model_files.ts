import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Files a Qwen3-VL processor is made of; the first group is required. */
export const REQUIRED_PROCESSOR_FILES = ['tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json'] as const;
export const OPTIONAL_PROCESSOR_FILES = [
  'chat_template.jinja',
  'chat_template.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
  'processor_config.json',
  'video_preprocessor_config.json',
] as const;

export interface ResolveOptions {
  /** git revision on the hub (default 'main') */
  readonly revision?: string;
  /** never touch the network, only the HF cache */
  readonly localFilesOnly?: boolean;
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** The HF hub cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  const home = process.env.HF_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

async function cachedSnapshot(repoId: string, revision: string): Promise<string | null> {
  const repoDir = join(hubCacheDir(), `models--${repoId.replace('/', '--')}`);
  let commit = revision;
  const ref = join(repoDir, 'refs', revision);
  if (existsSync(ref)) commit = (await readFile(ref, 'utf8')).trim();
  const snap = join(repoDir, 'snapshots', commit);
  return existsSync(snap) ? snap : null;
}

/**
 * Download the processor files of `repoId` into the HF cache layout (snapshots/<revision>/<file>) from
 * $HF_ENDPOINT (default https://huggingface.co), with $HF_TOKEN as bearer token when set.
 */
async function downloadSnapshot(repoId: string, revision: string): Promise<string> {
  const endpoint = (process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const token = process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN;
  const repoDir = join(hubCacheDir(), `models--${repoId.replace('/', '--')}`);
  const snap = join(repoDir, 'snapshots', revision);
  await mkdir(snap, { recursive: true });
  for (const file of [...REQUIRED_PROCESSOR_FILES, ...OPTIONAL_PROCESSOR_FILES]) {
    const target = join(snap, file);
    if (existsSync(target)) continue;
    const url = `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${file}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    } catch (e) {
      if ((REQUIRED_PROCESSOR_FILES as readonly string[]).includes(file)) {
        throw new Error(`model '${repoId}': cannot download ${url} (${(e as Error).message}); pass a local directory instead`);
      }
      continue;
    }
    if (res.status === 404) {
      if ((REQUIRED_PROCESSOR_FILES as readonly string[]).includes(file)) {
        throw new Error(`model '${repoId}': ${file} not found on ${endpoint} (HTTP 404)`);
      }
      continue;
    }
    if (!res.ok) {
      const hint = res.status === 401 || res.status === 403 ? ' (set HF_TOKEN for gated/private models)' : '';
      throw new Error(`model '${repoId}': GET ${url} failed with HTTP ${res.status}${hint}`);
    }
    const tmp = `${target}.incomplete`;
    await writeFile(tmp, new Uint8Array(await res.arrayBuffer()));
    await rename(tmp, target);
  }
  await mkdir(join(repoDir, 'refs'), { recursive: true });
  if (!/^[0-9a-f]{40}$/.test(revision)) await writeFile(join(repoDir, 'refs', revision), revision);
  return snap;
}

/**
 * A local directory holding the processor files: `dirOrHubId` itself when it is a directory, else the
 * HF cache snapshot of that hub id, downloaded when missing (unless localFilesOnly).
 */
export async function resolveModelDir(dirOrHubId: string, opts: ResolveOptions = {}): Promise<string> {
  if (existsSync(dirOrHubId)) {
    if (!statSync(dirOrHubId).isDirectory()) {
      throw new Error(`model '${dirOrHubId}': expected a directory in Hugging Face layout, found a file`);
    }
    return dirOrHubId;
  }
  if (!HUB_ID.test(dirOrHubId)) {
    throw new Error(`model '${dirOrHubId}': no such directory, and not a hub id of the form 'org/name'`);
  }
  const revision = opts.revision ?? 'main';
  const cached = await cachedSnapshot(dirOrHubId, revision);
  if (cached && REQUIRED_PROCESSOR_FILES.every((f) => existsSync(join(cached, f)))) return cached;
  if (opts.localFilesOnly || process.env.HF_HUB_OFFLINE === '1') {
    throw new Error(`model '${dirOrHubId}': not in the HF cache (${hubCacheDir()}) and offline mode is on`);
  }
  return downloadSnapshot(dirOrHubId, revision);
}
