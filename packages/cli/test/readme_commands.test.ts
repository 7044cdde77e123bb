// Every `vlreward …` the README shows, and the commands the demo suggests last, run as a
// user types them: through the launcher scripts/install-vlreward.sh puts on PATH (in a
// temporary directory here; in CI also the one setup.sh installed, from a fresh login shell).
// Each example's command must exist and know every flag the example names (--help output);
// the concrete, cheap ones run for real; the rest print why they do not.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoNextCommands } from '../src/commands/demo.js';
import { findCommand } from '../src/main.js';

const REPO = resolve(import.meta.dirname, '../../..');
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const SLOW = Boolean(process.env.VLREWARD_SLOW);
const tmp = mkdtempSync(join(tmpdir(), 'vlr-readme-'));
const bin = join(tmp, 'bin');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Example {
  /** the command line as written (shell syntax: env assignments, quotes, a trailing # comment) */
  readonly line: string;
  readonly where: string;
  /** output the README shows for it ("$ vlreward …" blocks), if any */
  readonly output?: readonly string[];
}

/** `vlreward …` in code blocks (with or without "$ ") and in inline code (table rows, prose). */
function readmeExamples(md: string): Example[] {
  const out: Example[] = [];
  const lines = md.split('\n');
  const isCommand = (s: string): boolean => /^(?:[A-Z_]+=\S+ )*vlreward(?: |$)/.test(s);
  let inBlock = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('```')) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) {
      const cmd = l.replace(/^\$ /, '');
      if (!isCommand(cmd)) continue;
      const output: string[] = [];
      if (l.startsWith('$ ')) for (let j = i + 1; j < lines.length && !lines[j]!.startsWith('$ ') && !lines[j]!.startsWith('```'); j++) output.push(lines[j]!);
      out.push({ line: cmd, where: `README.md:${i + 1}`, ...(output.length ? { output: output.filter((o) => o.trim() !== '') } : {}) });
      continue;
    }
    for (const m of l.matchAll(/`([^`]+)`/g)) {
      const code = m[1]!.replace(/\\\|/g, '|');
      if (isCommand(code)) out.push({ line: code, where: `README.md:${i + 1}` });
    }
  }
  return out;
}

/** Words of a command line: env assignments, then vlreward's argv (quotes and a trailing comment dropped). */
function words(line: string): { env: Record<string, string>; argv: string[] } {
  const noComment = line.replace(/\s+#.*$/, '');
  const toks = [...noComment.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  const env: Record<string, string> = {};
  while (toks[0] && /^[A-Z_]+=/.test(toks[0])) {
    const [k, ...v] = toks.shift()!.split('=');
    env[k!] = v.join('=');
  }
  expect(toks.shift()).toBe('vlreward');
  return { env, argv: toks };
}

/** Placeholder words (DIR, CKPT, A, N, HUB_ID, …, [optional], a|b alternatives): the example is a pattern, not a command. */
const PLACEHOLDER = /(^|[\s=[|])([A-Z][A-Z_]*|…)(?=$|[\s\]|,])|\[|\||…/;

/** How the concrete examples run here; a concrete example missing from this table fails the test. */
const REAL_RUNS: { match: RegExp; run: 'yes' | 'slow' | 'no'; why: string; cwd: 'repo' | 'scratch' }[] = [
  { match: /^vlreward$/, run: 'yes', why: 'prints the command list', cwd: 'repo' },
  { match: /^vlreward (analyze|doctor|fixture check) /, run: 'yes', why: 'seconds, on ../shared', cwd: 'repo' },
  { match: /^vlreward doctor$/, run: 'yes', why: 'seconds', cwd: 'repo' },
  { match: /^vlreward model synth --tiny /, run: 'yes', why: 'a few MB', cwd: 'scratch' },
  { match: /HF_HUB_OFFLINE=1 vlreward chat --model Qwen\/Qwen3-VL-2B-Instruct /, run: 'yes', why: 'the tiny model written just before, offline', cwd: 'scratch' },
  { match: /^vlreward model synth --cache /, run: 'slow', why: 'writes the 2B model: 4.3 GB', cwd: 'scratch' },
  { match: /^vlreward model synth$/, run: 'no', why: 'a name in prose; as is, it writes the 2B model (4.3 GB) into ~/.cache/huggingface/hub', cwd: 'scratch' },
  { match: /--device cuda/, run: 'no', why: 'needs a GPU (CUDA)', cwd: 'scratch' },
  { match: /^MODE=train MAX_STEPS=100 vlreward$/, run: 'slow', why: 'trains 100 steps of the embedded default', cwd: 'scratch' },
  { match: /^vlreward view$/, run: 'no', why: 'a server that runs until stopped (packages/viewer has its e2e test)', cwd: 'repo' },
  { match: /^vlreward export$/, run: 'no', why: 'a name in prose; needs --ckpt of a trained checkpoint', cwd: 'repo' },
  { match: /^vlreward (train|predict)$/, run: 'no', why: 'a name in prose (train and predict run below and in the demo test)', cwd: 'repo' },
  { match: /^vlreward train --model Qwen\/Qwen3-VL-2B-Instruct$/, run: 'no', why: 'prose about the 2B benchmark (pnpm bench --only cli runs it: minutes, 12 GiB)', cwd: 'repo' },
];

/** The launcher as setup.sh installs it, into `dir`. */
function installLauncher(dir: string): void {
  const r = spawnSync('bash', [join(REPO, 'scripts/install-vlreward.sh'), dir], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

function sh(line: string, cwd: string, timeout = 300_000) {
  return spawnSync('sh', ['-c', line], { cwd, encoding: 'utf8', timeout, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
}

/** The built packages must be at least as new as their sources, or the launcher runs stale code (CI: a failure). */
function assertBuilt(): void {
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  const stale: string[] = [];
  for (const pkg of readdirSync(join(REPO, 'packages'))) {
    const dir = join(REPO, 'packages', pkg);
    if (!existsSync(join(dir, 'tsconfig.build.json'))) continue;
    if (!existsSync(join(dir, 'dist')) || newest(join(dir, 'src')) > newest(join(dir, 'dist'))) stale.push(`packages/${pkg}`);
  }
  const msg = `built output older than the sources (the launcher runs packages/cli/dist): run pnpm build`;
  // CI builds right before the tests; in a checkout others are editing, say so and go on.
  if (process.env.CI) expect(stale, msg).toEqual([]);
  else if (stale.length > 0) console.warn(`${msg}: ${stale.join(', ')}`);
}

const examples = readmeExamples(README);
const demoHints = demoNextCommands('/tmp/demo/checkpoints', '/tmp/demo/dataset').map((line) => ({ line, where: 'vlreward demo (closing "next:" line)' }));

describe('README commands', () => {
  it('finds the examples (tables, code blocks, prose)', () => {
    expect(examples.length).toBeGreaterThan(25);
    expect(examples.some((e) => e.line === 'vlreward doctor' && e.output)).toBe(true);
    expect(examples.some((e) => e.line.startsWith('vlreward model synth'))).toBe(true);
  });

  it('each names a real command and only flags that command has (checked through the launcher on PATH)', () => {
    assertBuilt();
    installLauncher(bin);
    const helps = new Map<string, string>();
    const problems: string[] = [];
    for (const ex of [...examples, ...demoHints]) {
      const { env, argv } = words(ex.line);
      const args = argv.length === 0 && env.MODE ? [env.MODE] : argv;
      if (args.length === 0) continue; // bare `vlreward`: the command list, run below
      const found = findCommand(args.flatMap((a) => a.split('|'))); // `checkpoint inspect|verify|…` names several
      if (!found) {
        problems.push(`${ex.where}: \`${ex.line}\`: '${args.slice(0, 2).join(' ')}' is not a vlreward command`);
        continue;
      }
      const name = found.command.name;
      if (!helps.has(name)) {
        const r = sh(`vlreward ${name} --help`, REPO);
        expect(r.status, `vlreward ${name} --help: ${r.stderr}`).toBe(0);
        expect(r.stdout.startsWith(`usage: vlreward ${name}`), r.stdout.slice(0, 200)).toBe(true);
        helps.set(name, r.stdout);
      }
      for (const flag of ex.line.replace(/\s+#.*$/, '').match(/--[a-z][a-z0-9-]*/g) ?? []) {
        if (flag === '--help') continue;
        if (!new RegExp(`${flag}(?![a-z-])`).test(helps.get(name)!)) problems.push(`${ex.where}: \`${ex.line}\`: vlreward ${name} has no ${flag}`);
      }
    }
    expect(problems).toEqual([]);
  }, 600_000);

  it('the concrete ones run for real (or say why not), with the output the README shows', () => {
    assertBuilt();
    installLauncher(bin);
    const scratch = join(tmp, 'scratch');
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const unclassified: string[] = [];
    let ran = 0;
    for (const ex of examples) {
      if (PLACEHOLDER.test(ex.line.replace(/\s+#.*$/, '').replace(/"[^"]*"/g, '"x"').replace(/^(?:[A-Z_]+=\S+ )+/, ''))) {
        console.log(`help only: ${ex.where} \`${ex.line}\`: a pattern with placeholders`);
        continue;
      }
      const rule = REAL_RUNS.find((r) => r.match.test(ex.line));
      if (!rule) {
        unclassified.push(`${ex.where}: \`${ex.line}\``);
        continue;
      }
      if (rule.run === 'no' || (rule.run === 'slow' && !SLOW)) {
        console.log(`not run: ${ex.where} \`${ex.line}\`: ${rule.why}${rule.run === 'slow' ? ' (VLREWARD_SLOW=1 runs it)' : ''}`);
        continue;
      }
      const line = ex.line === 'vlreward' ? 'vlreward --help' : ex.line;
      const r = sh(line, rule.cwd === 'repo' ? REPO : scratch, 1_200_000);
      expect(r.status, `${ex.where} \`${line}\`:\n${r.stdout}\n${r.stderr}`).toBe(0);
      ran++;
      if (ex.output) {
        // The shown output's lines, by their leading label, appear in order (figures and paths vary;
        // lines indented deeper than two spaces continue a wrapped line).
        const labels = (ls: readonly string[]): string[] => ls.filter((l) => !/^ {3}/.test(l)).map((l) => l.trim().split(/\s+/)[0]!);
        const got = labels(r.stdout.split('\n').filter((l) => l.trim() !== ''));
        let at = 0;
        for (const want of labels(ex.output)) {
          const k = got.indexOf(want, at);
          expect(k, `${ex.where}: '${want}' (README) missing from the output of \`${line}\`:\n${r.stdout}`).toBeGreaterThanOrEqual(0);
          at = k + 1;
        }
      }
    }
    expect(unclassified, 'concrete README commands: add each to REAL_RUNS in this test').toEqual([]);
    expect(ran).toBeGreaterThanOrEqual(5);
    // `model synth --cache ./hf-cache` wrote where the README's next line (HF_HUB_CACHE=./hf-cache) looks.
    expect(existsSync(join(scratch, 'hf-cache', 'models--Qwen--Qwen3-VL-2B-Instruct', 'refs', 'main'))).toBe(true);
  }, 1_800_000);
});

describe.skipIf(!process.env.CI)('vlreward on PATH after scripts/setup.sh (CI)', () => {
  it('a fresh login shell finds the launcher, at the repo root and elsewhere (also through pnpm exec)', () => {
    const fresh = (cmd: string, cwd: string) => spawnSync('env', ['-i', `HOME=${process.env.HOME ?? '/root'}`, 'bash', '-lc', cmd], { cwd, encoding: 'utf8' });
    const where = fresh('command -v vlreward', tmpdir());
    expect(where.status, `vlreward is not on PATH in a fresh shell: ${where.stderr}`).toBe(0);
    expect(readFileSync(where.stdout.trim(), 'utf8')).toContain(join(REPO, 'packages/cli/dist/main.js'));
    for (const [cmd, cwd] of [['vlreward --help', tmpdir()], ['pnpm exec vlreward --help', REPO]] as const) {
      const r = fresh(cmd, cwd);
      expect(r.status, `${cmd}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^vlreward: fine-tune Qwen3-VL/);
    }
  });
});
