import { describe, expect, it } from 'vitest';
import { mul, stopGradient, tensorData } from '@vlreward/graph';
import { checkGrad, expectClose, rng, seedOf, uniform } from '../src/index.js';

describe('expectClose', () => {
  it('passes within tolerance and names the worst element otherwise', () => {
    expectClose([1, 2, 3], [1, 2, 3 + 1e-7], { rtol: 1e-6 });
    expectClose([NaN, 1], [NaN, 1]);
    expectClose(tensorData('int64', [2], new BigInt64Array([3n, 4n])), [3, 4], { rtol: 0, atol: 0 });
    expect(() => expectClose([1, 2, 3], [1, 2.5, 3.01], { rtol: 1e-3, atol: 0, name: 'logits' })).toThrow(
      /logits: 2\/3 elements differ beyond rtol=0\.001 atol=0; worst at index 1: got 2, expected 2\.5/,
    );
    expect(() => expectClose([1, 2], [1, 2, 3], { name: 'x' })).toThrow(/x: 2 elements, expected 3/);
    expect(() => expectClose(tensorData('float32', [2, 1], new Float32Array(2)), tensorData('float32', [1, 2], new Float32Array(2)))).toThrow(/dims \[2, 1\] != expected \[1, 2\]/);
  });
});

describe('rng', () => {
  it('is deterministic per seed', () => {
    expect(uniform(rng(5), 3)).toEqual(uniform(rng(5), 3));
    expect(uniform(rng(5), 3)).not.toEqual(uniform(rng(6), 3));
    expect(seedOf('a')).not.toBe(seedOf('b'));
  });
});

describe('checkGrad', () => {
  it('accepts a correct gradient and rejects a wrong one', async () => {
    const [report] = await checkGrad({ name: 'x*x', inputs: { x: { shape: [3] } }, build: ({ x }) => mul(x!, x!) });
    expect(report!.inputs.x!.maxAbsErr).toBeLessThan(1e-8);
    // stopGradient makes autodiff see x·c while finite differences see x²: they must disagree.
    await expect(checkGrad({ name: 'x*stop(x)', inputs: { x: { shape: [3], range: [0.5, 1] } }, build: ({ x }) => mul(x!, stopGradient(x!)) })).rejects.toThrow(
      /'x\*stop\(x\)' d\/dx\[0\]: analytic .*, numeric/,
    );
  });
});
