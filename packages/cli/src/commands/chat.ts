// `vlreward chat`: talk to Qwen3-VL (base, + LoRA adapter, or fine-tuned full
// weights) with text and images. KV-cache decoding from @vlreward/model's
// Qwen3VLGenerator; the conversation is rendered with the model's chat template
// (add_generation_prompt=true) every turn, and the generator reuses the cached
// k/v of the earlier turns when the new prompt extends them.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { TensorData } from '@vlreward/graph';
import { loadCheckpoint, readPeftAdapter, type PeftAdapter } from '@vlreward/checkpoint';
import { resolveCheckpointDir } from '@vlreward/trainer';
import {
  loadQwen3VL,
  loadQwen3VLWeights,
  loraConfigFromPeft,
  loraScale,
  parseQwen3VLConfig,
  Qwen3VLGenerator,
  readModelConfigJson,
  type GenerateResult,
  type GenerationImage,
  type LoraAdapter,
  type Qwen3VLConfig,
  type SamplingOptions,
} from '@vlreward/model';
import { loadImage, Qwen3VLProcessor, type ChatMessage } from '@vlreward/processor';
import { numberFlag, parseFlags, UsageError, type Command } from '../command.js';
import { defaultProcessorDir, readSeedEnv } from '../env.js';

/** Base model + optional adapter / fine-tuned weights, and where the processor files are. */
export interface LoadedChatModel {
  readonly config: Qwen3VLConfig;
  readonly weights: Map<string, TensorData>;
  readonly adapter: LoraAdapter | null;
  readonly modelDir: string;
  /** First folder with tokenizer.json among the checkpoint, the model, --processor / the shipped processor. */
  readonly processorDir: string;
  readonly description: string;
  /** eos_token_id of the model's generation_config.json (HF generate stops on these), if any. */
  readonly eosTokenIds: readonly number[];
}

/**
 * A PEFT adapter (checkpoint package form) as the generator's LoraAdapter, through
 * the one PEFT → LoraConfig conversion the reward commands use (same scale, same
 * refusals: eval, predict, export and chat read an adapter identically).
 */
export function toLoraAdapter(a: PeftAdapter, config: Qwen3VLConfig, source: string): LoraAdapter {
  const lora = loraConfigFromPeft(a.config, config, join(source, 'adapter_config.json'), a.modules.keys());
  const modules = new Map([...a.modules].map(([path, m]) => [path, { A: m.A, B: m.B, scale: loraScale(lora) }] as const));
  return { modules, source };
}

/**
 * Load `model` (folder or hub id) and `adapterPath`: a vlreward checkpoint
 * (vlreward.json; LoRA or full weights) or a plain PEFT folder
 * (adapter_config.json + adapter_model.safetensors).
 */
export async function loadChatModel(model: string, adapterPath: string | undefined, processorFlag?: string): Promise<LoadedChatModel> {
  const base = await loadQwen3VL(model);
  let config = base.config;
  let weights = base.weights;
  let adapter: LoraAdapter | null = null;
  let ckptProcessor: string | undefined;
  let description = `${base.dir}`;
  if (adapterPath !== undefined) {
    let dir = resolve(adapterPath);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--adapter '${adapterPath}': no such directory (expected a vlreward checkpoint or a PEFT adapter folder)`);
    // A CKPT_DIR of checkpoint-<step> folders resolves as eval / predict resolve it (the best, else the latest).
    if (!existsSync(join(dir, 'vlreward.json')) && !existsSync(join(dir, 'adapter_config.json')) && readdirSync(dir).some((n) => /^checkpoint-\d+$/.test(n))) dir = await resolveCheckpointDir(dir);
    if (existsSync(join(dir, 'vlreward.json'))) {
      const ck = await loadCheckpoint(dir, { verify: 'size', optimizer: false });
      ckptProcessor = ck.processorDir;
      if (ck.adapter) adapter = toLoraAdapter(ck.adapter, config, dir);
      else if (ck.mode === 'full') {
        // Fine-tuned full weights replace the base (same architecture; config.json of the checkpoint when present).
        const cfgPath = join(dir, 'config.json');
        if (existsSync(cfgPath)) config = parseQwen3VLConfig(readModelConfigJson(dir), cfgPath);
        weights = await loadQwen3VLWeights(dir, config);
      }
      description += ` + checkpoint ${dir} (${ck.mode})`;
    } else if (existsSync(join(dir, 'adapter_config.json'))) {
      adapter = toLoraAdapter(await readPeftAdapter(dir), config, dir);
      description += ` + PEFT adapter ${dir}`;
    } else {
      throw new UsageError(`--adapter '${adapterPath}': neither a vlreward checkpoint (vlreward.json) nor a PEFT adapter (adapter_config.json) folder`);
    }
  }
  const candidates = [ckptProcessor, base.dir];
  let processorDir = candidates.find((d) => d && existsSync(join(d, 'tokenizer.json')));
  processorDir ??= defaultProcessorDir(processorFlag);
  let eosTokenIds: number[] = [];
  const gc = join(base.dir, 'generation_config.json');
  if (existsSync(gc)) {
    const eos = (JSON.parse(readFileSync(gc, 'utf8')) as { eos_token_id?: unknown }).eos_token_id;
    eosTokenIds = (Array.isArray(eos) ? eos : [eos]).filter((x): x is number => typeof x === 'number');
  }
  return { config, weights, adapter, modelDir: base.dir, processorDir, description, eosTokenIds };
}

export interface ChatTurnResult extends GenerateResult {
  readonly text: string;
}

/** A conversation: history as chat messages, every image seen so far, and the generator's KV cache. */
export class ChatSession {
  private messages: ChatMessage[] = [];
  private images: GenerationImage[] = [];
  private pending: GenerationImage[] = [];

  constructor(
    readonly processor: Qwen3VLProcessor,
    readonly generator: Qwen3VLGenerator,
    readonly defaults: { maxNewTokens?: number; sampling?: SamplingOptions; system?: string; ignoreEos?: boolean; stopTokens?: readonly number[] } = {},
  ) {}

  /** Attach an image (file path) to the next user message. */
  async addImage(path: string): Promise<GenerationImage> {
    if (!existsSync(path)) throw new UsageError(`image file '${path}': no such file`);
    const p = this.processor.preprocessImage(await loadImage(path), `image file '${path}'`);
    const rows = p.grid[0] * p.grid[1] * p.grid[2];
    const img: GenerationImage = { pixelValues: { dtype: 'float32', dims: [rows, p.patches.length / rows], data: p.patches }, grid: p.grid };
    this.pending.push(img);
    return img;
  }

  get pendingImages(): number {
    return this.pending.length;
  }

  get turns(): number {
    return this.messages.filter((m) => m.role === 'user').length;
  }

  reset(): void {
    this.messages = [];
    this.images = [];
    this.pending = [];
    this.generator.reset();
  }

  /** The prompt ids of the conversation + `text` (image placeholders expanded), and its images. */
  prompt(text: string): { ids: number[]; images: GenerationImage[]; messages: ChatMessage[] } {
    const content: ({ type: 'image' } | { type: 'text'; text: string })[] = [...this.pending.map(() => ({ type: 'image' as const })), { type: 'text', text }];
    const messages: ChatMessage[] = [
      ...(this.defaults.system && this.messages.length === 0 ? [{ role: 'system' as const, content: this.defaults.system }] : []),
      ...this.messages,
      { role: 'user', content },
    ];
    const images = [...this.images, ...this.pending];
    const rendered = this.processor.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    const raw = this.processor.tokenizer.encode(rendered);
    const pad = this.processor.tokenizer.special.imagePad;
    const ids: number[] = [];
    let j = 0;
    for (const t of raw) {
      if (t !== pad) ids.push(t);
      else {
        const im = images[j++];
        if (!im) throw new Error(`the chat template produced more image placeholders than the ${images.length} image(s) given`);
        for (let k = this.processor.imageTokenCount(im.grid); k > 0; k--) ids.push(pad);
      }
    }
    if (j !== images.length) throw new Error(`the chat template produced ${j} image placeholders for ${images.length} image(s)`);
    return { ids, images, messages };
  }

  /** One user turn: generate the reply, streaming text pieces to `onText`. */
  async send(text: string, onText?: (piece: string) => void, o: { maxNewTokens?: number; sampling?: SamplingOptions } = {}): Promise<ChatTurnResult> {
    const { ids, images, messages } = this.prompt(text);
    const tok = this.processor.tokenizer;
    const out: number[] = [];
    let printed = '';
    const stops = new Set(
      this.defaults.ignoreEos ? [] : [...this.generator.stopTokens, ...(this.defaults.stopTokens ?? []), this.processor.tokenizer.special.imEnd],
    );
    const r = await this.generator.generate({
      inputIds: ids,
      images,
      stopTokens: [...stops],
      maxNewTokens: o.maxNewTokens ?? this.defaults.maxNewTokens ?? 256,
      sampling: o.sampling ?? this.defaults.sampling ?? {},
      onToken: (t) => {
        if (stops.has(t)) return;
        out.push(t);
        if (!onText) return;
        const s = tok.decode(out, { skipSpecialTokens: true });
        // A multi-byte character split across tokens decodes to U+FFFD until complete.
        if (s.endsWith('\uFFFD')) return;
        onText(s.slice(printed.length));
        printed = s;
      },
    });
    const reply = out.length ? tok.decode(out, { skipSpecialTokens: true }) : '';
    if (onText && reply.length > printed.length) onText(reply.slice(printed.length));
    this.messages = [...messages, { role: 'assistant', content: reply }];
    this.images = images;
    this.pending = [];
    return { ...r, text: reply };
  }
}

const HELP = `usage: vlreward chat [--model DIR|HUB_ID] [--adapter CKPT] [--image PATH ...] [--prompt TEXT] [flags]

Chat with Qwen3-VL: base weights, + a LoRA adapter (a vlreward checkpoint or a
PEFT folder; merged into the weights by default, --lora apply keeps it in the
graph as in training), or a full fine-tuned checkpoint. KV-cache decoding on
ONNX Runtime; replies stream to stdout.

Without --prompt: an interactive session (readline, history).
  /image PATH   attach an image to your next message     /reset   forget the conversation
  /exit         quit (also Ctrl-D)                         /help    this list
With --prompt: one reply to that message (and the --image files), then exit.

  --model DIR|ID        base model (env QWEN3VL_MODEL; default Qwen/Qwen3-VL-2B-Instruct)
  --adapter CKPT        LoRA / full checkpoint dir, a CKPT_DIR of checkpoint-<step> folders (the best), or a PEFT adapter dir
  --lora merge|apply    how the adapter is used (default merge: W + alpha/r·B·A once)
  --processor DIR       tokenizer / chat template / image processor files when the model dir has none
  --image PATH          image for the first message (repeatable)
  --prompt TEXT         one-shot mode
  --system TEXT         system message
  --max-new-tokens N    default 256
  --temperature T       0 = greedy (default 0)
  --top-k K             keep the K most likely tokens (default off)
  --top-p P             nucleus sampling (default 1 = off)
  --repetition-penalty R  HF repetition penalty (default 1 = off)
  --seed N              sampling seed (default 0)
  --max-context N       longest prompt + reply (default the config's max_position_embeddings)
  --threads N           ONNX Runtime intra-op threads
  --device D            cpu (default) | cuda | webgpu (an unavailable provider is an error, never a fallback)
  --ignore-eos          do not stop at <|im_end|> / eos (benchmarks)
  --json                one-shot: print {text, tokens, stopReason, timings} as JSON instead of streaming
  --stats               print prefill / decode speed to stderr after each reply`;

export const chatCommand: Command = {
  name: 'chat',
  summary: 'chat with the model (text and images; base, LoRA adapter or fine-tuned), KV-cache decoding',
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags(argv, {
      model: { type: 'string' },
      adapter: { type: 'string' },
      lora: { type: 'string' },
      processor: { type: 'string' },
      image: { type: 'string', multiple: true },
      prompt: { type: 'string' },
      system: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      seed: { type: 'string' },
      'max-context': { type: 'string' },
      threads: { type: 'string' },
      device: { type: 'string' },
      stats: { type: 'boolean' },
      json: { type: 'boolean' },
      'ignore-eos': { type: 'boolean' },
    });
    const lora = v.lora ?? 'merge';
    if (lora !== 'merge' && lora !== 'apply') throw new UsageError(`--lora '${lora}': expected merge or apply`);
    const topP = numberFlag('top-p', v['top-p'], { min: 0 });
    if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new UsageError(`--top-p '${v['top-p']}': expected 0 < p <= 1`);
    const sampling: SamplingOptions = {
      temperature: numberFlag('temperature', v.temperature, { min: 0 }) ?? 0,
      ...(v['top-k'] !== undefined ? { topK: numberFlag('top-k', v['top-k'], { integer: true, min: 0 })! } : {}),
      ...(topP !== undefined ? { topP } : {}),
      ...(v['repetition-penalty'] !== undefined ? { repetitionPenalty: numberFlag('repetition-penalty', v['repetition-penalty'], { min: 0 })! } : {}),
      seed: numberFlag('seed', v.seed, { integer: true, min: 0 }) ?? 0,
    };
    const maxNewTokens = numberFlag('max-new-tokens', v['max-new-tokens'], { integer: true, min: 1 }) ?? 256;
    const maxContext = numberFlag('max-context', v['max-context'], { integer: true, min: 1 });
    const threads = numberFlag('threads', v.threads, { integer: true, min: 1 });
    // Missing image files are reported before the model loads.
    for (const p of v.image ?? []) if (!existsSync(p)) throw new UsageError(`--image '${p}': no such file`);

    const model = v.model ?? readSeedEnv().model ?? 'Qwen/Qwen3-VL-2B-Instruct';
    const loaded = await loadChatModel(model, v.adapter, v.processor);
    const processor = await Qwen3VLProcessor.fromPretrained(loaded.processorDir);
    const device = v.device ?? 'cpu';
    if (!['cpu', 'cuda', 'webgpu'].includes(device)) throw new UsageError(`--device '${device}': expected cpu, cuda or webgpu`);
    const generator = await Qwen3VLGenerator.create(loaded.config, loaded.weights, {
      provider: device as 'cpu' | 'cuda' | 'webgpu',
      adapter: loaded.adapter,
      lora,
      ...(maxContext !== undefined ? { maxContext } : {}),
      ...(threads !== undefined ? { threads } : {}),
    });
    const session = new ChatSession(processor, generator, { maxNewTokens, sampling, ignoreEos: v['ignore-eos'] ?? false, stopTokens: loaded.eosTokenIds, ...(v.system ? { system: v.system } : {}) });
    const stats = (r: GenerateResult) => {
      if (!v.stats) return;
      const perTok = r.decodeSteps ? (r.decodeMs / r.decodeSteps).toFixed(1) : '-';
      console.error(
        `[${r.promptTokens} prompt tokens (${r.reusedTokens} cached), prefill ${r.prefillMs.toFixed(0)} ms; ${r.tokens.length} new tokens, ${perTok} ms/token, stop: ${r.stopReason}]`,
      );
    };
    try {
      for (const p of v.image ?? []) await session.addImage(p);
      if (v.prompt !== undefined) {
        if (v.json) {
          const r = await session.send(v.prompt);
          const { firstLogits: _f, stepLogits: _s, ...rest } = r;
          console.log(JSON.stringify(rest));
          return 0;
        }
        const r = await session.send(v.prompt, (s) => process.stdout.write(s));
        process.stdout.write('\n');
        stats(r);
        return 0;
      }
      return await repl(session, loaded.description, stats);
    } finally {
      await generator.dispose();
    }
  },
};

async function repl(session: ChatSession, description: string, stats: (r: GenerateResult) => void): Promise<number> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY, historySize: 500 });
  const say = (s: string) => process.stdout.write(s + '\n');
  say(`vlreward chat — ${description}. /help for commands.`);
  const prompt = () => {
    rl.setPrompt(`you${session.pendingImages ? ` [${session.pendingImages} image(s)]` : ''}> `);
    rl.prompt();
  };
  // The async iterator queues lines typed (or piped) while a reply is being generated.
  const lines = rl[Symbol.asyncIterator]();
  for (;;) {
    prompt();
    const next = await lines.next();
    if (next.done) break;
    const line = next.value as string;
    const text = line.trim();
    if (!text) continue;
    try {
      if (text === '/exit' || text === '/quit') break;
      if (text === '/help') {
        say('/image PATH  attach an image to the next message · /reset  forget the conversation · /exit  quit');
        continue;
      }
      if (text === '/reset') {
        session.reset();
        say('(conversation cleared)');
        continue;
      }
      if (text.startsWith('/image')) {
        const path = text.slice('/image'.length).trim();
        if (!path) {
          say('usage: /image PATH');
          continue;
        }
        const im = await session.addImage(path);
        say(`(image ${path}: ${im.grid[1] * 16}×${im.grid[2] * 16} px after resize, attached to your next message)`);
        continue;
      }
      if (text.startsWith('/')) {
        say(`unknown command ${text.split(/\s/)[0]} (/help lists them)`);
        continue;
      }
      process.stdout.write('assistant> ');
      const r = await session.send(text, (s) => process.stdout.write(s));
      process.stdout.write('\n');
      stats(r);
    } catch (e) {
      // Bad input in one turn (missing image, prompt too long) keeps the session alive.
      console.error(`error: ${(e as Error).message}`);
    }
  }
  rl.close();
  return 0;
}
