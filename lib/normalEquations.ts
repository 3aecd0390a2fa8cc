/**
 * NormalEquations: what a linear model is solved from (XᵀX, Xᵀy, yᵀy, the column sums and the
 * number of rows), kept in the structured form a one-hot design gives.
 *
 * Each row of a trip design has one entry per one-hot group plus its numeric columns, so:
 * - a one-hot column's own entry of XᵀX is its count, and two columns of the same group never
 *   meet: the block of a group is diagonal;
 * - columns of different groups meet only where they occur together (a pickup zone with the
 *   dropoff zones it goes to): those blocks are sparse;
 * - numeric columns (trip_distance) meet every column: dense rows.
 * So XᵀX is held as a diagonal, a sparse symmetric matrix between one-hot ("sparse") columns,
 * and a few dense rows. With the course's zones that is about 70,000 numbers instead of 530²;
 * with the `PU_DO` pair (~30,000 columns) it is about 100,000 instead of 7 GB.
 *
 * Numeric columns and y may have been shifted by a constant while summing (their means, for
 * accuracy: Σ(x−c)² keeps its digits where Σx² − n·x̄² would cancel); `shifts` and `yShift`
 * record it. Everything else (the intercept, centring) stays implicit: a solver centres with
 * the column sums, as a rank-one correction, without forming a dense matrix.
 *
 * Built from grouped sums ({@link TripStatistics}, or a design matrix through an estimator's
 * `fit`). From TripStatistics every entry is an exact sum rounded once, so the equations, and
 * the models solved from them, do not depend on how the rows were split or merged.
 */
import { exactValue, LIMBS, normalizeExact } from './exactSum.js';
import { productAt, type GroupedSums } from './groupedSums.js';
import { DictVectorizer } from './vectorize.js';

/** The parts of {@link NormalEquations}, as its constructor takes them. */
export interface NormalEquationsParts {
  /** Number of rows summed. */
  rows: number;
  /** Feature (column) names, when known (from {@link TripStatistics}). */
  featureNames?: readonly string[];
  /** Columns held as dense rows (numeric), ascending. */
  denseColumns: Int32Array;
  /** XᵀX's diagonal (of the shifted columns). */
  diagonal: Float64Array;
  /** XᵀX's rows of the dense columns: `denseRows[m·p + j]` for dense column `denseColumns[m]`. */
  denseRows: Float64Array;
  /** XᵀX between sparse columns, off the diagonal: symmetric CSR (both halves). */
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
  /** Σ x_j (shifted) per column. */
  columnSums: Float64Array;
  /** Σ x_j·y (both shifted) per column. */
  xty: Float64Array;
  /** Σ y (shifted). */
  ySum: number;
  /** Σ y² (shifted). */
  yy: number;
  /** The constant subtracted from each column while summing (0 for one-hot columns). */
  shifts: Float64Array;
  /** The constant subtracted from y while summing. */
  yShift: number;
}

/**
 * The statistics a linear model is solved from, in structured form (see the module doc).
 * Estimators take them in `fitStatistics`; {@link TripStatistics.normalEquations} and the
 * estimators' `fit` build them.
 *
 * @example
 * const eq = new TripStatistics().add(train.features, train.duration).normalEquations(PAIR_FEATURES);
 * const model = new Ridge({ alpha: 1 }).fitStatistics(eq);
 * eq.rootMeanSquaredError(model); // the training RMSE, without a second pass over the rows
 */
export class NormalEquations {
  /** Number of rows summed. */
  readonly rows: number;
  /** Number of features (columns). */
  readonly features: number;
  /** Feature names in column order, when known. */
  readonly featureNames: readonly string[] | undefined;
  /** Columns held as dense rows, ascending. */
  readonly denseColumns: Int32Array;
  /** XᵀX's diagonal. */
  readonly diagonal: Float64Array;
  /** XᵀX's dense rows (`denseRows[m·p + j]`). */
  readonly denseRows: Float64Array;
  /** Off-diagonal XᵀX between sparse columns (symmetric CSR). */
  readonly indptr: Int32Array;
  /** Column indices of the off-diagonal entries. */
  readonly indices: Int32Array;
  /** Values of the off-diagonal entries. */
  readonly values: Float64Array;
  /** Σ x_j per column (shifted). */
  readonly columnSums: Float64Array;
  /** Xᵀy (shifted). */
  readonly xty: Float64Array;
  /** Σ y (shifted). */
  readonly ySum: number;
  /** Σ y² (shifted). */
  readonly yy: number;
  /** Per-column shift. */
  readonly shifts: Float64Array;
  /** Shift of y. */
  readonly yShift: number;
  /** For each column, its index in `denseColumns`, or −1 for a sparse column. */
  readonly denseIndex: Int32Array;

  /**
   * Equations from their parts (checked for consistent sizes).
   *
   * @throws Error (`statistics: ...`) when sizes disagree.
   * @example
   * // y = 2x over x = 1, 2, 3, without shifts: one dense column.
   * const eq = new NormalEquations({
   *   rows: 3, denseColumns: Int32Array.of(0), diagonal: Float64Array.of(14), denseRows: Float64Array.of(14),
   *   indptr: Int32Array.of(0, 0), indices: new Int32Array(0), values: new Float64Array(0),
   *   columnSums: Float64Array.of(6), xty: Float64Array.of(28), ySum: 12, yy: 56,
   *   shifts: Float64Array.of(0), yShift: 0,
   * });
   */
  constructor(parts: NormalEquationsParts) {
    const p = parts.diagonal.length;
    const q = parts.denseColumns.length;
    const sizes: [string, number, number][] = [
      ['denseRows', parts.denseRows.length, q * p],
      ['indptr', parts.indptr.length, p + 1],
      ['columnSums', parts.columnSums.length, p],
      ['xty', parts.xty.length, p],
      ['shifts', parts.shifts.length, p],
      ['values', parts.values.length, parts.indices.length],
    ];
    for (const [name, got, want] of sizes) {
      if (got !== want) throw new Error(`statistics: ${name} has ${got} entries, expected ${want}`);
    }
    if (parts.featureNames !== undefined && parts.featureNames.length !== p) {
      throw new Error(`statistics: ${parts.featureNames.length} feature names for ${p} columns`);
    }
    this.rows = parts.rows;
    this.features = p;
    this.featureNames = parts.featureNames;
    this.denseColumns = parts.denseColumns;
    this.diagonal = parts.diagonal;
    this.denseRows = parts.denseRows;
    this.indptr = parts.indptr;
    this.indices = parts.indices;
    this.values = parts.values;
    this.columnSums = parts.columnSums;
    this.xty = parts.xty;
    this.ySum = parts.ySum;
    this.yy = parts.yy;
    this.shifts = parts.shifts;
    this.yShift = parts.yShift;
    this.denseIndex = new Int32Array(p).fill(-1);
    parts.denseColumns.forEach((j, m) => (this.denseIndex[j] = m));
  }

  /**
   * The mean of y.
   *
   * @example
   * eq.yMean; // minutes
   */
  get yMean(): number {
    return this.yShift + this.ySum / this.rows;
  }

  /**
   * A fitted DictVectorizer whose columns are these equations' (their feature names).
   *
   * @throws Error when the equations carry no feature names (built from a bare matrix).
   * @example
   * const dv = eq.vectorizer();
   * model.predict(dv.transform(featureColumns(validation.features, PAIR_FEATURES)));
   */
  vectorizer(): DictVectorizer {
    if (this.featureNames === undefined) throw new Error('statistics: these equations have no feature names (they were built from a matrix)');
    return DictVectorizer.fromFeatureNames(this.featureNames);
  }

  /**
   * Σ (y − Xw − b)² over the rows summed, from the statistics alone:
   * yᵀy − 2wᵀXᵀy + wᵀXᵀXw with the shifts and the intercept folded in, each dot product
   * summed with compensation.
   *
   * @throws Error when `coef` has the wrong length.
   * @example
   * eq.residualSumOfSquares(model.coef, model.intercept);
   */
  residualSumOfSquares(coef: ArrayLike<number>, intercept: number): number {
    const p = this.features;
    if (coef.length !== p) throw new Error(`statistics: ${coef.length} coefficients for ${p} features`);
    // With shifted values x' = x − c and y' = y − c_y, the residual is y' − x'ᵀw − β where
    // β = intercept + cᵀw − c_y; β is about zero for a fitted model.
    const beta = new CompensatedSum();
    beta.add(intercept);
    beta.add(-this.yShift);
    for (let j = 0; j < p; j++) if (this.shifts[j] !== 0) beta.add(this.shifts[j]! * coef[j]!);
    const b = beta.value();
    const gw = this.gramTimes(coef);
    const rss = new CompensatedSum();
    rss.add(this.yy);
    for (let j = 0; j < p; j++) {
      const w = coef[j]!;
      if (w === 0) continue;
      rss.add(-2 * w * this.xty[j]!);
      rss.add(w * gw[j]!);
      rss.add(2 * b * w * this.columnSums[j]!);
    }
    rss.add(-2 * b * this.ySum);
    rss.add(this.rows * b * b);
    return Math.max(0, rss.value());
  }

  /**
   * The training RMSE of a model (or of coefficients and an intercept), from the statistics:
   * √(residual sum of squares / rows).
   *
   * @example
   * eq.rootMeanSquaredError(model); // as rootMeanSquaredError(y, model.predict(X)), to ~1e-12
   */
  rootMeanSquaredError(model: { coef: ArrayLike<number>; intercept: number }): number {
    return Math.sqrt(this.residualSumOfSquares(model.coef, model.intercept) / this.rows);
  }

  /**
   * XᵀX·w (of the shifted columns), in column order, from the structured form.
   *
   * @example
   * eq.gramTimes(model.coef); // as Xᵀ(X·coef) over the rows summed
   */
  gramTimes(w: ArrayLike<number>): Float64Array {
    const p = this.features;
    const out = new Float64Array(p);
    const { diagonal, indptr, indices, values, denseRows, denseColumns, denseIndex } = this;
    for (let j = 0; j < p; j++) {
      if (denseIndex[j]! >= 0) continue;
      let s = diagonal[j]! * w[j]!;
      for (let k = indptr[j]!; k < indptr[j + 1]!; k++) s += values[k]! * w[indices[k]!]!;
      out[j] = s;
    }
    for (let m = 0; m < denseColumns.length; m++) {
      const row = m * p;
      const col = denseColumns[m]!;
      const wm = w[col]!;
      let s = 0;
      for (let j = 0; j < p; j++) {
        s += denseRows[row + j]! * w[j]!;
        // The dense row also gives the sparse columns their dense entries (symmetry).
        if (denseIndex[j]! < 0) out[j]! += denseRows[row + j]! * wm;
      }
      out[col] = s;
    }
    return out;
  }
}

/** Neumaier's compensated sum. */
export class CompensatedSum {
  #sum = 0;
  #c = 0;
  /** Adds x. */
  add(x: number): void {
    const t = this.#sum + x;
    if (Math.abs(this.#sum) >= Math.abs(x)) this.#c += this.#sum - t + x;
    else this.#c += x - t + this.#sum;
    this.#sum = t;
  }
  /** The sum so far. */
  value(): number {
    return this.#sum + this.#c;
  }
}

/** How the cells of grouped sums become columns (see {@link normalEquationsFromSums}). */
export interface CellColumns {
  /** Number of columns. */
  features: number;
  /** Writes the sparse (one-hot) columns cell `slot` belongs to into `out`; returns how many. */
  columnsOf(slot: number, out: Int32Array): number;
  /** For each numeric column of the sums, its column, or −1 when the equations leave it out. */
  numericColumns: Int32Array;
  /** Shift of each numeric column of the sums (as they were summed). */
  numericShifts: Float64Array;
  /** Shift of y. */
  yShift: number;
  /** Feature names, when known. */
  featureNames?: readonly string[];
}

/**
 * Normal equations from grouped sums: each cell adds its count to the diagonal and to the
 * off-diagonal entries of its one-hot columns, and its exact sums of y and of the numeric
 * columns to those columns' Xᵀy and dense rows. All additions are exact (integers, or exact
 * sums), so the result does not depend on the order of the cells.
 *
 * @example
 * const eq = normalEquationsFromSums(sums, mapping); // internal: TripStatistics and fit use it
 */
export function normalEquationsFromSums(sums: GroupedSums, mapping: CellColumns): NormalEquations {
  const p = mapping.features;
  sums.normalize();
  const { numeric, stride, counts, cells } = sums;
  const numericColumns = mapping.numericColumns;
  // Dense columns: the numeric columns the equations keep, ascending.
  const kept = [...numericColumns.keys()].filter((m) => numericColumns[m]! >= 0).sort((a, b) => numericColumns[a]! - numericColumns[b]!);
  const q = kept.length;
  const denseColumns = Int32Array.from(kept, (m) => numericColumns[m]!);
  const isDense = new Uint8Array(p);
  for (const j of denseColumns) {
    if (isDense[j]) throw new Error(`statistics: column ${j} is given twice as numeric`);
    isDense[j] = 1;
  }

  const diagonal = new Float64Array(p);
  const columnSums = new Float64Array(p);
  // Exact accumulators: Xᵀy per column, Σy, and per (kept numeric, column) the dense rows.
  const xtyExact = new Float64Array(p * LIMBS);
  const yExact = new Float64Array(LIMBS);
  const denseExact = new Float64Array(q * p * LIMBS);
  const denseSumExact = new Float64Array(q * LIMBS);
  const pairs = new Map<number, number>();
  const columns = new Int32Array(Math.max(1, p));
  let added = 0;
  const normalizeAll = (): void => {
    for (let at = 0; at < xtyExact.length; at += LIMBS) normalizeExact(xtyExact, at);
    for (let at = 0; at < denseExact.length; at += LIMBS) normalizeExact(denseExact, at);
    for (let at = 0; at < denseSumExact.length; at += LIMBS) normalizeExact(denseSumExact, at);
    normalizeExact(yExact, 0);
    added = 0;
  };
  for (let c = 0; c < cells; c++) {
    if (++added >= 1 << 20) normalizeAll();
    const count = counts[c]!;
    const at = c * stride;
    sums.addSumTo(yExact, 0, sums.sums, at);
    for (let a = 0; a < q; a++) sums.addSumTo(denseSumExact, a * LIMBS, sums.sums, at + (1 + kept[a]!) * LIMBS);
    const k = mapping.columnsOf(c, columns);
    for (let i = 0; i < k; i++) {
      const j = columns[i]!;
      if (j < 0 || j >= p || isDense[j]) throw new Error(`statistics: cell ${c} maps to column ${j}, not a one-hot column of ${p}`);
      diagonal[j]! += count;
      columnSums[j]! += count;
      sums.addSumTo(xtyExact, j * LIMBS, sums.sums, at);
      for (let a = 0; a < q; a++) sums.addSumTo(denseExact, (a * p + j) * LIMBS, sums.sums, at + (1 + kept[a]!) * LIMBS);
      for (let i2 = i + 1; i2 < k; i2++) {
        const j2 = columns[i2]!;
        const key = j < j2 ? j * p + j2 : j2 * p + j;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
  }
  normalizeAll();

  // Numeric columns: their sums, products with y and with each other are sums over all rows.
  const xty = new Float64Array(p);
  const denseRows = new Float64Array(q * p);
  for (let j = 0; j < p; j++) if (!isDense[j]) xty[j] = exactValue(xtyExact, j * LIMBS);
  for (let a = 0; a < q; a++) {
    const ma = kept[a]!;
    const col = denseColumns[a]!;
    columnSums[col] = exactValue(denseSumExact, a * LIMBS);
    xty[col] = sums.sumValue(sums.products, (1 + ma) * LIMBS);
    for (let j = 0; j < p; j++) if (!isDense[j]) denseRows[a * p + j] = exactValue(denseExact, (a * p + j) * LIMBS);
    for (let b = 0; b < q; b++) {
      const mb = kept[b]!;
      const v = sums.sumValue(sums.products, productAt(numeric, Math.min(ma, mb), Math.max(ma, mb)));
      denseRows[a * p + denseColumns[b]!] = v;
    }
    diagonal[col] = denseRows[a * p + col]!;
  }

  // Off-diagonal entries between one-hot columns, as symmetric CSR in column order.
  const keys = Float64Array.from(pairs.keys()).sort();
  const rowCount = new Int32Array(p + 1);
  for (const key of keys) {
    const j = Math.floor(key / p);
    rowCount[j + 1]!++;
    rowCount[key - j * p + 1]!++;
  }
  for (let j = 0; j < p; j++) rowCount[j + 1]! += rowCount[j]!;
  const indptr = rowCount.slice();
  const fill = rowCount.slice(0, p);
  const indices = new Int32Array(indptr[p]!);
  const values = new Float64Array(indptr[p]!);
  for (const key of keys) {
    const j = Math.floor(key / p);
    const k = key - j * p;
    const v = pairs.get(key)!;
    indices[fill[j]!] = k;
    values[fill[j]!++] = v;
    indices[fill[k]!] = j;
    values[fill[k]!++] = v;
  }

  const shifts = new Float64Array(p);
  for (let m = 0; m < numeric; m++) if (numericColumns[m]! >= 0) shifts[numericColumns[m]!] = mapping.numericShifts[m]!;
  return new NormalEquations({
    rows: sums.rows,
    ...(mapping.featureNames !== undefined ? { featureNames: mapping.featureNames } : {}),
    denseColumns,
    diagonal,
    denseRows,
    indptr,
    indices,
    values,
    columnSums,
    xty,
    ySum: exactValue(yExact, 0),
    yy: sums.sumValue(sums.products, 0),
    shifts,
    yShift: mapping.yShift,
  });
}
