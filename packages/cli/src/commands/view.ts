// `vlreward view`: the reward viewer (packages/viewer): episodes, synced camera videos and
// per-frame reward curves in the browser, with server or in-browser (onnxruntime-web) inference.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startViewer } from '@vlreward/viewer';
import { numberFlag, parseFlags, UsageError, type Command } from '../command.js';
import { readSeedEnv } from '../env.js';

export const viewCommand: Command = {
  name: 'view',
  summary: 'web page: episodes, camera videos in sync, reward curves; predictions on the server or in the browser',
  help: `usage: vlreward view --root DATASET [--ckpt CKPT] [--port 8080] [--host 127.0.0.1] [--host-name NAME]

Starts a local web server and prints its URL. The page lists the episodes (task, length,
label histogram), plays the camera videos of one in sync (transcoded to VP9/WebM by ffmpeg,
cached), and plots ground-truth bins against the checkpoint's per-frame probabilities and
expected reward; the cursor follows the video and clicking the plot seeks. "run in browser"
runs the processor in the page and the exported checkpoint (LoRA merged) in onnxruntime-web
(WebGPU when the browser has it, else WASM), showing the backend and per-frame latency next
to the server's (onnxruntime-node).

  --root DIR     LeRobot dataset (env LEROBOT_ROOT; default ./vlreward-demo/dataset when vlreward demo wrote it)
  --ckpt DIR     reward checkpoint or CKPT_DIR (env CKPT_DIR; default ./vlreward-demo/checkpoints with the demo
                 dataset); without it, no predictions
  --port N       (default 8080; 0 = any free port)
  --host H       address to listen on (default 127.0.0.1)
  --host-name N  one more name to answer in the Host header (besides localhost, 127.0.0.1, [::1] and a
                 specific --host), e.g. this machine's name with --host 0.0.0.0; other names get 403
                 (protection against DNS rebinding)`,
  async run(argv) {
    const { values: v } = parseFlags(argv, { root: { type: 'string' }, ckpt: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'host-name': { type: 'string' } });
    // Out of the box: the embedded default that `vlreward demo` wrote in ./vlreward-demo.
    const demo = resolve('vlreward-demo');
    const useDemo = !v.root && !process.env.LEROBOT_ROOT && existsSync(join(demo, 'dataset'));
    const root = v.root ?? process.env.LEROBOT_ROOT ?? (useDemo ? join(demo, 'dataset') : undefined);
    if (!root) throw new UsageError('--root DATASET is required (or LEROBOT_ROOT; or run `vlreward demo` first, then `vlreward view` uses ./vlreward-demo)');
    const ckpt = v.ckpt ?? readSeedEnv(process.env, process.cwd(), { mode: false }).ckptDir ?? (useDemo && existsSync(join(demo, 'checkpoints')) ? join(demo, 'checkpoints') : undefined);
    const viewer = await startViewer({ root, ...(ckpt ? { ckpt } : {}), port: numberFlag('port', v.port, { integer: true, min: 0 }) ?? 8080, ...(v.host ? { host: v.host } : {}), ...(v['host-name'] ? { hostName: v['host-name'] } : {}) });
    console.log(`vlreward viewer: ${viewer.url}  (Ctrl-C to stop)`);
    await new Promise<void>((done) => {
      const stop = () => void viewer.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
