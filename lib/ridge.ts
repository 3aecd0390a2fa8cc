/**
 * Ridge: least squares with an L2 penalty, as scikit-learn's `Ridge`.
 *
 * scikit-learn minimizes ‖y − Xw − b‖² + α‖w‖² (the squared error is not divided by the number
 * of rows, unlike Lasso's), with the intercept b unpenalized. The solution is unique for α > 0;
 * we compute it directly, as scikit-learn's `solver='cholesky'` does, on the structured normal
 * equations (see solvers): exact at full size, where scikit-learn's default sparse solvers stop
 * at `tol=1e-4`.
 */
import { checkOption, LinearModel, type LinearRegressionParameters } from './linearModel.js';
import type { NormalEquations } from './normalEquations.js';
import { solveLeastSquares } from './solvers.js';

/** Options of `Ridge` (scikit-learn's names and defaults). */
export interface RidgeOptions {
  /** Penalty strength α ≥ 0 (the weight of ‖w‖²). Default 1. */
  alpha?: number;
  /** Fit an unpenalized intercept. Default `true`. */
  fitIntercept?: boolean;
}

/**
 * Ridge regression, as scikit-learn's `Ridge(alpha)`, on CSR or dense input, in chunks,
 * batches or from {@link NormalEquations}. `alpha = 0` gives ordinary least squares (the
 * minimum-norm solution, as `LinearRegression`).
 *
 * @example
 * const ridge = new Ridge({ alpha: 1 }).fit(dv.fitTransform(train.features), train.duration);
 * rootMeanSquaredError(validation.duration, ridge.predict(dv.transform(validation.features)));
 */
export class Ridge extends LinearModel {
  /** `'Ridge'`. */
  readonly estimator = 'Ridge' as const;
  /** Penalty strength. */
  readonly alpha: number;

  /**
   * Stores options only; `fit` does the work.
   *
   * @throws RangeError for a negative or non-finite alpha.
   */
  constructor(options: RidgeOptions = {}) {
    super(options.fitIntercept);
    this.alpha = checkOption('alpha', options.alpha ?? 1, 0);
  }

  /**
   * A fitted model from stored parameters and options (as a model file holds them).
   *
   * @throws Error for a non-finite parameter or a bad option.
   * @example
   * const ridge = Ridge.fromParameters({ coef: [0.5, 2], intercept: 3, fitIntercept: true, alpha: 1 });
   */
  static fromParameters(parameters: LinearRegressionParameters & { alpha?: number }): Ridge {
    return new Ridge({ alpha: parameters.alpha ?? 1, fitIntercept: parameters.fitIntercept }).restore(parameters);
  }

  /**
   * The options, as scikit-learn's `get_params()`.
   *
   * @example
   * new Ridge().getParams(); // { alpha: 1, fitIntercept: true }
   */
  getParams(): { alpha: number; fitIntercept: boolean } {
    return { alpha: this.alpha, fitIntercept: this.fitIntercept };
  }

  protected solve(equations: NormalEquations): { coef: Float64Array; intercept: number } {
    return solveLeastSquares(equations, { alpha: this.alpha, fitIntercept: this.fitIntercept });
  }
}
