// vlreward chat (one-shot) and vlreward merge on the tiny fixture model with
// its PEFT adapter: merged folder == adapter applied, and bad input errors.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ChatSession, chatCommand, loadChatModel } from '../src/commands/chat.js';
import { Qwen3VLGenerator } from '@vlreward/model';
import { Qwen3VLProcessor } from '@vlreward/processor';
import { mergeCommand } from '../src/commands/merge.js';

import { FIXTURE_DIR as FIXTURE, PROCESSOR_DIR as PROCESSOR } from '../../test-utils/src/index.js';
const tmp = mkdtempSync(join(tmpdir(), 'vlr-cli-chat-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function captured(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const w = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (chunks.push(String(s)), true));
  const l = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void chunks.push(a.join(' ') + '\n'));
  try {
    const code = await run();
    return { code, out: chunks.join('') };
  } finally {
    w.mockRestore();
    l.mockRestore();
  }
}

describe.runIf(existsSync(join(FIXTURE, 'lora.safetensors')) && existsSync(join(PROCESSOR, 'tokenizer.json')))('vlreward chat / merge', () => {
  const peft = join(tmp, 'peft');
  mkdirSync(peft, { recursive: true });
  copyFileSync(join(FIXTURE, 'adapter_config.json'), join(peft, 'adapter_config.json'));
  copyFileSync(join(FIXTURE, 'lora.safetensors'), join(peft, 'adapter_model.safetensors'));
  const common = ['--prompt', 'Hello there, what is this?', '--max-new-tokens', '6', '--processor', PROCESSOR, '--threads', '1', '--ignore-eos', '--json'];

  it('a merged model folder answers like the adapter applied in the graph; seeded sampling repeats', async () => {
    const merged = join(tmp, 'merged');
    const m = await captured(() => mergeCommand.run(['--model', FIXTURE, '--adapter', peft, '--out', merged]));
    expect(m.code).toBe(0);
    expect(existsSync(join(merged, 'model.safetensors')) && existsSync(join(merged, 'tokenizer.json'))).toBe(true);
    const applied = await captured(() => chatCommand.run(['--model', FIXTURE, '--adapter', peft, '--lora', 'apply', ...common]));
    const fromMerged = await captured(() => chatCommand.run(['--model', merged, ...common]));
    const base = await captured(() => chatCommand.run(['--model', FIXTURE, ...common]));
    expect(applied.code).toBe(0);
    const tokens = (r: { out: string }) => (JSON.parse(r.out) as { tokens: number[] }).tokens;
    expect(tokens(applied)).toHaveLength(6);
    expect(tokens(fromMerged)).toEqual(tokens(applied));
    const s1 = await captured(() => chatCommand.run(['--model', FIXTURE, ...common, '--temperature', '5', '--top-k', '100', '--seed', '4']));
    const s2 = await captured(() => chatCommand.run(['--model', FIXTURE, ...common, '--temperature', '5', '--top-k', '100', '--seed', '4']));
    expect(tokens(s1)).toEqual(tokens(s2));
    expect(tokens(s1)).not.toEqual(tokens(base));
  }, 120_000);

  it('bad input: unknown adapter dir, missing image, prompt longer than the context', async () => {
    await expect(chatCommand.run(['--model', FIXTURE, '--adapter', join(tmp, 'no-such-adapter'), ...common])).rejects.toThrow(
      /--adapter '.*no-such-adapter': no such directory/,
    );
    await expect(chatCommand.run(['--model', FIXTURE, '--image', join(tmp, 'missing.png'), ...common])).rejects.toThrow(/--image '.*missing.png': no such file/);
    await expect(captured(() => chatCommand.run(['--model', FIXTURE, ...common, '--max-context', '8']))).rejects.toThrow(
      /the prompt is \d+ tokens, longer than the context of 8 tokens/,
    );
    await expect(mergeCommand.run(['--model', FIXTURE, '--adapter', tmp, '--out', join(tmp, 'x')])).rejects.toThrow(/neither a vlreward checkpoint/);
  }, 60_000);

  it('a second turn reuses the cached k/v of the first (ChatSession)', async () => {
    const m = await loadChatModel(FIXTURE, undefined, PROCESSOR);
    const gen = await Qwen3VLGenerator.create(m.config, m.weights, { threads: 1 });
    try {
      const s = new ChatSession(await Qwen3VLProcessor.fromPretrained(m.processorDir), gen, { maxNewTokens: 3, ignoreEos: true });
      const first = s.prompt('Hello there');
      await s.send('Hello there');
      const second = await s.send('And now?');
      expect(second.reusedTokens).toBeGreaterThanOrEqual(first.ids.length);
      expect(second.promptTokens).toBeGreaterThan(first.ids.length);
      s.reset();
      expect((await s.send('And now?')).reusedTokens).toBe(0);
    } finally {
      await gen.dispose();
    }
  }, 60_000);
});
