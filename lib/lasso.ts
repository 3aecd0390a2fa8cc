/**
 * Lasso: least squares with an L1 penalty, as scikit-learn's `Lasso`.
 *
 * scikit-learn minimizes 1/(2n)·‖y − Xw − b‖² + α‖w‖₁ (the squared error divided by twice the
 * number of rows n), with the intercept b unpenalized, by cyclic coordinate descent; it stops
 * when the duality gap falls below `tol·‖y − ȳ‖²` or after `maxIter` sweeps. We run the same
 * algorithm, with the same stopping rule, on the structured normal equations (see solvers), so
 * a sweep costs about the number of non-zeros of XᵀX instead of a pass over the rows.
 */
import { checkOption, LinearModel, type LinearRegressionParameters } from './linearModel.js';
import type { NormalEquations } from './normalEquations.js';
import { solveLasso } from './solvers.js';

/** Options of `Lasso` (scikit-learn's names and defaults). */
export interface LassoOptions {
  /** Penalty strength α ≥ 0 (the weight of ‖w‖₁). Default 1. */
  alpha?: number;
  /** Fit an unpenalized intercept. Default `true`. */
  fitIntercept?: boolean;
  /** Most coordinate descent sweeps. Default 1000. */
  maxIter?: number;
  /** Stop when the duality gap is below `tol·‖y − ȳ‖²`. Default 1e-4. */
  tol?: number;
}

/**
 * Lasso regression, as scikit-learn's `Lasso(alpha)`, on CSR or dense input, in chunks, batches
 * or from {@link NormalEquations}. Coefficients the penalty drives to zero are exactly 0. After
 * fitting, `nIter`, `dualGap` and `converged` tell how the descent ended (scikit-learn warns
 * when it does not converge; the library prints nothing, so look at `converged`).
 *
 * @example
 * const lasso = new Lasso({ alpha: 0.01 }).fit(dv.fitTransform(train.features), train.duration);
 * lasso.coef.filter((c) => c !== 0).length; // features kept
 */
export class Lasso extends LinearModel {
  /** `'Lasso'`. */
  readonly estimator = 'Lasso' as const;
  /** Penalty strength. */
  readonly alpha: number;
  /** Most coordinate descent sweeps. */
  readonly maxIter: number;
  /** Duality-gap tolerance (relative to ‖y − ȳ‖²). */
  readonly tol: number;
  #nIter = 0;
  #dualGap = 0;
  #converged = false;

  /**
   * Stores options only; `fit` does the work.
   *
   * @throws RangeError for a negative alpha or tol, or maxIter not a positive integer.
   */
  constructor(options: LassoOptions = {}) {
    super(options.fitIntercept);
    this.alpha = checkOption('alpha', options.alpha ?? 1, 0);
    this.maxIter = checkOption('maxIter', options.maxIter ?? 1000, 1, true);
    this.tol = checkOption('tol', options.tol ?? 1e-4, 0);
  }

  /**
   * A fitted model from stored parameters and options (as a model file holds them).
   *
   * @throws Error for a non-finite parameter or a bad option.
   * @example
   * const lasso = Lasso.fromParameters({ coef: [0, 2], intercept: 3, fitIntercept: true, alpha: 0.01 });
   */
  static fromParameters(parameters: LinearRegressionParameters & Omit<LassoOptions, 'fitIntercept'>): Lasso {
    const { alpha, maxIter, tol, fitIntercept } = parameters;
    const model = new Lasso({ fitIntercept, ...(alpha !== undefined && { alpha }), ...(maxIter !== undefined && { maxIter }), ...(tol !== undefined && { tol }) });
    model.restore(parameters);
    model.#converged = true;
    return model;
  }

  /**
   * The options, as scikit-learn's `get_params()`.
   *
   * @example
   * new Lasso({ alpha: 0.01 }).getParams(); // { alpha: 0.01, fitIntercept: true, maxIter: 1000, tol: 0.0001 }
   */
  getParams(): { alpha: number; fitIntercept: boolean; maxIter: number; tol: number } {
    return { alpha: this.alpha, fitIntercept: this.fitIntercept, maxIter: this.maxIter, tol: this.tol };
  }

  /**
   * Coordinate descent sweeps the last fit ran (scikit-learn's `n_iter_`).
   *
   * @throws Error before `fit`.
   * @example
   * lasso.nIter; // e.g. 37
   */
  get nIter(): number {
    this.fittedCoef();
    return this.#nIter;
  }

  /**
   * The duality gap where the descent stopped (scikit-learn's `dual_gap_`, in units of the
   * objective times n).
   *
   * @throws Error before `fit`.
   * @example
   * lasso.dualGap <= lasso.tol * yVariance * n; // when converged
   */
  get dualGap(): number {
    this.fittedCoef();
    return this.#dualGap;
  }

  /**
   * Whether the last fit reached `tol` within `maxIter` sweeps (scikit-learn warns with a
   * ConvergenceWarning when not).
   *
   * @throws Error before `fit`.
   * @example
   * if (!lasso.converged) console.warn('raise maxIter');
   */
  get converged(): boolean {
    this.fittedCoef();
    return this.#converged;
  }

  protected solve(equations: NormalEquations): { coef: Float64Array; intercept: number } {
    const solution = solveLasso(equations, { alpha: this.alpha, fitIntercept: this.fitIntercept, maxIter: this.maxIter, tol: this.tol });
    this.#nIter = solution.nIter;
    this.#dualGap = solution.dualGap;
    this.#converged = solution.converged;
    return solution;
  }
}
