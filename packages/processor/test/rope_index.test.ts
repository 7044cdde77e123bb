import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getRopeIndex, ropeIndexConfigFromHf } from '@vlreward/processor';
import { FIXTURE_DIR } from './paths.js';
import { get, readSafetensorsFile } from './safetensors.js';

describe('getRopeIndex', () => {
  const inputs = readSafetensorsFile(join(FIXTURE_DIR, 'inputs.safetensors'));
  const outputs = readSafetensorsFile(join(FIXTURE_DIR, 'outputs.safetensors'));
  const config = ropeIndexConfigFromHf(JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8')) as Record<string, unknown>);

  it('reads the ids from config.json', () => {
    expect(config).toEqual({ imageTokenId: 151655, visionStartTokenId: 151652, spatialMergeSize: 2 });
  });

  it("equals the fixture's position_ids (transformers get_rope_index) and rope_deltas", () => {
    const mask = get(inputs, 'attention_mask');
    const { positionIds, ropeDeltas } = getRopeIndex(get(inputs, 'input_ids'), mask, get(inputs, 'image_grid_thw'), config);
    const expected = get(outputs, 'position_ids');
    expect(positionIds.dims).toEqual(expected.dims);
    const [, B, L] = expected.dims as [number, number, number];
    const m = mask.data as BigInt64Array;
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < L; j++) {
          const i = (a * B + b) * L + j;
          // valid positions must match; padding holds 1 in transformers 4.57 (the fixture's version) too
          if (m[b * L + j] === 1n) expect([a, b, j, positionIds.data[i]]).toEqual([a, b, j, expected.data[i]]);
        }
      }
    }
    expect(Array.from(positionIds.data as BigInt64Array)).toEqual(Array.from(expected.data as BigInt64Array));
    expect(Array.from(ropeDeltas.data as BigInt64Array)).toEqual(Array.from(get(outputs, 'rope_deltas').data as BigInt64Array));
  });

  it('numbers text-only rows 0..n-1 and rejects a grid/token mismatch', () => {
    const ids = { dtype: 'int64' as const, dims: [1, 4], data: new BigInt64Array([1n, 2n, 3n, 151643n]) };
    const mask = { dtype: 'int64' as const, dims: [1, 4], data: new BigInt64Array([1n, 1n, 1n, 0n]) };
    const r = getRopeIndex(ids, mask, null, config);
    expect(Array.from(r.positionIds.data as BigInt64Array, Number)).toEqual([0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1]);
    const withImage = { dtype: 'int64' as const, dims: [1, 4], data: new BigInt64Array([151652n, 151655n, 151655n, 151653n]) };
    const grid = { dtype: 'int64' as const, dims: [1, 3], data: new BigInt64Array([1n, 4n, 4n]) };
    expect(() => getRopeIndex(withImage, null, grid, config)).toThrow(/needs 4 <\|image_pad\|> tokens/);
  });
});
