import { Worker } from 'node:worker_threads';
import type { FrameCallback, RawRunResult } from './ffmpeg.js';

// Plain JS, evaluated as the worker's script, so the pool works the same from TypeScript
// sources (vitest, tsx) and from the built package: no loader or file path to resolve.
// It mirrors runFrames() in ffmpeg.ts: spawn, cut stdout into frames, send them back
// as transferred ArrayBuffers (no copy).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
parentPort.on('message', (m) => {
  let p;
  try { p = spawn(m.cmd, m.args, { stdio: ['ignore', 'pipe', 'pipe'] }); }
  catch (e) { parentPort.postMessage({ id: m.id, error: String(e && e.message) }); return; }
  const frames = [];
  let cur = new Uint8Array(m.frameBytes), pos = 0, err = '', failed = null;
  p.stdout.on('data', (b) => {
    let off = 0;
    while (off < b.length) {
      const n = Math.min(m.frameBytes - pos, b.length - off);
      cur.set(b.subarray(off, off + n), pos);
      pos += n; off += n;
      if (pos === m.frameBytes) {
        // Each frame goes back as soon as it is complete (transferred, not copied).
        parentPort.postMessage({ id: m.id, index: frames.length, frame: cur.buffer }, [cur.buffer]);
        frames.push(null); cur = new Uint8Array(m.frameBytes); pos = 0;
      }
    }
  });
  p.stderr.on('data', (b) => { err += b.toString(); });
  p.on('error', (e) => { failed = e.message; });
  p.on('close', (code) => {
    if (failed) { parentPort.postMessage({ id: m.id, error: failed }); return; }
    parentPort.postMessage({ id: m.id, code: code == null ? -1 : code, stderr: err, count: frames.length });
  });
});
`;

interface Reply {
  id: number;
  index?: number;
  frame?: ArrayBuffer;
  code?: number;
  stderr?: string;
  count?: number;
  error?: string;
}

/**
 * ffmpeg runs driven from worker threads: their event loops drain ffmpeg's pipes even while
 * the main thread is busy with synchronous work (image preprocessing, graph building), so
 * decoding keeps going instead of stalling on a full pipe.
 */
export class DecodeWorkerPool {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (r: RawRunResult) => void; reject: (e: Error) => void; worker: number; frames: Uint8Array[]; onFrame: FrameCallback | undefined }
  >();
  private nextId = 0;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.unref(); // never keeps the process alive
      w.on('message', (r: Reply) => this.onReply(r));
      w.on('error', (e) => this.failAll(i, e));
      this.workers.push(w);
      this.busy.push(0);
    }
  }

  private onReply(r: Reply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.frame) {
      const f = new Uint8Array(r.frame);
      p.frames.push(f);
      p.onFrame?.(r.index ?? p.frames.length - 1, f);
      return;
    }
    this.pending.delete(r.id);
    this.busy[p.worker]!--;
    if (r.error !== undefined) p.reject(new Error(`cannot run ffmpeg (${r.error}); install ffmpeg (e.g. apt-get install ffmpeg)`));
    else p.resolve({ code: r.code ?? -1, stderr: r.stderr ?? '', frames: p.frames });
  }

  private failAll(worker: number, e: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker === worker) {
        this.pending.delete(id);
        p.reject(e);
      }
    }
  }

  /** A FrameRunner for decodeRun(): the least busy worker runs the process. */
  readonly run = (cmd: string, args: readonly string[], frameBytes: number, onFrame?: FrameCallback): Promise<RawRunResult> => {
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.busy[i]! < this.busy[w]!) w = i;
    const id = this.nextId++;
    this.busy[w]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: w, frames: [], onFrame });
      this.workers[w]!.postMessage({ id, cmd, args, frameBytes });
    });
  };

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
