import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensorData } from '@vlreward/graph';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseQwen3VLConfig, type Qwen3VLConfig } from '../src/qwen3_vl/config.js';
import {
  getRopeIndex,
  InputError,
  posEmbedInterpolation,
  prepareQwen3VLInputs,
  readGrids,
  visionPacking,
  visionRotaryAngles,
} from '../src/qwen3_vl/host_inputs.js';
import { textRopeCosSin } from '../src/qwen3_vl/rope.js';
import { FIXTURE_DIR, get, hasFixture, loadFixtureFile, maxAbsDiff } from './fixture.js';

describe.runIf(hasFixture)('host inputs vs fixture', () => {
  let config: Qwen3VLConfig;
  let inputs: Map<string, import('@vlreward/graph').TensorData>;
  let outputs: Map<string, import('@vlreward/graph').TensorData>;
  beforeAll(async () => {
    config = parseQwen3VLConfig(JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8')));
    inputs = await loadFixtureFile('inputs.safetensors');
    outputs = await loadFixtureFile('outputs.safetensors');
  });

  it('position_ids and rope_deltas match get_rope_index where attention_mask == 1', () => {
    const ids = get(inputs, 'input_ids');
    const mask = get(inputs, 'attention_mask');
    const grids = readGrids(config, get(inputs, 'image_grid_thw'));
    const { positionIds, ropeDeltas } = getRopeIndex(config, ids, mask, grids);
    const want = get(outputs, 'position_ids');
    const [B, S] = ids.dims as [number, number];
    const m = mask.data as BigInt64Array;
    expect(maxAbsDiff(positionIds, want.data as BigInt64Array, (i) => m[i % (B * S)] === 1n)).toBe(0);
    expect(Array.from(ropeDeltas)).toEqual(Array.from(get(outputs, 'rope_deltas').data as BigInt64Array));
  });

  it('text rope cos/sin match rotary_emb at real tokens', () => {
    const pos = get(outputs, 'position_ids');
    const [, B, S] = pos.dims as [number, number, number];
    const { cos, sin } = textRopeCosSin(config, pos.data as BigInt64Array, B, S);
    const m = get(inputs, 'attention_mask').data as BigInt64Array;
    const hd = config.text.headDim;
    const keep = (i: number): boolean => m[Math.floor(i / hd)] === 1n;
    expect(maxAbsDiff(cos, get(outputs, 'text.rope_cos').data as Float32Array, keep)).toBeLessThan(1e-6);
    expect(maxAbsDiff(sin, get(outputs, 'text.rope_sin').data as Float32Array, keep)).toBeLessThan(1e-6);
  });

  it('vision rotary angles match rot_pos_emb', () => {
    const grids = readGrids(config, get(inputs, 'image_grid_thw'));
    expect(maxAbsDiff(visionRotaryAngles(config, grids), get(outputs, 'vision.rot_pos_emb').data as Float32Array)).toBe(0);
  });

  it('bilinear pos-embed indices/weights reproduce fast_pos_embed_interpolate', async () => {
    const model = await loadFixtureFile('model.safetensors');
    const table = get(model, 'model.visual.pos_embed.weight').data as Float32Array;
    const D = config.vision.hiddenSize;
    const grids = readGrids(config, get(inputs, 'image_grid_thw'));
    const { index, weight } = posEmbedInterpolation(config, grids);
    const P = index.length / 4;
    const got = new Float32Array(P * D);
    for (let p = 0; p < P; p++) {
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let k = 0; k < 4; k++) acc = Math.fround(acc + Math.fround(weight[k * P + p]! * table[Number(index[k * P + p]) * D + d]!));
        got[p * D + d] = acc;
      }
    }
    expect(maxAbsDiff(got, get(outputs, 'vision.pos_embed_interp').data as Float32Array)).toBeLessThan(1e-6);
  });

  it('vision packing round-trips every patch', () => {
    const grids = readGrids(config, get(inputs, 'image_grid_thw'));
    const pk = visionPacking(grids);
    expect(pk.N).toBe(6);
    for (let p = 0; p < pk.unpack.length; p++) expect(Number(pk.pack[Number(pk.unpack[p])])).toBe(p);
  });

  it('rejects mismatched pixel_values / image_grid_thw and image-token counts', () => {
    const ids = get(inputs, 'input_ids');
    const mask = get(inputs, 'attention_mask');
    const pv = get(inputs, 'pixel_values');
    const grid = get(inputs, 'image_grid_thw');
    const short = tensorData('float32', [pv.dims[0]! - 4, pv.dims[1]!], (pv.data as Float32Array).slice(4 * pv.dims[1]!));
    expect(() => prepareQwen3VLInputs(config, { inputIds: ids, attentionMask: mask, pixelValues: short, imageGridThw: grid })).toThrow(
      /pixel_values has 108 patch rows but image_grid_thw .* needs 112/,
    );
    const g2 = (grid.data as BigInt64Array).slice();
    g2[17] = 6n; // last image [1,10,2] → [1,10,6]: more features than tokens
    const grid2 = tensorData('int64', [6, 3], g2);
    const pv2 = tensorData('float32', [152, pv.dims[1]!], new Float32Array(152 * pv.dims[1]!));
    expect(() => prepareQwen3VLInputs(config, { inputIds: ids, attentionMask: mask, pixelValues: pv2, imageGridThw: grid2 })).toThrow(InputError);
    expect(() => prepareQwen3VLInputs(config, { inputIds: ids, attentionMask: mask, pixelValues: pv2, imageGridThw: grid2 })).toThrow(
      /28 <\|image_pad\|> tokens .* 38 features/,
    );
    // More image tokens than features: drop the last image's grid and pixels.
    const grid3 = tensorData('int64', [5, 3], (grid.data as BigInt64Array).slice(0, 15));
    const pv3 = tensorData('float32', [92, pv.dims[1]!], (pv.data as Float32Array).slice(0, 92 * pv.dims[1]!));
    expect(() => prepareQwen3VLInputs(config, { inputIds: ids, attentionMask: mask, pixelValues: pv3, imageGridThw: grid3 })).toThrow(
      /28 <\|image_pad\|> tokens .* 23 features/,
    );
  });
});
