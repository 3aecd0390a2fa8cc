/**
 * Binned series: a distribution gathered a chunk at a time into fine bins over a fixed window,
 * so that a chart of millions of values (the pipeline's predicted and actual durations over
 * many months) needs a few kB, never the values.
 *
 * The window is fixed before the first value (a duration filter's 1–60 minutes, widened by half
 * its span on each side for predictions), so partial series from row groups, months and threads
 * add up bin for bin: counts are whole numbers and merging is exact in any order. Values outside
 * the window are counted (`below`, `above`) with the extremes (`min`, `max`), as the charts' notes
 * report what their axis leaves out. plots.ts draws them (`binnedDistributionFigure`); density.ts
 * smooths the bins into a curve.
 */

/** A {@link BinnedSeries} as plain data, for `postMessage` (see `toData`). */
export interface BinnedSeriesData {
  kind: 'taxi-duration/binned-series';
  /** Lower edge of the window and bin width. */
  lo: number;
  width: number;
  counts: number[];
  below: number;
  above: number;
  /** Smallest and largest finite value added (Infinity / −Infinity before any). */
  min: number;
  max: number;
  /** Non-finite values, counted nowhere else. */
  missing: number;
}

/**
 * Fine bins per window: about 0.06 min wide for the course's 1–60 minute window of predictions.
 *
 * @example
 * new BinnedSeries(0, 120, DEFAULT_BINS).width; // 0.06
 */
export const DEFAULT_BINS = 2000;

/**
 * Counts of values in equal fine bins over `[lo, hi)` (the last bin also takes `hi`), with what
 * fell outside; mergeable exactly (see the module doc).
 *
 * @example
 * const predicted = BinnedSeries.forDurations(1, 60);
 * predicted.add(model.predict(X));                 // a chunk at a time
 * predicted.merge(BinnedSeries.fromData(fromWorker));
 * binnedDistributionFigure([{ name: 'prediction', series: predicted }]);
 */
export class BinnedSeries {
  readonly lo: number;
  readonly width: number;
  readonly counts: Float64Array;
  below = 0;
  above = 0;
  min = Infinity;
  max = -Infinity;
  missing = 0;

  /**
   * Empty bins: `bins` equal bins over `[lo, hi]`.
   *
   * @throws Error (`plots: ...`) for a window that is not finite and increasing, or bins that are not a positive integer.
   * @example
   * const minutes = new BinnedSeries(0, 120, 2400); // 3-second bins
   */
  constructor(lo: number, hi: number, bins: number = DEFAULT_BINS) {
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) throw new Error(`plots: a binned series needs a finite, increasing window, got [${lo}, ${hi}]`);
    if (!Number.isInteger(bins) || bins < 1) throw new Error(`plots: bins must be a positive integer, got ${bins}`);
    this.lo = lo;
    this.width = (hi - lo) / bins;
    this.counts = new Float64Array(bins);
  }

  /**
   * The window for trip durations kept between `minDuration` and `maxDuration`: the filter's
   * range widened by half its span each side, so predictions a little outside it are drawn.
   *
   * @example
   * BinnedSeries.forDurations(1, 60).hi; // 89.5
   */
  static forDurations(minDuration: number, maxDuration: number, bins: number = DEFAULT_BINS): BinnedSeries {
    const span = maxDuration - minDuration;
    return new BinnedSeries(minDuration - span / 2, maxDuration + span / 2, bins);
  }

  /** Upper edge of the window. */
  get hi(): number {
    return this.lo + this.width * this.counts.length;
  }

  /** Finite values added (in the bins or outside them). */
  get count(): number {
    let n = this.below + this.above;
    for (let i = 0; i < this.counts.length; i++) n += this.counts[i]!;
    return n;
  }

  /**
   * Adds values; non-finite ones count as `missing`; returns `this`.
   *
   * @example
   * series.add(clean.duration);
   */
  add(values: ArrayLike<number>): this {
    const { lo, width, counts } = this;
    const bins = counts.length;
    const scale = 1 / width;
    let { below, above, min, max, missing } = this;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) {
        missing++;
        continue;
      }
      if (v < min) min = v;
      if (v > max) max = v;
      const b = Math.floor((v - lo) * scale);
      if (b < 0) below++;
      else if (b < bins) counts[b]!++;
      else if (b === bins && v <= lo + width * bins) counts[bins - 1]!++;
      else above++;
    }
    Object.assign(this, { below, above, min, max, missing });
    return this;
  }

  /**
   * Adds another series of the same window, exactly; returns `this`.
   *
   * @throws Error (`plots: ...`) when the windows differ.
   * @example
   * total.merge(part);
   */
  merge(other: BinnedSeries): this {
    if (other.lo !== this.lo || other.width !== this.width || other.counts.length !== this.counts.length) {
      throw new Error(`plots: cannot merge bins over [${other.lo}, ${other.hi}] into bins over [${this.lo}, ${this.hi}]`);
    }
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.below += other.below;
    this.above += other.above;
    this.missing += other.missing;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    return this;
  }

  /**
   * The `q` quantile (0 to 1) of the finite values, interpolated within its bin; the exact
   * extreme when it falls below or above the window.
   *
   * @throws Error (`plots: ...`) when no finite value was added.
   * @example
   * series.quantile(0.5); // about the median
   */
  quantile(q: number): number {
    const n = this.count;
    if (n === 0) throw new Error('plots: a binned series without finite values has no quantiles');
    let rank = q * (n - 1);
    if (rank < this.below) return this.min;
    rank -= this.below;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (rank < c) return this.lo + this.width * (i + (rank + 0.5) / c);
      rank -= c;
    }
    return this.max;
  }

  /**
   * The series as plain data (a copy), which `BinnedSeries.fromData` turns back into a series.
   *
   * @example
   * parentPort.postMessage(series.toData());
   */
  toData(): BinnedSeriesData {
    const { lo, width, below, above, min, max, missing } = this;
    return { kind: 'taxi-duration/binned-series', lo, width, counts: Array.from(this.counts), below, above, min, max, missing };
  }

  /**
   * A series from {@link toData}'s output.
   *
   * @throws Error (`plots: ...`) for data that is not a binned series.
   * @example
   * total.merge(BinnedSeries.fromData(message.predicted));
   */
  static fromData(data: BinnedSeriesData): BinnedSeries {
    if (data === null || typeof data !== 'object' || data.kind !== 'taxi-duration/binned-series' || !Array.isArray(data.counts)) {
      throw new Error('plots: not binned series data (expected kind "taxi-duration/binned-series")');
    }
    const series = new BinnedSeries(data.lo, data.lo + data.width * data.counts.length, data.counts.length);
    // The width as sent, not as recomputed from the window (which may round differently), so merges match.
    (series as { width: number }).width = data.width;
    series.counts.set(data.counts);
    Object.assign(series, { below: data.below, above: data.above, min: data.min, max: data.max, missing: data.missing });
    return series;
  }
}
