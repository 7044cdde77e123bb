// The viewer's HTTP server: page + bundled script, onnxruntime-web's wasm files, the
// dataset's episodes / per-frame curves / processed model inputs as JSON, camera videos
// transcoded to VP9/WebM (one clip per episode, plays in any build; see README), and the exported
// model. Only fixed routes exist: nothing is served by a path taken from the request,
// and any `..` segment is refused with 403 before routing. Requests whose `Host:` is not a
// loopback or configured name are refused (DNS rebinding), names from the request are looked
// up with Object.hasOwn / Maps / Sets only, and dataset videos that resolve outside the
// dataset folder are refused.

import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { AlohaRewardDataset, readMeta, type DatasetMeta } from '@vlreward/dataset';
import { prepareQwen3VLInputs } from '@vlreward/model';
import { loadRewardModel, predictionFromLogits, type RewardModel } from '@vlreward/trainer';
import type { TensorData } from '@vlreward/graph';
import { exportRewardOnnx, type ExportResult } from './export.js';
import { pageBundle, PAGE_HTML } from './page_assets.js';
import { allowedHostNames, hostAllowed } from './host_check.js';
import { insideRoot } from './inside_root.js';
import { sendFile } from './send_file.js';
import { sendStatic, staticResponse, type StaticResponse } from './static_response.js';

export interface ViewerOptions {
  readonly root: string;
  readonly ckpt?: string;
  readonly port?: number;
  /** address to listen on (default 127.0.0.1) */
  readonly host?: string;
  /**
   * one more name the viewer answers to in `Host:` (besides localhost, 127.0.0.1, [::1] and a
   * specific `host`), e.g. the machine's name when it listens on 0.0.0.0
   */
  readonly hostName?: string;
  /** where transcoded videos and the exported model go (default <tmp>/vlreward-viewer/<hash>). */
  readonly cacheDir?: string;
  readonly log?: (line: string) => void;
}

export interface Viewer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export interface CurvePointJson {
  frame: number;
  timestamp: number;
  label: number | null;
  predicted: number;
  expected: number;
  probs: number[];
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const ORT_DIR = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));

function tensorJson(t: TensorData): { dtype: string; dims: number[]; b64: string } {
  const d = t.data as unknown as ArrayBufferView;
  return { dtype: t.dtype, dims: [...t.dims], b64: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') };
}

export async function startViewer(o: ViewerOptions): Promise<Viewer> {
  const log = o.log ?? ((s: string) => console.log(s));
  const root = resolve(o.root);
  const cache = resolve(o.cacheDir ?? join(tmpdir(), 'vlreward-viewer', createHash('sha1').update(root + '|' + (o.ckpt ?? '')).digest('hex').slice(0, 12)));
  mkdirSync(cache, { recursive: true });
  const problems: string[] = [];
  const problem = (msg: string) => {
    problems.push(msg);
    log(`[viewer] problem: ${msg}`);
  };

  const meta: DatasetMeta = await readMeta(root);
  const realRoot = realpathSync(root);
  let model: RewardModel | null = null;
  if (o.ckpt) model = await loadRewardModel(o.ckpt);
  const dsOpts = model ? { ...model.datasetOptions } : {};
  let dataset: AlohaRewardDataset | null = null;
  try {
    dataset = await AlohaRewardDataset.open(root, dsOpts);
    if (model && dataset.numClasses !== model.numClasses)
      problem(`checkpoint ${model.checkpoint.dir} has ${model.numClasses} classes but dataset ${root} has ${dataset.numClasses} reward bins: predictions are disabled`);
  } catch (e) {
    problem(`dataset ${root}: ${(e as Error).message}`);
  }
  const predictOk = () => model !== null && dataset !== null && dataset.numClasses === model.numClasses;
  const episodeIds = meta.episodes.map((e) => e.episodeIndex);
  const perEpisode = new Map<number, AlohaRewardDataset>();
  const episodeDs = async (ep: number): Promise<AlohaRewardDataset> => {
    if (!episodeIds.includes(ep)) throw new HttpError(404, `episode ${ep} is not in dataset ${root} (episodes: ${episodeIds.join(', ')})`);
    if (!dataset) throw new HttpError(409, problems.join('; '));
    let d = perEpisode.get(ep);
    if (!d) perEpisode.set(ep, (d = await AlohaRewardDataset.open(root, { ...dsOpts, numClasses: dataset.numClasses, episodes: [ep] })));
    return d;
  };
  /** An episode whose frames may be decoded: every camera video of it lies inside the dataset folder. */
  const decodableEpisodeDs = async (ep: number): Promise<AlohaRewardDataset> => {
    const em = meta.episodes.find((e) => e.episodeIndex === ep);
    for (const [cam, v] of Object.entries(em?.videos ?? {}))
      if (existsSync(join(root, v.path)) && !insideRoot(realRoot, join(root, v.path))) throw outsideRoot(ep, cam, v.path);
    return episodeDs(ep);
  };
  const curves = new Map<number, Promise<{ rows: CurvePointJson[]; msPerFrame: number }>>();
  const serverCurve = (ep: number) => {
    let c = curves.get(ep);
    if (!c) {
      c = (async () => {
        const d = await decodableEpisodeDs(ep);
        const rows: CurvePointJson[] = [];
        let ms = 0;
        for (let i = 0; i < d.length; i++) {
          const s = await d.get(i);
          if (!model || !predictOk()) {
            rows.push({ frame: s.frameIndex, timestamp: s.timestamp, label: s.label, predicted: -1, expected: NaN, probs: [] });
            continue;
          }
          const batch = model.processor.encode([s]);
          // latency of the model run (host input prep + ORT), like the browser's figure; not the processor
          const t0 = performance.now();
          const r = await model.session.evaluate(batch);
          ms += performance.now() - t0;
          const p = predictionFromLogits(r.logits, model.numClasses)[0]!;
          rows.push({ frame: s.frameIndex, timestamp: s.timestamp, label: s.label, predicted: p.predicted, expected: p.expectedReward, probs: [...p.probs] });
        }
        return { rows, msPerFrame: rows.length ? ms / rows.length : 0 };
      })();
      c.catch(() => curves.delete(ep));
      curves.set(ep, c);
    }
    return c;
  };
  let exported: Promise<ExportResult> | null = null;
  const exportModel = () => {
    if (!o.ckpt) throw new HttpError(404, 'no checkpoint: start the viewer with --ckpt to get predictions');
    exported ??= exportRewardOnnx(o.ckpt, join(cache, 'model')).then((r) => {
      log(`[viewer] exported ${r.checkpoint} → ${r.modelPath} (${(r.bytes / 1e6).toFixed(1)} MB, LoRA merged)`);
      return r;
    });
    return exported;
  };
  const transcodes = new Map<string, Promise<string>>();
  const video = (cam: string, ep: number): Promise<string> => {
    const em = meta.episodes.find((e) => e.episodeIndex === ep);
    if (!em) throw new HttpError(404, `episode ${ep} is not in dataset ${root} (episodes: ${episodeIds.join(', ')})`);
    // own keys only: `__proto__` or `constructor` must be an unknown camera, not Object's
    const v = Object.hasOwn(em.videos, cam) ? em.videos[cam] : undefined;
    if (!v) throw new HttpError(404, `dataset ${root} has no video '${cam}' for episode ${ep} (videos: ${Object.keys(em.videos).join(', ') || 'none'})`);
    const src = join(root, v.path);
    if (!existsSync(src)) throw new HttpError(404, `episode ${ep}, camera '${cam}': video file ${src} is missing`);
    if (!insideRoot(realRoot, src)) throw outsideRoot(ep, cam, v.path);
    const key = `${cam}-${ep}`;
    let p = transcodes.get(key);
    if (!p) {
      const out = join(cache, 'video', `${createHash('sha1').update(key).digest('hex').slice(0, 16)}.webm`);
      p = existsSync(out) ? Promise.resolve(out) : transcode(src, v.fromTimestamp, em.length / meta.info.fps, out);
      p.catch(() => transcodes.delete(key));
      transcodes.set(key, p);
    }
    return p;
  };

  let episodesList: Promise<{ episode: number; task: string; length: number; histogram: number[] | null }[]> | null = null;
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const pageResponse = staticResponse(PAGE_HTML, 'text/html; charset=utf-8');
  let appResponse: Promise<StaticResponse> | null = null;
  let processorResponse: Promise<StaticResponse> | null = null;
  // what the browser needs to build the same Qwen3VLProcessor (tokenizer, chat template,
  // image config) and the model config for prepareQwen3VLInputs; ~11 MB, built once
  const buildProcessorResponse = (m: RewardModel): StaticResponse => {
    const dir = m.processor.modelDir;
    const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : null);
    let template = read('chat_template.jinja');
    if (template === null) {
      const ct = read('chat_template.json');
      template = ct ? ((JSON.parse(ct) as { chat_template?: string }).chat_template ?? null) : null;
    }
    const tokCfg = JSON.parse(read('tokenizer_config.json') ?? '{}') as Record<string, unknown>;
    template ??= typeof tokCfg.chat_template === 'string' ? tokCfg.chat_template : null;
    const body = `{"source":${JSON.stringify(dir)},"tokenizer":${read('tokenizer.json')},"tokenizerConfig":${JSON.stringify(tokCfg)},"preprocessor":${read('preprocessor_config.json')},"template":${JSON.stringify(template)},"imageOptions":${JSON.stringify(m.imageOptions)},"config":${JSON.stringify(m.session.config)}}`;
    return staticResponse(body, 'application/json; charset=utf-8');
  };
  const ortFiles = new Set(readdirSync(ORT_DIR).filter((f) => /\.(mjs|js|wasm)$/.test(f)));

  const hostNames = allowedHostNames(o.host ?? '127.0.0.1', o.hostName);
  let port = o.port ?? 8080; // the bound port once listening (port 0 = any)

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req.headers.host, port, hostNames))
      throw new HttpError(403, `Host '${req.headers.host ?? ''}' is not allowed (DNS rebinding protection): open http://127.0.0.1:${port}/ or start the viewer with --host-name NAME`);
    const raw = req.url ?? '/';
    const pathPart = raw.split('?')[0]!;
    let path: string;
    try {
      path = decodeURIComponent(pathPart);
    } catch {
      throw new HttpError(400, `bad URL encoding: ${pathPart}`);
    }
    if (path.split(/[/\\]/).includes('..') || path.includes('\0')) throw new HttpError(403, `refused path with '..': ${raw}`);
    const q = new URL(raw, 'http://x').searchParams;
    let m: RegExpExecArray | null;
    if (path === '/' || path === '/index.html') {
      sendStatic(req, res, pageResponse);
    } else if (path === '/app.js') {
      appResponse ??= pageBundle().then((js) => staticResponse(js, 'text/javascript; charset=utf-8'));
      appResponse.catch(() => (appResponse = null));
      sendStatic(req, res, await appResponse);
    } else if ((m = /^\/ort\/([\w.-]+)$/.exec(path))) {
      if (!ortFiles.has(m[1]!)) throw new HttpError(404, `no onnxruntime-web file '${m[1]}'`);
      sendFile(req, res, join(ORT_DIR, m[1]!), m[1]!.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
    } else if (path === '/api/info') {
      json(res, 200, {
        root,
        fps: meta.info.fps,
        cameras: dataset ? [...(model?.datasetOptions.cameras ?? dataset.cameras)] : Object.keys(meta.episodes[0]?.videos ?? {}),
        numClasses: dataset?.numClasses ?? null,
        checkpoint: model?.checkpoint.dir ?? null,
        modelClasses: model?.numClasses ?? null,
        predictions: predictOk(),
        serverBackend: model ? 'onnxruntime-node (cpu)' : null,
        problems,
      });
    } else if (path === '/api/episodes') {
      // computed once (one labels-only view per episode; no video is decoded)
      episodesList ??= (async () => {
        const list = [];
        for (const e of meta.episodes) {
          let histogram: number[] | null = null;
          if (dataset) histogram = (await episodeDs(e.episodeIndex)).labelHistogram();
          list.push({ episode: e.episodeIndex, task: e.tasks.join(' | '), length: e.length, histogram });
        }
        return list;
      })();
      episodesList.catch(() => (episodesList = null));
      json(res, 200, await episodesList);
    } else if ((m = /^\/api\/episode\/(-?\d+)\/curve$/.exec(path))) {
      const ep = Number(m[1]);
      const c = await serverCurve(ep);
      json(res, 200, { episode: ep, backend: predictOk() ? 'onnxruntime-node (cpu)' : null, msPerFrame: c.msPerFrame, rows: c.rows });
    } else if ((m = /^\/api\/episode\/(-?\d+)\/feeds\/(\d+)$/.exec(path))) {
      const ep = Number(m[1]);
      const i = Number(m[2]);
      const d = await decodableEpisodeDs(ep);
      if (!model || !predictOk()) throw new HttpError(409, problems.join('; ') || 'no checkpoint: start the viewer with --ckpt');
      if (i >= d.length) throw new HttpError(404, `episode ${ep} has ${d.length} frames; no frame ${i}`);
      const s = await d.get(i);
      const feeds = prepareQwen3VLInputs(model.session.config, model.processor.encode([s])).feeds;
      json(res, 200, { frame: s.frameIndex, feeds: Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, tensorJson(t)])) });
    } else if (path === '/api/processor') {
      const loaded = model;
      if (!loaded) throw new HttpError(404, 'no checkpoint: start the viewer with --ckpt');
      processorResponse ??= Promise.resolve().then(() => buildProcessorResponse(loaded));
      processorResponse.catch(() => (processorResponse = null));
      sendStatic(req, res, await processorResponse);
    } else if ((m = /^\/api\/episode\/(-?\d+)\/frames\/(\d+)$/.exec(path))) {
      // the raw sample (camera frames as HWC RGB, task text): the browser runs the processor itself
      const ep = Number(m[1]);
      const i = Number(m[2]);
      const d = await decodableEpisodeDs(ep);
      if (i >= d.length) throw new HttpError(404, `episode ${ep} has ${d.length} frames; no frame ${i}`);
      const s = await d.get(i);
      json(res, 200, { frame: s.frameIndex, text: s.text, label: s.label, images: s.images.map((im) => ({ width: im.width, height: im.height, b64: Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength).toString('base64') })) });
    } else if (path === '/model/model.onnx' || path === '/model/model.onnx.data') {
      const r = await exportModel();
      const p = path.endsWith('.data') ? r.dataPath : r.modelPath;
      if (!p) throw new HttpError(404, 'the exported model has no external data file');
      sendFile(req, res, p, 'application/octet-stream');
    } else if ((m = /^\/video\/(-?\d+)\/([\w.-]+)\.webm$/.exec(path))) {
      sendFile(req, res, await video(m[2]!, Number(m[1])), 'video/webm');
    } else throw new HttpError(404, `not found: ${path}`);
    void q;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      const msg = (e as Error).message;
      log(`[viewer] ${status} ${req.method} ${req.url}: ${e instanceof HttpError ? msg : ((e as Error).stack ?? msg)}`);
      // HttpError messages are written for the user; anything else is an internal detail that stays in the log
      if (!res.headersSent) json(res, status, { error: e instanceof HttpError ? msg : "internal error (the viewer's log has the details)" });
      else res.destroy();
    });
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port ?? 8080, host, () => ok());
  });
  const addr = server.address();
  if (typeof addr === 'object' && addr) port = addr.port;
  return {
    url: `http://${host}:${port}/`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      // let running ffmpeg transcodes finish (their files are renamed into the cache)
      await Promise.allSettled([...transcodes.values()]);
      await exported?.catch(() => undefined);
      await model?.dispose();
    },
  };
}

function outsideRoot(ep: number, cam: string, path: string): HttpError {
  return new HttpError(403, `episode ${ep}, camera '${cam}': video file ${path} resolves outside the dataset folder; refused`);
}

/** One episode's clip of `src` as VP9/WebM (written to a temp name, then renamed). */
function transcode(src: string, from: number, duration: number, out: string): Promise<string> {
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp.webm`;
  const args = ['-v', 'error', '-y', '-ss', String(from), '-i', src, '-t', String(duration), '-an', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-crf', '30', '-b:v', '0', '-f', 'webm', tmp];
  return new Promise((ok, fail) => {
    const p = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', (e) => fail(new Error(`ffmpeg: ${e.message} (is ffmpeg installed?)`)));
    p.on('close', (code) => {
      if (code !== 0) return fail(new Error(`ffmpeg transcoding ${src} to VP9 failed (exit ${code}): ${err.trim().slice(-400)}`));
      try {
        renameSync(tmp, out);
        ok(out);
      } catch (e) {
        fail(e as Error);
      }
    });
  });
}
