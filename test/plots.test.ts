import { describe, expect, it } from 'vitest';
import { BinnedSeries, binnedDistributionFigure, binnedDurationFigure, distributionFigure, durationDistributionFigure, quantiles, type DistributionMeta, type Figure } from '../lib/index.js';
import { durations, integral } from './samples.js';

/** Deep copy of a figure with every number rounded to 3 significant digits, for snapshots. */
function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Number(value.toPrecision(3));
  if (Array.isArray(value)) return value.map(rounded);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]));
  }
  return value;
}

function numbers(trace: Figure['data'][number], key: 'x' | 'y'): number[] {
  return trace[key] as number[];
}

describe('durationDistributionFigure', () => {
  const actual = durations(5000, 1);
  const predicted = durations(5000, 2).map((v) => 0.5 * v + 6);

  it('overlays prediction and actual as density histograms on shared bins with smooth curves', () => {
    const fig = durationDistributionFigure({ actual, predicted });
    expect(fig.data.map((t) => [t.type, t.name])).toEqual([
      ['bar', 'prediction'],
      ['scatter', 'prediction (density)'],
      ['bar', 'actual'],
      ['scatter', 'actual (density)'],
    ]);
    expect(fig.layout.barmode).toBe('overlay');
    const [predBars, predCurve, actBars, actCurve] = fig.data as [Figure['data'][0], Figure['data'][0], Figure['data'][0], Figure['data'][0]];
    expect(numbers(predBars, 'x')).toEqual(numbers(actBars, 'x'));
    expect(numbers(actBars, 'x')).toHaveLength(50);
    for (const bars of [predBars, actBars]) {
      const area = numbers(bars, 'y').reduce((s, y) => s + y * (bars.width as number), 0);
      expect(area).toBeCloseTo(1, 4);
    }
    for (const curve of [predCurve, actCurve]) {
      // The curves are drawn over the chart's range only: the kernel's tails past its ends are cut off.
      const area = integral(numbers(curve, 'x'), numbers(curve, 'y'));
      expect(area).toBeGreaterThan(0.97);
      expect(area).toBeLessThan(1.0001);
    }
    // the prediction is squeezed towards the mean, so its curve peaks higher
    expect(Math.max(...numbers(predCurve, 'y'))).toBeGreaterThan(Math.max(...numbers(actCurve, 'y')));
    // plain JSON: no typed arrays (they would serialise as {"0": ...})
    expect(JSON.parse(JSON.stringify(fig))).toEqual(fig);
  });

  it('keeps its spec (snapshot, numbers rounded)', () => {
    const fig = durationDistributionFigure(
      { actual: actual.subarray(0, 300), predicted: predicted.subarray(0, 300) },
      { bins: 6, gridSize: 7, title: 'train' },
    );
    expect(rounded(fig)).toMatchSnapshot();
  });

  it('names the empty series', () => {
    expect(() => durationDistributionFigure({ actual, predicted: Float64Array.of(NaN) })).toThrow(
      "plots: series 'prediction' has no finite values (length 1)",
    );
    expect(() => distributionFigure([])).toThrow('plots: distributionFigure needs at least one series, got none');
  });

  it('stays a few kilobytes at three million points (bins and curves, never the points)', () => {
    const big = new Float64Array(3_000_000);
    for (let i = 0; i < big.length; i++) big[i] = actual[i % actual.length]!;
    const pred = big.map((v) => 0.9 * v + 1);
    const fig = durationDistributionFigure({ actual: big, predicted: pred });
    expect(fig.data).toHaveLength(4);
    expect(JSON.stringify(fig).length).toBeLessThan(30_000);
  });

  it('focuses on the bulk when a few predictions are absurd, and says what it left out', () => {
    // A 300,000-mile trip predicted at 700,000 minutes, and one at -40: the real months' outliers.
    const pred = Float64Array.from(predicted);
    pred[10] = 704_213.4;
    pred[11] = -40;
    const fig = durationDistributionFigure({ actual, predicted: pred });
    const range = (fig.layout.xaxis as { range: [number, number] }).range;
    // Without focus the axis would run to 704,213; now it spans the durations' 1..60 and the predictions' bulk.
    expect(range[0]).toBeCloseTo(Math.min(...actual), 6);
    expect(range[1]).toBeCloseTo(Math.max(...actual), 6);
    for (const trace of fig.data) {
      for (const x of numbers(trace, 'x')) expect(x >= range[0] - 1e-9 && x <= range[1] + 1e-9).toBe(true);
    }
    const meta = fig.layout.meta as DistributionMeta;
    expect(meta.outside).toEqual([
      { name: 'prediction', below: 1, above: 1, min: -40, max: 704_213.4 },
      { name: 'actual', below: 0, above: 0, min: Math.min(...actual), max: Math.max(...actual) },
    ]);
    const note = (fig.layout.annotations as { text: string }[])[0]!.text;
    expect(note).toMatch(/^Outside the x axis: prediction: 1 below 1(\.\d+)? \(down to −40\), 1 above 60 \(up to 704,213\)$/);
    // The bars are the density of what is in view: their area is still 1.
    const bars = fig.data[0]!;
    expect(numbers(bars, 'y').reduce((sum, y) => sum + y * (bars.width as number), 0)).toBeCloseTo(1, 4);
  });

  it('shows everything with range "all", an explicit range as given, and no note when nothing is left out', () => {
    const pred = Float64Array.from(predicted);
    pred[0] = 500;
    const all = durationDistributionFigure({ actual, predicted: pred }, { range: 'all' });
    expect((all.layout.xaxis as { range: number[] }).range).toEqual([Math.min(...actual, ...pred), 500]);
    expect(all.layout.annotations).toBeUndefined();
    const fixed = durationDistributionFigure({ actual, predicted: pred }, { range: [0, 30] });
    expect((fixed.layout.xaxis as { range: number[] }).range).toEqual([0, 30]);
    const meta = fixed.layout.meta as DistributionMeta;
    expect(meta.outside[1]!.above).toBe(Array.from(actual).filter((v) => v > 30).length);
    expect(() => durationDistributionFigure({ actual, predicted: pred }, { range: [100, 200] })).toThrow(
      "plots: series 'prediction' has no value in the range [100, 200]; widen the range or use 'bulk'",
    );
    expect(() => durationDistributionFigure({ actual, predicted: pred }, { range: [3, 3] })).toThrow('plots: range must be increasing, got [3, 3]');
  });
});


describe('BinnedSeries (durations counted while streaming)', () => {
  const actual = durations(20_000, 3);

  it('counts values into fixed bins, with what falls outside, and merges exactly in any split', () => {
    const whole = BinnedSeries.forDurations(1, 60).add(actual).add([NaN, -100, 1e6, 89.5]);
    expect([whole.lo, whole.hi]).toEqual([-28.5, 89.5]);
    expect(whole.count).toBe(actual.length + 3);
    expect([whole.below, whole.above, whole.missing, whole.min, whole.max]).toEqual([1, 1, 1, -100, 1e6]);
    expect(whole.counts[whole.counts.length - 1]).toBe(1); // the upper edge is in the last bin
    const parts = [0, 7_000, 13_000, 20_000].slice(1).map((end, i, ends) => BinnedSeries.forDurations(1, 60).add(actual.subarray(i === 0 ? 0 : ends[i - 1], end)));
    const merged = BinnedSeries.fromData(JSON.parse(JSON.stringify(parts[2]!.toData())));
    merged.merge(parts[0]!).merge(BinnedSeries.fromData(parts[1]!.toData())).add([NaN, -100, 1e6, 89.5]);
    expect(merged.toData()).toEqual(whole.toData());
    expect(() => merged.merge(new BinnedSeries(0, 60))).toThrow(/^plots: cannot merge bins over \[0, 60\] into bins over \[-28\.5, 89\.5\]$/);
    expect(() => new BinnedSeries(1, 1)).toThrow(/finite, increasing window/);
  });

  it('gives quantiles within a bin of the exact ones', () => {
    const series = BinnedSeries.forDurations(1, 60).add(actual);
    const [q01, q50, q999] = quantiles(actual, [0.001, 0.5, 0.999]);
    expect(Math.abs(series.quantile(0.001) - q01!)).toBeLessThan(series.width);
    expect(Math.abs(series.quantile(0.5) - q50!)).toBeLessThan(series.width);
    expect(Math.abs(series.quantile(0.999) - q999!)).toBeLessThan(series.width);
    expect(series.quantile(0)).toBeCloseTo(Math.min(...actual), 1);
  });

  it('draws the figure distributionFigure draws from the values: same view, notes and bar areas, curves within a few percent', () => {
    const predicted = durations(20_000, 4).map((v) => 0.5 * v + 6);
    predicted[10] = 704_213.4; // an absurd prediction: outside the window, counted in the note
    predicted[11] = -40;
    const exact = durationDistributionFigure({ actual, predicted });
    const bins = binnedDurationFigure({ actual: BinnedSeries.forDurations(1, 60).add(actual), predicted: BinnedSeries.forDurations(1, 60).add(predicted) });
    expect(bins.data.map((t) => [t.type, t.name])).toEqual(exact.data.map((t) => [t.type, t.name]));
    const [lo, hi] = (bins.layout.xaxis as { range: [number, number] }).range;
    const [elo, ehi] = (exact.layout.xaxis as { range: [number, number] }).range;
    const width = 89.5 / 2000 + 59 / 2000;
    expect(Math.abs(lo - elo)).toBeLessThan(width);
    expect(Math.abs(hi - ehi)).toBeLessThan(width);
    const meta = bins.layout.meta as DistributionMeta;
    expect(meta.outside).toEqual((exact.layout.meta as DistributionMeta).outside);
    // The same note, but for the view's ends, snapped out to the nearest bin edge.
    expect((bins.layout.annotations as { text: string }[])[0]!.text).toMatch(/^Outside the x axis: prediction: 1 below 1(\.\d+)? \(down to −40\), 1 above 60(\.\d+)? \(up to 704,213\)$/);
    for (const [b, e] of [[bins.data[0]!, exact.data[0]!], [bins.data[2]!, exact.data[2]!]] as const) {
      const widths = Array.isArray(b.width) ? (b.width as number[]) : numbers(b, 'y').map(() => b.width as number);
      expect(numbers(b, 'y').reduce((s, y, i) => s + y * widths[i]!, 0)).toBeCloseTo(1, 4);
      expect(numbers(b, 'y').length).toBeLessThanOrEqual(50);
      expect(Math.max(...numbers(b, 'y')) / Math.max(...numbers(e, 'y'))).toBeCloseTo(1, 1);
    }
    for (const [b, e] of [[bins.data[1]!, exact.data[1]!], [bins.data[3]!, exact.data[3]!]] as const) {
      expect(integral(numbers(b, 'x'), numbers(b, 'y'))).toBeCloseTo(integral(numbers(e, 'x'), numbers(e, 'y')), 2);
      expect(Math.max(...numbers(b, 'y')) / Math.max(...numbers(e, 'y'))).toBeCloseTo(1, 1);
    }
  });

  it('refuses series binned differently, or with nothing in their window', () => {
    const a = BinnedSeries.forDurations(1, 60).add(actual);
    expect(() => binnedDistributionFigure([{ name: 'a', bins: a }, { name: 'b', bins: new BinnedSeries(0, 10).add([1]) }])).toThrow(/^plots: series 'b' is binned over \[0, 10\], not \[-28\.5, 89\.5\] as 'a'/);
    expect(() => binnedDistributionFigure([{ name: 'far', bins: BinnedSeries.forDurations(1, 60).add([1e6]) }])).toThrow(/^plots: series 'far' has no finite values in its window/);
    expect(() => binnedDistributionFigure([])).toThrow('plots: binnedDistributionFigure needs at least one series, got none');
  });
});
