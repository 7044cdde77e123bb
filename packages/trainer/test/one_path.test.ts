// One training path: the graphs `vlreward train` runs (RewardModelSession, built
// from the trainer's options) are byte-for-byte the graphs the fixture gradient
// check verifies against transformers (same builder, same options → same hash).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serialize, type Graph } from '@vlreward/graph';
import { buildTrainingArtifacts, checkFixtureGradients, fixtureTrainingOptions, loadFixtureFolder, parseQwen3VLConfig } from '@vlreward/model';
import { RewardModelSession, rewardTrainingOptions } from '@vlreward/trainer';
import { FIXTURE_DIR, hasShared } from '../../test-utils/src/index.js';

const hash = (g: Graph) => createHash('sha256').update(serialize(g)).digest('hex');

describe.skipIf(!hasShared(join(FIXTURE_DIR, 'outputs.safetensors'), 'golden fixture'))('one training path', () => {
  for (const mode of ['lora', 'full'] as const) {
    it(`${mode}: the trainer's session runs the gradient graph the fixture check verifies (same hash), and it passes`, async () => {
      const fx = await loadFixtureFolder(FIXTURE_DIR, { require: ['head.safetensors'] });
      await fx.outputs.close();
      const configJson = JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8'));
      const checked = buildTrainingArtifacts(fx.config, fixtureTrainingOptions(fx, mode));
      const session = await RewardModelSession.create({
        config: configJson,
        weights: fx.weights,
        mode,
        numClasses: fx.numClasses!,
        ...(mode === 'lora' ? { lora: fx.lora! } : {}),
        graphs: ['gradient'],
      });
      try {
        expect(hash(session.artifacts.graphs.gradient!)).toBe(hash(checked.graphs.gradient!));
        expect(session.artifacts.manifest).toEqual(checked.manifest);
      } finally {
        await session.dispose();
      }
      const report = await checkFixtureGradients(FIXTURE_DIR, { modes: [mode] });
      expect(report.ok, report.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')).toBe(true);
    });
  }

  it('the options differ only where the user asked: class weights change the graph, nothing else does', () => {
    const cfg = parseQwen3VLConfig(JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8')));
    const weights = new Map();
    const base = rewardTrainingOptions({ config: {} as never, weights, mode: 'lora', numClasses: 3 });
    expect(base).toMatchObject({ mode: 'lora', numClasses: 3, seed: 0, precision: 'fp32', lora: { r: 16, alpha: 32, dropout: 0.05 } });
    expect(rewardTrainingOptions({ config: {} as never, weights, mode: 'lora', numClasses: 3, classWeights: [1, 2, 3] }).classWeights).toEqual([1, 2, 3]);
    expect(() => rewardTrainingOptions({ config: {} as never, weights, mode: 'lora', numClasses: 3, classWeights: [1, 2] })).toThrow(/2 weights for 3 classes/);
    expect(cfg.headHiddenSize).toBeGreaterThan(0);
  });
});
