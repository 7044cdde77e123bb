import { describe, expect, it } from 'vitest';
import { trainMlp } from '../../../examples/graph-mlp.js';

describe('fused train step (forward + backward + clip + AdamW in one ORT run)', () => {
  it('trains an MLP on two spirals: loss falls, the result is deterministic, state never leaves the runner', async () => {
    const a = await trainMlp({ steps: 150, seed: 0 });
    expect(a.losses[0]).toBeGreaterThan(0.6);
    expect(a.losses.at(-1)!).toBeLessThan(LOSS_AFTER_150);
    expect(a.accuracy).toBeGreaterThan(0.9);
    // Per step only the batch (x 256x2 f32, labels 256 i64) and lr go in, loss + grad_norm come out.
    expect(a.stats.last).toEqual({ hostToDeviceBytes: 256 * 2 * 4 + 256 * 8 + 4, deviceToHostBytes: 8 });
    expect(a.stateBytes).toBeGreaterThan(3 * 4 * (32 * 2 + 32 + 32 * 32 + 32 + 2 * 32 + 2));
    const b = await trainMlp({ steps: 150, seed: 0 });
    expect(b.losses).toEqual(a.losses);
    expect(Array.from(b.params['fc2.weight']!.data as Float32Array)).toEqual(Array.from(a.params['fc2.weight']!.data as Float32Array));
  });
});

const LOSS_AFTER_150 = 0.3;
