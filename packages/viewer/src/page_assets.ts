// The page: static HTML here, the script bundled by esbuild. `pnpm build` writes
// dist/page/app.js (scripts/bundle-page.mjs); running from source (tests, tsx) bundles
// src/page/main.ts in memory once. onnxruntime-web is bundled too; its wasm files are
// served from node_modules under /ort/, so nothing comes from a CDN.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let bundle: Promise<string> | null = null;

/**
 * The page imports @vlreward/processor and @vlreward/model (the same processor and input
 * preparation as the server); their Node-only parts (file loading, onnxruntime-node, sharp)
 * are never called in the page, so those modules are replaced by stubs that throw if called.
 */
const NODE_ONLY = /^(node:.*|sharp|onnxruntime-node|koffi|fs|path|os|crypto|url|module|worker_threads|child_process)$/;
const nodeStub = {
  name: 'node-only-stub',
  setup(b: { onResolve: Function; onLoad: Function }) {
    b.onResolve({ filter: NODE_ONLY }, (a: { path: string }) => ({ path: a.path, namespace: 'node-only' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, (a: { path: string }) => ({
      loader: 'js',
      contents: `const name = ${JSON.stringify(a.path)}; const fn = (k) => function () { if (name === 'node:os' && k === 'endianness') return 'LE'; throw new Error(name + '.' + String(k) + ' is not available in the browser'); }; module.exports = new Proxy({}, { get: (t, k) => (k === '__esModule' ? false : fn(k)) });`,
    }));
  },
};

/** Bundles src/page/main.ts (+ onnxruntime-web, processor, transformers.js tokenizer) with esbuild; writes `outfile` when given. */
export async function bundlePage(outfile?: string): Promise<string> {
  const esbuild = await import('esbuild');
  const srcEntry = join(here, '..', 'src', 'page', 'main.ts');
  const entry = existsSync(srcEntry) ? srcEntry : join(here, 'page', 'main.ts');
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@vlreward/source'],
    plugins: [nodeStub as never],
    write: false,
    minify: true,
    logLevel: 'silent',
  });
  const text = r.outputFiles[0]!.text;
  if (outfile) {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(dirname(outfile), { recursive: true });
    writeFileSync(outfile, text);
  }
  return text;
}

export function pageBundle(): Promise<string> {
  bundle ??= (async () => {
    const built = join(here, 'page', 'app.js');
    if (existsSync(built)) return readFileSync(built, 'utf8');
    return bundlePage();
  })();
  return bundle;
}

export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vlreward viewer</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
header{background:#1d2430;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:baseline}
header h1{font-size:16px;margin:0}#meta{opacity:.8;font-size:12px}
main{display:grid;grid-template-columns:330px 1fr;gap:12px;padding:12px}
#episodes{background:#fff;border:1px solid #d8dde5;border-radius:6px;max-height:80vh;overflow:auto}
#episodes table{border-collapse:collapse;width:100%}#episodes td,#episodes th{padding:4px 6px;border-bottom:1px solid #eef0f3;text-align:left;font-size:12px}
#episodes tr.ep{cursor:pointer}#episodes tr.ep:hover{background:#eef4ff}#episodes tr.sel{background:#dbe8ff}
.hist{display:inline-flex;gap:1px;align-items:flex-end;height:16px}.hist span{width:8px;background:#5b8def;display:inline-block}
#error{display:none;background:#fde8e8;border:1px solid #e0a0a0;color:#8a1c1c;padding:8px 12px;margin:12px 12px 0;border-radius:6px;white-space:pre-wrap}
.panel{background:#fff;border:1px solid #d8dde5;border-radius:6px;padding:10px}
#videos{display:flex;gap:8px;flex-wrap:wrap}#videos figure{margin:0}#videos video{width:220px;height:220px;background:#000;image-rendering:pixelated}
#videos figcaption{font-size:11px;color:#555}
#controls{display:flex;gap:8px;align-items:center;margin:8px 0}
#plot{width:100%;height:260px;cursor:crosshair}
#stats{font-size:12px;color:#333}#stats b{font-weight:600}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
</style></head>
<body><header><h1>vlreward viewer</h1><span id="meta"></span></header>
<div id="error" role="alert"></div>
<main><section id="episodes"></section>
<section>
<div class="panel"><div id="title"></div><div id="videos"></div>
<div id="controls"><button id="play">▶ play</button><button id="browser">run in browser</button><span id="time"></span></div></div>
<div class="panel" style="margin-top:12px">
<div class="legend"><span style="color:#888">■ ground-truth bin</span><span style="color:#d9480f">● server expected reward</span><span style="color:#2b8a3e">◆ browser expected reward</span><span style="color:#5b8def">▒ server p(highest bin)</span></div>
<svg id="plot" viewBox="0 0 1000 260" preserveAspectRatio="none"></svg>
<div id="stats"></div></div>
</section></main>
<script type="module" src="/app.js"></script></body></html>
`;
