// Generation from a TypeScript application: load Qwen3-VL (+ optional LoRA
// adapter), render a conversation with the chat template, and stream a reply
// with the KV-cache generator; a second turn reuses the cached prefix.
//
//   pnpm --filter @vlreward/examples chat [--model DIR|HUB_ID] [--adapter DIR] [--image PATH] [--prompt TEXT]
// Without --model it uses the embedded tiny model (random weights: the reply is noise,
// but every step is the real pipeline).
import { resolve } from 'node:path';
import { Qwen3VLGenerator, loadQwen3VL, loraAdapterFromPeft, loraConfigFromPeft, type GenerationImage } from '@vlreward/model';
import { loadImage, Qwen3VLProcessor, type ChatMessage } from '@vlreward/processor';
import { readSafetensors } from '@vlreward/graph';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { arg, embedded, PROCESSOR, runIfMain } from './embedded.js';

export async function main(argv: string[] = []): Promise<{ replies: string[]; reused: number }> {
  const modelArg = arg(argv, 'model') ?? (await embedded(resolve(arg(argv, 'out') ?? 'examples-out'))).model;
  const { dir, config, weights } = await loadQwen3VL(modelArg);
  const processor = await Qwen3VLProcessor.fromPretrained(dir).catch(() => Qwen3VLProcessor.fromPretrained(PROCESSOR));
  const adapterDir = arg(argv, 'adapter');
  // A PEFT folder (adapter_config.json + adapter_model.safetensors); merged into W for speed.
  const adapter = adapterDir
    ? loraAdapterFromPeft(
        loraConfigFromPeft(JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8')), config, join(adapterDir, 'adapter_config.json')),
        (await readSafetensors(join(adapterDir, 'adapter_model.safetensors'))).tensors,
        adapterDir,
      )
    : null;
  const gen = await Qwen3VLGenerator.create(config, weights, { adapter, lora: 'merge' });

  const images: GenerationImage[] = [];
  const imagePath = arg(argv, 'image');
  if (imagePath) {
    const p = processor.preprocessImage(await loadImage(imagePath));
    const rows = p.grid[0] * p.grid[1] * p.grid[2];
    images.push({ pixelValues: { dtype: 'float32', dims: [rows, p.patches.length / rows], data: p.patches }, grid: p.grid });
  }
  const tok = processor.tokenizer;
  // Chat template → ids, with each <|image_pad|> expanded to the image's token count.
  const encode = (messages: ChatMessage[]): number[] => {
    let j = 0;
    return tok.encode(tok.applyChatTemplate(messages, { addGenerationPrompt: true })).flatMap((t) =>
      t === tok.special.imagePad ? Array<number>(processor.imageTokenCount(images[j++]!.grid)).fill(t) : [t],
    );
  };
  const messages: ChatMessage[] = [];
  const replies: string[] = [];
  let reused = 0;
  try {
    for (const text of [arg(argv, 'prompt') ?? 'What do you see?', 'And what should the robot do next?']) {
      messages.push({ role: 'user', content: [...(messages.length === 0 ? images.map(() => ({ type: 'image' as const })) : []), { type: 'text', text }] });
      process.stdout.write(`user> ${text}\nassistant> `);
      const out: number[] = [];
      const r = await gen.generate({
        inputIds: encode(messages),
        images,
        maxNewTokens: Number(arg(argv, 'max-new-tokens') ?? 24),
        sampling: { temperature: 0.7, topP: 0.9, seed: 0 },
        onToken: (t) => {
          if (t === tok.special.imEnd) return;
          const before = out.length ? tok.decode(out, { skipSpecialTokens: true }) : '';
          out.push(t);
          process.stdout.write(tok.decode(out, { skipSpecialTokens: true }).slice(before.length));
        },
      });
      const reply = out.length ? tok.decode(out, { skipSpecialTokens: true }) : '';
      process.stdout.write(`\n[${r.promptTokens} prompt tokens, ${r.reusedTokens} from the cache; ${r.tokens.length} new, ${(r.decodeMs / Math.max(1, r.decodeSteps)).toFixed(1)} ms/token]\n`);
      messages.push({ role: 'assistant', content: reply });
      replies.push(reply);
      reused = r.reusedTokens;
    }
  } finally {
    await gen.dispose();
  }
  return { replies, reused };
}

runIfMain(import.meta.url, main);
