/**
 * Regression metrics with scikit-learn's names: the course evaluates with the
 * root mean squared error of the predicted trip duration, in minutes.
 */

/**
 * The mean of the squared differences, as scikit-learn's `mean_squared_error`.
 *
 * Sums with compensation (Neumaier), so three million terms keep full precision.
 *
 * @throws Error when the arrays are empty, differ in length, or hold a non-finite value
 *   (scikit-learn raises on NaN / infinity too).
 * @example
 * meanSquaredError([3, -0.5, 2, 7], [2.5, 0, 2, 8]); // 0.375
 */
export function meanSquaredError(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = yTrue.length;
  if (yPred.length !== n) throw new Error(`metrics: yTrue has ${n} values but yPred has ${yPred.length}`);
  if (n === 0) throw new Error('metrics: yTrue and yPred are empty; there is nothing to score');
  let sum = 0;
  let compensation = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    const d = t - p;
    if (!Number.isFinite(d)) {
      throw new Error(`metrics: non-finite value at index ${i} (yTrue ${t}, yPred ${p}); drop or fix it before scoring`);
    }
    const term = d * d;
    const s = sum + term;
    compensation += Math.abs(sum) >= term ? sum - s + term : term - s + sum;
    sum = s;
  }
  return (sum + compensation) / n;
}

/**
 * The square root of `meanSquaredError`, as scikit-learn's `root_mean_squared_error`
 * (the course's `mean_squared_error(..., squared=False)`, removed in scikit-learn 1.6).
 *
 * @throws Error as `meanSquaredError`.
 * @example
 * rootMeanSquaredError(validation.duration, model.predict(Xval)); // minutes
 */
export function rootMeanSquaredError(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  return Math.sqrt(meanSquaredError(yTrue, yPred));
}
