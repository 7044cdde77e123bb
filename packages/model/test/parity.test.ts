import { describe, expect, it } from 'vitest';
import { checkFixture, formatFixtureReport } from '../src/fixture_check.js';
import { FIXTURE_DIR, hasFixture } from './fixture.js';

describe.runIf(hasFixture)('parity with the transformers fixture', () => {
  it('every tensor of outputs.safetensors (forward, generation, gradients) is within tolerance', async () => {
    const r = await checkFixture(FIXTURE_DIR);
    console.log(formatFixtureReport(r));
    const names = r.checks.map((c) => c.name);
    for (const n of ['image_embeds', 'deepstack.0', 'deepstack.1', 'last_hidden_state', 'pooled', 'logits', 'loss', 'lora.logits', 'lora.loss', 'position_ids']) {
      expect(names).toContain(n);
    }
    expect(names).toEqual(expect.arrayContaining(['generate.tokens', 'grad.model.visual.patch_embed.proj.weight', 'lora.grad.classifier.weight']));
    expect(r.skipped).toEqual([]);
    for (const c of r.checks) expect({ name: c.name, ok: c.ok, maxAbs: c.maxAbs }).toMatchObject({ name: c.name, ok: true });
    // Forward activations: normwise relative error well under the 1e-4 goal.
    for (const c of r.checks.filter((x) => !x.name.includes('grad.'))) expect(c.maxRel).toBeLessThan(1e-5);
  });
});
