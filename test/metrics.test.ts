import { describe, expect, it } from 'vitest';
import { meanSquaredError, rootMeanSquaredError } from '../lib/index.js';

describe('metrics', () => {
  it("reproduces scikit-learn's docstring examples", () => {
    // sklearn.metrics.mean_squared_error([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) == 0.375
    expect(meanSquaredError([3, -0.5, 2, 7], [2.5, 0.0, 2, 8])).toBe(0.375);
    // root_mean_squared_error(...) == 0.612...
    expect(rootMeanSquaredError([3, -0.5, 2, 7], [2.5, 0.0, 2, 8])).toBeCloseTo(Math.sqrt(0.375), 15);
    expect(rootMeanSquaredError(Float64Array.of(1, 2), Float64Array.of(1, 2))).toBe(0);
  });

  it('keeps small terms next to a huge one (compensated sum)', () => {
    // One squared error of 1e16 then a million errors of 1: a plain running sum
    // drops every 1 (1e16 + 1 rounds back to 1e16).
    const n = 1_000_001;
    const yTrue = new Float64Array(n);
    const yPred = new Float64Array(n).fill(1);
    yTrue[0] = 1e8 + 1;
    expect(meanSquaredError(yTrue, yPred)).toBe((1e16 + 1e6) / n);
  });

  it.each([
    ['different lengths', () => meanSquaredError([1, 2], [1]), /metrics: yTrue has 2 values but yPred has 1/],
    ['empty arrays', () => rootMeanSquaredError([], []), /metrics: yTrue and yPred are empty/],
    ['a NaN', () => meanSquaredError([1, NaN], [1, 2]), /metrics: non-finite value at index 1 \(yTrue NaN, yPred 2\)/],
  ])('rejects %s', (_, act, message) => {
    expect(act).toThrow(message);
  });
});
