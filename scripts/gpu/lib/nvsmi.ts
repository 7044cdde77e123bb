// GPU facts and memory sampling through nvidia-smi (ORT's Node binding
// exposes neither device names nor memory). Absent nvidia-smi → null, and
// callers say so in their output rather than invent a figure.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface GpuInfo {
  readonly index: number;
  readonly name: string;
  readonly memoryTotalMiB: number;
  readonly memoryUsedMiB: number;
  readonly driver: string;
  readonly computeCap: string;
}

/** Every GPU nvidia-smi lists, or null when nvidia-smi is missing / fails (with the reason). */
export function queryGpus(): { gpus: GpuInfo[] } | { gpus: null; reason: string } {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total,memory.used,driver_version,compute_cap', '--format=csv,noheader,nounits'], {
      encoding: 'utf8',
      timeout: 15_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const gpus = out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [index, name, total, used, driver, cc] = l.split(',').map((s) => s.trim());
        return { index: Number(index), name: name ?? '?', memoryTotalMiB: Number(total), memoryUsedMiB: Number(used), driver: driver ?? '?', computeCap: cc ?? '?' };
      });
    return { gpus };
  } catch (e) {
    return { gpus: null, reason: `nvidia-smi: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** Samples memory.used of one GPU every `intervalMs` while running; peak minus the level at start. */
export class MemorySampler {
  private proc: ChildProcess | null = null;
  private peak = 0;
  private first: number | null = null;
  private buf = '';
  readonly available: boolean;

  constructor(
    private readonly gpu: number,
    private readonly intervalMs = 50,
  ) {
    this.available = 'gpus' in queryGpus() && queryGpus().gpus !== null;
  }

  start(): void {
    if (!this.available) return;
    const base = queryGpus();
    this.first = base.gpus?.find((g) => g.index === this.gpu)?.memoryUsedMiB ?? null;
    this.peak = this.first ?? 0;
    this.proc = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-i', String(this.gpu), '-lms', String(this.intervalMs)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (d: string) => {
      this.buf += d;
      const lines = this.buf.split('\n');
      this.buf = lines.pop() ?? '';
      for (const l of lines) {
        const v = Number(l.trim());
        if (Number.isFinite(v) && v > this.peak) this.peak = v;
      }
    });
  }

  /** { peakMiB: highest memory.used seen, baselineMiB: at start, deltaMiB }. */
  stop(): { peakMiB: number; baselineMiB: number; deltaMiB: number } | null {
    if (!this.proc) return null;
    this.proc.kill('SIGTERM');
    this.proc = null;
    const base = this.first ?? 0;
    return { peakMiB: this.peak, baselineMiB: base, deltaMiB: this.peak - base };
  }
}
