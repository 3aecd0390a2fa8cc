import { describe, expect, it } from 'vitest';
import { distributionFigure, durationDistributionFigure, type DistributionMeta, type Figure } from '../lib/index.js';
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

