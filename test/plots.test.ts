import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { DataFrame } from 'danfojs';
import { describe, expect, it } from 'vitest';
import {
  densityHistogram,
  distributionFigure,
  durationDistributionFigure,
  figureBundle,
  figureHtml,
  kernelDensity,
  saveFigureHtml,
  showFigure,
  showTable,
  tableHtml,
  type Figure,
  type MimeBundle,
} from '../lib/index.js';

/** Deterministic pseudo-random numbers (mulberry32), so samples are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Trip-duration-like sample: a log-normal around 12 minutes, clipped to the course's 1–60. */
function durations(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    out[i] = Math.min(60, Math.max(1, Math.exp(Math.log(12) + 0.6 * z)));
  }
  return out;
}

/** The exact Gaussian KDE at x (what scipy's gaussian_kde computes), O(n) per point. */
function exactKde(values: Float64Array, h: number, x: number): number {
  let s = 0;
  for (const v of values) s += Math.exp(-0.5 * ((x - v) / h) ** 2);
  return s / (values.length * h * Math.sqrt(2 * Math.PI));
}

/** Trapezoid integral of y over x. */
function integral(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 1; i < x.length; i++) s += ((y[i]! + y[i - 1]!) / 2) * (x[i]! - x[i - 1]!);
  return s;
}

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
    expect(() => densityHistogram(Float64Array.of(1), 10, [3, 3])).toThrow('plots: histogram range must be increasing, got [3, 3]');
  });
});

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
    for (const curve of [predCurve, actCurve]) expect(integral(numbers(curve, 'x'), numbers(curve, 'y'))).toBeCloseTo(1, 2);
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

  it('stays fast at three million points', () => {
    const big = new Float64Array(3_000_000);
    for (let i = 0; i < big.length; i++) big[i] = actual[i % actual.length]!;
    const pred = big.map((v) => 0.9 * v + 1);
    const start = performance.now();
    const fig = durationDistributionFigure({ actual: big, predicted: pred });
    const ms = performance.now() - start;
    expect(fig.data).toHaveLength(4);
    expect(JSON.stringify(fig).length).toBeLessThan(30_000);
    // about 0.2 s alone on this machine; generous for a shared 2-core CI box
    expect(ms).toBeLessThan(3000);
  });
});

describe('showing and saving figures', () => {
  const fig = distributionFigure([{ name: 'duration', values: durations(500, 3) }], {
    bins: 10,
    title: '</script><script>alert("x")</script>',
  });

  /** Runs the HTML's scripts in a sandbox with a fake Plotly, returning what newPlot received. */
  function draw(html: string, withPlotly: boolean): { plotted: unknown[][]; window: Record<string, unknown> } {
    const plotted: unknown[][] = [];
    const div = { textContent: '' };
    const window: Record<string, unknown> = {};
    if (withPlotly) window.Plotly = { newPlot: (...args: unknown[]) => plotted.push(args) };
    const document = { getElementById: () => div };
    const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    for (const code of scripts) {
      if (code.startsWith('(function(define')) continue; // the plotly.js bundle itself needs a real browser
      runInNewContext(code, { window, document, setTimeout: () => undefined });
    }
    return { plotted, window };
  }

  it('sends plotly JSON, HTML and text, with plotly.js inlined only into the first figure', () => {
    const sent: MimeBundle[] = [];
    const display = (b: MimeBundle) => sent.push(b);
    showFigure(fig, { display });
    showFigure(fig, { display });
    expect(sent.map((b) => Object.keys(b))).toEqual([
      ['application/vnd.plotly.v1+json', 'text/html', 'text/plain'],
      ['application/vnd.plotly.v1+json', 'text/html', 'text/plain'],
    ]);
    const [first, second] = sent.map((b) => b['text/html'] as string) as [string, string];
    expect(first).toContain('plotly.js v');
    expect(first.length).toBeGreaterThan(1_000_000);
    expect(second).not.toContain('plotly.js v');
    expect(second.length).toBeLessThan(20_000);
    expect(sent[0]!['application/vnd.plotly.v1+json']).toEqual({ data: fig.data, layout: fig.layout, config: fig.config });
    expect(sent[0]!['text/plain']).toBe(`<plotly figure '${'</script><script>alert("x")</script>'}': 2 traces (duration)>`);
  });

  it('draws the figure from the HTML once plotly.js is there, and the title cannot end the script', () => {
    const html = figureBundle(fig, { includePlotlyJs: false })['text/html'] as string;
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    const { plotted } = draw(html, true);
    expect(plotted).toHaveLength(1);
    const [, data, layout] = plotted[0]!;
    expect(JSON.parse(JSON.stringify(data))).toEqual(fig.data);
    expect((layout as { title: { text: string } }).title.text).toBe('</script><script>alert("x")</script>');
    expect(draw(html, false).plotted).toHaveLength(0);
  });

  it('throws outside a kernel, naming the alternative', () => {
    expect(() => showFigure(fig)).toThrow('plots: showFigure needs a running tslab kernel (a notebook cell); outside one, use saveFigureHtml(figure, path)');
  });

  it('saves a standalone HTML page with plotly.js inlined once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plots-'));
    try {
      const path = await saveFigureHtml(fig, join(dir, 'sub', 'fig.html'));
      const html = await readFile(path, 'utf8');
      expect(html.startsWith('<!doctype html>')).toBe(true);
      expect(html.match(/plotly\.js v\d/g)).toHaveLength(1);
      expect(html).toContain('<title>&#60;/script&#62;&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;</title>');
      expect(html).toBe(figureHtml(fig).replace(/taxi-figure-[0-9a-f]+/g, html.match(/taxi-figure-[0-9a-f]+/)![0]));
      expect(draw(html, true).plotted).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('tables', () => {
  const df = new DataFrame({
    PULocationID: [161, 237, 48],
    trip_distance: [1.2, 17.625431, 0.3333333333],
    store_and_fwd_flag: ['N', '<Y>', 'N'],
  });

  it('renders a danfojs frame as an escaped pandas-style HTML table', () => {
    const html = tableHtml(df);
    expect(html).toContain('<table class="dataframe"');
    expect(html).toContain('<th>PULocationID</th><th>trip_distance</th><th>store_and_fwd_flag</th>');
    expect(html).toContain('<tr><th>1</th><td>237</td><td>17.6254</td><td>&#60;Y&#62;</td></tr>');
    expect(html).toContain('<p>3 rows × 3 columns</p>');
  });

  it('shows the first and last rows of a long frame with an ellipsis row', () => {
    const long = new DataFrame({ i: Array.from({ length: 100 }, (_, i) => i * 10) });
    const html = tableHtml(long, { maxRows: 4 });
    const rows = [...html.matchAll(/<tr><th>([^<]*)<\/th><td>([^<]*)<\/td><\/tr>/g)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual([
      ['0', '0'],
      ['1', '10'],
      ['…', '…'],
      ['98', '980'],
      ['99', '990'],
    ]);
    expect(html).toContain('<p>100 rows × 1 columns</p>');
  });

  it('sends HTML and aligned text to the notebook', () => {
    const sent: MimeBundle[] = [];
    showTable(df, { display: (b) => sent.push(b) });
    expect(Object.keys(sent[0]!)).toEqual(['text/html', 'text/plain']);
    expect((sent[0]!['text/plain'] as string).split('\n')).toEqual([
      '   PULocationID  trip_distance  store_and_fwd_flag',
      '0           161            1.2                   N',
      '1           237        17.6254                 <Y>',
      '2            48       0.333333                   N',
    ]);
    expect(() => showTable(df)).toThrow('plots: showTable needs a running tslab kernel (a notebook cell); outside one, use tableHtml(frame)');
  });
});
