// `vlreward processor encode`: run the Qwen3-VL processor on image files + text and show what the
// model would be fed (rendered prompt, token ids, image grids, pixel statistics, M-RoPE position ids).
import { loadImage, Qwen3VLProcessor, type Batch } from '@vlreward/processor';
import { DEFAULT_MODEL } from '../env.js';
import { numberFlag, parseFlags, UsageError, type Command } from '../command.js';

const HELP = `usage: vlreward processor encode --image A [--image B ...] --text "Task: ..." [--model DIR|HUB_ID]
                                 [--add-generation-prompt] [--min-pixels N] [--max-pixels N] [--json]

Encodes one sample exactly as training does: one user message with the images (in
the order given) then the text, rendered with the model's chat template, images
smart-resized (multiples of 32, bicubic as Pillow), normalized and flattened into
patches, placeholders expanded to <|image_pad|> runs, M-RoPE position ids computed.

  --model DIR|ID            processor files (local HF-layout directory or hub id)
                            (default: $QWEN3VL_MODEL, else ${DEFAULT_MODEL})
  --image PATH              an image file (PNG, JPEG, WebP, ...); repeat for several
  --text TEXT               the text after the images
  --add-generation-prompt   append '<|im_start|>assistant\\n' (off for the reward classifier)
  --min-pixels N            override the minimum pixel count per image
  --max-pixels N            override the maximum pixel count per image
  --json                    print one JSON object: prompt, input_ids, attention_mask,
                            image_grid_thw, pixel_values {shape, min, max, mean, std},
                            position_ids [3][L], rope_deltas, num_image_tokens`;

function stats(x: Float32Array): { min: number; max: number; mean: number; std: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sq = 0;
  for (const v of x) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sq += v * v;
  }
  const mean = sum / x.length;
  return { min, max, mean, std: Math.sqrt(Math.max(0, sq / x.length - mean * mean)) };
}

/** The JSON report of a one-sample batch. */
export function describeBatch(prompt: string, b: Batch): Record<string, unknown> {
  const L = b.seqLen;
  const pos = Array.from(b.positionIds.data as BigInt64Array, Number);
  return {
    prompt,
    input_ids: Array.from(b.inputIds.data as BigInt64Array, Number),
    attention_mask: Array.from(b.attentionMask.data as BigInt64Array, Number),
    image_grid_thw: Array.from({ length: b.imageGridThw.dims[0]! }, (_, i) =>
      Array.from((b.imageGridThw.data as BigInt64Array).subarray(i * 3, i * 3 + 3), Number),
    ),
    pixel_values: { shape: b.pixelValues.dims, ...stats(b.pixelValues.data as Float32Array) },
    position_ids: [0, 1, 2].map((a) => pos.slice(a * L, (a + 1) * L)),
    rope_deltas: Array.from(b.ropeDeltas.data as BigInt64Array, Number),
    num_image_tokens: b.imageTokensPerSample[0],
  };
}

export const processorEncodeCommand: Command = {
  name: 'processor encode',
  summary: 'show the model inputs (prompt, token ids, pixel patches, M-RoPE ids) for images + text',
  help: HELP,
  async run(argv) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' },
      image: { type: 'string', multiple: true },
      text: { type: 'string' },
      'add-generation-prompt': { type: 'boolean' },
      'min-pixels': { type: 'string' },
      'max-pixels': { type: 'string' },
      json: { type: 'boolean' },
    });
    const images = values.image ?? [];
    if (images.length === 0) throw new UsageError('expected at least one --image PATH');
    if (values.text === undefined) throw new UsageError('expected --text TEXT');
    const minPixels = numberFlag('min-pixels', values['min-pixels'], { integer: true, min: 1 });
    const maxPixels = numberFlag('max-pixels', values['max-pixels'], { integer: true, min: 1 });
    const model = values.model ?? (process.env.QWEN3VL_MODEL?.trim() || DEFAULT_MODEL);
    const processor = await Qwen3VLProcessor.fromPretrained(model, {
      ...(minPixels !== undefined ? { minPixels } : {}),
      ...(maxPixels !== undefined ? { maxPixels } : {}),
    });
    const rgb = await Promise.all(images.map((p) => loadImage(p)));
    const opts = { addGenerationPrompt: values['add-generation-prompt'] ?? false };
    const sample = { images: rgb, text: values.text };
    const prompt = processor.renderPrompt(sample, opts);
    const batch = processor.encode([sample], opts);
    const report = describeBatch(prompt, batch);
    if (values.json) {
      console.log(JSON.stringify(report));
      return 0;
    }
    const pv = report.pixel_values as ReturnType<typeof stats> & { shape: number[] };
    const fmt = (a: number[]) => (a.length > 24 ? `[${a.slice(0, 12).join(', ')}, ... ${a.length - 24} more ..., ${a.slice(-12).join(', ')}]` : `[${a.join(', ')}]`);
    const ids = report.input_ids as number[];
    const posIds = report.position_ids as number[][];
    console.log(
      [
        `model:            ${processor.modelDir}`,
        `prompt:           ${JSON.stringify(prompt)}`,
        `input_ids:        ${fmt(ids)} (length ${ids.length}, ${String(report.num_image_tokens)} image tokens)`,
        `attention_mask:   all 1 (length ${ids.length})`,
        `image_grid_thw:   ${JSON.stringify(report.image_grid_thw)}  (t, h, w in 16-px patches; images resized to ${(report.image_grid_thw as number[][]).map(([, h, w]) => `${w! * 16}x${h! * 16}`).join(', ')})`,
        `pixel_values:     shape [${pv.shape.join(', ')}] min ${pv.min.toFixed(4)} max ${pv.max.toFixed(4)} mean ${pv.mean.toFixed(4)} std ${pv.std.toFixed(4)}`,
        `position_ids[t]:  ${fmt(posIds[0]!)}`,
        `position_ids[h]:  ${fmt(posIds[1]!)}`,
        `position_ids[w]:  ${fmt(posIds[2]!)}`,
        `rope_deltas:      ${JSON.stringify(report.rope_deltas)}`,
      ].join('\n'),
    );
    return 0;
  },
};
