// Publish check: packs each package exactly as `pnpm publish` would (workspace:* rewritten,
// publishConfig applied) and inspects the tarball — every exports/main/types/bin target is
// in it, nothing test-only is (tests, fixtures, src, maps), no workspace-only condition or
// specifier leaks, the licence ships — then runs publint and @arethetypeswrong/cli on it.
//
//   node --import tsx scripts/release/check.ts [--out DIR] [--json FILE] [PACKAGE_DIR...]
//
// Without package dirs it checks every non-private package under packages/. Exit 1 on any error.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkPackage as attwCheck, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { readTarball, type TarEntry } from './lib/tar.js';
import {
  exportTargets,
  formatBytes,
  publicPackages,
  readManifest,
  repoRoot,
  runAsync,
  SOURCE_CONDITION,
  stripSourceCondition,
  type PackageJson,
} from './lib/workspace.js';


/** Dependencies that only tests, builds or releases need; a published package must not pull them. */
export const TEST_ONLY_DEPS: readonly (string | RegExp)[] = [
  'vitest', /^@vitest\//, 'tsx', 'ts-node', 'turbo', /^@changesets\//, 'jest', 'mocha',
  '@vlreward/test-utils', '@vlreward/release', '@vlreward/examples', 'publint', /^@arethetypeswrong\//, 'verdaccio',
];

export function isTestOnly(dep: string): boolean {
  return TEST_ONLY_DEPS.some((d) => (typeof d === 'string' ? d === dep : d.test(dep)));
}

/** Paths a tarball must not hold: tests, fixtures, sources, maps, build/test configuration. */
const FORBIDDEN: readonly { re: RegExp; why: string }[] = [
  { re: /(^|\/)(test|tests|__tests__|fixtures|bench)\//, why: 'tests/fixtures/benchmarks' },
  { re: /\.(test|spec|bench)\.[cm]?[jt]s$/, why: 'a test file' },
  { re: /^src\//, why: 'TypeScript sources (consumers get dist/)' },
  { re: /\.map$/, why: 'a source map pointing at sources that are not shipped' },
  { re: /(^|\/)(tsconfig[^/]*\.json|vitest\.config\.[cm]?[jt]s|turbo\.json|\.tsbuildinfo|[^/]*\.tsbuildinfo)$/, why: 'build/test configuration' },
  { re: /(^|\/)node_modules\//, why: 'node_modules' },
];

export interface PackageReport {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly tarball: string | null;
  readonly packedBytes: number;
  readonly unpackedBytes: number;
  readonly fileCount: number;
  readonly errors: string[];
  /** publint suggestions and other non-blocking remarks */
  readonly notes: string[];
}

export interface CheckOptions {
  /** where tarballs go (default: a new temp dir) */
  readonly outDir?: string;
  /** the root LICENSE each package's LICENSE must equal (default: the repo's) */
  readonly licenseFile?: string;
  /** run @arethetypeswrong/cli (default true) */
  readonly attw?: boolean;
}

function tarballName(m: PackageJson): string {
  return `${m.name.replace(/^@/, '').replace(/\//g, '-')}-${m.version}.tgz`;
}

function rel(p: string): string {
  return p.replace(/^\.\//, '');
}

/**
 * tsc output with no source file behind it: left over from a deleted/renamed module. tsc
 * output is recognised by its declaration file (declaration: true), so files other build
 * steps write into dist/ (e.g. a bundled page script) are not taken for stale.
 */
function staleOutputs(dir: string): string[] {
  const src = join(dir, 'src');
  const dist = join(dir, 'dist');
  if (!existsSync(src) || !existsSync(dist)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.d.ts')) {
        const base = relative(dist, p).replace(/\.d\.ts$/, '');
        if (!['.ts', '.mts', '.tsx'].some((x) => existsSync(join(src, base + x)))) out.push(relative(dir, p));
      }
    }
  };
  walk(dist);
  return out;
}

/** Build tools that a runtime `dependencies` entry rarely needs: reported as notes (each package decides). */
const BUILD_TOOLS: readonly string[] = ['esbuild', 'typescript', 'vite', 'rollup', 'webpack', '@swc/core'];

/** attw's "esm-only" profile: the packages are ESM-only, so CommonJS-side resolutions are not expected to work. */
const ATTW_IGNORED_RESOLUTIONS: readonly string[] = ['node10', 'node16-cjs'];

/** @arethetypeswrong/core on the tarball, filtered as `attw --profile esm-only` filters (its exit-code rule). */
async function typesProblems(tarball: Buffer): Promise<string[]> {
  const analysis = await attwCheck(createPackageFromTarballData(new Uint8Array(tarball)));
  if (!analysis.types) return ['@arethetypeswrong: the package ships no types'];
  return analysis.problems
    .filter((p) => !('resolutionKind' in p) || !ATTW_IGNORED_RESOLUTIONS.includes(p.resolutionKind))
    .map((p) => {
      const where = [('entrypoint' in p ? `entry "${p.entrypoint}"` : ''), ('resolutionKind' in p ? `resolution ${p.resolutionKind}` : '')].filter(Boolean).join(', ');
      return `@arethetypeswrong ${p.kind}${where ? ` (${where})` : ''}: see https://github.com/arethetypeswrong/arethetypeswrong.github.io/blob/main/docs/problems/${p.kind}.md`;
    });
}

export async function checkPackage(dir: string, o: CheckOptions = {}): Promise<PackageReport> {
  dir = resolve(dir);
  const m = readManifest(dir);
  const id = `${m.name}@${m.version}`;
  const errors: string[] = [];
  const notes: string[] = [];
  const fail = (s: string) => errors.push(`${id} (${relative(process.cwd(), join(dir, 'package.json')) || 'package.json'}): ${s}`);
  const empty = (tarball: string | null = null): PackageReport => ({ name: m.name, version: m.version, dir, tarball, packedBytes: 0, unpackedBytes: 0, fileCount: 0, errors, notes });

  // Manifest rules that hold before packing.
  if (!m.license) fail(`no "license" field (expected an SPDX id, e.g. "Apache-2.0")`);
  if (m.type !== 'module') fail(`"type" is ${JSON.stringify(m.type)}; the packages are ESM-only (expected "module")`);
  if (!Array.isArray(m.files) || m.files.length === 0) fail(`no "files" list: the tarball would hold every file not ignored (tests, fixtures, sources)`);
  if (!m.exports) fail(`no "exports" map`);
  if (m.publishConfig?.registry) fail(`publishConfig.registry is hard-coded (${m.publishConfig.registry}); the registry comes from configuration (VLREWARD_REGISTRY, see RELEASING.md)`);
  if (JSON.stringify(m.exports ?? null).includes(SOURCE_CONDITION)) {
    const want = stripSourceCondition(m.exports);
    if (JSON.stringify(m.publishConfig?.exports ?? null) !== JSON.stringify(want))
      fail(`publishConfig.exports must equal "exports" without the "${SOURCE_CONDITION}" condition (that condition points at src/, which is not published); expected ${JSON.stringify(want)}`);
  }
  for (const dep of Object.keys({ ...m.dependencies, ...m.peerDependencies, ...m.optionalDependencies }))
    if (isTestOnly(dep)) fail(`dependency "${dep}" is test/build-only; move it to devDependencies so installing ${m.name} does not pull it`);
    else if (BUILD_TOOLS.includes(dep)) notes.push(`dependency "${dep}" is a build tool: every install of ${m.name} pulls it; devDependencies unless it runs at run time`);
  const licenseFile = o.licenseFile ?? join(repoRoot(), 'LICENSE');
  const pkgLicense = join(dir, 'LICENSE');
  if (!existsSync(pkgLicense)) fail(`no LICENSE file (npm ships LICENSE from the package folder only; copy ${licenseFile})`);
  else if (existsSync(licenseFile) && readFileSync(pkgLicense, 'utf8') !== readFileSync(licenseFile, 'utf8')) fail(`LICENSE differs from ${licenseFile}`);
  if (!existsSync(join(dir, 'dist'))) {
    fail(`no dist/ folder: run \`pnpm build\` first`);
    return empty();
  }
  const stale = staleOutputs(dir);
  if (stale.length > 0) fail(`dist/ holds ${stale.length} file(s) with no source behind them (stale build output; rm -rf dist && pnpm build): ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', …' : ''}`);

  // Pack exactly as publish would.
  const outDir = o.outDir ?? mkdtempSync(join(tmpdir(), 'vlreward-pack-'));
  mkdirSync(outDir, { recursive: true });
  const packed = await runAsync('pnpm', ['pack', '--pack-destination', outDir], { cwd: dir });
  const tarball = join(outDir, tarballName(m));
  if (packed.status !== 0 || !existsSync(tarball)) {
    fail(`pnpm pack failed (exit ${packed.status}): ${(packed.stderr || packed.stdout).trim().slice(-2000)}`);
    return empty();
  }
  const entries = readTarball(tarball);
  const byPath = new Map<string, TarEntry>(entries.map((e) => [e.path, e]));
  const pm = JSON.parse(byPath.get('package.json')?.data.toString('utf8') ?? '{}') as PackageJson;

  // Every entry point is in the tarball.
  const targets = [
    ...exportTargets(pm.exports),
    ...(pm.main ? [{ at: 'main', target: pm.main }] : []),
    ...(pm.types ? [{ at: 'types', target: pm.types }] : []),
    ...(typeof pm.bin === 'string' ? [{ at: 'bin', target: pm.bin }] : Object.entries(pm.bin ?? {}).map(([k, v]) => ({ at: `bin[${JSON.stringify(k)}]`, target: v }))),
  ];
  for (const { at, target } of targets) {
    if (target.includes('*')) {
      const re = new RegExp('^' + rel(target).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$');
      if (!entries.some((e) => re.test(e.path))) fail(`${at} → ${target} matches no file in the tarball`);
    } else if (!byPath.has(rel(target)))
      fail(`${at} → ${target} is not in the tarball (missing file${existsSync(join(dir, target)) ? ', though it exists on disk: check "files"' : ': build it or fix the path'})`);
  }
  for (const { at, target } of targets.filter((t) => t.at.startsWith('bin'))) {
    const e = byPath.get(rel(target));
    if (e && !e.data.subarray(0, 64).toString('utf8').startsWith('#!/usr/bin/env node')) fail(`${at} → ${target} does not start with "#!/usr/bin/env node"`);
  }
  // Nothing test-only or workspace-only.
  for (const e of entries) {
    const bad = FORBIDDEN.find((f) => f.re.test(e.path));
    if (bad) fail(`tarball holds ${e.path} (${bad.why})`);
  }
  if (!byPath.has('LICENSE')) fail(`tarball has no LICENSE`);
  if (JSON.stringify(pm.exports ?? null).includes(SOURCE_CONDITION)) fail(`packed exports still carry the "${SOURCE_CONDITION}" condition (its targets are not published)`);
  for (const [kind, deps] of Object.entries({ dependencies: pm.dependencies, peerDependencies: pm.peerDependencies, optionalDependencies: pm.optionalDependencies }))
    for (const [dep, spec] of Object.entries(deps ?? {})) if (spec.startsWith('workspace:')) fail(`packed ${kind}.${dep} is still "${spec}" (pack with pnpm so workspace: ranges become versions)`);

  // publint on the packed files.
  const buf = readFileSync(tarball);
  const lint = await publint({ pack: { tarball: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer }, level: 'suggestion', strict: false });
  for (const msg of lint.messages) {
    const text = `publint ${msg.type} ${msg.code}: ${formatMessage(msg, lint.pkg) ?? msg.code}`;
    if (msg.type === 'suggestion') notes.push(text);
    else fail(text);
  }
  // @arethetypeswrong/cli: ESM-only packages, so CommonJS resolutions are not expected to work.
  if (o.attw !== false) for (const p of await typesProblems(buf)) fail(p);
  const unpacked = entries.reduce((s, e) => s + e.size, 0);
  return { name: m.name, version: m.version, dir, tarball, packedBytes: statSync(tarball).size, unpackedBytes: unpacked, fileCount: entries.length, errors, notes };
}

/** Checks packages a few at a time (packing is mostly waiting on pnpm); reports keep the input order. */
export async function checkPackages(dirs: readonly string[], o: CheckOptions = {}, concurrency = 3): Promise<PackageReport[]> {
  const out: PackageReport[] = new Array(dirs.length);
  const shared = { ...o, outDir: o.outDir ?? mkdtempSync(join(tmpdir(), 'vlreward-pack-')) };
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < dirs.length; i = next++) out[i] = await checkPackage(dirs[i]!, shared);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, dirs.length) }, worker));
  return out;
}

export function renderReports(reports: readonly PackageReport[]): string {
  const w = Math.max(...reports.map((r) => r.name.length), 7);
  const lines = [`${'package'.padEnd(w)}  version   files   packed      unpacked    verdict`];
  for (const r of reports)
    lines.push(`${r.name.padEnd(w)}  ${r.version.padEnd(8)}  ${String(r.fileCount).padStart(5)}   ${formatBytes(r.packedBytes).padStart(9)}   ${formatBytes(r.unpackedBytes).padStart(9)}   ${r.errors.length === 0 ? 'ok' : `${r.errors.length} error(s)`}`);
  const total = reports.reduce((s, r) => s + r.packedBytes, 0);
  lines.push(`${'total'.padEnd(w)}  ${''.padEnd(8)}  ${''.padStart(5)}   ${formatBytes(total).padStart(9)}`);
  for (const r of reports) for (const n of r.notes) lines.push(`note: ${r.name}: ${n}`);
  for (const r of reports) for (const e of r.errors) lines.push(`error: ${e}`);
  return lines.join('\n');
}

/** Paths on the command line are relative to where the user ran `pnpm release:…` (pnpm runs scripts in this folder). */
const userPath = (p: string) => resolve(process.env.INIT_CWD ?? process.cwd(), p);

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, json: { type: 'string' }, 'no-attw': { type: 'boolean' } } });
  const dirs = positionals.length > 0 ? positionals.map(userPath) : publicPackages().map((p) => p.dir);
  const reports = await checkPackages(dirs, { ...(values.out ? { outDir: userPath(values.out) } : {}), attw: !values['no-attw'] });
  console.log(renderReports(reports));
  const dirs0 = [...new Set(reports.flatMap((r) => (r.tarball ? [dirname(r.tarball)] : [])))];
  if (dirs0.length > 0) console.log(`tarballs in ${dirs0.join(', ')}`);
  if (values.json) writeFileSync(userPath(values.json), JSON.stringify(reports.map(({ errors, notes, ...r }) => ({ ...r, errors, notes })), null, 2) + '\n');
  const bad = reports.filter((r) => r.errors.length > 0);
  if (bad.length > 0) {
    console.error(`\npublish check failed: ${bad.map((r) => r.name).join(', ')}`);
    return 1;
  }
  console.log(`\npublish check passed: ${reports.length} package(s)`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'))).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`check: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
