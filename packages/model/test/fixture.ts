// Fixture access shared by the model tests (../shared/fixtures format).
import { FIXTURE_DIR, hasShared } from '../../test-utils/src/index.js';
import { join } from 'node:path';
import { readSafetensors, type TensorData } from '@vlreward/graph';

export { FIXTURE_DIR };
/** False → the fixture tests skip, saying so; under CI=true a missing fixture fails (test-utils' hasShared). */
export const hasFixture = hasShared(join(FIXTURE_DIR, 'outputs.safetensors'), 'golden fixture');

export async function loadFixtureFile(name: string): Promise<Map<string, TensorData>> {
  return (await readSafetensors(join(FIXTURE_DIR, name))).tensors;
}

export function get(m: Map<string, TensorData>, name: string): TensorData {
  const t = m.get(name);
  if (!t) throw new Error(`fixture has no tensor '${name}'`);
  return t;
}

/** max |a-b| over the elements where `keep(i)` (default all). */
export function maxAbsDiff(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>, keep?: (i: number) => boolean): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (keep && !keep(i)) continue;
    const d = Math.abs(Number(a[i]) - Number(b[i]));
    if (!(d <= m)) m = d;
  }
  return m;
}
