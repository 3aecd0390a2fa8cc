/**
 * LinearModel: what `LinearRegression`, `Ridge` and `Lasso` share, as scikit-learn's
 * `LinearModel` does: fitting from a design matrix (whole, in chunks or in batches) or from
 * {@link NormalEquations}, predicting `X·coef + intercept`, and the fitted parameters a model
 * file stores.
 *
 * Every fit goes through statistics: the rows are summed per group of one-hot columns (see
 * designStatistics), turned into structured normal equations, and solved by the estimator.
 * `fit` and `fitChunks` add the same rows in the same order, so they give the same model bit
 * for bit; `fitStatistics` on {@link TripStatistics} of the same trips (exact sums, which merge)
 * agrees to rounding, about 1e-12.
 */
import { checkShape, DesignSums, summarizeDesign, type DesignSummary } from './designStatistics.js';
import type { NormalEquations } from './normalEquations.js';
import type { CsrMatrix } from './vectorize.js';

/** A design matrix: CSR (from `DictVectorizer`) or dense rows of numbers. */
export type DesignMatrix = CsrMatrix | readonly (readonly number[])[];

/** The estimators a model file can hold. */
export type EstimatorName = 'LinearRegression' | 'Ridge' | 'Lasso';

/** Fitted parameters, as a model file stores them. */
export interface LinearRegressionParameters {
  /** One coefficient per feature. */
  coef: ArrayLike<number>;
  /** The intercept (0 when `fitIntercept` is false). */
  intercept: number;
  /** Whether the model was fitted with an intercept. */
  fitIntercept: boolean;
}

/** A batch of rows: a design matrix and its targets. */
export interface DesignBatch {
  X: DesignMatrix;
  y: ArrayLike<number>;
}

/**
 * The base of the linear estimators (see the module doc). Subclasses solve normal equations.
 *
 * @example
 * const models: LinearModel[] = [new LinearRegression(), new Lasso({ alpha: 0.01 }), new Ridge()];
 * for (const m of models) m.fit(X, y).predict(Xval);
 */
export abstract class LinearModel {
  /** The estimator's name (scikit-learn's class name). */
  abstract readonly estimator: EstimatorName;
  /** Whether an intercept is fitted. */
  readonly fitIntercept: boolean;
  #coef: Float64Array | undefined;
  #intercept = 0;

  /** Stores options only; `fit` does the work. */
  constructor(fitIntercept: boolean | undefined) {
    if (fitIntercept !== undefined && typeof fitIntercept !== 'boolean') {
      throw new TypeError(`regression: fitIntercept must be true or false, got ${JSON.stringify(fitIntercept)}`);
    }
    this.fitIntercept = fitIntercept ?? true;
  }

  /**
   * The estimator's options, as scikit-learn's `get_params()` (what a model file records).
   *
   * @example
   * new Lasso({ alpha: 0.01 }).getParams(); // { alpha: 0.01, fitIntercept: true, maxIter: 1000, tol: 0.0001 }
   */
  abstract getParams(): Record<string, number | boolean>;

  /** Solves the normal equations; returns coefficients and intercept (and keeps extra state). */
  protected abstract solve(equations: NormalEquations): { coef: Float64Array; intercept: number };

  /**
   * Whether `fit` (or `fromParameters`) has run.
   *
   * @example
   * new Ridge().fitted; // false
   */
  get fitted(): boolean {
    return this.#coef !== undefined;
  }

  /**
   * One coefficient per feature (scikit-learn's `coef_`).
   *
   * @throws Error before `fit`.
   * @example
   * model.coef[dv.vocabulary.get('trip_distance')!]; // minutes per mile
   */
  get coef(): Float64Array {
    return this.fittedCoef();
  }

  /**
   * The intercept (scikit-learn's `intercept_`); 0 without `fitIntercept`.
   *
   * @throws Error before `fit`.
   * @example
   * model.intercept; // minutes
   */
  get intercept(): number {
    this.fittedCoef();
    return this.#intercept;
  }

  /**
   * The fitted parameters, for a model file or another thread (a copy: changing it does not
   * change the model). Any estimator's parameters predict the same through
   * `LinearRegression.fromParameters`.
   *
   * @throws Error before `fit`.
   * @example
   * const { coef, intercept, fitIntercept } = model.parameters;
   */
  get parameters(): LinearRegressionParameters {
    return { coef: Float64Array.from(this.fittedCoef()), intercept: this.#intercept, fitIntercept: this.fitIntercept };
  }

  /**
   * Fits the model to `X` and `y`; returns `this`.
   *
   * @throws Error when X has no rows, X and y differ in length, X is a malformed CSR matrix
   *   (offsets, column indices out of range or not increasing within a row), or a value is not
   *   finite.
   * @example
   * const model = new LinearRegression().fit([[1], [2], [3]], [2, 4, 6]);
   * model.coef[0]; // 2 (up to rounding); model.intercept ≈ 0
   */
  fit(X: DesignMatrix, y: ArrayLike<number>): this {
    const csr = toCsr(X);
    return this.fitChunks(() => [{ X: csr, y }]);
  }

  /**
   * Fits on rows produced a chunk at a time, with bit for bit the result of `fit` on all rows in
   * one matrix; returns `this`. The fit makes two passes over the rows (one to find the one-hot
   * columns and the means, one to sum), so `chunks` is called twice and must give the same rows,
   * in the same order, both times; only one chunk's matrix need exist at a time.
   *
   * @throws Error as `fit` (row numbers count from the first chunk's first row).
   * @example
   * const dv = new DictVectorizer().fit(train.features);
   * const model = new Lasso({ alpha: 0.01 }).fitChunks(function* () {
   *   for (let start = 0; start < train.length; start += 262_144) {
   *     const end = Math.min(train.length, start + 262_144);
   *     yield { X: dv.transform(train.features, { start, end }), y: train.duration.subarray(start, end) };
   *   }
   * });
   */
  fitChunks(chunks: () => Iterable<DesignBatch>): this {
    const csrChunks = function* (): Iterable<{ X: CsrMatrix; y: ArrayLike<number> }> {
      for (const { X, y } of chunks()) yield { X: toCsr(X), y };
    };
    const summary = summarizeDesign(csrChunks());
    if (summary.rows === 0) throw new Error('regression: X has no rows; cannot fit a model to nothing');
    const sums = new DesignSums(summary, this.fitIntercept);
    for (const { X, y } of csrChunks()) {
      if (y.length !== X.rows) throw new Error(`regression: X has ${X.rows} rows but y has ${y.length} values`);
      sums.add(X, y);
    }
    if (sums.sums.rows !== summary.rows) throw new Error('regression: the chunks gave different rows on the second pass; chunks() must give the same rows each time');
    return this.fitStatistics(sums.equations());
  }

  /**
   * Fits on rows given in batches (for example a month transformed 500,000 rows at a time), in
   * one pass over the batches; returns `this`. Only one batch's matrix need exist at a time. The
   * result equals `fit` on all rows up to rounding: the first batch's means shift the sums.
   * Empty batches are skipped.
   *
   * @throws Error as `fit`, naming the batch; or when batches differ in their number of features,
   *   or all are empty.
   * @example
   * const model = new Ridge({ alpha: 1 }).fitBatches(batches());
   */
  fitBatches(batches: Iterable<DesignBatch>): this {
    let sums: DesignSums | undefined;
    let cols = -1;
    let index = 0;
    for (const { X, y } of batches) {
      let summary: DesignSummary;
      let csr: CsrMatrix;
      try {
        csr = toCsr(X);
        summary = summarizeDesign([{ X: csr, y }], cols === -1 ? undefined : cols);
      } catch (error) {
        if (index === 0) throw error;
        throw new Error(`${(error as Error).message} (in batch ${index})`, { cause: error });
      }
      index++;
      if (summary.rows === 0) continue;
      cols = summary.cols;
      if (sums === undefined) sums = new DesignSums(summary, this.fitIntercept);
      else sums.adapt(summary);
      sums.add(csr, y);
    }
    if (sums === undefined) throw new Error('regression: X has no rows; cannot fit a model to nothing');
    return this.fitStatistics(sums.equations());
  }

  /**
   * Fits from normal equations ({@link NormalEquations}: from {@link TripStatistics}, merged
   * across months and threads); returns `this`. Fitting a design through `fit` gives the same
   * model as fitting its trips' statistics, to rounding.
   *
   * @throws Error when the equations hold no rows.
   * @example
   * const eq = stats.normalEquations(PAIR_FEATURES);
   * const model = new LinearRegression().fitStatistics(eq);
   */
  fitStatistics(equations: NormalEquations): this {
    if (!equations || typeof equations.rows !== 'number') throw new TypeError('regression: fitStatistics takes NormalEquations (e.g. stats.normalEquations(features))');
    if (equations.rows === 0) throw new Error('regression: X has no rows; cannot fit a model to nothing');
    const { coef, intercept } = this.solve(equations);
    this.#coef = coef;
    this.#intercept = intercept;
    return this;
  }

  /**
   * Predicts one value per row of `X`: `X·coef + intercept`.
   *
   * @throws Error before `fit`, or when X has a different number of features than in fitting.
   * @example
   * const yPred = model.predict(dv.transform(validation.features));
   */
  predict(X: DesignMatrix): Float64Array {
    const coef = this.fittedCoef();
    const csr = toCsr(X);
    if (csr.cols !== coef.length) {
      throw new Error(
        `regression: X has ${csr.cols} features but the model was fitted with ${coef.length}; ` +
          'transform the data with the same fitted DictVectorizer',
      );
    }
    checkShape(csr);
    const { rows, cols, indptr, indices, data } = csr;
    const out = new Float64Array(rows);
    const intercept = this.#intercept;
    for (let i = 0; i < rows; i++) {
      let s = 0;
      const start = indptr[i]!;
      const end = indptr[i + 1]!;
      if (end < start) throw new Error(`regression: X.indptr decreases at row ${i}`);
      for (let k = start; k < end; k++) {
        const j = indices[k]!;
        if (j >>> 0 >= cols) throw new Error(`regression: X has column index ${j} at row ${i}, outside 0..${cols - 1}`);
        s += data[k]! * coef[j]!;
      }
      out[i] = s + intercept;
    }
    return out;
  }

  /** Sets the fitted parameters after checking them (for the subclasses' `fromParameters`). */
  protected restore(parameters: LinearRegressionParameters): this {
    const coef = Float64Array.from(parameters.coef);
    coef.forEach((c, j) => {
      if (!Number.isFinite(c)) throw new Error(`regression: coefficient ${j} is ${c}; coefficients must be finite`);
    });
    if (!Number.isFinite(parameters.intercept)) throw new Error(`regression: intercept is ${parameters.intercept}; it must be finite`);
    if (!parameters.fitIntercept && parameters.intercept !== 0) {
      throw new Error(`regression: intercept is ${parameters.intercept} but fitIntercept is false; it must be 0`);
    }
    this.#coef = coef;
    this.#intercept = parameters.intercept;
    return this;
  }

  protected fittedCoef(): Float64Array {
    if (this.#coef === undefined) throw new Error(`regression: this ${this.estimator} is not fitted yet; call fit(X, y) first`);
    return this.#coef;
  }
}

/** Checks a number option: finite and at least `min` (and an integer when asked). */
export function checkOption(name: string, value: number, min: number, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new RangeError(`regression: ${name} must be ${integer ? 'an integer' : 'a finite number'} ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function isCsr(X: DesignMatrix): X is CsrMatrix {
  return !Array.isArray(X);
}

/** Dense rows → CSR keeping every entry (zeros too), so all columns count as numeric. */
function toCsr(X: DesignMatrix): CsrMatrix {
  if (isCsr(X)) {
    if (!X || !(X.indptr instanceof Int32Array) || !(X.indices instanceof Int32Array) || !(X.data instanceof Float64Array)) {
      throw new TypeError('regression: X must be a CsrMatrix (Int32Array indptr/indices, Float64Array data) or an array of number rows');
    }
    return X;
  }
  const rows = X.length;
  const cols = rows > 0 ? X[0]!.length : 0;
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(rows * cols);
  const data = new Float64Array(rows * cols);
  X.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cols) {
      throw new Error(`regression: dense X row ${i} has ${Array.isArray(row) ? row.length : 'no'} values; row 0 has ${cols}`);
    }
    for (let j = 0; j < cols; j++) {
      indices[i * cols + j] = j;
      data[i * cols + j] = row[j]!;
    }
    indptr[i + 1] = (i + 1) * cols;
  });
  return { rows, cols, indptr, indices, data };
}
