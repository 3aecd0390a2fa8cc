/**
 * Estimators by name: the one table of which linear estimators exist and which options each
 * takes, for a command line (`--model Lasso --alpha 0.01`), notebook parameters and the model
 * file, which records an estimator as its name and options (scikit-learn's `get_params()`).
 */
import { Lasso } from './lasso.js';
import type { EstimatorName, LinearModel, LinearRegressionParameters } from './linearModel.js';
import { LinearRegression } from './regression.js';
import { Ridge } from './ridge.js';

/**
 * Each estimator's options and their types (scikit-learn's names, camelCase).
 *
 * @example
 * Object.keys(ESTIMATOR_OPTIONS.Lasso); // ['fitIntercept', 'alpha', 'maxIter', 'tol']
 */
export const ESTIMATOR_OPTIONS: Readonly<Record<EstimatorName, Readonly<Record<string, 'boolean' | 'number'>>>> = Object.freeze({
  LinearRegression: Object.freeze({ fitIntercept: 'boolean' }),
  Ridge: Object.freeze({ fitIntercept: 'boolean', alpha: 'number' }),
  Lasso: Object.freeze({ fitIntercept: 'boolean', alpha: 'number', maxIter: 'number', tol: 'number' }),
} as const);

/**
 * The estimator called `name` (case-insensitive), checked.
 *
 * @throws Error (`regression: ...`) for an unknown name, listing the known ones.
 * @example
 * estimatorName('lasso'); // 'Lasso'
 * estimatorName('linear'); // 'LinearRegression'
 */
export function estimatorName(name: string): EstimatorName {
  // `linear`: the command line's short name for LinearRegression (`--estimator linear|ridge|lasso`).
  const wanted = String(name).toLowerCase() === 'linear' ? 'linearregression' : String(name).toLowerCase();
  const found = (Object.keys(ESTIMATOR_OPTIONS) as EstimatorName[]).find((e) => e.toLowerCase() === wanted);
  if (found === undefined) throw new Error(`regression: unknown estimator ${JSON.stringify(name)}; known: ${Object.keys(ESTIMATOR_OPTIONS).join(', ')}`);
  return found;
}

/**
 * Checks options for an estimator: known names, right types (values are checked by the
 * estimator's constructor).
 *
 * @throws Error (`regression: ...`) naming the option and the estimator's options.
 * @example
 * checkEstimatorOptions('Ridge', { alpha: 2 });
 */
export function checkEstimatorOptions(estimator: EstimatorName, options: Readonly<Record<string, unknown>>): void {
  const known = ESTIMATOR_OPTIONS[estimator];
  for (const [key, value] of Object.entries(options)) {
    const type = Object.hasOwn(known, key) ? known[key] : undefined;
    if (type === undefined) throw new Error(`regression: ${key} is not an option of ${estimator} (its options: ${Object.keys(known).join(', ')})`);
    if (typeof value !== type) throw new Error(`regression: ${estimator}'s ${key} is ${JSON.stringify(value) ?? String(value)}, expected ${type === 'boolean' ? 'true or false' : 'a number'}`);
  }
}

/**
 * A new, unfitted estimator from its name and options.
 *
 * @throws Error (`regression: ...`) for an unknown estimator or option, or a bad value.
 * @example
 * const model = createEstimator('Lasso', { alpha: 0.01 }).fit(X, y);
 */
export function createEstimator(name: string, options: Readonly<Record<string, unknown>> = {}): LinearModel {
  const estimator = estimatorName(name);
  checkEstimatorOptions(estimator, options);
  if (estimator === 'Ridge') return new Ridge(options);
  if (estimator === 'Lasso') return new Lasso(options);
  return new LinearRegression(options);
}

/**
 * A fitted estimator from its name, options and parameters (as a model file holds them).
 *
 * @throws Error (`regression: ...`) as {@link createEstimator}, or for non-finite parameters.
 * @example
 * restoreEstimator('Ridge', { alpha: 1, fitIntercept: true }, { coef: [0.5], intercept: 2, fitIntercept: true });
 */
export function restoreEstimator(name: string, options: Readonly<Record<string, unknown>>, parameters: LinearRegressionParameters): LinearModel {
  const estimator = estimatorName(name);
  checkEstimatorOptions(estimator, options);
  const all = { ...options, ...parameters };
  if (estimator === 'Ridge') return Ridge.fromParameters(all);
  if (estimator === 'Lasso') return Lasso.fromParameters(all);
  return LinearRegression.fromParameters(all);
}
