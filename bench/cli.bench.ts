// The real job through the real command: `vlreward model synth` writes a random-weight
// Qwen3-VL-2B-Instruct into an HF cache in the hub layout, `vlreward dataset synth`
// writes a 3-camera 640x480 AV1 ALOHA-style dataset, then `vlreward train --model
// Qwen/Qwen3-VL-2B-Instruct` (HF_HUB_OFFLINE=1) runs LoRA steps as a user would type
// them, and `vlreward predict` scores one episode. Per phase: weights load, graph
// build, ORT session creation, first step, steady step, peak RSS, eval per sample.
// Heavy (≈ 15 GiB, several minutes on 2 cores): only with --only cli.
//   VLREWARD_BENCH_2B_PIXELS: per-image pixel budgets, comma-separated (default 224*224, where
//   a 640x480 frame is resized to it, then 640*480: the full frames, ≈ 6x the vision tokens).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchResult } from './types.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '..');
const cli = join(repo, 'packages', 'cli', 'dist', 'main.js');
const execFileP = promisify(execFile);

interface TrainJson {
  steps: number;
  phases: { loadModel: number; openData: number; buildArtifacts: number; createSessions: number; graphCache: string; firstStep: number; steadyStep: number; peakRssMiB: number };
  dataWaitShare: number;
  samplesPerSecond: number;
  evalSecondsPerSample: number | null;
  checkpointWriteSeconds: number | null;
  checkpoints: { last?: string };
}

async function vlreward(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; seconds: number }> {
  const t0 = performance.now();
  const r = await execFileP(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 << 20, timeout: 3_600_000 });
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Every pixel budget in VLREWARD_BENCH_2B_PIXELS (comma list; default 224*224 then the full
 * 640*480 frames), one model synth for all; rows of the full-frame run end in _640x480.
 */
export async function run2b(): Promise<BenchResult[]> {
  if (!process.argv.some((a) => a === 'cli' || a.includes('cli')) && !process.env.VLREWARD_BENCH_2B) {
    console.error('bench cli: the real-2B CLI run is heavy (≈ 12 GiB, minutes); run it with pnpm bench --only cli');
    return [];
  }
  const budgets = (process.env.VLREWARD_BENCH_2B_PIXELS ?? `${224 * 224},${640 * 480}`).split(',').map(Number);
  const rows: BenchResult[] = [];
  for (const px of budgets) rows.push(...(await run2bAt(px)).map((r) => (px === 640 * 480 ? { ...r, name: `${r.name}_640x480` } : r)));
  return rows;
}

async function run2bAt(pixels: number): Promise<BenchResult[]> {
  const work = mkdtempSync(join(tmpdir(), 'vlreward-cli2b-'));
  // A cache folder of its own: the first train run starts with no ORT optimized graphs (cold), the second finds them (warm).
  const env = { HF_HUB_CACHE: join(work, 'hub'), HF_HUB_OFFLINE: '1', VLREWARD_CACHE_DIR: join(work, 'cache') };
  try {
    const synth = await vlreward(['model', 'synth', '--cache', env.HF_HUB_CACHE], env);
    const root = join(work, 'aloha');
    await vlreward(['dataset', 'synth', '--out', root, '--episodes', '3', '--frames', '4', '--size', '640x480', '--codec', 'av1'], env);
    const ckpt = join(work, 'ckpt');
    const common = ['--root', root, '--model', 'Qwen/Qwen3-VL-2B-Instruct', '--min-pixels', String(Math.min(pixels, 200704)), '--max-pixels', String(pixels)];
    // Full 640x480 frames (≈ 1000 tokens): activations of the fused step do not fit 24 GiB beside the
    // weights, so that run recomputes layers in the backward pass (--gradient-checkpointing).
    const full = pixels >= 640 * 480;
    const trainArgs = (dir: string, batch: number, steps: number) => ['train', ...common, '--batch-size', String(batch), '--max-steps', String(steps), '--eval-every', '0', '--val-fraction', '0.34', '--ckpt-dir', dir, '--json', ...(full ? ['--gradient-checkpointing'] : [])];
    const ttfsOf = (q: TrainJson['phases']) => q.loadModel + q.openData + q.buildArtifacts + q.createSessions + q.firstStep;
    // 4 steps: the steady step is the median of 3 gaps.
    const tr = await vlreward(trainArgs(ckpt, 1, 4), env);
    const j = JSON.parse(tr.stdout.trim().split('\n').at(-1)!) as TrainJson;
    const p = j.phases;
    const ttfs = ttfsOf(p);
    // The same job again: weights in the page cache, ORT's optimized graph in VLREWARD_CACHE_DIR.
    const warm = (JSON.parse((await vlreward(trainArgs(join(work, 'ckpt-warm'), 1, 2), env)).stdout.trim().split('\n').at(-1)!) as TrainJson).phases;
    // Batch 2 (the reduced-resolution run only; the full frames need checkpointing at B=1 already).
    const b2 = full ? null : (JSON.parse((await vlreward(trainArgs(join(work, 'ckpt-b2'), 2, 3), env)).stdout.trim().split('\n').at(-1)!) as TrainJson).phases;
    const pred = await vlreward(['predict', '--ckpt', ckpt, '--root', root, '--episode', '0', '--out', join(work, 'curve')], env);
    // The other commands on the same checkpoint (the reduced-resolution run only: minutes each).
    const more: BenchResult[] = [];
    if (!full) {
      const timed = async (name: string, args: string[], note: string, value?: (out: string, s: number) => number, unit = 's') => {
        try {
          const r = await vlreward(args, env);
          more.push({ name, value: round(value ? value(r.stdout, r.seconds) : r.seconds, 2), unit, note });
        } catch (e) {
          more.push({ name: `${name}: failed`, value: NaN, unit: '', note: String((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split('\n').slice(-1)[0]!.slice(0, 200) });
        }
      };
      await timed('cli_2b_eval', ['eval', '--ckpt', ckpt, '--root', root, '--split', 'all', '--json'], 'vlreward eval --split all (12 frames): load + eval session + scoring');
      await timed('cli_2b_export', ['export', '--ckpt', ckpt, '--out', join(work, 'export')], 'vlreward export: LoRA merged, head included, model.onnx + external data');
      await timed(
        'cli_2b_chat_one_shot',
        ['chat', '--model', 'Qwen/Qwen3-VL-2B-Instruct', '--adapter', ckpt, '--prompt', 'Is the bottle picked up?', '--max-new-tokens', '4', '--max-context', '256', '--ignore-eos', '--json'],
        'vlreward chat --prompt, 4 new tokens, adapter merged: load + decoder session + prefill + decode',
      );
    }
    const note = `Qwen3-VL-2B shape (random bf16 weights from the hub-layout cache), LoRA r16 x7, B=1, 3 cameras 640x480 AV1 at ${pixels} px/image${full ? ', gradient checkpointing' : ''}, 2 CPU threads`;
    return [
      { name: 'cli_2b_model_synth', value: round(synth.seconds), unit: 's', note: 'vlreward model synth: 4.3 GB bf16 safetensors into HF_HUB_CACHE' },
      { name: 'cli_2b_load_weights', value: round(p.loadModel), unit: 's', note },
      { name: 'cli_2b_build_graphs', value: round(p.buildArtifacts), unit: 's', note: 'training graphs incl. autodiff' },
      { name: 'cli_2b_create_sessions', value: round(p.createSessions), unit: 's', note: 'ORT CPU session of the fused train graph (frozen weights fed as one shared input)' },
      { name: 'cli_2b_first_step', value: round(p.firstStep), unit: 's', note: 'first batch decode + encode + fused LoRA step' },
      { name: 'cli_2b_time_to_first_step', value: round(ttfs), unit: 's', note: `cold: ORT optimized-graph cache empty (${p.graphCache})` },
      { name: 'cli_2b_time_to_first_step_warm', value: round(ttfsOf(warm)), unit: 's', note: `second run (graph cache ${warm.graphCache}): weights ${round(warm.loadModel)} s, sessions ${round(warm.createSessions)} s, first step ${round(warm.firstStep)} s; goal ≤ 20 s` },
      { name: 'cli_2b_steady_step', value: round(p.steadyStep), unit: 's', note },
      ...(b2 ? [{ name: 'cli_2b_steady_step_b2', value: round(b2.steadyStep), unit: 's', note: `batch 2 (${round(2 / b2.steadyStep, 3)} samples/s vs ${round(1 / p.steadyStep, 3)} at B=1); peak RSS ${round(b2.peakRssMiB / 1024, 2)} GiB` }] : []),
      { name: 'cli_2b_eval_per_sample', value: round(j.evalSecondsPerSample ?? NaN, 2), unit: 's', note: 'the final validation inside vlreward train (eval session creation included)' },
      { name: 'cli_2b_checkpoint_write', value: round(j.checkpointWriteSeconds ?? NaN, 2), unit: 's', note: 'slowest checkpoint save: LoRA adapter + head + AdamW state, atomic' },
      { name: 'cli_2b_data_wait_share', value: round(100 * j.dataWaitShare), unit: '% of loop time', note: 'prefetch 4 batches' },
      { name: 'cli_2b_peak_rss', value: round(p.peakRssMiB / 1024, 2), unit: 'GiB', note: 'train process VmHWM (goal < 20 GiB at B=1)' },
      { name: 'cli_2b_train_command', value: round(tr.seconds), unit: 's', note: `whole vlreward train (${j.steps} steps + final eval + checkpoint)` },
      { name: 'cli_2b_predict_episode', value: round(pred.seconds), unit: 's', note: 'vlreward predict --episode 0 (4 frames): load + infer session + curve' },
      ...more,
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const run = run2b;
