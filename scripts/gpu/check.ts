// vlreward GPU check: provider load, parity on the device, LoRA and full
// training steps on tiny / mid / 2B-shaped Qwen3-VL (random weights,
// synthetic 3×480×640 batches), bf16 matmul peak; writes
// <results>/gpu-{load,parity,train,peak}.json and merges them (with any
// hf_baseline.py outputs) into gpu-summary.json. Bundled by
// scripts/gpu/build.mjs into one CommonJS file that runs on the offline kit's
// node with onnxruntime-node from NODE_PATH; scripts/gpu/gpu-check.sh drives it.
// Usage: see USAGE in lib/args.ts and docs/GPU.md.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, USAGE, type CheckArgs, type Mode, type ModelSize } from './lib/args.js';
import { add, createSession, Graph, listProviders, ort, type Precision, type Provider, type Session } from './lib/deps.js';
import { MemorySampler, queryGpus } from './lib/nvsmi.js';
import { fixtureParity, selfParity, type ParityResult } from './lib/parity.js';
import { matmulPeak } from './lib/peak.js';
import { runTrainCase, type TrainCaseResult, type TrainCaseSpec } from './lib/train_case.js';

const log = (...a: unknown[]): void => console.error('[gpu-check]', ...a);

function writeJson(dir: string, name: string, body: unknown): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(body, null, 2) + '\n');
  log(`wrote ${p}`);
  return p;
}

function host() {
  return {
    node: process.version,
    onnxruntime: ort.env.versions,
    platform: `${process.platform}/${process.arch}`,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    gpus: queryGpus(),
  };
}

function cudaOptions(a: CheckArgs): Session.CudaOptions | undefined {
  const c: { gpuMemLimitBytes?: number; useTf32?: boolean; cudnnConvAlgoSearch?: 'EXHAUSTIVE' | 'HEURISTIC' | 'DEFAULT' } = {};
  if (a.gpuMemLimit !== null) c.gpuMemLimitBytes = a.gpuMemLimit;
  if (a.tf32 !== null) c.useTf32 = a.tf32;
  if (a.cudnnAlgo !== null) c.cudnnConvAlgoSearch = a.cudnnAlgo;
  return Object.keys(c).length ? c : undefined;
}

/** Provider load: a one-node session per provider, CPU fallback off; the requested one must run. */
async function partLoad(a: CheckArgs) {
  const rows: { provider: Provider; listed: boolean; loads: boolean; ms: number; note: string }[] = [];
  for (const p of listProviders()) {
    const t0 = performance.now();
    if (!p.available) {
      rows.push({ provider: p.name, listed: false, loads: false, ms: 0, note: p.note });
      continue;
    }
    try {
      const g = new Graph('load', { opset: 21 });
      const x = g.input('x', 'float32', [2]);
      g.output(add(x, x), 'y');
      const id = p.name === a.spec.provider ? a.spec.deviceId : undefined;
      const s = await createSession(g, { provider: p.name, ...(id !== undefined ? { deviceId: id } : {}), disableCpuFallback: p.name !== 'cpu' });
      const y = (await s.run({ x: { dtype: 'float32', dims: [2], data: Float32Array.of(1, 2) } })).y!.data as Float32Array;
      await s.dispose();
      const ok = y[0] === 2 && y[1] === 4;
      rows.push({ provider: p.name, listed: true, loads: ok, ms: Math.round(performance.now() - t0), note: ok ? 'session created and ran' : `wrong result [${[...y]}]` });
    } catch (e) {
      rows.push({ provider: p.name, listed: true, loads: false, ms: Math.round(performance.now() - t0), note: (e as Error).message.split('\n')[0]! });
    }
  }
  const requested = rows.find((r) => r.provider === a.spec.provider)!;
  return { ok: requested.loads, requested: a.device, providers: rows };
}

async function partParity(a: CheckArgs) {
  const precisions: Precision[] = a.precision === 'fp32' ? ['fp32'] : ['fp32', a.precision];
  const deviceId = a.spec.deviceId;
  const self = await selfParity({ provider: a.spec.provider, ...(deviceId !== undefined ? { deviceId } : {}), precisions, modes: a.modes });
  return summarizeParity(self, a.spec.provider);
}

function summarizeParity(results: ParityResult[], provider: Provider) {
  // The CPU provider has no bf16 Gemm/MatMul kernels: a bf16 row there is expected to fail and does not count.
  const counted = results.filter((r) => !(provider === 'cpu' && r.precision === 'bf16'));
  return { ok: counted.length > 0 && counted.every((r) => r.ok), results, ...(counted.length < results.length ? { note: 'cpu provider: bf16 rows are informational (no bf16 Gemm kernels on CPU; fp16 has them)' } : {}) };
}

async function partFixture(a: CheckArgs) {
  if (!a.fixture) return { ok: true, skipped: 'no --fixture DIR given (carry a ../shared/fixtures folder to run this part)', results: [] as ParityResult[] };
  const precisions: Precision[] = a.precision === 'fp32' ? ['fp32'] : ['fp32', a.precision];
  const deviceId = a.spec.deviceId;
  const r = await fixtureParity(resolve(a.fixture), { provider: a.spec.provider, ...(deviceId !== undefined ? { deviceId } : {}), precisions });
  return { fixture: resolve(a.fixture), ...summarizeParity(r, a.spec.provider) };
}

/** Run one training case in a child process (own memory; an OOM ends only that case). */
function runChild(spec: TrainCaseSpec, timeoutS: number): Promise<{ result?: TrainCaseResult; error?: string; peakMem?: ReturnType<MemorySampler['stop']> }> {
  return new Promise((res) => {
    const sampler = spec.provider === 'cuda' ? new MemorySampler(spec.deviceId ?? 0) : null;
    sampler?.start();
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '--case', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const peakMem = sampler?.stop() ?? undefined;
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        const parsed = JSON.parse(last) as { result?: TrainCaseResult; error?: string };
        res({ ...parsed, ...(peakMem ? { peakMem } : {}) });
      } catch {
        res({ error: signal === 'SIGKILL' ? `killed after ${timeoutS} s (budget)` : `child exited ${code ?? signal} without a result${last ? `: ${last.slice(0, 300)}` : ''}`, ...(peakMem ? { peakMem } : {}) });
      }
    });
  });
}

async function partTrain(a: CheckArgs) {
  const cases: unknown[] = [];
  const t0 = performance.now();
  const cuda = cudaOptions(a);
  for (const size of a.sizes) {
    for (const mode of a.modes) {
      const left = a.budgetS - (performance.now() - t0) / 1000;
      if (left < 20) {
        cases.push({ case: `${size}.${mode}`, skipped: `time budget (--budget-s ${a.budgetS}) spent; run it alone with --sizes ${size} --modes ${mode}` });
        continue;
      }
      const spec: TrainCaseSpec = {
        size: size as ModelSize,
        mode: mode as Mode,
        provider: a.spec.provider,
        ...(a.spec.deviceId !== undefined ? { deviceId: a.spec.deviceId } : {}),
        precision: a.precision,
        batch: a.batch,
        images: a.images,
        height: a.height,
        width: a.width,
        textTokens: a.textTokens,
        steps: a.steps,
        warmup: a.warmup,
        ...(a.threads ? { threads: a.threads } : {}),
        ...(cuda ? { cuda } : {}),
      };
      log(`train ${size}.${mode} on ${a.device} (${a.precision}), ${Math.round(left)} s of budget left`);
      const r = await runChild(spec, Math.floor(left));
      if (r.result) {
        const m = r.peakMem;
        log(`  ${r.result.samplesPerS} samples/s, step ${r.result.stepTimeS.mean} s, ${r.result.achievedTflops} TFLOP/s${m ? `, peak device memory +${m.deltaMiB} MiB` : ''}`);
        const row = { ...r.result, peakDeviceMemory: m ?? (a.spec.provider === 'cuda' ? 'nvidia-smi unavailable' : `not measured on ${a.spec.provider}`) };
        cases.push(row);
        writeJson(a.results, `gpu-train-${size}-${mode}.json`, { date: new Date().toISOString(), device: a.device, ...row });
      } else {
        log(`  FAILED: ${r.error}`);
        cases.push({ case: `${size}.${mode}`, error: r.error, ...(r.peakMem ? { peakDeviceMemory: r.peakMem } : {}) });
      }
    }
  }
  return { ok: cases.every((c) => !(c as { error?: string }).error), cases };
}

async function partPeak(a: CheckArgs) {
  const dtype = a.spec.provider === 'cpu' ? 'float32' : a.precision === 'fp16' ? 'float16' : a.precision === 'bf16' ? 'bfloat16' : 'float32';
  const r = await matmulPeak({ provider: a.spec.provider, ...(a.spec.deviceId !== undefined ? { deviceId: a.spec.deviceId } : {}), dtype, n: a.peakN, chain: a.peakChain, ...(a.threads ? { threads: a.threads } : {}) });
  log(`matmul peak ${dtype} n=${a.peakN}×${a.peakChain}: ${r.tflops.toFixed(2)} TFLOP/s`);
  return { ok: true, ...r };
}

/** Merge gpu-*.json (and hf_baseline outputs) into gpu-summary.json: ORT and PyTorch side by side per mode. */
export function merge(results: string, hfFiles: readonly string[]): unknown {
  const read = (p: string): Record<string, unknown> | null => (existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : null);
  const parts: Record<string, unknown> = {};
  for (const f of existsSync(results) ? readdirSync(results) : []) {
    const m = /^gpu-(load|parity|fixture|train|peak)\.json$/.exec(f);
    if (m) parts[m[1]!] = read(join(results, f));
  }
  const hf: Record<string, unknown>[] = [];
  for (const f of hfFiles) {
    const j = read(f);
    if (j) hf.push({ file: f, ...j });
  }
  const peak = (parts.peak as { tflops?: number } | undefined)?.tflops ?? null;
  // Cases from every run: gpu-train-<size>-<mode>.json (one per case, newest wins) and gpu-train.json.
  const byCase = new Map<string, Record<string, unknown>>();
  for (const c of (parts.train as { cases?: Record<string, unknown>[] } | undefined)?.cases ?? []) byCase.set(String(c.case), c);
  for (const f of existsSync(results) ? readdirSync(results).sort() : []) {
    if (!/^gpu-train-[\w]+-[\w]+\.json$/.test(f)) continue;
    const j = read(join(results, f));
    if (!j) continue;
    const prev = byCase.get(String(j.case));
    if (!prev || String(j.date ?? '') >= String(prev.date ?? '')) byCase.set(String(j.case), j);
  }
  const train = [...byCase.values()];
  const sideBySide = train.map((c) => {
    const name = String(c.case ?? '');
    const mode = name.split('.')[1];
    const size = name.split('.')[0];
    const t = c as { samplesPerS?: number; achievedTflops?: number; peakDeviceMemory?: { peakMiB?: number; deltaMiB?: number }; transfer?: unknown; error?: string; skipped?: string };
    const ref = size === '2b' ? hf.find((h) => (h.settings as { mode?: string } | undefined)?.mode === mode && !(h.settings as { infer?: boolean } | undefined)?.infer) : undefined;
    const hr = ref as { samples_per_s?: number; memory?: { peak_allocated_gib?: number; peak_reserved_gib?: number }; flops?: { achieved_tflops?: number }; file?: string } | undefined;
    return {
      case: name,
      ort: t.error || t.skipped
        ? { error: t.error ?? t.skipped }
        : {
            samplesPerS: t.samplesPerS,
            achievedTflops: t.achievedTflops,
            fractionOfPeak: peak && t.achievedTflops ? Math.round((t.achievedTflops / peak) * 1000) / 1000 : null,
            peakDeviceMemoryGiB: typeof t.peakDeviceMemory === 'object' && t.peakDeviceMemory?.deltaMiB !== undefined ? Math.round((t.peakDeviceMemory.deltaMiB / 1024) * 100) / 100 : null,
            transfer: t.transfer,
          },
      pytorch: hr
        ? {
            file: hr.file,
            samplesPerS: hr.samples_per_s,
            achievedTflops: hr.flops?.achieved_tflops ?? null,
            fractionOfPeak: peak && hr.flops?.achieved_tflops ? Math.round((hr.flops.achieved_tflops / peak) * 1000) / 1000 : null,
            peakAllocatedGiB: hr.memory?.peak_allocated_gib ?? null,
            peakReservedGiB: hr.memory?.peak_reserved_gib ?? null,
          }
        : size === '2b'
          ? null
          : 'hf_baseline runs the 2B shape only',
    };
  });
  // The device's own host facts are in parts.load.host; this is where the merge ran (maybe another machine).
  const summary = { date: new Date().toISOString(), mergedOn: host(), matmulPeakTflops: peak, sideBySide, parts, hfBaseline: hf };
  writeJson(results, 'gpu-summary.json', summary);
  return summary;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--case') {
    // Child: one training case; the JSON result is the last stdout line.
    try {
      const result = await runTrainCase(JSON.parse(argv[1]!) as TrainCaseSpec);
      process.stdout.write(JSON.stringify({ result }) + '\n');
      return 0;
    } catch (e) {
      process.stdout.write(JSON.stringify({ error: (e as Error).message.split('\n').slice(0, 3).join(' | ') }) + '\n');
      return 1;
    }
  }
  if (argv[0] === '--help' || argv[0] === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (argv[0] === '--merge') {
    const rest = argv.slice(1);
    let results = 'bench/results';
    const files: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === '--results') results = rest[++i]!;
      else files.push(rest[i]!);
    }
    merge(results, files);
    return 0;
  }
  const a = parseArgs(argv);
  log(`device ${a.device} (${a.spec.provider}${a.spec.deviceId !== undefined ? `:${a.spec.deviceId}` : ''}), precision ${a.precision}, onnxruntime-node ${ort.env.versions.node}, node ${process.version}`);
  const common = { date: new Date().toISOString(), device: a.device, precision: a.precision, host: host() };
  let ok = true;
  const load = await partLoad(a);
  if (a.parts.includes('load')) writeJson(a.results, 'gpu-load.json', { ...common, ...load });
  if (!load.ok) {
    log(`provider '${a.spec.provider}' does not load: ${load.providers.find((p) => p.provider === a.spec.provider)?.note}`);
    return 2;
  }
  const parts: [string, () => Promise<{ ok: boolean }>][] = [
    ['parity', () => partParity(a)],
    ['fixture', () => partFixture(a)],
    ['peak', () => partPeak(a)],
    ['train', () => partTrain(a)],
  ];
  for (const [name, fn] of parts) {
    if (!a.parts.includes(name as never)) continue;
    log(`part ${name} ...`);
    const t0 = performance.now();
    try {
      const r = await fn();
      writeJson(a.results, `gpu-${name}.json`, { ...common, seconds: Math.round((performance.now() - t0) / 100) / 10, ...r });
      if (!r.ok) ok = false;
      log(`part ${name}: ${r.ok ? 'ok' : 'FAILED'}`);
    } catch (e) {
      ok = false;
      log(`part ${name} threw: ${(e as Error).stack}`);
      writeJson(a.results, `gpu-${name}.json`, { ...common, ok: false, error: (e as Error).message });
    }
  }
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof RangeError ? `gpu-check: ${e.message}` : e);
    process.exit(2);
  },
);
