/**
 * LinearRegression: ordinary least squares on the sparse one-hot design, giving
 * scikit-learn's answer (the minimum-norm least-squares solution) at full size.
 *
 * How, and why this way:
 * - One pass over the CSR rows accumulates XᵀX, Xᵀy and column sums: each trip row
 *   has three entries, so three million rows cost O(rows) work, and the p×p
 *   (p ≈ 530) statistics are all the solve needs. They merge across batches of
 *   rows, so a month can be fitted a chunk at a time (`fitBatches`).
 * - Centring (for the intercept) subtracts n·x̄x̄ᵀ. Done on raw sums this loses
 *   digits for a numeric column whose mean is large next to its spread, so columns
 *   stored in every row (trip_distance) are shifted by their mean while
 *   accumulating; one-hot columns are 0/1 and centre exactly from their counts.
 * - The one-hot design is rank-deficient (each group of one-hot columns sums to 1
 *   in every row). scikit-learn centres and runs LSQR from zero, which converges to
 *   the minimum-norm solution; so do we: scale columns to unit norm (trip_distance
 *   outliers near 300,000 would otherwise swamp one-hot entries of 1), factor the
 *   scaled system with pivoted Cholesky (which finds the rank and a basis of the
 *   null space), take a basic solution, then project out the null space in the
 *   original coordinates. Predictions for rows whose categories were all seen in
 *   training do not depend on that projection; rows with an unseen category (no
 *   one-hot entry in a group) and the coefficients do.
 * - ml-matrix's symmetric eigendecomposition would also give the pseudo-inverse,
 *   but takes about 1.2 s for p = 530 here, against a few tens of milliseconds for
 *   the pivoted Cholesky below; ml-matrix's own Cholesky throws on a singular matrix.
 *   ml-matrix solves the small null-space system.
 */
import { createRequire } from 'node:module';
import type { CsrMatrix } from './vectorize.js';

/** Options of `LinearRegression` (scikit-learn's names and defaults). */
export interface LinearRegressionOptions {
  /** Fit an intercept (centre X and y first). Default `true`. */
  fitIntercept?: boolean;
}

/** A design matrix: CSR (from `DictVectorizer`) or dense rows of numbers. */
export type DesignMatrix = CsrMatrix | readonly (readonly number[])[];

/** Fitted parameters, as a model file stores them. */
export interface LinearRegressionParameters {
  /** One coefficient per feature. */
  coef: ArrayLike<number>;
  /** The intercept (0 when `fitIntercept` is false). */
  intercept: number;
  /** Whether the model was fitted with an intercept. */
  fitIntercept: boolean;
}

/**
 * Pivots below this (on the unit-diagonal scaled XᵀX) count as zero: the rank cut.
 * Rounding leaves about 1e-13 on truly dependent columns; a one-hot column with c
 * rows that differs from a combination of others in a single row keeps at least
 * 1/c, far above 1e-11 for any c below 1e10.
 */
const RANK_TOLERANCE = 1e-11;

/**
 * Ordinary least squares, as scikit-learn's `LinearRegression`, on CSR or dense input.
 *
 * On a rank-deficient design (one-hot groups always are) the coefficients are the
 * minimum-norm solution, as scikit-learn's centred LSQR gives;
 * `intercept = ȳ − x̄·coef`. A column that is constant in training gets
 * coefficient 0. `fit` returns `this`; `fitBatches` fits on rows given in batches
 * (bounded memory, same result); `coef`, `intercept` and `rank` exist only after
 * fitting; predicting before fitting, or with a different number of features than
 * in fitting, is an error. Non-finite values in X or y are errors.
 *
 * @example
 * const dv = new DictVectorizer();
 * const Xtrain = dv.fitTransform(train.features);
 * const model = new LinearRegression().fit(Xtrain, train.duration);
 * const yPred = model.predict(dv.transform(validation.features));
 * rootMeanSquaredError(validation.duration, yPred); // ≈ 8 minutes on real data
 */
export class LinearRegression {
  /** Whether an intercept is fitted. */
  readonly fitIntercept: boolean;
  #coef: Float64Array | undefined;
  #intercept = 0;
  #rank = 0;

  /** Stores options only; `fit` does the work. */
  constructor(options: LinearRegressionOptions = {}) {
    this.fitIntercept = options.fitIntercept ?? true;
  }

  /**
   * A fitted model from stored parameters (as a model file holds them).
   *
   * @throws Error when a parameter is not finite, or the intercept is not 0 without `fitIntercept`.
   * @example
   * const model = LinearRegression.fromParameters({ coef: [0.5, 2], intercept: 3, fitIntercept: true });
   */
  static fromParameters(parameters: LinearRegressionParameters): LinearRegression {
    const model = new LinearRegression({ fitIntercept: parameters.fitIntercept });
    const coef = Float64Array.from(parameters.coef);
    coef.forEach((c, j) => {
      if (!Number.isFinite(c)) throw new Error(`regression: coefficient ${j} is ${c}; coefficients must be finite`);
    });
    if (!Number.isFinite(parameters.intercept)) throw new Error(`regression: intercept is ${parameters.intercept}; it must be finite`);
    if (!parameters.fitIntercept && parameters.intercept !== 0) {
      throw new Error(`regression: intercept is ${parameters.intercept} but fitIntercept is false; it must be 0`);
    }
    model.#coef = coef;
    model.#intercept = parameters.intercept;
    model.#rank = coef.length;
    return model;
  }

  /**
   * Whether `fit` (or `fromParameters`) has run.
   *
   * @example
   * const lr = new LinearRegression();
   * lr.fitted; // false
   * lr.fit(X, y).fitted; // true
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
    return this.#fittedCoef();
  }

  /**
   * The intercept (scikit-learn's `intercept_`); 0 without `fitIntercept`.
   *
   * @throws Error before `fit`.
   * @example
   * model.intercept; // minutes
   */
  get intercept(): number {
    this.#fittedCoef();
    return this.#intercept;
  }

  /**
   * The numerical rank of the (centred) design found by `fit`; fewer than the number
   * of features means several least-squares solutions exist and the minimum-norm
   * one was taken. After `fromParameters` it is the number of features.
   *
   * @throws Error before `fit`.
   * @example
   * model.rank; // p − 1 for one one-hot group with an intercept
   */
  get rank(): number {
    this.#fittedCoef();
    return this.#rank;
  }

  /**
   * The parameters, for a model file (a copy: changing it does not change the model).
   *
   * @throws Error before `fit`.
   * @example
   * const { coef, intercept, fitIntercept } = model.parameters;
   * const copy = LinearRegression.fromParameters(model.parameters); // predicts the same
   */
  get parameters(): LinearRegressionParameters {
    return { coef: Float64Array.from(this.#fittedCoef()), intercept: this.#intercept, fitIntercept: this.fitIntercept };
  }

  /**
   * Fits ordinary least squares of `y` on `X`; returns `this`.
   *
   * @throws Error when X has no rows, X and y differ in length, X is a malformed CSR
   *   matrix (offsets, column indices out of range or not increasing within a row),
   *   or a value is not finite.
   * @example
   * const model = new LinearRegression().fit([[1], [2], [3]], [2, 4, 6]);
   * model.coef[0]; // 2 (up to rounding); model.intercept ≈ 0
   */
  fit(X: DesignMatrix, y: ArrayLike<number>): this {
    return this.fitBatches([{ X, y }]);
  }

  /**
   * Fits on rows given in batches (for example a month transformed 500,000 rows at a
   * time), with the same result as `fit` on all rows at once, up to rounding; returns
   * `this`. Only one batch's matrix need exist at a time, so memory stays bounded.
   *
   * Each batch's centred statistics are merged into the running ones with the
   * pairwise update of Chan, Golub and LeVeque (exact in exact arithmetic, and
   * as stable as centring each batch). Empty batches are skipped.
   *
   * @throws Error as `fit`, naming the batch; or when batches differ in their number of
   *   features, or all are empty.
   * @example
   * const dv = new DictVectorizer().fit(train.features);
   * function* batches() {
   *   for (let start = 0; start < train.length; start += 500_000) {
   *     const end = Math.min(train.length, start + 500_000);
   *     yield { X: dv.transform(train.features, { start, end }), y: train.duration.subarray(start, end) };
   *   }
   * }
   * const model = new LinearRegression().fitBatches(batches());
   */
  fitBatches(batches: Iterable<{ X: DesignMatrix; y: ArrayLike<number> }>): this {
    const total = new Statistics(this.fitIntercept);
    let index = 0;
    for (const { X, y } of batches) {
      try {
        const csr = toCsr(X);
        total.add(() => [{ X: csr, y }]);
      } catch (error) {
        if (index === 0) throw error;
        throw new Error(`${(error as Error).message} (in batch ${index})`, { cause: error });
      }
      index++;
    }
    return this.#solve(total);
  }

  /**
   * Fits on rows produced a chunk at a time, with bit for bit the result of `fit` on all rows
   * in one matrix; returns `this`. The fit makes two passes over the rows, so `chunks` is
   * called twice and must give the same rows, in the same order, both times; only one chunk's
   * matrix need exist at a time (a month in chunks of 262,144 rows needs about 10 MB of CSR
   * instead of 120 MB, and never touches fresh memory for a whole-month matrix).
   *
   * Unlike `fitBatches`, nothing is merged: the chunks are one batch, so the sums are the
   * same sums in the same order as `fit`'s.
   *
   * @throws Error as `fit` (row numbers count from the first chunk's first row).
   * @example
   * const dv = new DictVectorizer().fit(train.features);
   * const model = new LinearRegression().fitChunks(function* () {
   *   for (let start = 0; start < train.length; start += 262_144) {
   *     const end = Math.min(train.length, start + 262_144);
   *     yield { X: dv.transform(train.features, { start, end }), y: train.duration.subarray(start, end) };
   *   }
   * });
   */
  fitChunks(chunks: () => Iterable<{ X: DesignMatrix; y: ArrayLike<number> }>): this {
    const total = new Statistics(this.fitIntercept);
    total.add(function* () {
      for (const { X, y } of chunks()) yield { X: toCsr(X), y };
    });
    return this.#solve(total);
  }

  /** Solves the normal equations of the accumulated statistics and stores coef and intercept. */
  #solve(total: Statistics): this {
    if (total.n === 0) throw new Error('regression: X has no rows; cannot fit a model to nothing');
    const { p, mean, yMean, scatter, cross, sumSq } = total;
    for (let j = 0; j < p; j++) for (let l = j + 1; l < p; l++) scatter[l * p + j] = scatter[j * p + l]!;
    const { coef, rank } = solveMinimumNorm(scatter, cross, p, sumSq);
    let intercept = 0;
    if (this.fitIntercept) {
      intercept = yMean;
      for (let j = 0; j < p; j++) intercept -= mean[j]! * coef[j]!;
    }
    this.#coef = coef;
    this.#intercept = intercept;
    this.#rank = rank;
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
    const coef = this.#fittedCoef();
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

  #fittedCoef(): Float64Array {
    if (this.#coef === undefined) throw new Error('regression: this LinearRegression is not fitted yet; call fit(X, y) first');
    return this.#coef;
  }
}

/**
 * Running least-squares statistics over batches of rows: row count, column means,
 * mean of y, the upper triangle of the centred scatter Σ(x−x̄)(x−x̄)ᵀ and the centred
 * cross products Σ(x−x̄)(y−ȳ) (uncentred sums without an intercept), and Σx² per
 * column (to tell constant columns from rounding).
 */
class Statistics {
  n = 0;
  p = -1;
  yMean = 0;
  mean = new Float64Array(0);
  scatter = new Float64Array(0);
  cross = new Float64Array(0);
  sumSq = new Float64Array(0);
  #batch = new Float64Array(0);

  constructor(readonly center: boolean) {}

  /**
   * Adds one batch of rows. The batch may come as several chunks (`chunks()` is called twice,
   * once per pass, and must give the same rows both times): every sum runs over the rows in
   * order either way, so a chunked batch gives bit for bit the statistics of one matrix.
   */
  add(chunks: () => Iterable<{ X: CsrMatrix; y: ArrayLike<number> }>): void {
    // Pass 1: column sums and counts, sum of y; checks the CSR structure and
    // finiteness on the way. Indices must be strictly increasing within a row
    // (scipy's canonical form, which DictVectorizer emits): columns present in every
    // row are found by counting entries.
    let n = 0;
    let p = this.p;
    let colSum = new Float64Array(0);
    let colCount = new Float64Array(0);
    let ySum = 0;
    for (const { X, y } of chunks()) {
      checkShape(X);
      const { rows, cols, indptr, indices, data } = X;
      if (this.p === -1) {
        this.p = p = cols;
        this.mean = new Float64Array(p);
        this.scatter = new Float64Array(p * p);
        this.cross = new Float64Array(p);
        this.sumSq = new Float64Array(p);
        this.#batch = new Float64Array(p * p);
      } else if (cols !== this.p) {
        throw new Error(`regression: this batch has ${cols} features but the first had ${this.p}; transform every batch with the same fitted DictVectorizer`);
      }
      if (colSum.length !== p) {
        colSum = new Float64Array(p);
        colCount = new Float64Array(p);
      }
      if (y.length !== rows) throw new Error(`regression: X has ${rows} rows but y has ${y.length} values`);
      // Constants for the hot loop (V8 optimises it best on locals that never change).
      const sums = colSum;
      const counts = colCount;
      const sumSq = this.sumSq;
      const width = cols;
      const before = n;
      for (let r = 0; r < rows; r++) {
        const yi = y[r]!;
        if (!Number.isFinite(yi)) throw new Error(`regression: y[${before + r}] is ${yi}; drop or fix non-finite targets before fitting`);
        ySum += yi;
        const start = indptr[r]!;
        const end = indptr[r + 1]!;
        if (end < start) throw new Error(`regression: X.indptr decreases at row ${before + r}`);
        let previous = -1;
        for (let k = start; k < end; k++) {
          const v = data[k]!;
          const j = indices[k]!;
          if (j <= previous || j >= width) {
            if (j < 0 || j >= width) throw new Error(`regression: X has column index ${j} at row ${before + r}, outside 0..${width - 1}`);
            throw new Error(`regression: X row ${before + r} has column indices out of order or repeated (${previous}, ${j}); sort and sum duplicates first`);
          }
          previous = j;
          if (!Number.isFinite(v)) throw new Error(`regression: X has ${v} at row ${before + r}, column ${j}; drop or fix non-finite features before fitting`);
          sums[j]! += v;
          sumSq[j]! += v * v;
          counts[j]! += 1;
        }
      }
      n += rows;
    }
    if (n === 0) return;
    const center = this.center;
    const yMean = center ? ySum / n : 0;
    // Shift columns present in every row by their (pass-1) mean, so their centred
    // products are formed from small numbers; sparse columns keep shift 0 so that
    // absent entries stay exact zeros.
    const shift = new Float64Array(p);
    if (center) for (let j = 0; j < p; j++) if (colCount[j] === n) shift[j] = colSum[j]! / n;

    // Pass 2: upper triangle of Σ (x−s)(x−s)ᵀ, Σ (x−s)(y−ȳ), Σ (x−s), Σ (y−ȳ).
    const A = this.#batch;
    A.fill(0);
    const b = new Float64Array(p);
    const shiftedSum = new Float64Array(p);
    let yResidualSum = 0;
    for (const { X, y } of chunks()) {
      const { rows, indptr, indices, data } = X;
      if (y.length !== rows) throw new Error(`regression: X has ${rows} rows but y has ${y.length} values`);
      yResidualSum = scatterPass(rows, indptr, indices, data, y, yMean, shift, A, b, shiftedSum, p, yResidualSum);
    }
    if (!center) {
      // No intercept: plain sums add up across batches.
      for (let t = 0; t < p * p; t++) this.scatter[t]! += A[t]!;
      for (let j = 0; j < p; j++) this.cross[j]! += b[j]!;
      this.n += n;
      return;
    }
    // Centre the batch: C = A − n·m·mᵀ with m the mean of the shifted columns (≈ 0
    // for shifted ones, the frequency for one-hot ones); likewise for b.
    const m = shiftedSum.map((sum) => sum / n);
    const yResidualMean = yResidualSum / n;
    for (let j = 0; j < p; j++) {
      const mj = m[j]!;
      b[j]! -= n * mj * yResidualMean;
      if (mj === 0) continue;
      const row = j * p;
      for (let l = j; l < p; l++) A[row + l]! -= n * mj * m[l]!;
    }
    // Merge with the running statistics (Chan et al.): with δ = x̄_batch − x̄ and
    // w = n_old·n_batch / n_new, scatter += C + w·δδᵀ, cross += b + w·δ·(ȳ_batch − ȳ).
    const batchMean = colSum.map((sum) => sum / n);
    const batchYMean = ySum / n;
    const total = this.n + n;
    const w = (this.n * n) / total;
    const delta = batchMean.map((mu, j) => mu - this.mean[j]!);
    const deltaY = batchYMean - this.yMean;
    const S = this.scatter;
    for (let j = 0; j < p; j++) {
      const row = j * p;
      const dj = w * delta[j]!;
      for (let l = j; l < p; l++) S[row + l]! += A[row + l]! + dj * delta[l]!;
      this.cross[j]! += b[j]! + dj * deltaY;
      this.mean[j]! += (delta[j]! * n) / total;
    }
    this.yMean += (deltaY * n) / total;
    this.n = total;
  }
}

/**
 * Statistics.add's pass 2 over one chunk: adds the upper triangle of Σ (x−s)(x−s)ᵀ to A,
 * Σ (x−s)(y−ȳ) to b and Σ (x−s) to shiftedSum; returns the running Σ (y−ȳ). A function of
 * its own so that V8 optimises the loop on plain locals whatever the caller's shape.
 */
function scatterPass(
  rows: number,
  indptr: Int32Array,
  indices: Int32Array,
  data: Float64Array,
  y: ArrayLike<number>,
  yMean: number,
  shift: Float64Array,
  A: Float64Array,
  b: Float64Array,
  shiftedSum: Float64Array,
  p: number,
  yResidualSum: number,
): number {
  for (let i = 0; i < rows; i++) {
    const yi = y[i]! - yMean;
    yResidualSum += yi;
    const end = indptr[i + 1]!;
    for (let k = indptr[i]!; k < end; k++) {
      const j = indices[k]!;
      const v = data[k]! - shift[j]!;
      b[j]! += v * yi;
      shiftedSum[j]! += v;
      const row = j * p;
      for (let l = k; l < end; l++) {
        const jl = indices[l]!;
        A[row + jl]! += v * (data[l]! - shift[jl]!);
      }
    }
  }
  return yResidualSum;
}

function isCsr(X: DesignMatrix): X is CsrMatrix {
  return !Array.isArray(X);
}

/** Dense rows → CSR keeping every entry (zeros too), so all columns count as dense. */
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

/** Checks the CSR shape and offsets' ends; the per-row checks run inside fit / predict's loops. */
function checkShape(X: CsrMatrix): void {
  const { rows, cols, indptr, indices, data } = X;
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new Error(`regression: X has invalid shape ${rows}×${cols}`);
  }
  if (indptr.length !== rows + 1 || indptr[0] !== 0) {
    throw new Error(`regression: X.indptr must have rows + 1 = ${rows + 1} offsets starting at 0, got ${indptr.length} starting at ${indptr[0]}`);
  }
  const nnz = indptr[rows]!;
  if (nnz > indices.length || nnz > data.length) {
    throw new Error(`regression: X.indptr ends at ${nnz} but indices has ${indices.length} and data ${data.length} entries`);
  }
}

/**
 * The minimum-norm solution of C·x = b for a symmetric positive semi-definite C
 * (p×p, row-major, left unchanged), i.e. pinv(C)·b, and the numerical rank of C:
 * the solve behind `LinearRegression.fit`, usable on normal equations summed
 * elsewhere (for example over many files).
 *
 * Columns are scaled to a unit diagonal first; pivots below 1e-11 of that count as
 * zero. `sumSq[j]` (Σ x_j² of the raw column) tells a constant column, whose
 * centred diagonal is only rounding, from a real one: constant columns get 0.
 *
 * @example
 * // x + y = 2 twice: rank 1, minimum-norm solution (1, 1)
 * solveMinimumNorm(Float64Array.of(2, 2, 2, 2), Float64Array.of(4, 4), 2); // { coef: [1, 1], rank: 1 }
 */
export function solveMinimumNorm(C: Float64Array, b: Float64Array, p: number, sumSq?: Float64Array): { coef: Float64Array; rank: number } {
  const coef = new Float64Array(p);
  // Active columns: positive centred variance well above rounding of the raw scale.
  const active: number[] = [];
  for (let j = 0; j < p; j++) {
    const d = C[j * p + j]!;
    const raw = sumSq ? sumSq[j]! : d;
    if (d > 0 && d > raw * 1e-26) active.push(j);
  }
  const q = active.length;
  if (q === 0) return { coef, rank: 0 };
  const scale = new Float64Array(q);
  active.forEach((j, a) => (scale[a] = 1 / Math.sqrt(C[j * p + j]!)));
  // Scaled system S = D C D (unit diagonal), rhs D b; U holds the upper triangle.
  const U = new Float64Array(q * q);
  const rhs = new Float64Array(q);
  for (let a = 0; a < q; a++) {
    const ja = active[a]!;
    rhs[a] = b[ja]! * scale[a]!;
    for (let c = a; c < q; c++) U[a * q + c] = C[ja * p + active[c]!]! * scale[a]! * scale[c]!;
  }
  const { perm, rank } = pivotedCholesky(U, q, RANK_TOLERANCE);

  // Basic solution in pivoted order: R11ᵀ R11 z = rhs[perm[0..r)], z[r..q) = 0.
  const z = new Float64Array(q);
  for (let a = 0; a < rank; a++) z[a] = rhs[perm[a]!]!;
  forwardTransposed(U, q, rank, z);
  backward(U, q, rank, z);
  for (let a = 0; a < rank; a++) coef[active[perm[a]!]!] = z[a]! * scale[perm[a]!]!;

  // Null space: for each non-pivoted t, v = [−R11⁻¹ R12[:, t]; e_t] (pivoted, scaled
  // coordinates); in original coordinates N = D·v. Project coef onto N's orthogonal
  // complement: coef −= N (NᵀN)⁻¹ Nᵀ coef, which leaves the minimum-norm solution.
  const k = q - rank;
  if (k > 0) {
    const N = new Float64Array(k * p); // row t = null vector t over all p features
    const u = new Float64Array(q);
    for (let t = 0; t < k; t++) {
      u.fill(0);
      for (let a = 0; a < rank; a++) u[a] = -U[a * q + rank + t]!;
      backward(U, q, rank, u);
      u[rank + t] = 1;
      for (let a = 0; a < q; a++) if (u[a] !== 0) N[t * p + active[perm[a]!]!] = u[a]! * scale[perm[a]!]!;
    }
    const { CholeskyDecomposition, Matrix } = mlMatrix();
    const G = new Matrix(k, k);
    const h = new Matrix(k, 1);
    for (let s = 0; s < k; s++) {
      let hs = 0;
      for (let j = 0; j < p; j++) hs += N[s * p + j]! * coef[j]!;
      h.set(s, 0, hs);
      for (let t = s; t < k; t++) {
        let g = 0;
        for (let j = 0; j < p; j++) g += N[s * p + j]! * N[t * p + j]!;
        G.set(s, t, g);
        G.set(t, s, g);
      }
    }
    const w = new CholeskyDecomposition(G).solve(h);
    for (let t = 0; t < k; t++) {
      const wt = w.get(t, 0);
      for (let j = 0; j < p; j++) coef[j]! -= N[t * p + j]! * wt;
    }
  }
  return { coef, rank };
}

let mlMatrixModule: typeof import('ml-matrix') | undefined;

/**
 * ml-matrix, loaded on first use: only a rank-deficient fit needs it, and loading it
 * (a CommonJS bundle) costs about 35 ms of every command's start-up otherwise.
 */
function mlMatrix(): typeof import('ml-matrix') {
  mlMatrixModule ??= createRequire(import.meta.url)('ml-matrix') as typeof import('ml-matrix');
  return mlMatrixModule;
}

/**
 * In-place pivoted Cholesky (LAPACK's dpstrf, upper form) of the symmetric q×q
 * matrix whose upper triangle is in U: S[perm, perm] = RᵀR with R upper in U's first
 * `rank` rows. Stops when the largest remaining pivot is ≤ tolerance.
 */
function pivotedCholesky(U: Float64Array, q: number, tolerance: number): { perm: Int32Array; rank: number } {
  const perm = Int32Array.from({ length: q }, (_, i) => i);
  for (let k = 0; k < q; k++) {
    let piv = k;
    let best = U[k * q + k]!;
    for (let i = k + 1; i < q; i++) {
      const d = U[i * q + i]!;
      if (d > best) {
        best = d;
        piv = i;
      }
    }
    if (!(best > tolerance)) return { perm, rank: k };
    if (piv !== k) symmetricSwap(U, q, k, piv, perm);
    const rkk = Math.sqrt(best);
    const rowK = k * q;
    U[rowK + k] = rkk;
    for (let j = k + 1; j < q; j++) U[rowK + j]! /= rkk;
    // Trailing update of the upper triangle: S[i, j] −= R[k, i]·R[k, j].
    for (let i = k + 1; i < q; i++) {
      const rki = U[rowK + i]!;
      if (rki === 0) continue;
      const rowI = i * q;
      for (let j = i; j < q; j++) U[rowI + j]! -= rki * U[rowK + j]!;
    }
  }
  return { perm, rank: q };
}

/** Swaps indices a < b of the trailing block (from k) in upper storage, and columns a, b of rows < k. */
function symmetricSwap(U: Float64Array, q: number, k: number, b: number, perm: Int32Array): void {
  const a = k;
  const swap = (x: number, y: number): void => {
    const t = U[x]!;
    U[x] = U[y]!;
    U[y] = t;
  };
  for (let r = 0; r < a; r++) swap(r * q + a, r * q + b);
  swap(a * q + a, b * q + b);
  for (let i = a + 1; i < b; i++) swap(a * q + i, i * q + b);
  for (let i = b + 1; i < q; i++) swap(a * q + i, b * q + i);
  const t = perm[a]!;
  perm[a] = perm[b]!;
  perm[b] = t;
}

/** Solves R11ᵀ x = x in place (R11 = U's leading r×r upper triangle). */
function forwardTransposed(U: Float64Array, q: number, r: number, x: Float64Array): void {
  for (let i = 0; i < r; i++) {
    let s = x[i]!;
    for (let l = 0; l < i; l++) s -= U[l * q + i]! * x[l]!;
    x[i] = s / U[i * q + i]!;
  }
}

/** Solves R11 x = x in place. */
function backward(U: Float64Array, q: number, r: number, x: Float64Array): void {
  for (let i = r - 1; i >= 0; i--) {
    let s = x[i]!;
    const row = i * q;
    for (let l = i + 1; l < r; l++) s -= U[row + l]! * x[l]!;
    x[i] = s / U[row + i]!;
  }
}
