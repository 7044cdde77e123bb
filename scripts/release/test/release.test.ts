// The release path for real (VLREWARD_RELEASE_TEST=1; .ci/run sets it): Verdaccio on
// 127.0.0.1 → publish.ts publishes every @vlreward package (built dist/, checked tarballs)
// → a second publish without a changeset is refused → a fresh project outside the workspace
// `npm install`s @vlreward/trainer + @vlreward/cli from that registry (third-party packages
// from the default registry), holds no test-only dependency, type-checks a strict TS app
// (NodeNext and Bundler resolution), runs it (tiny Qwen3-VL, a few LoRA steps, predict),
// and `npx vlreward --help` works.

import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTestOnly } from '../check.js';
import { startVerdaccio, type RunningRegistry } from '../lib/verdaccio.js';
import { publicPackages, repoRoot, runAsync } from '../lib/workspace.js';
import { cleanEnv, RELEASE_DIR, runScript } from './helpers.js';

const ENABLED = process.env.VLREWARD_RELEASE_TEST === '1';
const ROOT = repoRoot();
const PROCESSOR = process.env.VLREWARD_PROCESSOR ?? resolve(ROOT, '..', 'shared', 'models', 'qwen3vl-processor');

describe.skipIf(!ENABLED)('release to a private registry and install from it (VLREWARD_RELEASE_TEST=1)', () => {
  let reg: RunningRegistry;
  let work: string;
  let app: string;
  let env: NodeJS.ProcessEnv;
  const sh = async (cmd: string, args: readonly string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
    const r = await runAsync(cmd, args, { cwd: o.cwd ?? app, env: o.env ?? env });
    return { status: r.status, out: r.stdout + r.stderr, stdout: r.stdout };
  };

  beforeAll(async () => {
    for (const p of publicPackages(ROOT))
      if (!existsSync(join(p.dir, 'dist', 'index.js'))) throw new Error(`${p.manifest.name}: no dist/ — run \`pnpm build\` before the release test`);
    if (!existsSync(join(PROCESSOR, 'tokenizer.json'))) throw new Error(`${PROCESSOR}: no Qwen3-VL processor files (set VLREWARD_PROCESSOR)`);
    work = mkdtempSync(join(tmpdir(), 'vlreward-release-'));
    app = join(work, 'app');
    reg = await startVerdaccio({ dir: join(work, 'registry') });
    env = cleanEnv({ VLREWARD_REGISTRY: reg.url, VLREWARD_REGISTRY_HOST: reg.host, VLREWARD_REGISTRY_TOKEN: reg.token, ONNXRUNTIME_NODE_INSTALL: 'skip' });
  });
  afterAll(async () => {
    await reg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('publishes every package (tarballs checked), and refuses to publish the same versions again', async () => {
    // The shared dev tree is rarely clean; CI's fresh clone is. The dirty-tree guard has its own test.
    const r = await runScript('publish.ts', ['--no-build', '--allow-dirty', '--out', join(work, 'tarballs')], env, ROOT);
    expect(r.status, r.output).toBe(0);
    const names = publicPackages(ROOT).map((p) => p.manifest.name);
    for (const n of names) expect(r.stdout).toContain(`published ${n}@`);
    console.log(r.stdout.split('\n').filter((l) => /^(package|@vlreward|total|note)/.test(l)).join('\n'));

    const again = await runScript('publish.ts', ['--no-build', '--allow-dirty'], env, ROOT);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/nothing to publish: @vlreward\/\* \S+ is already on http:\/\/127\.0\.0\.1:\d+\/\. Describe the change with a changeset \(`pnpm changeset`\)/);
  }, 420_000);

  it('installs @vlreward/trainer and @vlreward/cli into a fresh project, without test-only dependencies', async () => {
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'vlreward-consumer', private: true, type: 'module' }, null, 2) + '\n');
    // How a consuming project points the scope at the company registry: env substitution, nothing hard-coded.
    writeFileSync(join(app, '.npmrc'), '@vlreward:registry=${VLREWARD_REGISTRY}\n//${VLREWARD_REGISTRY_HOST}/:_authToken=${VLREWARD_REGISTRY_TOKEN}\n');
    const i = await sh('npm', ['install', '@vlreward/trainer', '@vlreward/cli', '--no-audit', '--no-fund']);
    expect(i.status, i.out).toBe(0);
    const ls = await sh('npm', ['ls', '--all', '--json']);
    const tree = JSON.parse(ls.stdout) as { dependencies?: Record<string, unknown> };
    const seen = new Set<string>();
    const walk = (deps: Record<string, unknown> | undefined) => {
      for (const [name, d] of Object.entries(deps ?? {})) {
        if (seen.has(name)) continue;
        seen.add(name);
        walk((d as { dependencies?: Record<string, unknown> }).dependencies);
      }
    };
    walk(tree.dependencies);
    expect([...seen].filter(isTestOnly)).toEqual([]);
    for (const n of publicPackages(ROOT).map((p) => p.manifest.name)) expect(seen.has(n), `${n} installed`).toBe(true);
    const installed = JSON.parse(readFileSync(join(app, 'node_modules/@vlreward/cli/package.json'), 'utf8')) as { exports: unknown; dependencies: Record<string, string> };
    expect(JSON.stringify(installed.exports)).not.toContain('@vlreward/source');
    expect(Object.values(installed.dependencies).some((v) => v.startsWith('workspace:'))).toBe(false);
    console.log(`fresh install: ${seen.size} packages`);
  }, 300_000);

  it('type-checks a strict TypeScript app against the installed packages (NodeNext and Bundler)', async () => {
    // The app imports @vlreward/dataset and @vlreward/graph/… directly, so it declares them (one install, with the compiler).
    const ws = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const t = await sh('npm', ['install', '@vlreward/dataset', '@vlreward/graph', `typescript@${ws.devDependencies.typescript}`, `@types/node@${ws.devDependencies['@types/node']}`, '--no-audit', '--no-fund']);
    expect(t.status, t.out).toBe(0);
    for (const f of ['app.ts', 'tsconfig.json', 'tsconfig.bundler.json']) cpSync(join(RELEASE_DIR, 'test', 'consumer', f), join(app, f));
    const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
    const node16 = await sh(process.execPath, [tsc, '-p', 'tsconfig.json']);
    expect(node16.status, node16.out).toBe(0);
    const bundler = await sh(process.execPath, [tsc, '-p', 'tsconfig.bundler.json']);
    expect(bundler.status, bundler.out).toBe(0);
  }, 300_000);

  it('runs it: tiny Qwen3-VL, a few LoRA steps on a synthetic dataset, reload, predict', async () => {
    const r = await sh(process.execPath, [join(app, 'out', 'app.js')], { env: { ...env, VLREWARD_PROCESSOR: PROCESSOR, VLREWARD_WORK: join(work, 'run') } });
    expect(r.status, r.out).toBe(0);
    const last = r.stdout.trim().split('\n').at(-1)!;
    const res = JSON.parse(last) as { steps: number; losses: number[]; numClasses: number; prediction: { probs: number[]; predicted: number }; commands: string[]; cpu: boolean };
    expect(res.steps).toBe(3);
    expect(res.losses).toHaveLength(3);
    expect(res.losses.every(Number.isFinite)).toBe(true);
    expect(res.numClasses).toBe(3);
    expect(res.prediction.probs).toHaveLength(3);
    expect(res.prediction.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(res.prediction.predicted).toBe(res.prediction.probs.indexOf(Math.max(...res.prediction.probs)));
    expect(res.commands).toContain('train');
    expect(res.cpu).toBe(true);
  }, 300_000);

  it('`npx vlreward --help` works from the install', async () => {
    const r = await sh('npx', ['--no-install', 'vlreward', '--help']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('usage: vlreward <command>');
    expect(r.out).toContain('train');
  }, 120_000);
});

