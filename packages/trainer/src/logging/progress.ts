// Training progress: a redrawn one-line bar on a TTY, plain log lines otherwise (CI
// logs and files get no carriage returns).

export interface ProgressUpdate {
  step: number;
  loss: number;
  lr: number;
  /** samples consumed since the start of this run (not counting resumed steps). */
  samples: number;
  /** extra fields shown after the standard ones. */
  extra?: Record<string, string>;
}

export interface ProgressOptions {
  total: number;
  /** first step of this run (non-zero when resuming), for rates and ETA. */
  startStep?: number;
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** plain mode: print every N steps (and the last). */
  every?: number;
  /** force plain lines even on a TTY. */
  plain?: boolean;
  now?: () => number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class Progress {
  private readonly total: number;
  private readonly startStep: number;
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly every: number;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly t0: number;
  private drawn = false;

  constructor(o: ProgressOptions) {
    this.total = o.total;
    this.startStep = o.startStep ?? 0;
    this.stream = o.stream ?? process.stderr;
    this.every = o.every ?? 10;
    this.tty = !o.plain && Boolean(this.stream.isTTY);
    this.now = o.now ?? (() => performance.now() / 1000);
    this.t0 = this.now();
  }

  /** Text of the status for an update (exposed for tests). */
  line(u: ProgressUpdate): string {
    const elapsed = this.now() - this.t0;
    const done = u.step - this.startStep;
    const rate = elapsed > 0 ? u.samples / elapsed : 0;
    const eta = done > 0 ? ((this.total - u.step) * elapsed) / done : NaN;
    const extra = Object.entries(u.extra ?? {}).map(([k, v]) => ` ${k} ${v}`).join('');
    return `step ${u.step}/${this.total} loss ${u.loss.toFixed(4)} lr ${u.lr.toExponential(2)} ${rate.toFixed(2)} samples/s elapsed ${formatDuration(elapsed)} eta ${formatDuration(eta)}${extra}`;
  }

  update(u: ProgressUpdate): void {
    const text = this.line(u);
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * u.step) / Math.max(1, this.total));
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      const cols = (this.stream as { columns?: number }).columns ?? 120;
      this.stream.write(`\r\x1b[2K${`${bar} ${text}`.slice(0, cols - 1)}`);
      this.drawn = true;
    } else if (u.step % this.every === 0 || u.step === this.total || u.step === this.startStep + 1) {
      this.stream.write(text + '\n');
    }
  }

  /** Prints a message without breaking the bar (evaluations, checkpoints). */
  log(message: string): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(message + '\n');
    this.drawn = false;
  }

  done(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
