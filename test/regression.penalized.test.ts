/**
 * Ridge and Lasso: scikit-learn's objectives, checked against independent dense solutions
 * (ml-matrix), a naive coordinate descent and the optimality conditions.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Lasso, LinearRegression, Ridge, createEstimator, estimatorName, restoreEstimator, type CsrMatrix } from '../lib/index.js';
import { toDense, tripDesign } from './designs.js';

/** X and y centred (or not), densely. */
function centred(X: CsrMatrix, y: Float64Array, fitIntercept: boolean) {
  const D = toDense(X);
  const means = fitIntercept ? D.mean('column') : new Array<number>(X.cols).fill(0);
  const yMean = fitIntercept ? y.reduce((a, b) => a + b, 0) / y.length : 0;
  return { Xc: D.clone().subRowVector(means), yc: Matrix.columnVector(Array.from(y, (v) => v - yMean)), means, yMean };
}

const maxAbs = (v: ArrayLike<number>): number => Math.max(...Array.from(v, Math.abs));

describe('Ridge', () => {
  it.each([
    [0.1, true],
    [10, true],
    [2, false],
  ])('solves (XcᵀXc + αI)w = Xcᵀyc exactly (alpha %s, fitIntercept %s), with trip_distance outliers', (alpha, fitIntercept) => {
    const { X, y } = tripDesign(1500, 3, { zones: 20, outliers: 97 });
    const ridge = new Ridge({ alpha, fitIntercept }).fit(X, y);
    const { Xc, yc, means, yMean } = centred(X, y, fitIntercept);
    const A = Xc.transpose().mmul(Xc).add(Matrix.eye(X.cols).mul(alpha));
    const w = new CholeskyDecomposition(A).solve(Xc.transpose().mmul(yc)).to1DArray();
    const scale = maxAbs(w);
    w.forEach((c, j) => expect(Math.abs(ridge.coef[j]! - c)).toBeLessThan(1e-9 * scale));
    const intercept = yMean - means.reduce((s, m, j) => s + m * w[j]!, 0);
    expect(ridge.intercept).toBeCloseTo(intercept, 8);
  });

  it('is LinearRegression (minimum norm) at alpha 0, and leaves the intercept unpenalized', () => {
    const { X, y } = tripDesign(800, 5, { zones: 20 });
    const ridge = new Ridge({ alpha: 0 }).fit(X, y);
    const lr = new LinearRegression().fit(X, y);
    expect(Array.from(ridge.coef)).toEqual(Array.from(lr.coef));
    // A huge penalty shrinks every coefficient towards 0 but not the intercept, which goes to ȳ.
    const shrunk = new Ridge({ alpha: 1e12 }).fit(X, y);
    expect(maxAbs(shrunk.coef)).toBeLessThan(1e-6);
    expect(shrunk.intercept).toBeCloseTo(y.reduce((a, b) => a + b, 0) / y.length, 5);
  });

  it('restores from parameters and options', () => {
    const { X, y } = tripDesign(300, 7, { zones: 20 });
    const ridge = new Ridge({ alpha: 4 }).fit(X, y);
    const restored = Ridge.fromParameters({ ...ridge.parameters, ...ridge.getParams() });
    expect(restored.getParams()).toEqual({ alpha: 4, fitIntercept: true });
    expect(restored.predict(X)).toEqual(ridge.predict(X));
  });

  it.each([
    ['a negative alpha', () => new Ridge({ alpha: -1 }), /regression: alpha must be a finite number ≥ 0, got -1/],
    ['a NaN alpha', () => new Ridge({ alpha: NaN }), /regression: alpha must be a finite number ≥ 0, got null/],
    ['an alpha given as a string', () => new Ridge({ alpha: '1' as never }), /regression: alpha must be a finite number ≥ 0, got "1"/],
    ['a fitIntercept that is not a boolean', () => new Ridge({ fitIntercept: 1 as never }), /regression: fitIntercept must be true or false, got 1/],
    ['predicting before fitting', () => new Ridge().predict([[1]]), /regression: this Ridge is not fitted yet/],
  ])('rejects %s', (_, act, message) => {
    expect(act).toThrow(message);
  });
});

/** Xcᵀ(yc − Xc w)/n, the lasso's gradient of the squared error part. */
function lassoGradient(X: CsrMatrix, y: Float64Array, model: Lasso): number[] {
  const { Xc, yc } = centred(X, y, model.fitIntercept);
  const r = yc.clone().sub(Xc.mmul(Matrix.columnVector(Array.from(model.coef))));
  return Xc.transpose().mmul(r).div(X.rows).to1DArray();
}

/** The lasso's optimality conditions: |g_j| ≤ α where w_j = 0, g_j = α·sign(w_j) elsewhere. */
function expectOptimal(X: CsrMatrix, y: Float64Array, model: Lasso): void {
  const g = lassoGradient(X, y, model);
  const alpha = model.alpha;
  g.forEach((gj, j) => {
    const wj = model.coef[j]!;
    if (wj === 0) expect(Math.abs(gj)).toBeLessThanOrEqual(alpha * (1 + 1e-6));
    else expect(Math.abs(gj - alpha * Math.sign(wj))).toBeLessThan(1e-7 * alpha);
  });
}

/** A naive coordinate descent on the dense centred design: the textbook algorithm, to compare. */
function naiveLasso(X: CsrMatrix, y: Float64Array, alpha: number, sweeps: number): number[] {
  const { Xc, yc } = centred(X, y, true);
  const n = X.rows;
  const p = X.cols;
  const w = new Array<number>(p).fill(0);
  const r = yc.to1DArray();
  const norms = Array.from({ length: p }, (_, j) => Xc.getColumn(j).reduce((s, v) => s + v * v, 0));
  for (let sweep = 0; sweep < sweeps; sweep++) {
    for (let j = 0; j < p; j++) {
      if (norms[j]! < 1e-12) continue;
      const col = Xc.getColumn(j);
      let rho = 0;
      for (let i = 0; i < n; i++) rho += col[i]! * (r[i]! + col[i]! * w[j]!);
      const next = Math.sign(rho) * Math.max(Math.abs(rho) - n * alpha, 0) / norms[j]!;
      if (next !== w[j]) for (let i = 0; i < n; i++) r[i]! -= col[i]! * (next - w[j]!);
      w[j] = next;
    }
  }
  return w;
}

describe('Lasso', () => {
  it.each([
    ['the course zones with trip_distance outliers', tripDesign(1200, 11, { zones: 20, outliers: 89 }), 0.05],
    ['the PU_DO pairs', tripDesign(3000, 13, { pairs: true, zones: 12 }), 0.02],
    ['a penalty that keeps few features', tripDesign(1000, 17, { zones: 20 }), 0.5],
  ] as const)('reaches the optimality conditions of 1/(2n)‖y − Xw − b‖² + α‖w‖₁ (%s)', (_, { X, y }, alpha) => {
    const lasso = new Lasso({ alpha, tol: 1e-12, maxIter: 100_000 }).fit(X, y);
    expect(lasso.converged).toBe(true);
    expect(lasso.coef.some((c) => c === 0)).toBe(true);
    expect(lasso.coef.some((c) => c !== 0)).toBe(true);
    expectOptimal(X, y, lasso);
  });

  it('agrees with a naive coordinate descent on the dense centred design', () => {
    const { X, y } = tripDesign(600, 19, { zones: 10 });
    const lasso = new Lasso({ alpha: 0.03, tol: 1e-14, maxIter: 100_000 }).fit(X, y);
    const naive = naiveLasso(X, y, 0.03, 3000);
    const scale = maxAbs(naive);
    naive.forEach((c, j) => expect(Math.abs(lasso.coef[j]! - c)).toBeLessThan(1e-8 * scale));
  });

  it('fits without an intercept (no centring)', () => {
    const { X, y } = tripDesign(800, 23, { zones: 20 });
    const lasso = new Lasso({ alpha: 0.05, fitIntercept: false, tol: 1e-12, maxIter: 100_000 }).fit(X, y);
    expect(lasso.intercept).toBe(0);
    expectOptimal(X, y, lasso);
  });

  it('gives all zeros and ȳ above the largest useful alpha, at once, as scikit-learn does', () => {
    const { X, y } = tripDesign(500, 29, { zones: 20 });
    const lasso = new Lasso({ alpha: 1e6 }).fit(X, y);
    expect(lasso.coef.every((c) => c === 0)).toBe(true);
    expect(lasso.intercept).toBeCloseTo(y.reduce((a, b) => a + b, 0) / y.length, 12);
    expect(lasso.nIter).toBe(0);
    expect(lasso.converged).toBe(true);
  });

  it('says when it stops at maxIter without converging', () => {
    const { X, y } = tripDesign(800, 31, { zones: 20, outliers: 50 });
    const lasso = new Lasso({ alpha: 0.001, tol: 1e-15, maxIter: 2 }).fit(X, y);
    expect(lasso.nIter).toBe(2);
    expect(lasso.converged).toBe(false);
    expect(lasso.dualGap).toBeGreaterThan(0);
  });

  it('records its options and restores from parameters', () => {
    const { X, y } = tripDesign(300, 37, { zones: 20 });
    const lasso = new Lasso({ alpha: 0.1, maxIter: 50, tol: 1e-3 }).fit(X, y);
    expect(lasso.getParams()).toEqual({ alpha: 0.1, fitIntercept: true, maxIter: 50, tol: 1e-3 });
    const restored = Lasso.fromParameters({ ...lasso.parameters, ...lasso.getParams() });
    expect(restored.predict(X)).toEqual(lasso.predict(X));
    expect(restored.getParams()).toEqual(lasso.getParams());
  });

  it.each([
    ['a negative alpha', () => new Lasso({ alpha: -0.1 }), /regression: alpha must be a finite number ≥ 0, got -0.1/],
    ['maxIter 0', () => new Lasso({ maxIter: 0 }), /regression: maxIter must be an integer ≥ 1, got 0/],
    ['a fractional maxIter', () => new Lasso({ maxIter: 1.5 }), /regression: maxIter must be an integer ≥ 1, got 1.5/],
    ['a negative tol', () => new Lasso({ tol: -1 }), /regression: tol must be a finite number ≥ 0, got -1/],
    ['nIter before fitting', () => new Lasso().nIter, /regression: this Lasso is not fitted yet/],
  ])('rejects %s', (_, act, message) => {
    expect(act).toThrow(message);
  });
});

describe('estimators by name', () => {
  it('creates and restores each estimator from its name and options', () => {
    const { X, y } = tripDesign(400, 41, { zones: 20 });
    for (const [name, options] of [
      ['linearregression', { fitIntercept: false }],
      ['Ridge', { alpha: 0.5 }],
      ['LASSO', { alpha: 0.02, maxIter: 300, tol: 1e-6 }],
    ] as const) {
      const model = createEstimator(name, options).fit(X, y);
      expect(model.estimator).toBe(estimatorName(name));
      expect(model.getParams()).toMatchObject(options);
      const restored = restoreEstimator(model.estimator, model.getParams(), model.parameters);
      expect(restored).toBeInstanceOf(model.constructor);
      expect(restored.predict(X)).toEqual(model.predict(X));
    }
  });

  it.each([
    ['an unknown estimator', () => createEstimator('SGDRegressor'), /regression: unknown estimator "SGDRegressor"; known: LinearRegression, Ridge, Lasso/],
    ['an option it does not take', () => createEstimator('Ridge', { maxIter: 5 }), /regression: maxIter is not an option of Ridge \(its options: fitIntercept, alpha\)/],
    ['an option of the wrong type', () => createEstimator('Lasso', { alpha: '0.1' }), /regression: Lasso's alpha is "0.1", expected a number/],
    ['a bad value', () => createEstimator('Lasso', { tol: -1 }), /regression: tol must be a finite number ≥ 0, got -1/],
  ])('rejects %s', (_, act, message) => {
    expect(act).toThrow(message);
  });
});
