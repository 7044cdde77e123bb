import { describe, expect, it } from 'vitest';
import { fromChwFloat, labelFromValue, splitEpisodes, toChwFloat } from '@vlreward/dataset';

describe('pixel and label conventions', () => {
  it('uint8 → float32 /255 → ×255 truncated is the identity, so decoder bytes equal the seed\'s PIL images', () => {
    // LeRobot hands the seed float32 k/255; the seed (torchvision to_pil_image) does mul(255).byte().
    for (let k = 0; k < 256; k++) expect(Math.trunc(Math.fround(Math.fround(k / 255) * 255))).toBe(k);
    const img = { width: 2, height: 1, channels: 3 as const, data: Uint8Array.from([0, 1, 2, 253, 254, 255]) };
    const t = toChwFloat(img);
    expect(t.shape).toEqual([3, 1, 2]);
    expect(Array.from(t.data)).toEqual([0, 253, 1, 254, 2, 255].map((v) => Math.fround(v / 255)));
    expect(Array.from(fromChwFloat(t).data)).toEqual([0, 1, 2, 253, 254, 255]);
  });

  it("the seed's label rule", () => {
    expect(labelFromValue([0, 0, 1, 0])).toBe(2);
    expect(labelFromValue([0, 0, 0])).toBe(0); // all-zero → 0
    expect(() => labelFromValue(0.7)).toThrow(/not a class id/); // a continuous scalar needs binning, it is not class 0
    expect(labelFromValue([0.2, 0.5, 0.5])).toBe(1); // first maximum, as torch.argmax
    expect(labelFromValue(Float32Array.from([0, 1]))).toBe(1);
    expect(labelFromValue(true)).toBe(1);
    expect(labelFromValue(0.8, { edges: [0.25, 0.75] })).toBe(2);
    expect(labelFromValue(0.25, { edges: [0.25, 0.75] })).toBe(1);
  });

  it('episode split is seeded, disjoint and complete', () => {
    const eps = [3, 9, 4, 7, 1, 0, 8, 2, 6, 5];
    const a = splitEpisodes(eps, { valFraction: 0.2, seed: 7 });
    expect(a).toEqual(splitEpisodes(eps, { valFraction: 0.2, seed: 7 }));
    expect(a.val).toHaveLength(2);
    expect([...a.train, ...a.val].sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
    expect(splitEpisodes([5, 6], { valFraction: 0.01 }).val).toHaveLength(1);
    expect(() => splitEpisodes(eps, { valFraction: 1 })).toThrow(/valFraction/);
  });
});
