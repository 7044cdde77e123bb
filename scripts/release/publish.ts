// Publishes every @vlreward package to the registry named by configuration, guarded:
//
//   VLREWARD_REGISTRY=https://npm.example.com/… VLREWARD_REGISTRY_TOKEN=… pnpm release:publish
//   node --import tsx scripts/release/publish.ts [--registry URL] [--out DIR] [--no-build]
//                                                [--dry-run] [--allow-dirty] [--root DIR]
//
// Refuses, with a message saying what to do, when: the git tree has uncommitted changes;
// changesets are pending (not yet applied by `pnpm version-packages`); the fixed group's
// versions differ; there is no registry or token; every package's version is already on the
// registry (nothing changed since the last release: add a changeset). Then builds, runs the
// publish check (check.ts) on the exact tarballs, and publishes those tarballs with npm.

import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkPackages, renderReports } from './check.js';
import { registryHost } from './lib/verdaccio.js';
import { publicPackages, repoRoot, run, runAsync, type WorkspacePackage } from './lib/workspace.js';

export class ReleaseError extends Error {}

/** Uncommitted (staged, unstaged or untracked, not ignored) paths of the git tree at `root`. */
export function dirtyPaths(root: string): string[] {
  const r = run('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: root });
  if (r.status !== 0) throw new ReleaseError(`${root}: git status failed (is this a git checkout?): ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => l.slice(3));
}

export function assertCleanTree(root: string): void {
  const dirty = dirtyPaths(root);
  if (dirty.length === 0) return;
  throw new ReleaseError(
    `refusing to publish: the working tree has ${dirty.length} uncommitted change(s): ${dirty.slice(0, 8).join(', ')}${dirty.length > 8 ? ', …' : ''}. ` +
      `Commit them (or remove them) so the published tarballs are built from a commit; a release is cut from a clean checkout.`,
  );
}

/** Changeset files not yet consumed by `changeset version`. */
export function pendingChangesets(root: string): string[] {
  const dir = join(root, '.changeset');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.md') && f.toLowerCase() !== 'readme.md').map((f) => `.changeset/${f}`);
}

export function assertNoPendingChangesets(root: string): void {
  const pending = pendingChangesets(root);
  if (pending.length === 0) return;
  throw new ReleaseError(
    `refusing to publish: ${pending.length} changeset(s) not applied yet (${pending.join(', ')}). ` +
      `Run \`pnpm version-packages\` (changeset version: bumps the fixed @vlreward/* group, writes CHANGELOGs), commit, then publish.`,
  );
}

/** The fixed group: every public @vlreward package carries the same version. */
export function groupVersion(pkgs: readonly WorkspacePackage[]): string {
  const versions = new Map<string, string[]>();
  for (const p of pkgs) versions.set(p.manifest.version, [...(versions.get(p.manifest.version) ?? []), p.manifest.name]);
  if (versions.size !== 1)
    throw new ReleaseError(
      `refusing to publish: the fixed @vlreward/* group has different versions (${[...versions].map(([v, n]) => `${v}: ${n.join(', ')}`).join('; ')}); ` +
        `.changeset/config.json keeps them together — bump them with \`pnpm changeset\` + \`pnpm version-packages\`, never by hand.`,
    );
  return [...versions.keys()][0]!;
}

export interface NpmContext {
  readonly registry: string;
  readonly env: NodeJS.ProcessEnv;
}

/** npm's environment: the release npmrc (env-substituted) unless the caller brings a userconfig. */
export function npmContext(registry: string, token: string | undefined, env: NodeJS.ProcessEnv = process.env): NpmContext {
  const url = registry.endsWith('/') ? registry : `${registry}/`;
  if (!/^https?:\/\//.test(url)) throw new ReleaseError(`registry '${registry}': expected an http(s) URL`);
  // VLREWARD_NPMRC, not NPM_CONFIG_USERCONFIG: package managers running this script may set the latter to ~/.npmrc.
  const userconfig = env.VLREWARD_NPMRC ? resolve(env.VLREWARD_NPMRC) : fileURLToPath(new URL('./release.npmrc', import.meta.url));
  return {
    registry: url,
    env: {
      ...env,
      VLREWARD_REGISTRY: url,
      VLREWARD_REGISTRY_HOST: env.VLREWARD_REGISTRY_HOST ?? registryHost(url),
      VLREWARD_REGISTRY_TOKEN: token ?? '',
      NPM_CONFIG_USERCONFIG: userconfig,
      npm_config_userconfig: userconfig,
    },
  };
}

function npm(ctx: NpmContext, args: readonly string[], cwd?: string) {
  return run('npm', [...args], { env: ctx.env, ...(cwd ? { cwd } : {}) });
}

/** Versions already on the registry: `name@version` → true. Network errors are errors, 404 is "not there". */
export async function publishedAlready(ctx: NpmContext, name: string, version: string): Promise<boolean> {
  const r = await runAsync('npm', ['view', `${name}@${version}`, 'version', '--json', `--registry=${ctx.registry}`], { env: ctx.env });
  if (r.status === 0) return r.stdout.trim() !== '';
  if (/E404|404 Not Found|is not in this registry/.test(r.stdout + r.stderr)) return false;
  throw new ReleaseError(`cannot ask ${ctx.registry} about ${name}@${version}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`);
}

export interface PublishOptions {
  readonly root?: string;
  readonly registry?: string;
  readonly token?: string;
  readonly outDir?: string;
  readonly build?: boolean;
  readonly dryRun?: boolean;
  readonly allowDirty?: boolean;
  readonly log?: (s: string) => void;
}

export interface PublishResult {
  readonly version: string;
  readonly published: string[];
  readonly skipped: string[];
  readonly tarballs: string[];
  readonly report: string;
}

export async function publishAll(o: PublishOptions = {}): Promise<PublishResult> {
  const root = resolve(o.root ?? repoRoot());
  const log = o.log ?? ((s: string) => console.log(s));
  // Local guards first: they need no registry.
  if (!o.allowDirty) assertCleanTree(root);
  assertNoPendingChangesets(root);
  const pkgs = publicPackages(root);
  if (pkgs.length === 0) throw new ReleaseError(`${root}/packages: no public packages to publish`);
  const version = groupVersion(pkgs);

  const registry = o.registry ?? process.env.VLREWARD_REGISTRY;
  if (!registry) throw new ReleaseError(`no registry: set VLREWARD_REGISTRY to the company registry URL (or pass --registry); see RELEASING.md`);
  const token = o.token ?? process.env.VLREWARD_REGISTRY_TOKEN;
  if (!token && !process.env.VLREWARD_NPMRC)
    throw new ReleaseError(`no auth token: set VLREWARD_REGISTRY_TOKEN (scripts/release/release.npmrc substitutes it), or point VLREWARD_NPMRC at an .npmrc that authenticates to ${registry}; see RELEASING.md`);
  const ctx = npmContext(registry, token);
  const who = npm(ctx, ['whoami', `--registry=${ctx.registry}`]);
  if (who.status !== 0) throw new ReleaseError(`not authenticated to ${ctx.registry} (npm whoami: ${(who.stderr || who.stdout).trim().split('\n')[0]}); check VLREWARD_REGISTRY_TOKEN`);

  const onRegistry = await Promise.all(pkgs.map((p) => publishedAlready(ctx, p.manifest.name, version)));
  const todo = pkgs.filter((_, i) => !onRegistry[i]);
  const skipped = pkgs.filter((p) => !todo.includes(p)).map((p) => `${p.manifest.name}@${version}`);
  if (todo.length === 0)
    throw new ReleaseError(
      `nothing to publish: @vlreward/* ${version} is already on ${ctx.registry}. Describe the change with a changeset (\`pnpm changeset\`), ` +
        `run \`pnpm version-packages\`, commit, and publish again.`,
    );
  if (skipped.length > 0) log(`already on the registry (an earlier publish stopped part way): ${skipped.join(', ')}`);

  if (o.build !== false) {
    log('building (pnpm build) …');
    const b = run('pnpm', ['build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    if (b.status !== 0) throw new ReleaseError(`pnpm build failed (exit ${b.status}); nothing was published`);
  }
  log(`checking ${todo.length} package(s) (pack, entry points, publint, attw) …`);
  const reports = await checkPackages(todo.map((p) => p.dir), { ...(o.outDir ? { outDir: o.outDir } : {}) });
  const report = renderReports(reports);
  log(report);
  const bad = reports.filter((r) => r.errors.length > 0);
  if (bad.length > 0) throw new ReleaseError(`publish check failed for ${bad.map((r) => r.name).join(', ')}; nothing was published`);

  // Dependencies first: level k holds packages whose @vlreward dependencies are all in levels < k;
  // a level publishes concurrently, so an install never sees a package before its dependencies.
  const names = new Set(reports.map((r) => r.name));
  const level = new Map<string, number>();
  for (const p of todo) {
    const deps = Object.keys(p.manifest.dependencies ?? {}).filter((d) => names.has(d));
    level.set(p.manifest.name, deps.length === 0 ? 0 : Math.max(...deps.map((d) => level.get(d)!)) + 1);
  }
  const published: string[] = [];
  for (let k = 0; k <= Math.max(...level.values()); k++) {
    const wave = reports.filter((r) => level.get(r.name) === k);
    const results = await Promise.all(
      wave.map((r) => runAsync('npm', ['publish', r.tarball!, `--registry=${ctx.registry}`, '--access=restricted', ...(o.dryRun ? ['--dry-run'] : [])], { env: ctx.env })),
    );
    const failed = wave.flatMap((r, i) => (results[i]!.status === 0 ? [] : [`${r.name}@${r.version}: ${(results[i]!.stderr || results[i]!.stdout).trim().split('\n').slice(-4).join(' ')}`]));
    for (const [i, r] of wave.entries()) {
      if (results[i]!.status !== 0) continue;
      published.push(`${r.name}@${r.version}`);
      log(`${o.dryRun ? 'would publish' : 'published'} ${r.name}@${r.version}`);
    }
    if (failed.length > 0)
      throw new ReleaseError(`npm publish failed: ${failed.join('; ')}${published.length ? ` (published: ${published.join(', ')}; re-running publishes the rest)` : ''}`);
  }
  return { version, published, skipped, tarballs: reports.map((r) => r.tarball!), report };
}

/** Paths on the command line are relative to where the user ran `pnpm release:…` (pnpm runs scripts in this folder). */
const userPath = (p: string) => resolve(process.env.INIT_CWD ?? process.cwd(), p);

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      registry: { type: 'string' },
      out: { type: 'string' },
      root: { type: 'string' },
      'no-build': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'allow-dirty': { type: 'boolean' },
    },
  });
  const r = await publishAll({
    ...(values.registry ? { registry: values.registry } : {}),
    ...(values.out ? { outDir: userPath(values.out) } : {}),
    ...(values.root ? { root: userPath(values.root) } : {}),
    build: !values['no-build'],
    dryRun: Boolean(values['dry-run']),
    allowDirty: Boolean(values['allow-dirty']),
  });
  console.log(`\n${values['dry-run'] ? 'dry run: would publish' : 'published'} ${r.published.length} package(s) at ${r.version}`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'))).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof ReleaseError ? `publish: ${e.message}` : `publish: ${(e as Error).stack ?? String(e)}`);
      process.exit(1);
    },
  );
}
