/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The viewer page (bundled by esbuild; no framework): episode list, three camera videos
// played in sync, the per-frame reward curve with a cursor tied to video time (click to
// seek), and in-browser inference of the exported model with onnxruntime-web.
import * as ort from 'onnxruntime-web';
import type { TensorData } from '@vlreward/graph';
import { browserProcessor, type BrowserProcessor, type ProcessorFiles } from './processor.js';

interface Info { root: string; fps: number; cameras: string[]; numClasses: number | null; checkpoint: string | null; modelClasses: number | null; predictions: boolean; serverBackend: string | null; problems: string[] }
interface Row { frame: number; timestamp: number; label: number | null; predicted: number; expected: number; probs: number[] }
interface TensorJson { dtype: string; dims: number[]; b64: string }

/** State the e2e test reads (window.__viewer). */
const state = {
  episode: -1,
  frames: 0,
  server: [] as Row[],
  serverMsPerFrame: 0,
  browser: [] as { frame: number; probs: number[]; expected: number; ms: number }[],
  browserBackend: '',
  /** the WebGPU adapter onnxruntime-web ran on (vendor / architecture / description), '' for wasm */
  browserAdapter: '',
  /** why WebGPU was not used when it was tried (no navigator.gpu, no adapter, session failed) */
  webgpuProblem: '',
  browserMsPerFrame: 0,
  /** mean per-frame time of the in-browser processor (tokenize + resize/patchify + host inputs) */
  processorMsPerFrame: 0,
  maxAbsDiff: NaN,
  errors: [] as string[],
  ready: false,
  browserDone: false,
};
(window as unknown as { __viewer: typeof state }).__viewer = state;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const SVG = 'http://www.w3.org/2000/svg';
let info: Info;
let videos: HTMLVideoElement[] = [];

function showError(msg: string): void {
  state.errors.push(msg);
  const el = $('error');
  el.style.display = 'block';
  el.textContent = state.errors.join('\n');
}

async function api<T>(path: string): Promise<T> {
  const r = await fetch(path);
  const body = (await r.json()) as T & { error?: string };
  if (!r.ok) throw new Error(body.error ?? `${path}: HTTP ${r.status}`);
  return body;
}

function histogram(h: number[] | null): string {
  if (!h) return '';
  const max = Math.max(1, ...h);
  return `<span class="hist" title="label histogram: ${h.join(' / ')}">${h.map((n) => `<span style="height:${Math.max(1, (16 * n) / max)}px"></span>`).join('')}</span>`;
}

async function loadEpisodes(): Promise<void> {
  const list = await api<{ episode: number; task: string; length: number; histogram: number[] | null }[]>('/api/episodes');
  $('episodes').innerHTML = `<table><tr><th>ep</th><th>task</th><th>len</th><th>labels</th></tr>${list
    .map((e) => `<tr class="ep" data-ep="${e.episode}"><td>${e.episode}</td><td>${escapeHtml(e.task)}</td><td>${e.length}</td><td>${histogram(e.histogram)}</td></tr>`)
    .join('')}</table>`;
  for (const tr of document.querySelectorAll<HTMLTableRowElement>('tr.ep')) tr.onclick = () => (location.hash = `episode=${tr.dataset.ep}`);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

const W = 1000, H = 260, PAD = 30;
const xOf = (f: number) => PAD + ((W - 2 * PAD) * f) / Math.max(1, state.frames - 1);
const yOf = (v: number) => H - PAD - (H - 2 * PAD) * v;

function drawPlot(): void {
  const svg = $('plot') as unknown as SVGSVGElement;
  svg.innerHTML = '';
  const el = (tag: string, attrs: Record<string, string | number>, cls?: string) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (cls) e.setAttribute('class', cls);
    svg.appendChild(e);
    return e;
  };
  el('rect', { x: PAD, y: PAD, width: W - 2 * PAD, height: H - 2 * PAD, fill: '#fafbfc', stroke: '#ccd' });
  for (const v of [0, 0.5, 1]) el('text', { x: 4, y: yOf(v) + 4, 'font-size': 11, fill: '#666' }).textContent = v.toFixed(1);
  const C = info.numClasses ?? 1;
  const rows = state.server;
  // p(highest bin) as translucent bars behind the lines.
  rows.forEach((r, i) => {
    if (!r.probs.length) return;
    const w = (W - 2 * PAD) / Math.max(1, rows.length);
    el('rect', { x: xOf(i) - w / 2, y: yOf(r.probs[r.probs.length - 1]!), width: w, height: yOf(0) - yOf(r.probs[r.probs.length - 1]!), fill: '#5b8def', opacity: 0.15 });
  });
  const line = (pts: [number, number][], color: string, dash = '') => el('polyline', { points: pts.map(([x, y]) => `${x},${y}`).join(' '), fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-dasharray': dash });
  const gt = rows.map((r, i) => [xOf(i), yOf(r.label === null ? 0 : r.label / Math.max(1, C - 1))] as [number, number]);
  line(gt, '#888');
  rows.forEach((r, i) => el('rect', { x: xOf(i) - 3, y: gt[i]![1] - 3, width: 6, height: 6, fill: '#888' }, 'pt-gt'));
  if (rows.some((r) => Number.isFinite(r.expected))) {
    line(rows.map((r, i) => [xOf(i), yOf(r.expected)]), '#d9480f');
    rows.forEach((r, i) => el('circle', { cx: xOf(i), cy: yOf(r.expected), r: 3.5, fill: '#d9480f' }, 'pt-server'));
  }
  if (state.browser.length) {
    line(state.browser.map((b, i) => [xOf(i), yOf(b.expected)]), '#2b8a3e', '6 4');
    state.browser.forEach((b, i) => el('path', { d: `M${xOf(i)},${yOf(b.expected) - 4}l4,4l-4,4l-4,-4z`, fill: '#2b8a3e' }, 'pt-browser'));
  }
  el('line', { x1: PAD, x2: PAD, y1: PAD, y2: H - PAD, stroke: '#000', 'stroke-width': 1.5, id: 'cursor' });
}

function frameAt(t: number): number {
  // frame i is shown during [i/fps, (i+1)/fps)
  return Math.max(0, Math.min(state.frames - 1, Math.floor(t * info.fps + 1e-3)));
}

function updateCursor(): void {
  const t = videos[0]?.currentTime ?? 0;
  const f = frameAt(t);
  const c = document.getElementById('cursor');
  if (c) {
    c.setAttribute('x1', String(xOf(f)));
    c.setAttribute('x2', String(xOf(f)));
  }
  const r = state.server[f];
  $('time').textContent = `t = ${t.toFixed(2)} s · frame ${f}${r ? ` · label ${r.label ?? '-'} · predicted ${r.predicted >= 0 ? r.predicted : '-'}` : ''}`;
  (window as unknown as { __cursorFrame: number }).__cursorFrame = f;
}

function syncLoop(): void {
  const lead = videos[0];
  if (lead) for (const v of videos.slice(1)) if (Math.abs(v.currentTime - lead.currentTime) > 0.5 / info.fps) v.currentTime = lead.currentTime;
  updateCursor();
  requestAnimationFrame(syncLoop);
}

async function openEpisode(ep: number): Promise<void> {
  state.episode = ep;
  state.ready = false;
  state.browser = [];
  state.browserDone = false;
  for (const tr of document.querySelectorAll<HTMLTableRowElement>('tr.ep')) tr.classList.toggle('sel', Number(tr.dataset.ep) === ep);
  $('title').textContent = `episode ${ep}`;
  const box = $('videos');
  box.innerHTML = '';
  videos = info.cameras.map((cam) => {
    const fig = document.createElement('figure');
    const v = document.createElement('video');
    v.muted = true;
    v.preload = 'auto';
    v.playsInline = true;
    v.src = `/video/${ep}/${encodeURIComponent(cam)}.webm`;
    v.onerror = () => showError(`episode ${ep}, camera ${cam}: the video could not be loaded (${v.error?.message || 'see the server log'})`);
    fig.append(v, Object.assign(document.createElement('figcaption'), { textContent: cam.replace('observation.images.', '') }));
    box.appendChild(fig);
    return v;
  });
  try {
    const c = await api<{ rows: Row[]; msPerFrame: number; backend: string | null }>(`/api/episode/${ep}/curve`);
    state.server = c.rows;
    state.frames = c.rows.length;
    state.serverMsPerFrame = c.msPerFrame;
    drawPlot();
    stats();
    state.ready = true;
  } catch (e) {
    showError((e as Error).message);
  }
}

function stats(): void {
  const s = [`<b>server</b>: ${info.serverBackend ?? 'no checkpoint'}${info.predictions ? ` · ${state.serverMsPerFrame.toFixed(1)} ms/frame` : ''}`];
  if (state.browser.length) s.push(`<b>browser</b>: processor ${state.processorMsPerFrame.toFixed(1)} ms + onnxruntime-web (${state.browserBackend}${state.browserAdapter ? `: ${escapeHtml(state.browserAdapter)}` : ''}) ${state.browserMsPerFrame.toFixed(1)} ms/frame · max |Δp| vs server ${state.maxAbsDiff.toExponential(2)}`);
  s.push(`${state.frames} frames · accuracy ${state.server.length && info.predictions ? (state.server.filter((r) => r.label === r.predicted).length / state.server.length).toFixed(3) : '-'}`);
  $('stats').innerHTML = s.join(' &nbsp;|&nbsp; ');
}

function ortTensor(t: TensorData): ort.Tensor {
  switch (t.dtype) {
    case 'float32': case 'int64': case 'int32': case 'bool':
      return new ort.Tensor(t.dtype, t.data as never, [...t.dims]);
    default: throw new Error(`feed of dtype ${t.dtype} is not supported in the browser`);
  }
}

function fromB64(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

let processor: Promise<BrowserProcessor> | null = null;

export function toTensor(t: TensorJson): ort.Tensor {
  const bin = Uint8Array.from(atob(t.b64), (c) => c.charCodeAt(0));
  const buf = bin.buffer;
  switch (t.dtype) {
    case 'float32': return new ort.Tensor('float32', new Float32Array(buf), t.dims);
    case 'int64': return new ort.Tensor('int64', new BigInt64Array(buf), t.dims);
    case 'int32': return new ort.Tensor('int32', new Int32Array(buf), t.dims);
    case 'bool': return new ort.Tensor('bool', new Uint8Array(buf), t.dims);
    default: throw new Error(`feed of dtype ${t.dtype} is not supported in the browser`);
  }
}

let session: Promise<{ s: ort.InferenceSession; backend: string }> | null = null;
interface GpuAdapterLike { info?: { vendor?: string; architecture?: string; device?: string; description?: string }; isFallbackAdapter?: boolean }
/**
 * `?backend=webgpu` or `?backend=wasm` picks onnxruntime-web's provider (webgpu: an error
 * when no adapter or the session fails, no fallback); without it, WebGPU when
 * `navigator.gpu` gives an adapter, else WASM.
 */
async function createSession(): Promise<{ s: ort.InferenceSession; backend: string }> {
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = 1;
  const want = new URLSearchParams(location.search).get('backend') ?? 'auto';
  if (!['auto', 'webgpu', 'wasm'].includes(want)) throw new Error(`?backend=${want}: expected webgpu or wasm`);
  const opts = { externalData: [{ path: 'model.onnx.data', data: '/model/model.onnx.data' }] };
  if (want !== 'wasm') {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
    let adapter: GpuAdapterLike | null = null;
    if (!gpu) state.webgpuProblem = 'navigator.gpu is missing (not a secure context, or WebGPU disabled in this browser)';
    else {
      try {
        adapter = await gpu.requestAdapter();
        if (!adapter) state.webgpuProblem = 'navigator.gpu.requestAdapter() gave no adapter';
      } catch (e) {
        state.webgpuProblem = `navigator.gpu.requestAdapter() failed: ${(e as Error).message}`;
      }
    }
    if (adapter) {
      const i = adapter.info ?? {};
      state.browserAdapter = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / ') + (adapter.isFallbackAdapter ? ' (fallback adapter)' : '');
      try {
        return { s: await ort.InferenceSession.create('/model/model.onnx', { ...opts, executionProviders: ['webgpu'] }), backend: 'webgpu' };
      } catch (e) {
        state.webgpuProblem = `webgpu session failed: ${(e as Error).message}`;
        console.warn('webgpu session failed, using wasm', e);
      }
    }
    if (want === 'webgpu') throw new Error(`?backend=webgpu: ${state.webgpuProblem}`);
    state.browserAdapter = '';
  }
  return { s: await ort.InferenceSession.create('/model/model.onnx', { ...opts, executionProviders: ['wasm'] }), backend: 'wasm' };
}

function softmax(l: Float32Array): number[] {
  const m = Math.max(...l);
  const e = [...l].map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

async function runInBrowser(): Promise<void> {
  if (!info.predictions) return showError(info.problems.join('\n') || 'no checkpoint: start the viewer with --ckpt to run the model');
  const btn = $<HTMLButtonElement>('browser');
  btn.disabled = true;
  try {
    session ??= createSession().catch((e: Error) => {
      session = null; // a later click tries again
      throw e;
    });
    const { s, backend } = await session;
    state.browserBackend = backend;
    state.browser = [];
    const ep = state.episode;
    processor ??= api<ProcessorFiles>('/api/processor').then(browserProcessor);
    const proc = await processor;
    let procMs = 0;
    for (let i = 0; i < state.frames; i++) {
      const f = await api<{ frame: number; text: string; images: { width: number; height: number; b64: string }[] }>(`/api/episode/${ep}/frames/${i}`);
      const tp = performance.now();
      const host = proc.feeds(f.images.map((im) => ({ width: im.width, height: im.height, channels: 3 as const, data: fromB64(im.b64) })), f.text);
      procMs += performance.now() - tp;
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of s.inputNames) {
        const t = host[name];
        if (!t) throw new Error(`the exported model needs input '${name}' that prepareQwen3VLInputs did not produce`);
        feeds[name] = ortTensor(t);
      }
      const t0 = performance.now();
      const out = await s.run(feeds, ['logits']);
      const ms = performance.now() - t0;
      const probs = softmax(out.logits!.data as Float32Array);
      const C = probs.length;
      state.browser.push({ frame: f.frame, probs, expected: probs.reduce((a, p, c) => a + (p * c) / Math.max(1, C - 1), 0), ms });
      btn.textContent = `browser: ${i + 1}/${state.frames}`;
    }
    state.browserMsPerFrame = state.browser.reduce((a, b) => a + b.ms, 0) / Math.max(1, state.browser.length);
    state.processorMsPerFrame = procMs / Math.max(1, state.browser.length);
    state.maxAbsDiff = Math.max(0, ...state.browser.flatMap((b, i) => b.probs.map((p, c) => Math.abs(p - (state.server[i]?.probs[c] ?? NaN)))));
    state.browserDone = true;
    drawPlot();
    stats();
    btn.textContent = 'run in browser';
  } catch (e) {
    showError(`in-browser inference: ${(e as Error).message}`);
  } finally {
    btn.disabled = false;
  }
}

async function main(): Promise<void> {
  info = await api<Info>('/api/info');
  $('meta').textContent = `${info.root} · ${info.fps} fps · ${info.cameras.length} cameras · ${info.checkpoint ? `checkpoint ${info.checkpoint}` : 'no checkpoint'}`;
  for (const p of info.problems) showError(p);
  await loadEpisodes().catch((e: Error) => showError(e.message));
  $('play').onclick = () => {
    const lead = videos[0];
    if (!lead) return;
    if (lead.paused) for (const v of videos) void v.play();
    else for (const v of videos) v.pause();
  };
  $('browser').onclick = () => void runInBrowser();
  $('plot').addEventListener('click', (ev) => {
    const svg = $('plot');
    const r = svg.getBoundingClientRect();
    const x = ((ev.clientX - r.left) / r.width) * W;
    const f = Math.max(0, Math.min(state.frames - 1, Math.round(((x - PAD) / (W - 2 * PAD)) * (state.frames - 1))));
    const t = (f + 0.5) / info.fps;
    for (const v of videos) v.currentTime = t;
  });
  const fromHash = () => {
    const m = /episode=(-?\d+)/.exec(location.hash);
    return m ? Number(m[1]) : null;
  };
  window.addEventListener('hashchange', () => {
    const e = fromHash();
    if (e !== null) void openEpisode(e);
  });
  const first = fromHash() ?? Number(document.querySelector<HTMLTableRowElement>('tr.ep')?.dataset.ep ?? 0);
  await openEpisode(first);
  requestAnimationFrame(syncLoop);
}

main().catch((e: Error) => showError(e.message));
