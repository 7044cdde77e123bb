// The publishable packages of the workspace, in dependency order (a package comes after
// every @vlreward package it depends on), plus small process helpers.

import { spawn, spawnSync, type SpawnOptions, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_CONDITION = '@vlreward/source';

/** The monorepo root (the folder holding pnpm-workspace.yaml above this file). */
export function repoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no pnpm-workspace.yaml above ${from}`);
    dir = up;
  }
}

export interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  type?: string;
  main?: string;
  types?: string;
  bin?: string | Record<string, string>;
  files?: string[];
  exports?: unknown;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  publishConfig?: { access?: string; registry?: string; exports?: unknown; [k: string]: unknown };
  [k: string]: unknown;
}

export interface WorkspacePackage {
  readonly dir: string;
  readonly manifest: PackageJson;
}

export function readManifest(dir: string): PackageJson {
  const file = join(dir, 'package.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** Non-private packages under `<root>/packages`, dependencies first. */
export function publicPackages(root: string = repoRoot()): WorkspacePackage[] {
  const base = join(root, 'packages');
  const all = readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(base, d.name, 'package.json')))
    .map((d) => ({ dir: join(base, d.name), manifest: readManifest(join(base, d.name)) }))
    .filter((p) => p.manifest.private !== true);
  const byName = new Map(all.map((p) => [p.manifest.name, p]));
  const ordered: WorkspacePackage[] = [];
  const seen = new Set<string>();
  const visit = (p: WorkspacePackage, path: string[]) => {
    if (seen.has(p.manifest.name)) return;
    if (path.includes(p.manifest.name)) throw new Error(`dependency cycle: ${[...path, p.manifest.name].join(' → ')}`);
    for (const dep of Object.keys(p.manifest.dependencies ?? {})) {
      const d = byName.get(dep);
      if (d) visit(d, [...path, p.manifest.name]);
    }
    seen.add(p.manifest.name);
    ordered.push(p);
  };
  for (const p of all.sort((a, b) => a.manifest.name.localeCompare(b.manifest.name))) visit(p, []);
  return ordered;
}

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; never throws on a non-zero exit (the caller decides). */
export function run(cmd: string, args: readonly string[], o: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...o });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Like run(), without blocking the event loop (tests, parallel packing). */
export function runAsync(cmd: string, args: readonly string[], o: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, [...args], { ...o, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => rej(new Error(`${cmd} ${args.join(' ')}: ${e.message}`)));
    child.on('close', (code) => res({ status: code ?? 1, stdout, stderr }));
  });
}

/** `exports` without the workspace-only source condition: what a published package must carry. */
export function stripSourceCondition(exp: unknown): unknown {
  if (Array.isArray(exp)) return exp.map(stripSourceCondition);
  if (exp && typeof exp === 'object')
    return Object.fromEntries(Object.entries(exp as Record<string, unknown>).filter(([k]) => k !== SOURCE_CONDITION).map(([k, v]) => [k, stripSourceCondition(v)]));
  return exp;
}

/** Every file path named by an exports map (all conditions, all subpaths), with where it was found. */
export function exportTargets(exp: unknown, at = 'exports'): { at: string; target: string }[] {
  if (typeof exp === 'string') return [{ at, target: exp }];
  if (Array.isArray(exp)) return exp.flatMap((e, i) => exportTargets(e, `${at}[${i}]`));
  if (exp && typeof exp === 'object') return Object.entries(exp as Record<string, unknown>).flatMap(([k, v]) => exportTargets(v, `${at}[${JSON.stringify(k)}]`));
  return [];
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}
