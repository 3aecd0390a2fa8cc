import { describe, expect, it } from 'vitest';
import { densityHistogram, focusRange, kernelDensity, quantiles, splitByRange, summarize } from '../lib/index.js';
import { durations, integral, rng } from './samples.js';

/** The exact Gaussian KDE at x (what scipy's gaussian_kde computes), O(n) per point. */
function exactKde(values: Float64Array, h: number, x: number): number {
  let s = 0;
  for (const v of values) s += Math.exp(-0.5 * ((x - v) / h) ** 2);
  return s / (values.length * h * Math.sqrt(2 * Math.PI));
}

describe('kernelDensity', () => {
  const sample = durations(2000, 7);

  it("matches the exact Gaussian KDE with Scott's bandwidth", () => {
    let mean = 0;
    for (const v of sample) mean += v / sample.length;
    let ss = 0;
    for (const v of sample) ss += (v - mean) ** 2;
    const scott = Math.sqrt(ss / (sample.length - 1)) * sample.length ** (-1 / 5);

    const curve = kernelDensity(sample);
    expect(curve.bandwidth).toBeCloseTo(scott, 12);
    expect(curve.x.length).toBe(200);
    expect(curve.count).toBe(2000);
    const peak = Math.max(...curve.density);
    for (let i = 0; i < curve.x.length; i += 7) {
      expect(Math.abs(curve.density[i]! - exactKde(sample, scott, curve.x[i]!))).toBeLessThan(1e-3 * peak);
    }
    // the curve runs 3 bandwidths past the data, like seaborn's cut=3
    expect(curve.x[0]).toBeCloseTo(Math.min(...sample) - 3 * scott, 9);
    expect(integral(curve.x, curve.density)).toBeCloseTo(1, 3);
  });

  it('skips non-finite values and honours an explicit bandwidth and range', () => {
    const withJunk = Float64Array.from([...sample.subarray(0, 100), NaN, Infinity, -Infinity]);
    const curve = kernelDensity(withJunk, { bandwidth: 2, range: [0, 70], gridSize: 71 });
    expect(curve.count).toBe(100);
    expect(curve.x[70]).toBe(70);
    const sub = sample.subarray(0, 100);
    for (const i of [5, 12, 30]) {
      const exact = exactKde(sub, 2, i);
      expect(Math.abs(curve.density[i]! - exact)).toBeLessThan(2e-3 * exact);
    }
  });

  it('draws a narrow bump for a single distinct value instead of dividing by zero', () => {
    const curve = kernelDensity(Float64Array.of(5, 5, 5));
    expect(curve.bandwidth).toBeCloseTo(0.05, 12);
    expect(Math.max(...curve.density)).toBeGreaterThan(5);
    expect(integral(curve.x, curve.density)).toBeCloseTo(1, 2);
  });

  it.each([
    [Float64Array.of(), {}, /at least one finite value/],
    [Float64Array.of(NaN), {}, /at least one finite value/],
    [Float64Array.of(1, 2), { bandwidth: -1 }, /bandwidth must be a positive number, got -1/],
    [Float64Array.of(1, 2), { gridSize: 1 }, /gridSize must be an integer of at least 2, got 1/],
  ])('rejects bad input %#', (values, options, message) => {
    expect(() => kernelDensity(values, options)).toThrow(message);
  });
});

describe('densityHistogram', () => {
  it('normalises to unit area, puts the range end in the last bin, skips NaN and outside values', () => {
    const h = densityHistogram(Float64Array.of(0, 0.1, 0.5, 1, NaN, 2, -1), 2, [0, 1]);
    expect(Array.from(h.edges)).toEqual([0, 0.5, 1]);
    expect(h.count).toBe(4);
    expect(Array.from(h.density)).toEqual([1, 1]); // 2 values per bin of width 0.5, 4 values in all
  });

  it('rejects an empty range', () => {
    expect(() => densityHistogram(Float64Array.of(1), 10, [3, 3])).toThrow('density: histogram range must be increasing, got [3, 3]');
  });
});


/** numpy's default (linear) quantile, by sorting: the oracle for the selection-based one. */
function sortedQuantile(values: ArrayLike<number>, q: number): number {
  const a = Float64Array.from(Array.from(values).filter(Number.isFinite)).sort();
  const position = q * (a.length - 1);
  const k = Math.floor(position);
  return k + 1 < a.length ? a[k]! + (position - k) * (a[k + 1]! - a[k]!) : a[k]!;
}

describe('quantiles', () => {
  it("gives numpy's answers (np.quantile, linear interpolation)", () => {
    // Computed with numpy 2: np.quantile([5, 1, 9, 3, 7, 3, 3], [0.1, 0.25, 0.5, 0.9]).
    expect(quantiles(Float64Array.of(5, 1, 9, 3, 7, 3, 3), [0.1, 0.25, 0.5, 0.9]).map((v) => Number(v.toFixed(12)))).toEqual([2.2, 3, 3, 7.8]);
    expect(quantiles(Float64Array.of(4, 1, 3, 2), [0, 0.5, 1])).toEqual([1, 2.5, 4]);
    expect(quantiles([NaN, 7, Infinity, -Infinity], [0.3])).toEqual([7]);
  });

  it.each([
    ['distinct values', 50_000, (r: () => number) => r() * 1000],
    ['long runs of equal values', 200_000, (r: () => number) => Math.floor(r() * 5)],
    ['a few huge outliers among durations', 300_000, (r: () => number) => (r() < 1e-4 ? 3e5 * r() : 60 * r() ** 2)],
    ['sorted input', 100_000, (() => {
      let i = 0;
      return () => i++;
    })() as unknown as (r: () => number) => number],
  ])('matches sorting on %s, in any order of qs', (_name, n, draw) => {
    const r = rng(11);
    const values = Float64Array.from({ length: n }, () => draw(r));
    values[3] = NaN;
    const qs = [0.999, 0.001, 0.5, 0, 1, 0.25, 0.9999];
    const got = quantiles(values, qs);
    qs.forEach((q, i) => expect(got[i]).toBe(sortedQuantile(values, q)));
  });

  it('leaves its input alone and refuses bad q or no data', () => {
    const values = Float64Array.of(3, 1, 2);
    quantiles(values, [0.5]);
    expect(Array.from(values)).toEqual([3, 1, 2]);
    expect(() => quantiles(values, [1.5])).toThrow('density: quantiles must be between 0 and 1, got 1.5');
    expect(() => quantiles(Float64Array.of(NaN), [0.5])).toThrow('density: quantiles need at least one finite value, got none');
  });
});

describe('summarize and splitByRange', () => {
  it('summarize matches a direct computation, inside a range too', () => {
    const values = Float64Array.of(1, 2, NaN, 4, Infinity, 100);
    expect(summarize(values)).toEqual({ n: 4, min: 1, max: 100, mean: 26.75, std: expect.closeTo(Math.sqrt(7158.75 / 3), 9) });
    expect(summarize(values, [0, 10])).toMatchObject({ n: 3, min: 1, max: 4 });
    expect(summarize(Float64Array.of())).toMatchObject({ n: 0, std: 0 });
  });

  it('counts what lies below and above a range and summarizes what lies inside', () => {
    const split = splitByRange(Float64Array.of(-5, 1, 2, NaN, 900, 3), [0, 60]);
    expect(split).toMatchObject({ below: 1, above: 1, min: -5, max: 900 });
    expect(split.inside).toEqual(summarize(Float64Array.of(1, 2, 3)));
    expect(splitByRange(Float64Array.of(NaN), [0, 1])).toMatchObject({ below: 0, above: 0, min: NaN, max: NaN });
  });
});

describe('focusRange', () => {
  const clean = durations(20_000, 5); // 1..60, no far outliers

  it('shows a series without far outliers whole', () => {
    const { range, splits } = focusRange([clean]);
    expect(range).toEqual([Math.min(...clean), Math.max(...clean)]);
    expect(splits[0]).toMatchObject({ below: 0, above: 0 });
  });

  it('leaves far outliers out, counts them and keeps every other series whole', () => {
    const predicted = clean.map((v) => 0.5 * v + 6);
    predicted[1] = 704_213;
    predicted[2] = 2e5;
    predicted[3] = -500;
    const { range, splits } = focusRange([predicted, clean]);
    expect(range[0]).toBe(Math.min(...clean));
    expect(range[1]).toBe(Math.max(...clean));
    expect(splits[0]).toMatchObject({ below: 1, above: 2, min: -500, max: 704_213 });
    expect(splits[0]!.inside.n).toBe(predicted.length - 3);
    expect(splits[1]).toMatchObject({ below: 0, above: 0 });
  });

  it('cuts at the 0.1 and 99.9 percentiles of a long-tailed series, estimated from a sample when large', () => {
    const r = rng(3);
    const tailed = Float64Array.from({ length: 1_000_000 }, () => 1 / (r() + 1e-7)); // a heavy right tail
    const { range, splits } = focusRange([tailed]);
    const [qLo, qHi] = [sortedQuantile(tailed, 0.001), sortedQuantile(tailed, 0.999)];
    expect(Math.abs(range[1] - qHi) / qHi).toBeLessThan(0.1);
    // The low end has no far outliers: it is shown whole, from the smallest value.
    expect(range[0]).toBe(tailed.reduce((m, v) => Math.min(m, v), Infinity));
    expect(range[0]).toBeLessThanOrEqual(qLo);
    expect(splits[0]!.above / tailed.length).toBeGreaterThan(0.0005);
    expect(splits[0]!.above / tailed.length).toBeLessThan(0.002);
  });

  it('samples the whole series, not its start: a series in rising order (months sorted by time) keeps its top', () => {
    const r = rng(4);
    const rising = Float64Array.from({ length: 1_000_000 }, () => 1 / (r() + 1e-7)).sort();
    const { range } = focusRange([rising]);
    const qHi = sortedQuantile(rising, 0.999);
    expect(Math.abs(range[1] - qHi) / qHi).toBeLessThan(0.1);
  });

  it('refuses no data and a bad tail', () => {
    expect(() => focusRange([Float64Array.of(NaN)])).toThrow('density: focusRange needs a series with at least one finite value');
    expect(() => focusRange([clean], { tail: 0.7 })).toThrow('density: tail must be in [0, 0.5), got 0.7');
  });
});
