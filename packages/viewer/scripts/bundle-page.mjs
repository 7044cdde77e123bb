// Build step: bundle the page script (src/page/main.ts + onnxruntime-web) into dist/page/app.js.
import { build } from 'esbuild';
await build({ entryPoints: ['src/page/main.ts'], outfile: 'dist/page/app.js', bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, logLevel: 'warning' });
