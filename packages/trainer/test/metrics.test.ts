import { describe, expect, it } from 'vitest';
import {
  argmaxRows,
  classWeightsFromHistogram,
  classificationReport,
  confusionMatrix,
  labelHistogram,
  renderConfusion,
  renderReport,
  softmaxRows,
} from '@vlreward/trainer';

describe('classificationReport', () => {
  // Worked by hand and against sklearn's definitions:
  // y_true = [0,0,1,1,2,2], y_pred = [0,1,1,1,2,0]
  // class 0: tp1 pred2 sup2 → P .5 R .5 F .5 ; class 1: tp2 pred3 sup2 → P 2/3 R 1 F .8 ;
  // class 2: tp1 pred1 sup2 → P 1 R .5 F 2/3 ; accuracy 4/6 ; macro-F1 (.5+.8+2/3)/3
  const y = [0, 0, 1, 1, 2, 2];
  const p = [0, 1, 1, 1, 2, 0];
  it('computes accuracy, per-class stats, macro-F1 and the confusion matrix', () => {
    const r = classificationReport(y, p, 3, 0.5);
    expect(r.accuracy).toBeCloseTo(4 / 6, 12);
    expect(r.perClass[0]).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    expect(r.perClass[1]!.precision).toBeCloseTo(2 / 3, 12);
    expect(r.perClass[1]!.recall).toBe(1);
    expect(r.perClass[1]!.f1).toBeCloseTo(0.8, 12);
    expect(r.perClass[2]!.f1).toBeCloseTo(2 / 3, 12);
    expect(r.macroF1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
    expect(r.confusion).toEqual([[1, 1, 0], [0, 2, 0], [1, 0, 1]]);
    expect(r.loss).toBe(0.5);
  });
  it('averages macro-F1 over classes present in labels or predictions (sklearn default)', () => {
    const r = classificationReport([0, 0, 1], [0, 0, 1], 5);
    expect(r.macroF1).toBe(1);
    expect(r.perClass[4]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
  });
  it('names a bad label or prediction', () => {
    expect(() => confusionMatrix([0, 3], [0, 0], 3)).toThrow(/labels\[1\] = 3 is outside \[0, 3\)/);
    expect(() => confusionMatrix([0], [0, 1], 3)).toThrow(/1 labels but 2 predictions/);
  });
  it('renders a table and a confusion matrix', () => {
    const r = classificationReport(y, p, 3);
    const t = renderReport(r, ['fail', 'partial', 'success']);
    expect(t).toContain('success');
    expect(t).toMatch(/accuracy\s+0\.667/);
    const c = renderConfusion(r);
    expect(c.split('\n')).toHaveLength(4);
    expect(c.split('\n')[3]).toMatch(/2\s+1\s+0\s+1$/);
  });
});

describe('logit helpers', () => {
  it('argmax and softmax by rows', () => {
    expect(argmaxRows([0, 2, 1, 5, 0, 0], 3)).toEqual([1, 0]);
    const s = softmaxRows([0, 0, 1000, 1000 + Math.log(3)], 2);
    expect(s[0]).toEqual([0.5, 0.5]);
    expect(s[1]![1]).toBeCloseTo(0.75, 12);
  });
});

describe('class weights', () => {
  it('is sklearn balanced: n / (C · count)', () => {
    const h = labelHistogram([0, 0, 0, 1], 3);
    expect(h).toEqual([3, 1, 0]);
    expect(classWeightsFromHistogram(h)).toEqual([4 / 9, 4 / 3, 0]);
    expect(() => classWeightsFromHistogram([0, 0])).toThrow(/empty/);
    expect(() => labelHistogram([0, 7], 3)).toThrow(/label #1 = 7/);
  });
});
