// Build step (after tsc): bundle the page script into dist/page/app.js, served by the viewer.
import { bundlePage } from '../dist/page_assets.js';
await bundlePage(new URL('../dist/page/app.js', import.meta.url).pathname);
