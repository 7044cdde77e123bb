// Bundle scripts/gpu/check.ts and the workspace code it uses (from src/, via
// the @vlreward/source condition) into one CommonJS file for the offline GPU
// kit: `NODE_PATH=<kit>/node_modules <kit>/bin/node gpu-check.cjs ...`.
// CommonJS because NODE_PATH applies to require() only. onnxruntime-node is
// left external (the kit's 1.29 or an installed 1.30 supplies it); sharp and
// @huggingface/transformers are external too and never loaded by the check.
// Usage: node scripts/gpu/build.mjs [OUTFILE]   (default .gpu/bundle/gpu-check.cjs)
import { createRequire } from 'node:module';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
// esbuild is not a root dependency; tsx (a root devDependency) brings it.
const require = createRequire(createRequire(join(root, 'package.json')).resolve('tsx/package.json'));
const esbuild = require('esbuild');

const outfile = resolve(process.argv[2] ?? join(root, '.gpu', 'bundle', 'gpu-check.cjs'));
const result = await esbuild.build({
  entryPoints: [join(here, 'check.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  conditions: ['@vlreward/source'],
  // koffi (the ORT C API backend) is external too: its native build ships beside the bundle (gpu-check.sh prepare).
  external: ['onnxruntime-node', 'onnxruntime-common', 'sharp', '@huggingface/transformers', 'onnxruntime-web', 'koffi'],
  // import.meta.url in the sources (createRequire, file paths) → this file's URL.
  define: { 'import.meta.url': '__vlr_import_meta_url' },
  banner: { js: "const __vlr_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  sourcemap: false,
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const inputs = Object.keys(result.metafile.inputs).length;
console.log(`${outfile}: ${(statSync(outfile).size / 2 ** 20).toFixed(2)} MiB from ${inputs} modules`);
