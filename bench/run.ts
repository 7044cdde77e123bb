// `pnpm bench`: run every bench/<pkg>.bench.ts, write bench/results/<name>.json
// and bench/results/summary.md (all benches with results), print this run's table, and refresh the README table
// between <!-- bench:start --> and <!-- bench:end --> when those markers exist.
// Usage: node --conditions=@vlreward/source --import tsx bench/run.ts [--only graph] [--table]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.js';

/** Explicit list: a missing or failing bench is reported, the others still run. */
const BENCHES = ['graph', 'dataset', 'processor', 'model', 'artifacts', 'checkpoint', 'trainer', 'cli', 'generate', 'gpu', 'capi', 'distributed'] as const;

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, 'results');

function parseOnly(argv: string[]): Set<string> | null {
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') names.push(...(argv[++i] ?? '').split(','));
    else if (a.startsWith('--only=')) names.push(...a.slice(7).split(','));
  }
  const unknown = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`--only: unknown bench ${unknown.join(', ')} (known: ${BENCHES.join(', ')})`);
  return names.length ? new Set(names) : null;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(v) : '—';
}

function table(rows: { bench: string; r: BenchResult }[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| bench | name | value | unit | note |', '| --- | --- | ---: | --- | --- |'];
  for (const { bench, r } of rows) lines.push(`| ${bench} | ${esc(r.name)} | ${fmt(r.value)} | ${esc(r.unit)} | ${esc(r.note ?? '')} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const only = parseOnly(process.argv.slice(2));
  // --table: rebuild summary.md and the README table from the results files, running nothing
  // (e.g. after results from another machine, such as the GPU check's, were copied in).
  const tableOnly = process.argv.includes('--table');
  mkdirSync(resultsDir, { recursive: true });
  const rows: { bench: string; r: BenchResult }[] = [];
  let failed = 0;
  for (const name of BENCHES) {
    if (tableOnly || (only && !only.has(name))) continue;
    const file = join(here, `${name}.bench.ts`);
    if (!existsSync(file)) {
      if (only) console.error(`bench ${name}: ${file} does not exist`);
      continue;
    }
    const t0 = Date.now();
    process.stderr.write(`bench ${name} ... `);
    try {
      const mod = (await import(`./${name}.bench.ts`)) as { run?: () => Promise<BenchResult[]> };
      if (typeof mod.run !== 'function') throw new Error(`${file} does not export run()`);
      const results = await mod.run();
      writeFileSync(
        join(resultsDir, `${name}.json`),
        JSON.stringify({ bench: name, date: new Date().toISOString(), host: hostInfo(), results }, null, 2) + '\n',
      );
      for (const r of results) rows.push({ bench: name, r });
      process.stderr.write(`${results.length} results in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (e) {
      failed++;
      process.stderr.write('failed\n');
      console.error(e);
      rows.push({ bench: name, r: { name: 'error', value: Number.NaN, unit: '', note: String((e as Error).message ?? e).split('\n')[0] } });
    }
  }
  // The summary covers every bench with a results file, so `--only x` refreshes
  // x's rows without dropping the others.
  const all: { bench: string; r: BenchResult }[] = [];
  for (const name of BENCHES) {
    const ran = rows.filter((x) => x.bench === name);
    if (ran.length) {
      all.push(...ran);
      continue;
    }
    const file = join(resultsDir, `${name}.json`);
    if (existsSync(file)) for (const r of (JSON.parse(readFileSync(file, 'utf8')) as { results: BenchResult[] }).results) all.push({ bench: name, r });
  }
  const md = table(all);
  writeFileSync(join(resultsDir, 'summary.md'), `# Benchmarks\n\n${hostInfo()}, ${new Date().toISOString().slice(0, 10)}\n\n${md}\n`);
  console.log(table(rows));
  const readme = join(here, '..', 'README.md');
  if (existsSync(readme)) {
    const text = readFileSync(readme, 'utf8');
    const re = /(<!-- bench:start -->)[\s\S]*?(<!-- bench:end -->)/;
    if (re.test(text)) writeFileSync(readme, text.replace(re, `$1\n${md}\n$2`));
  }
  if (failed) process.exitCode = 1;
}

function hostInfo(): string {
  // The load average says how much other work shared the cores while timing.
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  return `${os.cpus().length}x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${load}`;
}

await main();
