import { beforeAll, describe, expect, it } from 'vitest';
import { Qwen3VLProcessor } from '@vlreward/processor';
import { PROCESSOR_DIR } from './paths.js';

const TEXT = 'Task: Pick up the red cube, then place it in the bowl (2 cm left).';

// Expected prompt, derived by hand from chat_template.jinja (the Qwen3-VL template HF renders with
// apply_chat_template(messages, tokenize=False, add_generation_prompt=False)): no system turn is added,
// each image item renders '<|vision_start|><|image_pad|><|vision_end|>' (the `-` trims remove the
// template's own whitespace), the text item its text, then '<|im_end|>\n'.
const PROMPT =
  '<|im_start|>user\n' +
  '<|vision_start|><|image_pad|><|vision_end|>'.repeat(3) +
  `${TEXT}<|im_end|>\n`;

// Token ids of PROMPT before image expansion, computed by an independent byte-level BPE written in
// Python (GPT-2/Qwen2 algorithm: split added tokens first, Qwen2 pre-tokenizer regex, byte-to-unicode
// map, merges by rank) over tokenizer.json's vocab and merges: test/data/bpe_ref.py, run as
// `python3 test/data/bpe_ref.py "$PROMPT"`.
const IDS = [
  151644, 872, 198, 151652, 151655, 151653, 151652, 151655, 151653, 151652, 151655, 151653, 6262, 25, 19725, 705, 279, 2518,
  23739, 11, 1221, 1992, 432, 304, 279, 19212, 320, 17, 9961, 2115, 568, 151645, 198,
];

function image(width: number, height: number, seed = 1) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 17) % 251;
  return { width, height, channels: 3 as const, data };
}

describe('chat template and tokenizer', () => {
  let p: Qwen3VLProcessor;
  beforeAll(async () => {
    p = await Qwen3VLProcessor.fromPretrained(PROCESSOR_DIR);
  });

  it('special token ids are the Qwen3-VL ones', () => {
    expect(p.tokenizer.special).toEqual({
      imStart: 151644,
      imEnd: 151645,
      visionStart: 151652,
      visionEnd: 151653,
      imagePad: 151655,
      videoPad: 151656,
      pad: 151643,
    });
    expect(p.tokenizer.padTokenId).toBe(151643);
    expect(p.tokenizer.eosTokenId).toBe(151645);
  });

  it('renders the 3-image prompt exactly as the HF processor', () => {
    expect(p.renderPrompt({ images: 3, text: TEXT })).toBe(PROMPT);
    expect(p.renderPrompt({ images: [1, 2, 3], text: TEXT }, { addGenerationPrompt: true })).toBe(`${PROMPT}<|im_start|>assistant\n`);
  });

  it('tokenizes the prompt to the reference ids', () => {
    expect(p.tokenizer.encode(PROMPT)).toEqual(IDS);
    expect(p.tokenizer.decode(IDS)).toBe(PROMPT);
    expect(p.tokenizer.decode(IDS, { skipSpecialTokens: true })).toBe(`user\n${TEXT}\n`);
  });

  it('tokenizes whitespace runs, digits, contractions and punctuation like the reference BPE', () => {
    // expected ids from test/data/bpe_ref.py (digits are split one by one, as Qwen2's pre-tokenizer does)
    expect(p.tokenizer.encode("Task:  two  spaces\nnewline 123456 don't STOP!!   ")).toEqual([
      6262, 25, 220, 1378, 220, 12621, 198, 89202, 220, 16, 17, 18, 19, 20, 21, 1513, 944, 45537, 2928, 262,
    ]);
    expect(p.tokenizer.encode("Task: put the cup's lid on (it's 3.5cm) -> done?")).toEqual([
      6262, 25, 2182, 279, 10525, 594, 26334, 389, 320, 275, 594, 220, 18, 13, 20, 6226, 8, 1464, 2814, 30,
    ]);
  });

  it('expands each image placeholder to t*h*w/4 image tokens', () => {
    // 96x128 -> smart_resize(min_pixels 65536) -> 224x320 -> grid 14x20 -> 70 tokens;
    // 480x640 stays 480x640 -> grid 30x40 -> 300 tokens; 64x64 -> 256x256 -> grid 16x16 -> 64 tokens.
    const b = p.encode([{ images: [image(128, 96), image(640, 480), image(64, 64)], text: TEXT, label: 1 }]);
    expect(Array.from(b.imageGridThw.data, Number)).toEqual([1, 14, 20, 1, 30, 40, 1, 16, 16]);
    const ids = Array.from(b.inputIds.data, Number);
    const expected = [
      ...IDS.slice(0, 4),
      ...Array<number>(70).fill(151655),
      151653,
      151652,
      ...Array<number>(300).fill(151655),
      151653,
      151652,
      ...Array<number>(64).fill(151655),
      ...IDS.slice(11),
    ];
    expect(ids).toEqual(expected);
    // Same as HF's way: expand the string, then tokenize.
    const expandedText =
      '<|im_start|>user\n' +
      [70, 300, 64].map((n) => `<|vision_start|>${'<|image_pad|>'.repeat(n)}<|vision_end|>`).join('') +
      `${TEXT}<|im_end|>\n`;
    expect(p.tokenizer.encode(expandedText)).toEqual(expected);
    expect(b.pixelValues.dims).toEqual([14 * 20 + 30 * 40 + 16 * 16, 1536]);
    expect(b.imageTokensPerSample).toEqual([434]);
    expect(Array.from(b.labels.data, Number)).toEqual([1]);
  });
});
