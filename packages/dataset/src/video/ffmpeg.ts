import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { DatasetError } from '../errors.js';

/** Stream facts from ffprobe plus every frame's presentation time (seconds, ascending). */
export interface VideoProbe {
  readonly file: string;
  readonly codec: string;
  readonly width: number;
  readonly height: number;
  readonly pixFmt: string;
  readonly fps: number;
  readonly startTime: number;
  readonly duration: number;
  readonly frameTimes: Float64Array;
}

export interface FfmpegPaths {
  readonly ffmpeg?: string;
  readonly ffprobe?: string;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', (e) => reject(new Error(`cannot run ${cmd} (${e.message}); install ffmpeg (e.g. apt-get install ffmpeg)`)));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
  });
}

function rate(s: unknown): number {
  if (typeof s !== 'string') return 0;
  const [a, b] = s.split('/').map(Number);
  return b ? a! / b : Number(a);
}

/** ffprobe of the first video stream; packet timestamps give the frame times without decoding. */
export async function probeVideo(file: string, paths: FfmpegPaths = {}): Promise<VideoProbe> {
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) throw new DatasetError('video file is missing', { file });
  const r = await run(paths.ffprobe ?? 'ffprobe', [
    '-v', 'error', '-select_streams', 'v:0',
    '-show_entries', 'stream=codec_name,width,height,pix_fmt,r_frame_rate,avg_frame_rate,time_base,start_time,duration:packet=pts',
    '-of', 'json', file,
  ]);
  if (r.code !== 0) {
    const msg = r.stderr.trim().split('\n').slice(-2).join(' ');
    throw new DatasetError(`unreadable video (ffprobe: ${msg || `exit ${r.code}`})`, { file });
  }
  const j = JSON.parse(r.stdout.toString()) as { streams?: Record<string, unknown>[]; packets?: { pts?: number }[] };
  const s = j.streams?.[0];
  if (!s) throw new DatasetError('no video stream', { file });
  // pts × time_base exactly (pts_time is printed with 6 decimals only).
  const [tbNum, tbDen] = String(s.time_base ?? '1/1').split('/').map(Number);
  const tb = (tbNum ?? 1) / (tbDen || 1);
  const times = (j.packets ?? []).map((p) => Number(p.pts) * tb).filter((t) => Number.isFinite(t));
  times.sort((a, b) => a - b);
  if (times.length === 0) throw new DatasetError('video stream has no frames', { file });
  const fps = rate(s.avg_frame_rate) || rate(s.r_frame_rate);
  const startTime = Number(s.start_time ?? 0) || 0;
  return {
    file,
    codec: String(s.codec_name),
    width: Number(s.width),
    height: Number(s.height),
    pixFmt: String(s.pix_fmt),
    fps,
    startTime,
    duration: Number(s.duration ?? times[times.length - 1]! + 1 / (fps || 30)),
    frameTimes: Float64Array.from(times),
  };
}

export interface DecodeRunOptions {
  readonly file: string;
  readonly width: number;
  readonly height: number;
  /** Seek target in seconds relative to the stream start, or 0 for none. */
  readonly seek: number;
  /** Frame offsets (0 = first frame at/after `seek`) to keep, ascending; null = `count` consecutive frames. */
  readonly select: readonly number[] | null;
  readonly count: number;
  readonly pixFmt?: 'rgb24' | 'yuv420p';
  /** Scale to width × height (bicubic) after selecting; `width`/`height` above must be the scaled size. */
  readonly scale?: { readonly width: number; readonly height: number };
  readonly threads?: number;
  readonly ffmpeg?: string;
}

/** Bytes per frame for a raw pixel format. */
export function frameBytes(width: number, height: number, pixFmt: 'rgb24' | 'yuv420p' = 'rgb24'): number {
  return pixFmt === 'rgb24' ? width * height * 3 : width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/** What one ffmpeg run produced: exit code, stderr, and the complete frames read. */
export interface RawRunResult {
  readonly code: number;
  readonly stderr: string;
  readonly frames: Uint8Array[];
}

/** Runs `cmd args` and cuts its stdout into frames of `frameBytes` (in this thread); `onFrame` sees each as it completes. */
export function runFrames(cmd: string, args: readonly string[], frameBytes: number, onFrame?: FrameCallback): Promise<RawRunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const frames: Uint8Array[] = [];
    let cur = new Uint8Array(frameBytes);
    let pos = 0;
    let err = '';
    p.stdout.on('data', (b: Buffer) => {
      let off = 0;
      while (off < b.length) {
        const n = Math.min(frameBytes - pos, b.length - off);
        cur.set(b.subarray(off, off + n), pos);
        pos += n;
        off += n;
        if (pos === frameBytes) {
          onFrame?.(frames.length, cur);
          frames.push(cur);
          cur = new Uint8Array(frameBytes);
          pos = 0;
        }
      }
    });
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', (e) => reject(new Error(`cannot run ${cmd} (${e.message}); install ffmpeg (e.g. apt-get install ffmpeg)`)));
    p.on('close', (code) => resolve({ code: code ?? -1, stderr: err, frames }));
  });
}

/** Called with each frame of a run as soon as it is complete (frame number within the run). */
export type FrameCallback = (index: number, frame: Uint8Array) => void;

/** Where ffmpeg runs: in this thread (default) or through a worker pool (see DecodeWorkerPool). */
export type FrameRunner = (cmd: string, args: readonly string[], frameBytes: number, onFrame?: FrameCallback) => Promise<RawRunResult>;

/** The ffmpeg argument list for a run. */
export function decodeRunArgs(o: DecodeRunOptions): string[] {
  const pixFmt = o.pixFmt ?? 'rgb24';
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  if (o.threads !== undefined) args.push('-threads', String(o.threads));
  if (o.seek > 0) args.push('-ss', o.seek.toFixed(6));
  args.push('-i', o.file, '-map', '0:v:0');
  const filters: string[] = [];
  if (o.select) filters.push(`select='${o.select.map((n) => `eq(n\\,${n})`).join('+')}'`);
  if (o.scale) filters.push(`scale=${o.scale.width}:${o.scale.height}:flags=bicubic`);
  if (filters.length) args.push('-vf', filters.join(','));
  args.push('-fps_mode', 'passthrough', '-frames:v', String(o.count), '-f', 'rawvideo', '-pix_fmt', pixFmt, 'pipe:1');
  return args;
}

/**
 * One ffmpeg process decodes a run of frames: accurate input seek, optional `select` of
 * frame numbers within the run, raw frames piped to us. Returns one buffer per frame.
 */
export async function decodeRun(o: DecodeRunOptions, runner: FrameRunner = runFrames, onFrame?: FrameCallback): Promise<Uint8Array[]> {
  const fb = frameBytes(o.width, o.height, o.pixFmt ?? 'rgb24');
  const r = await runner(o.ffmpeg ?? 'ffmpeg', decodeRunArgs(o), fb, onFrame);
  if (r.code !== 0 || r.frames.length !== o.count) {
    const msg = r.stderr.trim().split('\n').slice(-2).join(' ');
    throw new DatasetError(
      `decoded ${r.frames.length} of ${o.count} frames from t=${o.seek.toFixed(4)}s` +
        (o.select ? ` (frames +${o.select.join(',+')})` : '') +
        ` — the video is truncated or corrupt${msg ? ` (ffmpeg: ${msg})` : ''}`,
      { file: o.file },
    );
  }
  return r.frames;
}
