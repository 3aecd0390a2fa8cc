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
import { densityHistogram, focusRange, kernelDensity, scottBandwidth, splitByRange, type FocusRange } from './density.js';

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
    const color = COLORS[i % COLORS.length]!;
    const inView = focus.splits[i]!.inside;
    if (inView.n === 0) {
      throw new Error(`plots: series '${s.name}' has no value in the range [${range[0]}, ${range[1]}]; widen the range or use 'bulk'`);
    }
    const hist = densityHistogram(s.values, bins, range);
    data.push({
      type: 'bar',
      name: s.name,
      legendgroup: s.name,
      x: sixDigits(hist.edges.subarray(0, bins).map((e) => e + width / 2)),
      y: sixDigits(hist.density),
      width,
      marker: { color, line: { width: 0 } },
      opacity: 0.4,
      hovertemplate: `${s.name}: %{y:.4f}<extra></extra>`,
    });
    if (curves) {
      const kde = kernelDensity(s.values, { bandwidth: scottBandwidth(inView), range, gridSize });
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: `${s.name} (density)`,
        legendgroup: s.name,
        showlegend: false,
        x: sixDigits(kde.x),
        y: sixDigits(kde.density),
        line: { color, width: 2 },
        hoverinfo: 'skip',
      });
    }
  });
  const meta: DistributionMeta = {
    range,
    outside: series.map((s, i) => {
      const { below, above, min, max } = focus.splits[i]!;
      return { name: s.name, below, above, min, max };
    }),
  };
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
  return { data, layout, config: { responsive: true } };
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
