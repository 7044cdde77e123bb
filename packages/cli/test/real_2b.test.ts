// The real job as a user types it, on the real 2B shape (VLREWARD_SLOW=1: ~10 minutes, ~15 GiB):
// `vlreward model synth` writes Qwen/Qwen3-VL-2B-Instruct (random bf16 weights) into an HF cache,
// `dataset synth` a 3-camera 640x480 AV1 dataset, then train (LoRA, 2 steps), eval, predict,
// export and a one-shot chat run offline through the built command. Figures: bench/cli.bench.ts.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'vlreward-real2b-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const env = { ...process.env, HF_HUB_CACHE: join(work, 'hub'), HF_HUB_OFFLINE: '1', VLREWARD_CACHE_DIR: join(work, 'cache') };

/** Runs the built command (async: a blocked worker would miss vitest's heartbeats for minutes). */
function vlreward(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [cli, ...args], { encoding: 'utf8', env, timeout: 1_800_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      expect(err?.code ?? 0, `vlreward ${args.join(' ')}\n${stderr.slice(-3000)}`).toBe(0);
      done({ stdout, stderr });
    }),
  );
}
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)!) as Record<string, unknown>;

describe.runIf(process.env.VLREWARD_SLOW === '1')('the 2B model through vlreward (slow)', () => {
  it('model synth, dataset synth, train, eval, predict, export, chat: all exit 0 with real results; train stays under 20 GiB', async () => {
    expect(existsSync(cli), 'run pnpm build first (the test runs the built command)').toBe(true);
    await vlreward(['model', 'synth', '--cache', env.HF_HUB_CACHE]);
    const root = join(work, 'aloha');
    await vlreward(['dataset', 'synth', '--out', root, '--episodes', '3', '--frames', '4', '--size', '640x480', '--codec', 'av1']);
    const model = ['--model', 'Qwen/Qwen3-VL-2B-Instruct'];
    const pixels = ['--min-pixels', String(224 * 224), '--max-pixels', String(224 * 224)];
    const ckpt = join(work, 'ckpt');
    const train = lastJson((await vlreward(['train', '--root', root, ...model, ...pixels, '--batch-size', '1', '--max-steps', '2', '--eval-every', '0', '--val-fraction', '0.34', '--ckpt-dir', ckpt, '--json'])).stdout);
    expect(train.steps).toBe(2);
    const phases = train.phases as { peakRssMiB: number; firstStep: number };
    expect(phases.peakRssMiB / 1024).toBeLessThan(20);
    expect(Number.isFinite(phases.firstStep) && phases.firstStep > 0).toBe(true);
    expect((train.losses as number[]).every(Number.isFinite)).toBe(true);
    const last = (train.checkpoints as { last: string }).last;
    expect(readdirSync(last)).toEqual(expect.arrayContaining(['adapter_config.json', 'adapter_model.safetensors']));

    const ev = lastJson((await vlreward(['eval', '--ckpt', last, '--root', root, '--split', 'all', '--json'])).stdout);
    expect(ev.count).toBe(12);
    expect(ev.accuracy).toBeGreaterThanOrEqual(0);
    const curve = join(work, 'curve');
    await vlreward(['predict', '--ckpt', last, '--root', root, '--episode', '0', '--out', curve]);
    expect(readdirSync(curve)).toEqual(expect.arrayContaining(['episode_000000.csv', 'episode_000000.json', 'episode_000000.png']));
    const exported = join(work, 'export');
    await vlreward(['export', '--ckpt', last, '--out', exported]);
    expect(readdirSync(exported)).toContain('model.onnx');
    const chat = lastJson((await vlreward(['chat', ...model, '--adapter', last, '--prompt', 'Is the bottle picked up?', '--max-new-tokens', '4', '--max-context', '256', '--ignore-eos', '--json'])).stdout);
    expect(chat.tokens as number[]).toHaveLength(4);
  }, 3_600_000);
});
