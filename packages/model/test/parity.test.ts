import { describe, expect, it } from 'vitest';
import { checkFixture, formatFixtureReport } from '../src/fixture_check.js';
import { FIXTURE_DIR, hasFixture } from './fixture.js';

describe.runIf(hasFixture)('parity with the transformers fixture', () => {
  it('every forward tensor of outputs.safetensors is within tolerance', async () => {
    const r = await checkFixture(FIXTURE_DIR);
    console.log(formatFixtureReport(r));
    const names = r.checks.map((c) => c.name);
    for (const n of ['image_embeds', 'deepstack.0', 'deepstack.1', 'last_hidden_state', 'pooled', 'logits', 'loss', 'lora.logits', 'lora.loss', 'position_ids']) {
      expect(names).toContain(n);
    }
    for (const c of r.checks) expect({ name: c.name, ok: c.ok, maxAbs: c.maxAbs }).toMatchObject({ name: c.name, ok: true });
  });
});
