import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { processorEncodeCommand } from '../src/commands/processor.js';

// A 64x48 PNG, every pixel (128, 128, 128).
const PNG_64x48 =
  'iVBORw0KGgoAAAANSUhEUgAAAEAAAAAwCAIAAAAuKetIAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAYklEQVR4nNXOQREAAAyDMKQjfSL62BEFwTiMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwziMwzi+A6sDOp0BDy4WLrkAAAAASUVORK5CYII=';

const MODEL = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'models', 'qwen3vl-processor');

describe('vlreward processor encode', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints one JSON object with the model inputs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlr-cli-proc-'));
    const file = join(dir, 'a.png');
    writeFileSync(file, Buffer.from(PNG_64x48, 'base64'));
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    const code = await processorEncodeCommand.run(['--model', MODEL, '--image', file, '--text', 'Task: x', '--json', '--min-pixels', '1024']);
    expect(code).toBe(0);
    const out = JSON.parse(lines.join('\n')) as Record<string, unknown>;
    expect(out.prompt).toBe('<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Task: x<|im_end|>\n');
    // 64x48 -> smart_resize(min 1024): round(48/32) = round(1.5) = 2 (banker's) -> 64x64 -> grid 4x4 -> 4 tokens
    expect(out.image_grid_thw).toEqual([[1, 4, 4]]);
    expect(out.input_ids).toEqual([151644, 872, 198, 151652, 151655, 151655, 151655, 151655, 151653, 6262, 25, 856, 151645, 198]);
    const pv = out.pixel_values as { shape: number[]; min: number; max: number };
    expect(pv.shape).toEqual([16, 1536]);
    expect(pv.min).toBeCloseTo((128 / 255 - 0.5) / 0.5, 6);
    expect(pv.max).toBeCloseTo((128 / 255 - 0.5) / 0.5, 6);
    expect(out.position_ids).toEqual([
      [0, 1, 2, 3, 4, 4, 4, 4, 6, 7, 8, 9, 10, 11],
      [0, 1, 2, 3, 4, 4, 5, 5, 6, 7, 8, 9, 10, 11],
      [0, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 10, 11],
    ]);
  });

  it('rejects missing flags and unreadable images', async () => {
    await expect(processorEncodeCommand.run(['--text', 'x'])).rejects.toThrow(/at least one --image/);
    await expect(processorEncodeCommand.run(['--model', MODEL, '--image', '/nonexistent/x.png', '--text', 'x'])).rejects.toThrow(
      /image file '\/nonexistent\/x\.png': cannot read/,
    );
  });
});
