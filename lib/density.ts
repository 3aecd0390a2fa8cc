/**
 * Density: the numbers behind the distribution charts, over millions of values.
 *
 * Summaries (count, min, max, standard deviation), exact quantiles (numpy's default
 * definition, by selection rather than sorting), the view a chart should focus on
 * when a few values lie far from the rest, histograms normalised as densities, and
 * a binned Gaussian kernel density estimate. Everything is a pass or two over a
 * typed array; nothing here knows about plotly (see plots.ts) or notebooks (display.ts).
 */

/** Options of `kernelDensity`. */
export interface KernelDensityOptions {
  /** Gaussian kernel standard deviation; default Scott's rule `std · n^(-1/5)` (scipy's `gaussian_kde`). */
  bandwidth?: number;
  /** Points of the returned curve; default 200 (seaborn's `gridsize`). */
  gridSize?: number;
  /** How many bandwidths the curve extends past the data on each side; default 3 (seaborn's `cut`). */
  cut?: number;
  /** Evaluate on exactly this range instead of `[min - cut·h, max + cut·h]`; values outside it are left out. */
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

/** Count, extremes and sample standard deviation of the finite values of a series. */
export interface Summary {
  /** Finite values seen. */
  n: number;
  min: number;
  max: number;
  mean: number;
  /** Sample standard deviation (ddof 1); 0 for fewer than two values. */
  std: number;
}

/**
 * Count, min, max, mean and sample standard deviation of the finite values in
 * `[lo, hi]` (all finite values by default), in one pass (Welford, in
 * {@link splitByRange}): three million values take a few milliseconds.
 *
 * @example
 * summarize(Float64Array.of(1, 2, NaN, 3)); // { n: 3, min: 1, max: 3, mean: 2, std: 1 }
 * summarize(Float64Array.of(1, 2, 500), [0, 10]).max; // 2
 */
export function summarize(values: ArrayLike<number>, range: readonly [number, number] = [-Infinity, Infinity]): Summary {
  return splitByRange(values, range).inside;
}

/**
 * Quantiles of the finite values, as numpy's `np.quantile(values, qs)` with its default
 * linear interpolation: for n sorted values, q falls at position `q·(n-1)`, between
 * the two values around it.
 *
 * Found by selection on one copy of the finite values, not by sorting: about 30 ms for
 * three million values where a sort takes 300 ms. q = 0 and q = 1 (the extremes) cost
 * nothing extra.
 *
 * @throws Error (`density: ...`) when a q is outside [0, 1] or there is no finite value.
 * @example
 * quantiles(Float64Array.of(4, 1, 3, 2), [0, 0.5, 1]); // [1, 2.5, 4]
 */
export function quantiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  for (const q of qs) {
    if (!(q >= 0 && q <= 1)) throw new Error(`density: quantiles must be between 0 and 1, got ${q}`);
  }
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) n++;
  if (n === 0) throw new Error('density: quantiles need at least one finite value, got none');
  const a = new Float64Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0, j = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    a[j++] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // Select the needed ranks in increasing order: once rank k is in place, every value
  // left of it is ≤ a[k] and every value right of it ≥ a[k], so later ranks only search
  // the right part, and the value just above rank k is the smallest of that part.
  const order = qs.map((q, i) => [q * (n - 1), i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(qs.length);
  let from = 0;
  for (const [position, index] of order) {
    const k = Math.floor(position);
    const fraction = position - k;
    if (k === 0 && fraction === 0) {
      out[index] = min;
      continue;
    }
    if (k === n - 1) {
      out[index] = max;
      continue;
    }
    select(a, k, from, n - 1);
    from = k;
    let value = a[k]!;
    if (fraction > 0) {
      let next = Infinity;
      for (let i = k + 1; i < n; i++) if (a[i]! < next) next = a[i]!;
      value += fraction * (next - value);
    }
    out[index] = value;
  }
  return out;
}

/**
 * Rearranges `a[left..right]` so that `a[k]` holds the value of rank k, with smaller or
 * equal values before it and larger or equal ones after: Floyd and Rivest's SELECT
 * (1975), as in Vladimir Agafonkin's `quickselect`. It first narrows the search to a
 * small window around k chosen from a sample, so a rank near either end (the 0.1th
 * percentile) costs little more than one pass.
 */
function select(a: Float64Array, k: number, left: number, right: number): void {
  while (right > left) {
    if (right - left > 600) {
      const n = right - left + 1;
      const m = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
      select(a, k, Math.max(left, Math.floor(k - (m * s) / n + sd)), Math.min(right, Math.floor(k + ((n - m) * s) / n + sd)));
    }
    const t = a[k]!;
    let i = left;
    let j = right;
    swap(a, left, k);
    if (a[right]! > t) swap(a, left, right);
    while (i < j) {
      swap(a, i, j);
      i++;
      j--;
      while (a[i]! < t) i++;
      while (a[j]! > t) j--;
    }
    if (a[left] === t) swap(a, left, j);
    else {
      j++;
      swap(a, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/** A series split by a range: what lies inside it (summarized), and what lies below and above it. */
export interface RangeSplit {
  /** The finite values inside the range, summarized. */
  inside: Summary;
  /** Finite values below and above the range. */
  below: number;
  above: number;
  /** The smallest and largest finite values of the whole series (NaN when there is none). */
  min: number;
  max: number;
}

/**
 * Splits the finite values of a series by `[lo, hi]` in one pass: counts below and
 * above, the extremes, and a {@link Summary} of the values inside (for a bandwidth).
 *
 * @example
 * const split = splitByRange(Float64Array.of(-5, 1, 2, 900), [0, 60]);
 * // { below: 1, above: 1, min: -5, max: 900, inside: { n: 2, min: 1, max: 2, mean: 1.5, std: 0.707… } }
 */
export function splitByRange(values: ArrayLike<number>, [lo, hi]: readonly [number, number]): RangeSplit {
  let below = 0;
  let above = 0;
  let min = Infinity;
  let max = -Infinity;
  let n = 0;
  let mean = 0;
  let m2 = 0;
  let inMin = Infinity;
  let inMax = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v < lo) below++;
    else if (v > hi) above++;
    else {
      n++;
      const d = v - mean;
      mean += d / n;
      m2 += d * (v - mean);
      if (v < inMin) inMin = v;
      if (v > inMax) inMax = v;
    }
  }
  const inside: Summary = { n, min: inMin, max: inMax, mean: n > 0 ? mean : NaN, std: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0 };
  return min <= max ? { inside, below, above, min, max } : { inside, below, above, min: NaN, max: NaN };
}

/** The part of a series a chart shows, and how each series splits around it. */
export interface FocusRange {
  /** The range to show, `[lo, hi]`. */
  range: [number, number];
  /** Per series (in the order given): its values inside, below and above the range. */
  splits: RangeSplit[];
}

/** Options of {@link focusRange}. */
export interface FocusRangeOptions {
  /** Share of values a series may leave out at each end; default 0.001 (the 0.1 and 99.9 percentiles). */
  tail?: number;
  /** How far (as a fraction of the percentile span) the extremes may lie and still be shown; default 0.1. */
  reach?: number;
}

/**
 * The range a distribution chart should show so that a handful of far-off values
 * (a 300,000-mile trip's predicted duration) do not squeeze the data into a sliver.
 *
 * Per series: from its 0.1th to its 99.9th percentile (estimated from every k-th value
 * when there are more than 200,000), widened to its smallest and
 * largest values when those lie within 10 % of that span (so a series without far
 * outliers, like durations cleaned to 1..60 minutes, is shown whole). The range is the
 * union over the series. Returns it with how each series splits around it.
 *
 * @throws Error (`density: ...`) when no series has a finite value.
 * @example
 * const { range, splits } = focusRange([predicted, actual]);
 * // range ≈ [-2, 61]; splits[0]: { below: 0, above: 3, min: -1.6, max: 704213, inside: {...} }
 */
export function focusRange(series: readonly ArrayLike<number>[], options: FocusRangeOptions = {}): FocusRange {
  const { tail = 0.001, reach = 0.1 } = options;
  if (!(tail >= 0 && tail < 0.5)) throw new Error(`density: tail must be in [0, 0.5), got ${tail}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of series) {
    const { sample, min, max } = sampleWithExtremes(values);
    if (!(min <= max)) continue; // no finite value
    const [qLo, qHi] = tail === 0 ? [min, max] : (quantiles(sample, [tail, 1 - tail]) as [number, number]);
    const span = qHi - qLo;
    lo = Math.min(lo, min >= qLo - reach * span ? min : qLo);
    hi = Math.max(hi, max <= qHi + reach * span ? max : qHi);
  }
  if (!(lo <= hi)) throw new Error('density: focusRange needs a series with at least one finite value');
  const range: [number, number] = hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5];
  return { range, splits: series.map((values) => splitByRange(values, range)) };
}

/** Sample size above which {@link focusRange} estimates percentiles from every k-th value. */
const FOCUS_SAMPLE = 200_000;

/**
 * The exact extremes of the finite values, and the finite values themselves or, when
 * there are more than FOCUS_SAMPLE values, every k-th one (k = ⌈n / FOCUS_SAMPLE⌉), in
 * one pass: percentiles of a chart's view need not be exact (the rank error of the 0.1th
 * percentile is about 0.01 % of the values), and sorting or selecting among three million
 * values costs more than the chart.
 */
function sampleWithExtremes(values: ArrayLike<number>): { sample: Float64Array; min: number; max: number } {
  const k = Math.max(1, Math.ceil(values.length / FOCUS_SAMPLE));
  const sample = new Float64Array(Math.ceil(values.length / k));
  let min = Infinity;
  let max = -Infinity;
  let j = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    if (i % k === 0) sample[j++] = v;
  }
  // A sample that missed every finite value (all but a few are NaN) falls back to the extremes.
  if (j === 0 && min <= max) sample[j++] = min;
  return { sample: sample.subarray(0, j), min, max };
}

/**
 * Scott's rule bandwidth, `std · n^(-1/5)` (scipy's `gaussian_kde` default, as seaborn
 * uses); for zero spread, 1 % of |min| (or 0.01), so one distinct value is a narrow bump.
 *
 * @example
 * scottBandwidth(summarize(values)); // e.g. 0.62 for 3 million trip durations
 */
export function scottBandwidth(summary: Summary): number {
  const h = summary.std * Math.pow(summary.n, -1 / 5);
  return h > 0 ? h : Math.abs(summary.min) * 0.01 || 0.01;
}

/**
 * Smooth density of a sample by a Gaussian kernel, computed on a grid (a binned KDE).
 *
 * The values are first spread linearly onto a fine grid (two neighbouring grid points
 * per value, O(n)), then the grid is convolved with the kernel (O(grid × kernel width)),
 * so three million values cost one pass instead of the O(n × grid) of an exact KDE.
 * The fine grid is kept at a quarter of the bandwidth or finer, which keeps the result
 * within about 0.1 % of scipy's `gaussian_kde` at the curve's peak.
 * Edge cases: non-finite values are skipped; with a `range`, only the values inside it
 * count (the curve is then the density of what is shown); one distinct value (zero
 * spread) gets a narrow bump ({@link scottBandwidth}), not a division by zero.
 *
 * @throws Error (`density: ...`) when there is no finite value (in the range), or when
 *   `bandwidth` / `gridSize` / `range` are invalid.
 * @example
 * const { x, density } = kernelDensity(Float64Array.of(1, 2, 2, 3));
 * // x: 200 points from 1 - 3h to 3 + 3h; density integrates to about 1
 */
export function kernelDensity(values: ArrayLike<number>, options: KernelDensityOptions = {}): DensityCurve {
  const { gridSize = 200, cut = 3 } = options;
  if (!Number.isInteger(gridSize) || gridSize < 2) {
    throw new Error(`density: gridSize must be an integer of at least 2, got ${gridSize}`);
  }
  if (options.bandwidth !== undefined && !(options.bandwidth > 0 && Number.isFinite(options.bandwidth))) {
    throw new Error(`density: bandwidth must be a positive number, got ${options.bandwidth}`);
  }
  if (options.range !== undefined && !(options.range[1] > options.range[0])) {
    throw new Error(`density: range must be increasing, got [${options.range[0]}, ${options.range[1]}]`);
  }
  // The data's summary is needed only for a default bandwidth or a default range.
  const stats = options.bandwidth === undefined || options.range === undefined ? summarize(values, options.range) : undefined;
  if (stats?.n === 0) throw new Error('density: kernelDensity needs at least one finite value, got none');
  const h = options.bandwidth ?? scottBandwidth(stats!);
  const [lo, hi] = options.range ?? [stats!.min - cut * h, stats!.max + cut * h];

  // Fine grid: spacing at most h/4 (accurate linear binning), at least gridSize points,
  // at most 2^14 (a wide range with a tiny bandwidth then gets a coarser, still smooth, curve).
  const fine = Math.min(1 << 14, Math.max(gridSize, Math.ceil(((hi - lo) / h) * 4) + 1));
  const step = (hi - lo) / (fine - 1);
  const weights = new Float64Array(fine);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const t = (values[i]! - lo) / step;
    if (!(t >= 0 && t <= fine - 1)) continue; // NaN, ±Infinity, or outside the range
    const j = Math.min(Math.floor(t), fine - 2);
    const f = t - j;
    weights[j]! += 1 - f;
    weights[j + 1]! += f;
    count++;
  }
  if (count === 0) throw new Error('density: kernelDensity needs at least one finite value in the range, got none');

  return { ...smoothGrid(weights, lo, step, count, h, [lo, hi], gridSize), bandwidth: h, count };
}

/**
 * A binned Gaussian KDE of values already counted into equal bins (a {@link BinnedSeries}'s):
 * each bin's count sits at its centre and is smoothed as {@link kernelDensity} smooths its fine
 * grid, so the curve of millions of streamed values needs only their bins. Accurate while the
 * bins are at most a quarter of the bandwidth wide (kernelDensity's own grid).
 *
 * @throws Error (`density: ...`) for no count in the bins, or a bandwidth, range or grid size that is invalid.
 * @example
 * const { x, density } = kernelDensityOfBins({ lo: 0, width: 0.1, counts }, { bandwidth: 0.6, range: [0, 60] });
 */
export function kernelDensityOfBins(
  bins: { lo: number; width: number; counts: ArrayLike<number> },
  options: { bandwidth: number; range: readonly [number, number]; gridSize?: number },
): DensityCurve {
  const { bandwidth: h, range, gridSize = 200 } = options;
  if (!(h > 0 && Number.isFinite(h))) throw new Error(`density: bandwidth must be a positive number, got ${h}`);
  if (!(range[1] > range[0])) throw new Error(`density: range must be increasing, got [${range[0]}, ${range[1]}]`);
  if (!Number.isInteger(gridSize) || gridSize < 2) throw new Error(`density: gridSize must be an integer of at least 2, got ${gridSize}`);
  // Bin centres within the range, as weights on the grid of centres.
  const first = Math.max(0, Math.ceil((range[0] - bins.lo) / bins.width - 0.5));
  const last = Math.min(bins.counts.length - 1, Math.floor((range[1] - bins.lo) / bins.width - 0.5));
  const weights = new Float64Array(Math.max(2, last - first + 1));
  let count = 0;
  for (let i = first; i <= last; i++) {
    weights[i - first] = bins.counts[i]!;
    count += bins.counts[i]!;
  }
  if (count === 0) throw new Error('density: kernelDensityOfBins needs at least one count in the range, got none');
  return { ...smoothGrid(weights, bins.lo + (first + 0.5) * bins.width, bins.width, count, h, range, gridSize), bandwidth: h, count };
}

/**
 * Convolves weights on a regular grid (`lo`, `step`) with a Gaussian of bandwidth `h`, normalised
 * by `count`, and samples the result at `gridSize` points over `range` (linear interpolation;
 * zero outside the grid).
 */
function smoothGrid(
  weights: Float64Array,
  lo: number,
  step: number,
  count: number,
  h: number,
  range: readonly [number, number],
  gridSize: number,
): { x: Float64Array; density: Float64Array } {
  const fine = weights.length;
  // Kernel truncated at 5 bandwidths (mass lost below 1e-6).
  const half = Math.min(fine - 1, Math.ceil((5 * h) / step));
  const kernel = new Float64Array(2 * half + 1);
  const norm = 1 / (count * h * Math.sqrt(2 * Math.PI));
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
  const [a, b] = range;
  for (let i = 0; i < gridSize; i++) {
    const xi = a + ((b - a) * i) / (gridSize - 1);
    const t = (xi - lo) / step;
    x[i] = xi;
    // Outside the grid (beyond rounding at its ends) the density is zero.
    if (!(t > -1e-9 && t < fine - 1 + 1e-9)) continue;
    const j = Math.max(0, Math.min(Math.floor(t), fine - 2));
    const f = t - j;
    density[i] = smooth[j]! * (1 - f) + smooth[j + 1]! * f;
  }
  return { x, density };
}

/** A histogram normalised as a density: `density[i]` over `[edges[i], edges[i+1])`. */
export interface DensityHistogram {
  edges: Float64Array;
  density: Float64Array;
  /** Values inside the range (the normalisation's total). */
  count: number;
}

/**
 * Histogram normalised as a density (bar areas sum to 1, as matplotlib's `density=True`).
 *
 * Bins are `bins` equal slices of `[lo, hi]`; the last bin includes `hi`; values outside
 * the range and non-finite values are skipped (and not counted in the normalisation).
 *
 * @throws Error (`density: ...`) for a bin count that is not a positive integer or an empty range.
 * @example
 * densityHistogram(Float64Array.of(0, 0.5, 1), 2, [0, 1]).density; // Float64Array [1, 1]
 */
export function densityHistogram(values: ArrayLike<number>, bins: number, range: readonly [number, number]): DensityHistogram {
  const [lo, hi] = range;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`density: bins must be a positive integer, got ${bins}`);
  if (!(hi > lo)) throw new Error(`density: histogram range must be increasing, got [${lo}, ${hi}]`);
  const counts = new Float64Array(bins);
  const scale = bins / (hi - lo);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= lo && v <= hi)) continue; // also skips NaN
    counts[Math.min(bins - 1, Math.floor((v - lo) * scale))]! += 1;
    count++;
  }
  const width = (hi - lo) / bins;
  const edges = Float64Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const density = counts.map((c) => (count > 0 ? c / (count * width) : 0));
  return { edges, density, count };
}
