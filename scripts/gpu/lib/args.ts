// Command-line flags of the GPU check (one parser for the bundle and tsx runs).
import { parseDevice, type DeviceSpec, type Precision } from './deps.js';

export type Part = 'load' | 'parity' | 'fixture' | 'train' | 'peak';
export const PARTS: readonly Part[] = ['load', 'parity', 'fixture', 'train', 'peak'];
export type ModelSize = 'tiny' | 'mid' | '2b';
export type Mode = 'lora' | 'full';

export interface CheckArgs {
  readonly device: string;
  readonly spec: DeviceSpec;
  readonly precision: Precision;
  readonly parts: readonly Part[];
  readonly sizes: readonly ModelSize[];
  readonly modes: readonly Mode[];
  readonly batch: number;
  readonly images: number;
  readonly height: number;
  readonly width: number;
  readonly textTokens: number;
  readonly steps: number;
  readonly warmup: number;
  readonly fixture: string | null;
  readonly results: string;
  readonly threads: number | null;
  /** Matmul peak: matrix size and chain length. */
  readonly peakN: number;
  readonly peakChain: number;
  /** Passed to Session.Options.cuda (the Node binding can only honour ORT's defaults; see docs/GPU.md). */
  readonly gpuMemLimit: number | null;
  readonly tf32: boolean | null;
  readonly cudnnAlgo: 'EXHAUSTIVE' | 'HEURISTIC' | 'DEFAULT' | null;
  /** Stop after this many seconds of training cases (the device run limit is 10 min a command). */
  readonly budgetS: number;
}

export const USAGE = `usage: gpu-check [--device cuda|cuda:N|webgpu|cpu] [--only load,parity,fixture,train,peak]
  [--sizes tiny,mid,2b] [--modes lora,full] [--precision fp32|bf16|fp16] [--batch 2] [--images 3]
  [--image 480x640] [--text-tokens 64] [--steps 5] [--warmup 1] [--fixture DIR] [--results DIR]
  [--threads N] [--peak-n 8192] [--peak-chain 16] [--gpu-mem-limit BYTES] [--tf32 on|off]
  [--cudnn-algo EXHAUSTIVE|HEURISTIC|DEFAULT] [--budget-s 480]
  gpu-check --merge [--results DIR] [HF_JSON ...]   merge gpu-*.json (+ hf_baseline outputs) into gpu-summary.json`;

function list<T extends string>(flag: string, v: string, allowed: readonly T[]): T[] {
  const out = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const x of out) if (!(allowed as readonly string[]).includes(x)) throw new RangeError(`${flag}: '${x}' is not one of ${allowed.join(', ')}`);
  return out as T[];
}

function int(flag: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`${flag}: expected an integer >= ${min}, got '${v}'`);
  return n;
}

export function parseArgs(argv: readonly string[]): CheckArgs {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new RangeError(`unexpected argument '${a}'\n${USAGE}`);
    const eq = a.indexOf('=');
    if (eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1));
    else {
      const v = argv[++i];
      if (v === undefined) throw new RangeError(`${a} needs a value\n${USAGE}`);
      m.set(a.slice(2), v);
    }
  }
  const known = new Set(['device', 'only', 'sizes', 'modes', 'precision', 'batch', 'images', 'image', 'text-tokens', 'steps', 'warmup', 'fixture', 'results', 'threads', 'peak-n', 'peak-chain', 'gpu-mem-limit', 'tf32', 'cudnn-algo', 'budget-s']);
  for (const k of m.keys()) if (!known.has(k)) throw new RangeError(`unknown flag --${k}\n${USAGE}`);
  const device = m.get('device') ?? 'cuda';
  const spec = parseDevice(device);
  const precision = (m.get('precision') ?? (spec.provider === 'cuda' ? 'bf16' : spec.provider === 'webgpu' ? 'fp16' : 'fp32')) as Precision;
  if (!['fp32', 'bf16', 'fp16'].includes(precision)) throw new RangeError(`--precision: expected fp32, bf16 or fp16, got '${precision}'`);
  const img = /^(\d+)x(\d+)$/.exec(m.get('image') ?? '480x640');
  if (!img) throw new RangeError(`--image: expected HxW (e.g. 480x640), got '${m.get('image')}'`);
  const tf32 = m.get('tf32');
  if (tf32 !== undefined && tf32 !== 'on' && tf32 !== 'off') throw new RangeError(`--tf32: expected on or off, got '${tf32}'`);
  const algo = m.get('cudnn-algo');
  if (algo !== undefined && !['EXHAUSTIVE', 'HEURISTIC', 'DEFAULT'].includes(algo)) throw new RangeError(`--cudnn-algo: expected EXHAUSTIVE, HEURISTIC or DEFAULT, got '${algo}'`);
  const gpu = spec.provider !== 'cpu';
  return {
    device,
    spec,
    precision,
    parts: list('--only', m.get('only') ?? PARTS.join(','), PARTS),
    sizes: list('--sizes', m.get('sizes') ?? 'tiny,mid,2b', ['tiny', 'mid', '2b'] as const),
    modes: list('--modes', m.get('modes') ?? 'lora,full', ['lora', 'full'] as const),
    batch: int('--batch', m.get('batch') ?? '2'),
    images: int('--images', m.get('images') ?? '3'),
    height: Number(img[1]),
    width: Number(img[2]),
    textTokens: int('--text-tokens', m.get('text-tokens') ?? '64'),
    steps: int('--steps', m.get('steps') ?? '5'),
    warmup: int('--warmup', m.get('warmup') ?? '1', 0),
    fixture: m.get('fixture') ?? null,
    results: m.get('results') ?? 'bench/results',
    threads: m.has('threads') ? int('--threads', m.get('threads')!) : null,
    peakN: int('--peak-n', m.get('peak-n') ?? (gpu ? '8192' : '512')),
    peakChain: int('--peak-chain', m.get('peak-chain') ?? (gpu ? '16' : '4')),
    gpuMemLimit: m.has('gpu-mem-limit') ? int('--gpu-mem-limit', m.get('gpu-mem-limit')!) : null,
    tf32: tf32 === undefined ? null : tf32 === 'on',
    cudnnAlgo: (algo as CheckArgs['cudnnAlgo']) ?? null,
    budgetS: int('--budget-s', m.get('budget-s') ?? '480'),
  };
}
