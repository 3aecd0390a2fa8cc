/**
 * Plots: plotly figure specs for the course's charts.
 *
 * Figures are data first: builders such as `durationDistributionFigure` are pure
 * functions returning a plotly `{data, layout}` spec with the numbers already
 * reduced (histogram bins, density curves), never the raw points, so a figure of
 * three million durations is a few kilobytes and tests can snapshot it. The numbers
 * come from density.ts; showing and saving figures is display.ts's job.
 *
 * Charts focus on where the data is: real TLC months hold trips of 300,000 miles whose
 * predicted durations run to hundreds of thousands of minutes, and an axis stretched
 * to them leaves the 0–60 minutes that matter a sliver. By default the x axis spans
 * each series' 0.1–99.9 percentiles (the whole series when it has no far outliers),
 * and the figure says how many values lie outside and how far they reach.
 */
import type { BinnedSeries } from './binnedSeries.js';
import { densityHistogram, focusRange, kernelDensity, kernelDensityOfBins, scottBandwidth, splitByRange, type FocusRange } from './density.js';

// Saving a figure is part of making one for callers such as pipeline.ts, which import both from here.
export { saveFigureHtml } from './display.js';

/** One plotly trace: a plain JSON object (`type`, `x`, `y`, `name`, ...). */
export type Trace = Record<string, unknown> & { type: string; name?: string };

/** A plotly figure spec, as `Plotly.newPlot(div, data, layout, config)` takes it. */
export interface Figure {
  /** The traces, drawn in order (later ones on top). */
  data: Trace[];
  /** Axes, title, legend, size. */
  layout: Record<string, unknown>;
  /** Display options such as `responsive`; optional. */
  config?: Record<string, unknown>;
}

/** A named series of numbers to draw as a distribution. */
export interface Series {
  /** Legend label, e.g. `'actual'`. */
  name: string;
  /** The values; non-finite ones (NaN, ±Infinity) are skipped. */
  values: ArrayLike<number>;
}

/** Options of `distributionFigure` and `durationDistributionFigure`. */
export interface DistributionFigureOptions {
  /** Number of histogram bins shared by all series; default 50 (seaborn's distplot caps at 50). */
  bins?: number;
  /**
   * The x range shown. `'bulk'` (default): each series' 0.1–99.9 percentiles, widened to its
   * extremes when they are near (see `focusRange`); `'all'`: smallest to largest value;
   * or an explicit `[lo, hi]`. Values outside are counted in a note on the chart and left out
   * of the bars and curves (which then show the density of what is in view).
   */
  range?: readonly [number, number] | 'bulk' | 'all';
  /** Figure title. */
  title?: string;
  /** X axis title. */
  xTitle?: string;
  /** Points per density curve; default 200. */
  gridSize?: number;
  /** Draw the smooth density curves; default true. */
  curves?: boolean;
}

/**
 * What a distribution figure left out, in `layout.meta` (plotly keeps it as is): the
 * range shown and, per series, the values below and above it and the series' extremes.
 */
export interface DistributionMeta {
  range: [number, number];
  outside: { name: string; below: number; above: number; min: number; max: number }[];
}

// matplotlib's first two default colours, which the course's seaborn plots use.
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];

/** Rounds to 6 significant digits: enough for a chart, and it keeps notebook outputs small. */
function sixDigits(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => (v === 0 ? 0 : Number(v.toPrecision(6))));
}

/** A number for a note on a chart: 4 significant digits, thousands separated, a real minus sign. */
function readable(value: number): string {
  const text = Math.abs(value) >= 1e4 ? Math.round(value).toLocaleString('en-US') : String(Number(value.toPrecision(4)));
  return text.replace('-', '−');
}

/** "prediction: 3 above 61.9 (up to 704,213)", or nothing when the series is all in view. */
function outsideText({ name, below, above, min, max }: DistributionMeta['outside'][number], [lo, hi]: [number, number]): string | undefined {
  const parts = [
    ...(below > 0 ? [`${below.toLocaleString('en-US')} below ${readable(lo)} (down to ${readable(min)})`] : []),
    ...(above > 0 ? [`${above.toLocaleString('en-US')} above ${readable(hi)} (up to ${readable(max)})`] : []),
  ];
  return parts.length > 0 ? `${name}: ${parts.join(', ')}` : undefined;
}

/**
 * Overlaid density histograms with smooth density curves, one colour per series
 * (seaborn's `distplot` as the course uses it), as a plotly figure spec.
 *
 * All series share the same bins so the bars compare; the curves are binned Gaussian
 * KDEs (density.ts). The x axis focuses on the bulk of the data (option `range`); a note
 * at the top says how many values of which series lie outside it and how far they reach,
 * and `layout.meta` holds the same as numbers ({@link DistributionMeta}). Series without
 * finite values are an error (an empty prediction array is a bug upstream, not an empty chart).
 *
 * @throws Error (`plots: ...`) when `series` is empty, a series has no finite value, or
 *   a series has no value inside an explicit range.
 * @example
 * const fig = distributionFigure([{ name: 'duration', values: clean.duration }], { xTitle: 'minutes' });
 * showFigure(fig);
 */
export function distributionFigure(series: readonly Series[], options: DistributionFigureOptions = {}): Figure {
  const { bins = 50, gridSize = 200, curves = true } = options;
  if (series.length === 0) throw new Error('plots: distributionFigure needs at least one series, got none');
  for (const s of series) {
    // Stops at the first finite value: a cheap check before the passes over millions of values.
    if (!Array.prototype.some.call(s.values, Number.isFinite)) {
      throw new Error(`plots: series '${s.name}' has no finite values (length ${s.values.length})`);
    }
  }
  const focus = focusOf(series, options.range ?? 'bulk');
  const { range } = focus;
  const data: Trace[] = [];
  const width = (range[1] - range[0]) / bins;
  series.forEach((s, i) => {
    const inView = focus.splits[i]!.inside;
    if (inView.n === 0) {
      throw new Error(`plots: series '${s.name}' has no value in the range [${range[0]}, ${range[1]}]; widen the range or use 'bulk'`);
    }
    const hist = densityHistogram(s.values, bins, range);
    const curve = curves ? kernelDensity(s.values, { bandwidth: scottBandwidth(inView), range, gridSize }) : undefined;
    data.push(...seriesTraces(s.name, i, { x: hist.edges.subarray(0, bins).map((e) => e + width / 2), y: hist.density, width }, curve));
  });
  const meta: DistributionMeta = {
    range,
    outside: series.map((s, i) => {
      const { below, above, min, max } = focus.splits[i]!;
      return { name: s.name, below, above, min, max };
    }),
  };
  return { data, layout: distributionLayout(meta, options), config: { responsive: true } };
}

/** One series' traces: density bars and, when given, its smooth curve, in the series' colour. */
function seriesTraces(name: string, index: number, bars: { x: ArrayLike<number>; y: ArrayLike<number>; width: number | number[] }, curve?: { x: ArrayLike<number>; density: ArrayLike<number> }): Trace[] {
  const color = COLORS[index % COLORS.length]!;
  const traces: Trace[] = [
    {
      type: 'bar',
      name,
      legendgroup: name,
      x: sixDigits(bars.x),
      y: sixDigits(bars.y),
      width: bars.width,
      marker: { color, line: { width: 0 } },
      opacity: 0.4,
      hovertemplate: `${name}: %{y:.4f}<extra></extra>`,
    },
  ];
  if (curve) {
    traces.push({
      type: 'scatter',
      mode: 'lines',
      name: `${name} (density)`,
      legendgroup: name,
      showlegend: false,
      x: sixDigits(curve.x),
      y: sixDigits(curve.density),
      line: { color, width: 2 },
      hoverinfo: 'skip',
    });
  }
  return traces;
}

/** The layout of a distribution chart: axes on `meta.range`, the title, and a note of what lies outside. */
function distributionLayout(meta: DistributionMeta, options: DistributionFigureOptions): Record<string, unknown> {
  const { range } = meta;
  const notes = meta.outside.map((o) => outsideText(o, range)).filter((t): t is string => t !== undefined);
  const layout: Record<string, unknown> = {
    barmode: 'overlay',
    bargap: 0,
    xaxis: { title: { text: options.xTitle ?? '' }, range: [...range] },
    yaxis: { title: { text: 'density' } },
    legend: { x: 0.99, xanchor: 'right', y: 0.99 },
    margin: { l: 60, r: 20, t: options.title || notes.length > 0 ? 50 + 16 * notes.length : 20, b: 50 },
    height: 420 + 16 * notes.length,
    meta,
  };
  if (options.title) layout.title = { text: options.title };
  if (notes.length > 0) {
    // Under the title, above the plot: a reader sees what the axis leaves out before reading it.
    layout.annotations = [
      {
        xref: 'paper',
        yref: 'paper',
        x: 0,
        y: 1,
        xanchor: 'left',
        yanchor: 'bottom',
        yshift: 4,
        align: 'left',
        showarrow: false,
        font: { size: 11, color: '#555' },
        text: `Outside the x axis: ${notes.join('<br>')}`,
      },
    ];
  }
  return layout;
}

/** The range to draw and, per series, what lies outside it. */
function focusOf(series: readonly Series[], range: NonNullable<DistributionFigureOptions['range']>): FocusRange {
  if (range === 'bulk') return focusRange(series.map((s) => s.values));
  if (range === 'all') return focusRange(series.map((s) => s.values), { tail: 0 });
  const [lo, hi] = range;
  if (!(hi > lo)) throw new Error(`plots: range must be increasing, got [${lo}, ${hi}]`);
  return { range: [lo, hi], splits: series.map((s) => splitByRange(s.values, [lo, hi])) };
}

/**
 * The course's chart of predicted against actual trip durations: two overlaid
 * density histograms with smooth curves ("prediction" first, then "actual", as
 * `sns.distplot(y_pred); sns.distplot(y_train)`), x axis in minutes, focused on
 * the bulk of both (see {@link distributionFigure}): a handful of absurd predictions
 * from 100,000-mile trips are counted in a note, not allowed to flatten the chart.
 *
 * Three million values per series take well under a second: the spec holds
 * only the bins and 200-point curves.
 *
 * @throws Error when either series has no finite value.
 * @example
 * const fig = durationDistributionFigure({ actual: clean.duration, predicted: model.predict(X) });
 * showFigure(fig);
 */
export function durationDistributionFigure(
  { actual, predicted }: { actual: ArrayLike<number>; predicted: ArrayLike<number> },
  options: DistributionFigureOptions = {},
): Figure {
  return distributionFigure(
    [
      { name: 'prediction', values: predicted },
      { name: 'actual', values: actual },
    ],
    { xTitle: 'duration (minutes)', ...options },
  );
}

/** A named {@link BinnedSeries} to draw as a distribution. */
export interface BinnedSeriesInput {
  /** Legend label, e.g. `'actual'`. */
  name: string;
  /** The counted values. */
  bins: BinnedSeries;
}

/**
 * {@link distributionFigure} for values counted into fine bins while streaming
 * ({@link BinnedSeries}): the same bars, curves, bulk-focused axis and note, from a few kB of
 * counts instead of the values. Every series must share one window (the pipeline's do).
 *
 * The view and the bars are snapped to the fine bins (about 0.06 min wide for the course's
 * durations); percentiles and the curve's bandwidth come from the bins, so they agree with
 * the values' own to within a bin. Values outside the window count as outside the view.
 *
 * @throws Error (`plots: ...`) when `series` is empty, a series has no finite value in its
 *   window, or the windows differ.
 * @example
 * const fig = binnedDistributionFigure([{ name: 'prediction', bins: predicted }, { name: 'actual', bins: actual }]);
 */
export function binnedDistributionFigure(series: readonly BinnedSeriesInput[], options: DistributionFigureOptions = {}): Figure {
  const { bins = 50, gridSize = 200, curves = true } = options;
  if (series.length === 0) throw new Error('plots: binnedDistributionFigure needs at least one series, got none');
  const [{ bins: first }] = series as [BinnedSeriesInput];
  for (const { name, bins: b } of series) {
    if (b.lo !== first.lo || b.width !== first.width || b.counts.length !== first.counts.length) {
      throw new Error(`plots: series '${name}' is binned over [${b.lo}, ${b.hi}], not [${first.lo}, ${first.hi}] as '${series[0]!.name}'; bin every series alike`);
    }
    if (b.count - b.below - b.above === 0) throw new Error(`plots: series '${name}' has no finite values in its window [${b.lo}, ${b.hi}]`);
  }
  const { lo: windowLo, width: fine } = first;
  const total = first.counts.length;
  const [lo, hi] = binnedRange(series, options.range ?? 'bulk');
  // The view in whole fine bins, then display bins of `group` fine bins each (the last one may be narrower).
  const i0 = Math.max(0, Math.min(total - 1, Math.floor((lo - windowLo) / fine + 1e-9)));
  // Through the bin that holds `hi` (a value on a bin's lower edge is in that bin).
  const i1 = Math.max(i0 + 1, Math.min(total, Math.floor((hi - windowLo) / fine) + 1));
  const group = Math.max(1, Math.ceil((i1 - i0) / bins));
  const range: [number, number] = [windowLo + i0 * fine, windowLo + i1 * fine];
  const data: Trace[] = [];
  const outside: DistributionMeta['outside'] = [];
  series.forEach(({ name, bins: b }, s) => {
    let inView = 0;
    let sum = 0;
    let squares = 0;
    for (let i = i0; i < i1; i++) {
      const c = b.counts[i]!;
      const centre = windowLo + (i + 0.5) * fine;
      inView += c;
      sum += c * centre;
      squares += c * centre * centre;
    }
    if (inView === 0) throw new Error(`plots: series '${name}' has no value in the range [${range[0]}, ${range[1]}]; widen the range or use 'bulk'`);
    let below = b.below;
    let above = b.above;
    for (let i = 0; i < i0; i++) below += b.counts[i]!;
    for (let i = i1; i < total; i++) above += b.counts[i]!;
    outside.push({ name, below, above, min: b.min, max: b.max });
    const x: number[] = [];
    const y: number[] = [];
    const widths: number[] = [];
    for (let start = i0; start < i1; start += group) {
      const end = Math.min(i1, start + group);
      let c = 0;
      for (let i = start; i < end; i++) c += b.counts[i]!;
      const width = (end - start) * fine;
      x.push(windowLo + ((start + end) / 2) * fine);
      y.push(c / (inView * width));
      widths.push(width);
    }
    const mean = sum / inView;
    const std = inView > 1 ? Math.sqrt(Math.max(0, (squares - inView * mean * mean) / (inView - 1))) : 0;
    const summary = { n: inView, min: range[0], max: range[1], mean, std };
    const curve = curves ? kernelDensityOfBins(b, { bandwidth: Math.max(scottBandwidth(summary), fine), range, gridSize }) : undefined;
    const sameWidth = widths.every((w) => w === widths[0]);
    data.push(...seriesTraces(name, s, { x, y, width: sameWidth ? widths[0]! : widths }, curve));
  });
  return { data, layout: distributionLayout({ range, outside }, options), config: { responsive: true } };
}

/** The view of binned series: the bulk rule of focusRange on their binned percentiles, 'all', or as given. */
function binnedRange(series: readonly BinnedSeriesInput[], range: NonNullable<DistributionFigureOptions['range']>): [number, number] {
  if (Array.isArray(range)) {
    const [lo, hi] = range as readonly [number, number];
    if (!(hi > lo)) throw new Error(`plots: range must be increasing, got [${lo}, ${hi}]`);
    return [lo, hi];
  }
  const tail = range === 'all' ? 0 : 0.001;
  const reach = 0.1;
  let lo = Infinity;
  let hi = -Infinity;
  for (const { bins: b } of series) {
    const [qLo, qHi] = tail === 0 ? [b.min, b.max] : [b.quantile(tail), b.quantile(1 - tail)];
    const span = qHi - qLo;
    lo = Math.min(lo, b.min >= qLo - reach * span ? b.min : qLo);
    hi = Math.max(hi, b.max <= qHi + reach * span ? b.max : qHi);
  }
  return hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5];
}

/**
 * {@link durationDistributionFigure} from binned series: the course's predicted-vs-actual chart
 * of durations counted while streaming ("prediction" first, then "actual").
 *
 * @throws Error as {@link binnedDistributionFigure}.
 * @example
 * const fig = binnedDurationFigure({ actual, predicted }, { title: 'Predicted vs actual, validation 2024-02' });
 */
export function binnedDurationFigure({ actual, predicted }: { actual: BinnedSeries; predicted: BinnedSeries }, options: DistributionFigureOptions = {}): Figure {
  return binnedDistributionFigure(
    [
      { name: 'prediction', bins: predicted },
      { name: 'actual', bins: actual },
    ],
    { xTitle: 'duration (minutes)', ...options },
  );
}
