/**
 * Plots: plotly figure specs for the course's charts, and showing or saving them.
 *
 * Figures are data first: builders such as `durationDistributionFigure` are pure
 * functions returning a plotly `{data, layout}` spec with the numbers already
 * reduced (histogram bins, density curves), never the raw points, so a figure of
 * three million durations is a few kilobytes and tests can snapshot it.
 *
 * Showing is separate: `showFigure` sends one MIME bundle to the running tslab
 * kernel, `saveFigureHtml` writes a standalone file, `showTable` renders a danfojs
 * frame as an HTML table. plotly.js itself never runs in Node (its bundle throws
 * under `require`); we read it as text and inline it into HTML.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

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

/** Options of `kernelDensity`. */
export interface KernelDensityOptions {
  /** Gaussian kernel standard deviation; default Scott's rule `std · n^(-1/5)` (scipy's `gaussian_kde`). */
  bandwidth?: number;
  /** Points of the returned curve; default 200 (seaborn's `gridsize`). */
  gridSize?: number;
  /** How many bandwidths the curve extends past the data on each side; default 3 (seaborn's `cut`). */
  cut?: number;
  /** Evaluate on exactly this range instead of `[min - cut·h, max + cut·h]`. */
  range?: readonly [number, number];
}

/** A density curve: `density[i]` is the estimate at `x[i]`. */
export interface DensityCurve {
  x: Float64Array;
  density: Float64Array;
  /** The bandwidth used. */
  bandwidth: number;
  /** How many finite values went in. */
  count: number;
}

/** Options of `distributionFigure` and `durationDistributionFigure`. */
export interface DistributionFigureOptions {
  /** Number of histogram bins shared by all series; default 50 (seaborn's distplot caps at 50). */
  bins?: number;
  /** Histogram range; default the smallest to largest finite value over all series. */
  range?: readonly [number, number];
  /** Figure title. */
  title?: string;
  /** X axis title. */
  xTitle?: string;
  /** Points per density curve; default 200. */
  gridSize?: number;
  /** Draw the smooth density curves; default true. */
  curves?: boolean;
}

/** Options of `showFigure`. */
export interface ShowFigureOptions {
  /**
   * Inline plotly.js into this output. Default: only with the first figure shown by this
   * kernel process, so a notebook carries the 3.6 MB bundle once, not once per plot.
   */
  includePlotlyJs?: boolean;
  /** Where to send the MIME bundle; default the running tslab kernel. */
  display?: (bundle: MimeBundle) => void;
  /** Height in pixels of the HTML fallback's div; default 450. */
  height?: number;
}

/** A Jupyter MIME bundle: one representation per MIME type. */
export type MimeBundle = Record<string, unknown>;

/** The columns, index and row values of a danfojs DataFrame (or anything shaped like one). */
export interface FrameLike {
  columns: readonly string[];
  index: ArrayLike<string | number>;
  values: ArrayLike<unknown>;
}

/** Options of `tableHtml` and `showTable`. */
export interface TableOptions {
  /** Rows shown; longer frames show the first and last half with an ellipsis row (as pandas). Default 20. */
  maxRows?: number;
  /** Significant digits of non-integer numbers; default 6. */
  digits?: number;
  /** Where `showTable` sends the bundle; default the running tslab kernel. */
  display?: (bundle: MimeBundle) => void;
}

const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
// matplotlib's first two default colours, which the course's seaborn plots use.
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];

/**
 * Summary of finite values: count, min, max, mean, sample standard deviation.
 * One pass (Welford), so three million values take a few milliseconds.
 */
interface Summary {
  n: number;
  min: number;
  max: number;
  std: number;
}

function describe(values: ArrayLike<number>): Summary {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    n++;
    const d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { n, min, max, std: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0 };
}

/**
 * Smooth density of a sample by a Gaussian kernel, computed on a grid (a binned KDE).
 *
 * The values are first spread linearly onto a fine grid (two neighbouring grid points
 * per value, O(n)), then the grid is convolved with the kernel (O(grid × kernel width)),
 * so three million values cost one pass instead of the O(n × grid) of an exact KDE.
 * The fine grid is kept at a quarter of the bandwidth or finer, which keeps the result
 * within about 0.1 % of scipy's `gaussian_kde` at the curve's peak.
 * Edge cases: non-finite values are skipped; one distinct value (zero spread) uses a
 * bandwidth of 1 % of |value| (or 0.01) so the curve is a narrow bump, not a division by zero.
 *
 * @throws Error when there is no finite value, or when `bandwidth` / `gridSize` are invalid.
 * @example
 * const { x, density } = kernelDensity(Float64Array.of(1, 2, 2, 3));
 * // x: 200 points from 1 - 3h to 3 + 3h; density integrates to about 1
 */
export function kernelDensity(values: ArrayLike<number>, options: KernelDensityOptions = {}): DensityCurve {
  const stats = describe(values);
  const grid = densityGrid(stats, options);
  const { lo, step, fine, weights } = grid;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    const t = (v - lo) / step;
    if (t < 0 || t > fine - 1) continue; // outside an explicit range
    const j = Math.min(Math.floor(t), fine - 2);
    const f = t - j;
    weights[j]! += 1 - f;
    weights[j + 1]! += f;
  }
  return grid.curve();
}

/** The fine grid of a binned KDE: values are spread onto `weights` (fine points from `lo`, `step` apart), then `curve()`. */
interface DensityGrid {
  lo: number;
  step: number;
  fine: number;
  weights: Float64Array;
  curve: () => DensityCurve;
}

/**
 * The binned KDE's grid for one sample whose summary is known. The caller spreads the
 * values onto `weights` (linear binning, in its own loop) and calls `curve()` to smooth
 * and resample. Split out of kernelDensity so distributionFigure can bin in the same
 * pass as its histogram.
 */
function densityGrid(stats: Summary, options: KernelDensityOptions): DensityGrid {
  const { gridSize = 200, cut = 3 } = options;
  if (stats.n === 0) throw new Error('plots: kernelDensity needs at least one finite value, got none');
  if (!Number.isInteger(gridSize) || gridSize < 2) {
    throw new Error(`plots: gridSize must be an integer of at least 2, got ${gridSize}`);
  }
  let h = options.bandwidth ?? stats.std * Math.pow(stats.n, -1 / 5);
  if (options.bandwidth !== undefined && !(h > 0 && Number.isFinite(h))) {
    throw new Error(`plots: bandwidth must be a positive number, got ${options.bandwidth}`);
  }
  if (!(h > 0)) h = Math.abs(stats.min) * 0.01 || 0.01;
  const [lo, hi] = options.range ?? [stats.min - cut * h, stats.max + cut * h];
  if (!(hi > lo)) throw new Error(`plots: range must be increasing, got [${lo}, ${hi}]`);

  // Fine grid: spacing at most h/4 (accurate linear binning), at least gridSize points,
  // at most 2^14 (a wide range with a tiny bandwidth then gets a coarser, still smooth, curve).
  const fine = Math.min(1 << 14, Math.max(gridSize, Math.ceil(((hi - lo) / h) * 4) + 1));
  const step = (hi - lo) / (fine - 1);
  const weights = new Float64Array(fine);
  const curve = (): DensityCurve => {
    // Kernel truncated at 5 bandwidths (mass lost below 1e-6).
    const half = Math.min(fine - 1, Math.ceil((5 * h) / step));
    const kernel = new Float64Array(2 * half + 1);
    const norm = 1 / (stats.n * h * Math.sqrt(2 * Math.PI));
    for (let k = -half; k <= half; k++) kernel[k + half] = norm * Math.exp(-0.5 * ((k * step) / h) ** 2);
    const smooth = new Float64Array(fine);
    for (let j = 0; j < fine; j++) {
      const w = weights[j]!;
      if (w === 0) continue;
      const from = Math.max(0, j - half);
      const to = Math.min(fine - 1, j + half);
      for (let m = from; m <= to; m++) smooth[m]! += w * kernel[m - j + half]!;
    }
    // Resample the fine grid onto the requested points (linear interpolation).
    const x = new Float64Array(gridSize);
    const density = new Float64Array(gridSize);
    for (let i = 0; i < gridSize; i++) {
      const xi = lo + ((hi - lo) * i) / (gridSize - 1);
      const t = (xi - lo) / step;
      const j = Math.min(Math.floor(t), fine - 2);
      const f = t - j;
      x[i] = xi;
      density[i] = smooth[j]! * (1 - f) + smooth[j + 1]! * f;
    }
    return { x, density, bandwidth: h, count: stats.n };
  };
  return { lo, step, fine, weights, curve };
}

/**
 * Histogram normalised as a density (bar areas sum to 1, as matplotlib's `density=True`).
 *
 * Bins are `bins` equal slices of `[lo, hi]`; the last bin includes `hi`; values outside
 * the range and non-finite values are skipped (and not counted in the normalisation).
 *
 * @example
 * densityHistogram(Float64Array.of(0, 0.5, 1), 2, [0, 1]).density; // Float64Array [1, 1]
 */
export function densityHistogram(
  values: ArrayLike<number>,
  bins: number,
  range: readonly [number, number],
): { edges: Float64Array; density: Float64Array; count: number } {
  checkBins(bins, range);
  const [lo, hi] = range;
  const counts = new Float64Array(bins);
  const scale = bins / (hi - lo);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= lo && v <= hi)) continue; // also skips NaN
    counts[Math.min(bins - 1, Math.floor((v - lo) * scale))]! += 1;
    count++;
  }
  return histogramDensity(counts, count, range);
}

function checkBins(bins: number, [lo, hi]: readonly [number, number]): void {
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`plots: bins must be a positive integer, got ${bins}`);
  if (!(hi > lo)) throw new Error(`plots: histogram range must be increasing, got [${lo}, ${hi}]`);
}

/** Bin counts (of `count` values in range) to densityHistogram's result. */
function histogramDensity(
  counts: Float64Array,
  count: number,
  [lo, hi]: readonly [number, number],
): { edges: Float64Array; density: Float64Array; count: number } {
  const bins = counts.length;
  const width = (hi - lo) / bins;
  const edges = Float64Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const density = counts.map((c) => (count > 0 ? c / (count * width) : 0));
  return { edges, density, count };
}

/** Rounds to 6 significant digits: enough for a chart, and it keeps notebook outputs small. */
function compact(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => (v === 0 ? 0 : Number(v.toPrecision(6))));
}

/**
 * Overlaid density histograms with smooth density curves, one colour per series
 * (seaborn's `distplot` as the course uses it), as a plotly figure spec.
 *
 * All series share the same bins so the bars compare; the curves come from
 * `kernelDensity`. Series without finite values are an error (an empty prediction
 * array is a bug upstream, not an empty chart).
 *
 * @throws Error when `series` is empty or a series has no finite value.
 * @example
 * const fig = distributionFigure([{ name: 'duration', values: clean.duration }], { xTitle: 'minutes' });
 * showFigure(fig);
 */
export function distributionFigure(series: readonly Series[], options: DistributionFigureOptions = {}): Figure {
  const { bins = 50, gridSize = 200, curves = true } = options;
  if (series.length === 0) throw new Error('plots: distributionFigure needs at least one series, got none');
  let lo = Infinity;
  let hi = -Infinity;
  const summaries = series.map((s) => {
    const d = describe(s.values);
    if (d.n === 0) throw new Error(`plots: series '${s.name}' has no finite values (length ${s.values.length})`);
    lo = Math.min(lo, d.min);
    hi = Math.max(hi, d.max);
    return d;
  });
  const range: readonly [number, number] = options.range ?? (hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5]);
  const data: Trace[] = [];
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    // One pass per series fills both the histogram and the density curve's grid
    // (the same arithmetic as densityHistogram and kernelDensity, value by value).
    checkBins(bins, range);
    const [hLo, hHi] = range;
    const counts = new Float64Array(bins);
    const scale = bins / (hHi - hLo);
    let inRange = 0;
    const grid = curves ? densityGrid(summaries[i]!, { gridSize }) : undefined;
    const { lo: gLo, step, fine, weights } = grid ?? { lo: 0, step: 1, fine: 0, weights: new Float64Array(0) };
    const values = s.values;
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      if (v >= hLo && v <= hHi) {
        counts[Math.min(bins - 1, Math.floor((v - hLo) * scale))]! += 1;
        inRange++;
      }
      if (fine === 0 || !Number.isFinite(v)) continue;
      const t = (v - gLo) / step;
      if (t < 0 || t > fine - 1) continue;
      const j = Math.min(Math.floor(t), fine - 2);
      const f = t - j;
      weights[j]! += 1 - f;
      weights[j + 1]! += f;
    }
    const hist = histogramDensity(counts, inRange, range);
    const width = (range[1] - range[0]) / bins;
    data.push({
      type: 'bar',
      name: s.name,
      legendgroup: s.name,
      x: compact(hist.edges.subarray(0, bins).map((e) => e + width / 2)),
      y: compact(hist.density),
      width,
      marker: { color, line: { width: 0 } },
      opacity: 0.4,
      hovertemplate: `${s.name}: %{y:.4f}<extra></extra>`,
    });
    if (grid) {
      const kde = grid.curve();
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: `${s.name} (density)`,
        legendgroup: s.name,
        showlegend: false,
        x: compact(kde.x),
        y: compact(kde.density),
        line: { color, width: 2 },
        hoverinfo: 'skip',
      });
    }
  });
  const layout: Record<string, unknown> = {
    barmode: 'overlay',
    bargap: 0,
    xaxis: { title: { text: options.xTitle ?? '' } },
    yaxis: { title: { text: 'density' } },
    legend: { x: 0.99, xanchor: 'right', y: 0.99 },
    margin: { l: 60, r: 20, t: options.title ? 50 : 20, b: 50 },
    height: 420,
  };
  if (options.title) layout.title = { text: options.title };
  return { data, layout, config: { responsive: true } };
}

/**
 * The course's chart of predicted against actual trip durations: two overlaid
 * density histograms with smooth curves ("prediction" first, then "actual", as
 * `sns.distplot(y_pred); sns.distplot(y_train)`), x axis in minutes.
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

let plotlyJsCache: string | undefined;

/**
 * The text of plotly.js (the `plotly.js-dist-min` bundle), for inlining into HTML.
 *
 * Read as a file, never `require`d: the UMD bundle needs a browser.
 *
 * @throws Error when `plotly.js-dist-min` is not installed.
 * @example
 * const js = plotlyJs(); // "/**\n* plotly.js v4.1.2 ..."
 */
export function plotlyJs(): string {
  if (plotlyJsCache === undefined) {
    let dir: string;
    try {
      dir = dirname(createRequire(import.meta.url).resolve('plotly.js-dist-min/package.json'));
    } catch {
      throw new Error("plots: plotly.js-dist-min is not installed; run 'npm ci' in the project");
    }
    plotlyJsCache = readFileSync(join(dir, 'plotly.min.js'), 'utf8');
  }
  return plotlyJsCache;
}

/** JSON safe to put inside a <script> element (no `</script>` or `<!--` can end it early). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * A <script> element defining `window.Plotly`. The bundle runs inside a function whose
 * `define`, `module` and `exports` are undefined: classic Notebook and VS Code pages carry
 * require.js, and plotly's UMD header would otherwise register an AMD module instead of
 * setting `window.Plotly`.
 */
function plotlyScript(): string {
  const js = plotlyJs().replace(/<\/script/gi, '<\\/script');
  return `<script type="text/javascript">(function(define, module, exports) {\n${js}\n}).call(window);</script>`;
}

/** HTML that draws `figure` into a new div once `window.Plotly` exists (polling; gives up with a message). */
function figureDivHtml(figure: Figure, height: number): string {
  const id = `taxi-figure-${randomBytes(6).toString('hex')}`;
  const spec = scriptJson({ data: figure.data, layout: figure.layout, config: figure.config ?? {} });
  return `<div id="${id}" class="taxi-duration-figure" style="height:${height}px;width:100%"></div>
<script type="text/javascript">(function () {
  var fig = ${spec}, tries = 0;
  function draw() {
    var div = document.getElementById('${id}');
    if (!div) return;
    if (window.Plotly) { window.Plotly.newPlot(div, fig.data, fig.layout, fig.config); return; }
    if (++tries > 200) { div.textContent = 'plotly.js is not loaded: it comes with the first figure a kernel shows; restart the kernel and run all cells.'; return; }
    setTimeout(draw, 50);
  }
  draw();
})();</script>`;
}

/** One-line text for outputs where neither HTML nor plotly can render (a terminal, a plain log). */
function figureText(figure: Figure): string {
  const title = (figure.layout.title as { text?: string } | undefined)?.text;
  const names = figure.data.map((t) => t.name).filter((n) => n && !n.endsWith('(density)'));
  return `<plotly figure${title ? ` '${title}'` : ''}: ${figure.data.length} traces (${names.join(', ')})>`;
}

/**
 * The `display_data` sender of the running tslab kernel, or undefined outside one.
 *
 * tslab's public `display.raw` sends one MIME type per output; we need several in one
 * bundle (plotly JSON for renderers that have it, HTML for those that do not), so we use
 * the sender tslab keeps for the executing cell. We look it up among loaded modules
 * rather than importing tslab: the kernel that runs the notebook has loaded it already,
 * and the library does not depend on tslab.
 */
function tslabDisplay(): ((bundle: MimeBundle) => void) | undefined {
  const cache = createRequire(import.meta.url).cache;
  for (const [key, mod] of Object.entries(cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) continue;
    const send = (mod?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    if (typeof send === 'function') {
      return (bundle) => send({ data: bundle, metadata: {}, transient: {} }, false);
    }
  }
  return undefined;
}

function resolveDisplay(display: ((bundle: MimeBundle) => void) | undefined, what: string): (bundle: MimeBundle) => void {
  const send = display ?? tslabDisplay();
  if (!send) {
    throw new Error(
      `plots: ${what} needs a running tslab kernel (a notebook cell); outside one, use ${
        what === 'showFigure' ? 'saveFigureHtml(figure, path)' : 'tableHtml(frame)'
      }`,
    );
  }
  return send;
}

let plotlyJsShown = false;
const plotlyJsShownTo = new WeakSet<object>();

/**
 * The MIME bundle `showFigure` sends: plotly JSON (JupyterLab with plotly's renderer,
 * VS Code, Codespaces), HTML drawing with inlined plotly.js (JupyterLab without the
 * renderer, nbconvert HTML exports) and a line of text.
 *
 * @example
 * const bundle = figureBundle(fig, { includePlotlyJs: false });
 * Object.keys(bundle); // ['application/vnd.plotly.v1+json', 'text/html', 'text/plain']
 */
export function figureBundle(figure: Figure, options: { includePlotlyJs: boolean; height?: number }): MimeBundle {
  const html = (options.includePlotlyJs ? plotlyScript() + '\n' : '') + figureDivHtml(figure, options.height ?? 450);
  return {
    [PLOTLY_MIME]: { data: figure.data, layout: figure.layout, config: figure.config ?? {} },
    'text/html': html,
    'text/plain': figureText(figure),
  };
}

/**
 * Shows a figure as the output of the running notebook cell (tslab kernel).
 *
 * Works offline: plotly.js is inlined into the first figure this kernel shows (so a
 * notebook carries it once; "restart and run all" puts it back), and later figures
 * wait for it. JupyterLab with plotly's renderer and VS Code draw the plotly JSON
 * instead and ignore the HTML. In JupyterLab, HTML scripts run only in trusted
 * notebooks: those you executed yourself, or after `jupyter trust`.
 *
 * @throws Error outside a running tslab kernel (use `saveFigureHtml` there).
 * @example
 * showFigure(durationDistributionFigure({ actual: y, predicted: yPred }));
 */
export function showFigure(figure: Figure, options: ShowFigureOptions = {}): void {
  const send = resolveDisplay(options.display, 'showFigure');
  const shown = options.display ? plotlyJsShownTo.has(options.display) : plotlyJsShown;
  const include = options.includePlotlyJs ?? !shown;
  const bundle = figureBundle(figure, { includePlotlyJs: include, ...(options.height ? { height: options.height } : {}) });
  send(bundle);
  if (include) {
    if (options.display) plotlyJsShownTo.add(options.display);
    else plotlyJsShown = true;
  }
}

/** Escapes text for HTML element content and attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A standalone HTML page drawing the figure, with plotly.js inlined (opens offline).
 *
 * @example
 * const html = figureHtml(fig, { title: 'durations' }); // '<!doctype html>...'
 */
export function figureHtml(figure: Figure, options: { title?: string } = {}): string {
  const title = options.title ?? (figure.layout.title as { text?: string } | undefined)?.text ?? 'figure';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
${plotlyScript()}
</head>
<body>
${figureDivHtml(figure, Number(figure.layout.height ?? 450))}
</body>
</html>
`;
}

/**
 * Writes the figure as a standalone HTML file (plotly.js inlined, works offline),
 * creating the parent folder if needed. Returns the path.
 *
 * @example
 * await saveFigureHtml(fig, 'build/duration.html');
 */
export async function saveFigureHtml(figure: Figure, path: string, options: { title?: string } = {}): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, figureHtml(figure, options), 'utf8');
  return path;
}

/** A cell value as text: non-integers to `digits` significant digits, dates as ISO, nullish as empty. */
function formatCell(value: unknown, digits: number): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(digits)));
  }
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace(/\.000Z$/, '');
  return String(value);
}

/** The rows to show: all, or the first and last halves of `maxRows` with a gap marker (-1). */
function shownRows(total: number, maxRows: number): number[] {
  if (total <= maxRows) return Array.from({ length: total }, (_, i) => i);
  const head = Math.ceil(maxRows / 2);
  const tail = Math.floor(maxRows / 2);
  return [...Array.from({ length: head }, (_, i) => i), -1, ...Array.from({ length: tail }, (_, i) => total - tail + i)];
}

function rowOf(frame: FrameLike, i: number): readonly unknown[] {
  const row = frame.values[i];
  // A one-column danfojs frame can hand back its values flat.
  return Array.isArray(row) ? row : [row];
}

/**
 * A danfojs DataFrame (or anything with `columns`, `index`, `values`) as an HTML table
 * in pandas' style (`class="dataframe"`, index in the first column, a shape line).
 *
 * Long frames show the first and last rows with an ellipsis row between; text is
 * HTML-escaped.
 *
 * @example
 * tableHtml(toDataFrame(trips, { head: 5 })); // '<table class="dataframe">...'
 */
export function tableHtml(frame: FrameLike, options: TableOptions = {}): string {
  const { maxRows = 20, digits = 6 } = options;
  const total = frame.values.length;
  const cols = frame.columns;
  const head = `<thead><tr style="text-align: right;"><th></th>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>`;
  const body = shownRows(total, maxRows)
    .map((i) => {
      if (i < 0) return `<tr><th>…</th>${cols.map(() => '<td>…</td>').join('')}</tr>`;
      const cells = rowOf(frame, i).map((v) => `<td>${escapeHtml(formatCell(v, digits))}</td>`);
      return `<tr><th>${escapeHtml(String(frame.index[i]))}</th>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<div class="taxi-duration-table"><table class="dataframe" border="1">
${head}
<tbody>
${body}
</tbody>
</table>
<p>${total} rows × ${cols.length} columns</p></div>`;
}

/** The same table as aligned plain text, for outputs without HTML. */
function tableText(frame: FrameLike, options: TableOptions): string {
  const { maxRows = 20, digits = 6 } = options;
  const rows = shownRows(frame.values.length, maxRows).map((i) =>
    i < 0 ? ['…', ...frame.columns.map(() => '…')] : [String(frame.index[i]), ...rowOf(frame, i).map((v) => formatCell(v, digits))],
  );
  const all = [['', ...frame.columns], ...rows];
  const widths = all[0]!.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all.map((r) => r.map((cell, c) => cell.padStart(widths[c]!)).join('  ')).join('\n');
}

/**
 * Shows a danfojs DataFrame as an HTML table in the running notebook cell (with a
 * plain-text copy for outputs without HTML).
 *
 * danfojs' own `print()` writes a box-drawn text table to stdout; this gives the
 * table notebooks show for pandas.
 *
 * @throws Error outside a running tslab kernel (use `tableHtml` there).
 * @example
 * showTable(toDataFrame(trips, { head: 5 }));
 */
export function showTable(frame: FrameLike, options: TableOptions = {}): void {
  const send = resolveDisplay(options.display, 'showTable');
  send({ 'text/html': tableHtml(frame, options), 'text/plain': tableText(frame, options) });
}
