import { describe, expect, it } from 'vitest';
import { add, Graph, tensorData } from '@vlreward/graph';
import { StatefulRunner } from '@vlreward/graph/runtime';

// s_{k+1} = s_k + x, y = s_k + s_k, step counter t_{k+1} = t_k + 1 (int64).
function accumulator(): Graph {
  const g = new Graph('acc');
  const s = g.input('s', 'float32', [3]);
  const t = g.input('t', 'int64', [1]);
  const one = g.initializer('one', tensorData('int64', [1], new BigInt64Array([1n])));
  const x = g.input('x', 'float32', [3]);
  g.output(add(s, x), 'new/s');
  g.output(add(t, one), 'new/t');
  g.output(add(s, s), 'y');
  return g;
}

const init = () => ({ s: tensorData('float32', [3], new Float32Array([1, 2, 3])), t: tensorData('int64', [1], new BigInt64Array([0n])) });

describe('StatefulRunner', () => {
  it('feeds state outputs back as inputs and counts only host traffic', async () => {
    const r = await StatefulRunner.create(accumulator(), { state: { 'new/s': 's', 'new/t': 't' }, init: init() });
    expect(r.feedInputs).toEqual(['x']);
    const x = tensorData('float32', [3], new Float32Array([1, 1, 1]));
    const ys: number[][] = [];
    for (let k = 0; k < 3; k++) ys.push(Array.from((await r.step({ x })).y!.data as Float32Array));
    expect(ys).toEqual([
      [2, 4, 6],
      [4, 6, 8],
      [6, 8, 10],
    ]);
    // Per step: 12 bytes of x in, 12 bytes of y out; the state never crosses.
    expect(r.stats.last).toEqual({ hostToDeviceBytes: 12, deviceToHostBytes: 12 });
    expect(r.stats.steps).toBe(3);
    expect(r.stats.hostToDeviceBytes).toBe(36);
    expect(r.stateBytes).toBe(12 + 8);
    const st = await r.readAll();
    expect(Array.from(st.s!.data as Float32Array)).toEqual([4, 5, 6]);
    expect(Array.from(st.t!.data as BigInt64Array)).toEqual([3n]);
    expect(r.stats.deviceToHostBytes).toBe(36 + 20);
    // write() replaces state (resume from a checkpoint).
    r.write('s', tensorData('float32', [3], new Float32Array([0, 0, 0])));
    expect(Array.from((await r.step({ x })).y!.data as Float32Array)).toEqual([0, 0, 0]);
    expect(Array.from((await r.read('s')).data as Float32Array)).toEqual([1, 1, 1]);
    await r.dispose();
  });

  it('keeps the caller buffers untouched', async () => {
    const i = init();
    const r = await StatefulRunner.create(accumulator(), { state: { 'new/s': 's', 'new/t': 't' }, init: i });
    await r.step({ x: tensorData('float32', [3], new Float32Array([5, 5, 5])) });
    expect(Array.from(i.s.data as Float32Array)).toEqual([1, 2, 3]);
    await r.dispose();
  });

  it('rejects bad state maps, missing init and feeding state', async () => {
    await expect(StatefulRunner.create(accumulator(), { state: { 'new/q': 's' }, init: init() })).rejects.toThrow(/no output 'new\/q'/);
    await expect(StatefulRunner.create(accumulator(), { state: { 'new/s': 't' }, init: init() })).rejects.toThrow(/'new\/s' is float32 but feeds input 't' of int64/);
    await expect(StatefulRunner.create(accumulator(), { state: { 'new/s': 's', 'new/t': 't' }, init: { s: init().s } })).rejects.toThrow(/no initial value for state input 't'/);
    await expect(
      StatefulRunner.create(accumulator(), { state: { 'new/s': 's', 'new/t': 't' }, init: { ...init(), s: tensorData('float32', [2], new Float32Array(2)) } }),
    ).rejects.toThrow(/input 's': dim 0 is 2, model expects 3/);
    const r = await StatefulRunner.create(accumulator(), { state: { 'new/s': 's', 'new/t': 't' }, init: init() });
    await expect(r.step({ x: init().s, s: init().s })).rejects.toThrow(/'s' is state/);
    await expect(r.step({})).rejects.toThrow(/missing feed: 'x'/);
    await r.dispose();
  });
});
