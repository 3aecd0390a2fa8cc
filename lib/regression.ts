/**
 * LinearRegression: ordinary least squares on the sparse one-hot design, giving scikit-learn's
 * answer (the minimum-norm least-squares solution) at full size.
 *
 * The rows are summed per group of one-hot columns (see designStatistics, and
 * {@link TripStatistics} for trips in one mergeable pass), which become structured normal equations
 * (XᵀX as a diagonal, sparse one-hot blocks and dense numeric rows: see normalEquations), which
 * `solveLeastSquares` solves by eliminating the largest one-hot group first and factoring the
 * small dense remainder by pivoted Cholesky (see solvers). The one-hot design is
 * rank-deficient (each group sums to 1 in every row); scikit-learn centres and runs LSQR from
 * zero, which converges to the minimum-norm solution, so we project the null space out of the
 * coefficients. Predictions for rows whose categories were all seen in training do not depend
 * on that projection; rows with an unseen category and the coefficients do.
 */
import { LinearModel, type LinearRegressionParameters } from './linearModel.js';
import type { NormalEquations } from './normalEquations.js';
import { solveLeastSquares } from './solvers.js';

export type { DesignMatrix, LinearRegressionParameters } from './linearModel.js';

/** Options of `LinearRegression` (scikit-learn's names and defaults). */
export interface LinearRegressionOptions {
  /** Fit an intercept (centre X and y first). Default `true`. */
  fitIntercept?: boolean;
}

/**
 * Ordinary least squares, as scikit-learn's `LinearRegression`, on CSR or dense input.
 *
 * On a rank-deficient design (one-hot groups always are) the coefficients are the
 * minimum-norm solution, as scikit-learn's centred LSQR gives; `intercept = ȳ − x̄·coef`. A
 * column that is constant in training gets coefficient 0. `fit` returns `this`; `fitChunks`
 * and `fitBatches` fit on rows given a part at a time (bounded memory), `fitStatistics` on
 * {@link NormalEquations}; `coef`, `intercept` and `rank` exist only after fitting; predicting
 * before fitting, or with a different number of features than in fitting, is an error.
 * Non-finite values in X or y are errors.
 *
 * @example
 * const dv = new DictVectorizer();
 * const Xtrain = dv.fitTransform(train.features);
 * const model = new LinearRegression().fit(Xtrain, train.duration);
 * const yPred = model.predict(dv.transform(validation.features));
 * rootMeanSquaredError(validation.duration, yPred); // ≈ 8 minutes on real data
 */
export class LinearRegression extends LinearModel {
  /** `'LinearRegression'`. */
  readonly estimator = 'LinearRegression' as const;
  #rank = 0;

  /** Stores options only; `fit` does the work. */
  constructor(options: LinearRegressionOptions = {}) {
    super(options.fitIntercept);
  }

  /**
   * A fitted model from stored parameters (as a model file holds them).
   *
   * @throws Error when a parameter is not finite, or the intercept is not 0 without `fitIntercept`.
   * @example
   * const model = LinearRegression.fromParameters({ coef: [0.5, 2], intercept: 3, fitIntercept: true });
   */
  static fromParameters(parameters: LinearRegressionParameters): LinearRegression {
    const model = new LinearRegression({ fitIntercept: parameters.fitIntercept }).restore(parameters);
    model.#rank = model.coef.length;
    return model;
  }

  /**
   * The options, as scikit-learn's `get_params()`.
   *
   * @example
   * new LinearRegression().getParams(); // { fitIntercept: true }
   */
  getParams(): { fitIntercept: boolean } {
    return { fitIntercept: this.fitIntercept };
  }

  /**
   * The numerical rank of the (centred) design found by `fit`; fewer than the number of
   * features means several least-squares solutions exist and the minimum-norm one was taken.
   * After `fromParameters` it is the number of features.
   *
   * @throws Error before `fit`.
   * @example
   * model.rank; // p − 1 for one one-hot group with an intercept
   */
  get rank(): number {
    this.fittedCoef();
    return this.#rank;
  }

  protected solve(equations: NormalEquations): { coef: Float64Array; intercept: number } {
    const solution = solveLeastSquares(equations, { alpha: 0, fitIntercept: this.fitIntercept });
    this.#rank = solution.rank;
    return solution;
  }
}
