import { Matrix, pseudoInverse } from 'ml-matrix';
import { MultivariateLinearRegression, SimpleLinearRegression } from 'ml-regression';
import { describe, expect, it } from 'vitest';
import { DictVectorizer, LinearRegression, PAIR_FEATURES, categorical, featureColumns, solveMinimumNorm, type CsrMatrix } from '../lib/index.js';
import { rng, toDense, tripDesign } from './designs.js';

/** Xcᵀ(yc − Xc·coef) relative to ‖Xcᵀ yc‖: zero at any least-squares solution. */
function relativeGradient(X: CsrMatrix, y: Float64Array, model: LinearRegression): number {
  const pred = model.predict(X);
  const g = new Float64Array(X.cols);
  const gy = new Float64Array(X.cols);
  const yMean = y.reduce((a, b) => a + b, 0) / y.length;
  for (let i = 0; i < X.rows; i++) {
    for (let k = X.indptr[i]!; k < X.indptr[i + 1]!; k++) {
      // Residuals sum to zero with an intercept, so uncentred X gives the centred gradient.
      g[X.indices[k]!]! += X.data[k]! * (y[i]! - pred[i]!);
      gy[X.indices[k]!]! += X.data[k]! * (y[i]! - yMean);
    }
  }
  return Math.hypot(...g) / Math.hypot(...gy);
}

describe('LinearRegression', () => {
  it('matches ml-regression on a full-rank dense problem, with and without intercept', () => {
    const r = rng(7);
    const X = Array.from({ length: 200 }, () => [r() * 10, r() - 0.5, 50 + r() * 5]);
    const y = X.map(([a, b, c]) => 1.5 * a! - 4 * b! + 0.25 * c! + 7 + r());
    for (const fitIntercept of [true, false]) {
      const ours = new LinearRegression({ fitIntercept }).fit(X, y);
      const theirs = new MultivariateLinearRegression(X, y.map((v) => [v]), { intercept: fitIntercept });
      const w = theirs.weights.map((row) => row[0]!);
      for (let j = 0; j < 3; j++) expect(ours.coef[j]).toBeCloseTo(w[j]!, 9);
      expect(ours.intercept).toBeCloseTo(fitIntercept ? w[3]! : 0, 8);
      expect(ours.rank).toBe(3);
      const probe = [3, 0.1, 52];
      expect(ours.predict([probe])[0]).toBeCloseTo(theirs.predict(probe)[0]!, 9);
    }
  });

  it('matches ml-regression SimpleLinearRegression with one feature', () => {
    const r = rng(11);
    const x = Array.from({ length: 100 }, () => r() * 20);
    const y = x.map((v) => 2 + 0.75 * v + r());
    const ours = new LinearRegression().fit(x.map((v) => [v]), y);
    const simple = new SimpleLinearRegression(x, y);
    expect(ours.coef[0]).toBeCloseTo(simple.slope, 10);
    expect(ours.intercept).toBeCloseTo(simple.intercept, 10);
  });

  it('takes the minimum-norm solution on a rank-deficient one-hot design (as pinv of the centred X)', () => {
    const { X, y } = tripDesign(1500, 3);
    const model = new LinearRegression().fit(X, y);
    // PU and DO one-hot groups each sum to 1 in every row: two null directions.
    expect(model.rank).toBe(X.cols - 2);
    const D = toDense(X);
    const means = D.mean('column');
    const Dc = D.clone().subRowVector(means);
    const yMean = y.reduce((a, b) => a + b, 0) / y.length;
    const coef = pseudoInverse(Dc).mmul(Matrix.columnVector(Array.from(y, (v) => v - yMean))).to1DArray();
    const scale = Math.max(...coef.map(Math.abs));
    coef.forEach((c, j) => expect(Math.abs(model.coef[j]! - c)).toBeLessThan(1e-9 * scale));
    const intercept = yMean - means.reduce((s, m, j) => s + m * coef[j]!, 0);
    expect(model.intercept).toBeCloseTo(intercept, 9);
  });

  it('stays exact with trip_distance outliers near 300,000 next to one-hot 1s', () => {
    const { X, y, dv } = tripDesign(4000, 5, { outliers: 97 });
    const model = new LinearRegression().fit(X, y);
    expect(model.rank).toBe(X.cols - 2);
    // A least-squares solution: the normal-equations gradient vanishes ...
    expect(relativeGradient(X, y, model)).toBeLessThan(1e-10);
    // ... and the minimum-norm one: orthogonal to the null directions (each one-hot group).
    const names = dv.getFeatureNamesOut();
    for (const group of ['PULocationID=', 'DOLocationID=']) {
      const sum = names.reduce((s, name, j) => (name.startsWith(group) ? s + model.coef[j]! : s), 0);
      expect(Math.abs(sum)).toBeLessThan(1e-9);
    }
  });

  it('solves the PU_DO design (thousands of one-hot columns) by elimination: least squares, minimum norm', () => {
    const r = rng(41);
    const n = 40000;
    const pu = Int32Array.from({ length: n }, () => 1 + Math.floor(90 * r()));
    const dof = Int32Array.from({ length: n }, () => 1 + Math.floor(90 * r()));
    const dist = Float64Array.from({ length: n }, (_, i) => (i % 503 === 0 ? 250000 : r() * 20));
    const y = Float64Array.from({ length: n }, (_, i) => 3 + 2 * Math.min(dist[i]!, 30) + ((pu[i]! * dof[i]!) % 13) + r());
    const dv = new DictVectorizer();
    const X = dv.fitTransform(featureColumns({ PULocationID: categorical(pu), DOLocationID: categorical(dof), trip_distance: dist }, PAIR_FEATURES));
    expect(X.cols).toBeGreaterThan(5000); // a dense XᵀX would be 200 MB here, 7 GB on a real month
    const model = new LinearRegression().fit(X, y);
    // The pair columns sum to the intercept's column: one null direction.
    expect(model.rank).toBe(X.cols - 1);
    expect(relativeGradient(X, y, model)).toBeLessThan(1e-10);
    // Minimum norm: orthogonal to the null direction, so the pair coefficients sum to zero.
    const names = dv.getFeatureNamesOut();
    const scale = Math.max(...Array.from(model.coef, Math.abs));
    const pairSum = names.reduce((s, name, j) => (name.startsWith('PU_DO=') ? s + model.coef[j]! : s), 0);
    expect(Math.abs(pairSum)).toBeLessThan(1e-9 * scale * names.length);
  });

  it('centres a numeric column with a huge mean without losing its digits', () => {
    // Centring from raw sums (Σx² − n·x̄²) would cancel all digits of a 1e9-offset column.
    const r = rng(13);
    const u = Array.from({ length: 1000 }, () => r());
    const X = u.map((v) => [1e9 + v]);
    const y = u.map((v) => 1 + 5 * v);
    const model = new LinearRegression().fit(X, y);
    expect(model.coef[0]).toBeCloseTo(5, 6);
    // The prediction adds 5e9 to an intercept near −5e9, so ~1e-6 of rounding is inherent.
    expect(model.predict([[1e9 + 0.5]])[0]).toBeCloseTo(3.5, 4);
  });

  it('gives a constant column coefficient 0 and fits the rest', () => {
    const r = rng(17);
    const X = Array.from({ length: 50 }, () => [r(), 0.1, r()]);
    const y = X.map(([a, , c]) => 2 * a! - c! + 1);
    const model = new LinearRegression().fit(X, y);
    expect(model.coef[1]).toBe(0);
    expect(model.coef[0]).toBeCloseTo(2, 10);
    expect(model.coef[2]).toBeCloseTo(-1, 10);
    expect(model.intercept).toBeCloseTo(1, 10);
  });

  it('fits without intercept on a one-hot design (min-norm, intercept 0)', () => {
    const { X, y } = tripDesign(800, 19);
    const model = new LinearRegression({ fitIntercept: false }).fit(X, y);
    expect(model.intercept).toBe(0);
    const coef = pseudoInverse(toDense(X)).mmul(Matrix.columnVector(Array.from(y))).to1DArray();
    const scale = Math.max(...coef.map(Math.abs));
    coef.forEach((c, j) => expect(Math.abs(model.coef[j]! - c)).toBeLessThan(1e-9 * scale));
  });

  it('fits in batches with the same result as on all rows at once', () => {
    const r = rng(31);
    const n = 3000;
    const pu = Int32Array.from({ length: n }, () => 1 + Math.floor(30 * r() * r()));
    const dof = Int32Array.from({ length: n }, () => 1 + Math.floor(30 * r()));
    // Batches differ in their mean distance, so the merge's δ terms matter.
    const dist = Float64Array.from({ length: n }, (_, i) => (i % 211 === 0 ? 250000 : r() * (i < 1000 ? 3 : 30)));
    const y = Float64Array.from({ length: n }, (_, i) => 2 + 2 * Math.min(dist[i]!, 40) + 0.1 * pu[i]! + r());
    const features = { PULocationID: categorical(pu), DOLocationID: categorical(dof), trip_distance: dist };
    const dv = new DictVectorizer().fit(features);
    for (const fitIntercept of [true, false]) {
      const whole = new LinearRegression({ fitIntercept }).fit(dv.transform(features), y);
      const bounds = [0, 1000, 1000, 1700, 3000]; // includes an empty batch
      const batched = new LinearRegression({ fitIntercept }).fitBatches(
        bounds.slice(1).map((end, i) => {
          const start = bounds[i]!;
          const X = start === end ? { rows: 0, cols: dv.getFeatureNamesOut().length, indptr: Int32Array.of(0), indices: new Int32Array(0), data: new Float64Array(0) } : dv.transform(features, { start, end });
          return { X, y: y.subarray(start, end) };
        }),
      );
      expect(batched.rank).toBe(whole.rank);
      const scale = Math.max(...Array.from(whole.coef, Math.abs));
      whole.coef.forEach((c, j) => expect(Math.abs(batched.coef[j]! - c)).toBeLessThan(1e-10 * scale));
      expect(Math.abs(batched.intercept - whole.intercept)).toBeLessThan(1e-10 * Math.max(1, Math.abs(whole.intercept)));
    }
    expect(() => new LinearRegression().fitBatches([])).toThrow(/regression: X has no rows/);
    expect(() =>
      new LinearRegression().fitBatches([
        { X: [[1, 2]], y: [1] },
        { X: [[1]], y: [1] },
      ]),
    ).toThrow(/regression: this batch has 1 features but the first had 2; .* \(in batch 1\)/);
  });

  it('fits in chunks with bit for bit the result of one matrix (fitChunks)', () => {
    const r = rng(37);
    const n = 2500;
    const pu = Int32Array.from({ length: n }, () => 1 + Math.floor(30 * r() * r()));
    const dof = Int32Array.from({ length: n }, () => 1 + Math.floor(30 * r()));
    const dist = Float64Array.from({ length: n }, (_, i) => (i % 173 === 0 ? 250000 : r() * 30));
    const y = Float64Array.from({ length: n }, (_, i) => 2 + 2 * Math.min(dist[i]!, 40) + 0.1 * pu[i]! + r());
    const features = { PULocationID: categorical(pu), DOLocationID: categorical(dof), trip_distance: dist };
    const dv = new DictVectorizer().fit(features);
    for (const fitIntercept of [true, false]) {
      const whole = new LinearRegression({ fitIntercept }).fit(dv.transform(features), y);
      let calls = 0;
      const chunked = new LinearRegression({ fitIntercept }).fitChunks(function* () {
        calls++;
        for (let start = 0; start < n; start += 700) {
          const end = Math.min(n, start + 700);
          yield { X: dv.transform(features, { start, end }), y: y.subarray(start, end) };
        }
      });
      expect(calls).toBe(2); // one call per pass
      expect(Array.from(chunked.coef)).toEqual(Array.from(whole.coef));
      expect(Object.is(chunked.intercept, whole.intercept)).toBe(true);
      expect(chunked.rank).toBe(whole.rank);
    }
    expect(() => new LinearRegression().fitChunks(() => [])).toThrow(/regression: X has no rows/);
    // Row numbers in messages count across chunks.
    const yBad = Float64Array.from(y);
    yBad[1500] = NaN;
    expect(() =>
      new LinearRegression().fitChunks(function* () {
        for (let start = 0; start < n; start += 700) {
          const end = Math.min(n, start + 700);
          yield { X: dv.transform(features, { start, end }), y: yBad.subarray(start, end) };
        }
      }),
    ).toThrow(/regression: y\[1500\] is NaN/);
  });

  it('restores from parameters and predicts the same', () => {
    const { X, y } = tripDesign(300, 23);
    const model = new LinearRegression().fit(X, y);
    const restored = LinearRegression.fromParameters(model.parameters);
    expect(restored.predict(X)).toEqual(model.predict(X));
    expect(() => LinearRegression.fromParameters({ coef: [1], intercept: 2, fitIntercept: false })).toThrow(/regression: intercept is 2 but fitIntercept is false/);
    expect(() => LinearRegression.fromParameters({ coef: [NaN], intercept: 0, fitIntercept: true })).toThrow(/regression: coefficient 0 is NaN/);
  });

  it.each([
    ['predict before fit', () => new LinearRegression().predict([[1]]), /regression: this LinearRegression is not fitted yet/],
    ['coef before fit', () => new LinearRegression().coef, /not fitted yet/],
    ['a different number of features', () => new LinearRegression().fit([[1], [2]], [1, 2]).predict([[1, 2]]), /regression: X has 2 features but the model was fitted with 1/],
    ['X and y of different lengths', () => new LinearRegression().fit([[1], [2]], [1]), /regression: X has 2 rows but y has 1 values/],
    ['no rows', () => new LinearRegression().fit([], []), /regression: X has no rows/],
    ['a NaN target', () => new LinearRegression().fit([[1], [2]], [1, NaN]), /regression: y\[1\] is NaN/],
    ['an infinite feature', () => new LinearRegression().fit([[1], [Infinity]], [1, 2]), /regression: X has Infinity at row 1, column 0/],
    ['ragged dense rows', () => new LinearRegression().fit([[1, 2], [3]], [1, 2]), /regression: dense X row 1 has 1 values; row 0 has 2/],
    [
      'unsorted CSR indices',
      () => new LinearRegression().fit({ rows: 1, cols: 2, indptr: Int32Array.of(0, 2), indices: Int32Array.of(1, 0), data: Float64Array.of(1, 1) }, [1]),
      /regression: X row 0 has column indices out of order or repeated \(1, 0\)/,
    ],
    [
      'a decreasing CSR indptr',
      () => new LinearRegression().fit({ rows: 2, cols: 2, indptr: Int32Array.of(0, 2, 1), indices: Int32Array.of(0, 1), data: Float64Array.of(1, 1) }, [1, 2]),
      /regression: X.indptr decreases at row 1/,
    ],
    [
      'a CSR index out of range in predict',
      () => new LinearRegression().fit([[1], [2]], [1, 2]).predict({ rows: 1, cols: 1, indptr: Int32Array.of(0, 1), indices: Int32Array.of(3), data: Float64Array.of(1) }),
      /regression: X has column index 3 at row 0, outside 0..0/,
    ],
    [
      'a CSR index out of range',
      () => new LinearRegression().fit({ rows: 1, cols: 2, indptr: Int32Array.of(0, 1), indices: Int32Array.of(5), data: Float64Array.of(1) }, [1]),
      /regression: X has column index 5 at row 0, outside 0..1/,
    ],
  ])('rejects %s with a clear error', (_, act, message) => {
    expect(act).toThrow(message);
  });
});

describe('solveMinimumNorm', () => {
  it('returns pinv(C)·b and the rank on a singular system', () => {
    // x + y = 2 (twice): rank 1, minimum-norm solution (1, 1).
    const { coef, rank } = solveMinimumNorm(Float64Array.of(2, 2, 2, 2), Float64Array.of(4, 4), 2);
    expect(rank).toBe(1);
    expect(coef[0]).toBeCloseTo(1, 12);
    expect(coef[1]).toBeCloseTo(1, 12);
  });

  it('agrees with ml-matrix pseudoInverse on a random PSD matrix of rank 4 in 7 dimensions', () => {
    const r = rng(29);
    const B = new Matrix(Array.from({ length: 7 }, () => Array.from({ length: 4 }, () => r() - 0.5)));
    const C = B.mmul(B.transpose());
    const b = C.mmul(Matrix.columnVector(Array.from({ length: 7 }, () => r())));
    const expected = pseudoInverse(C).mmul(b).to1DArray();
    const { coef, rank } = solveMinimumNorm(Float64Array.from(C.to1DArray()), Float64Array.from(b.to1DArray()), 7);
    expect(rank).toBe(4);
    expected.forEach((e, j) => expect(coef[j]).toBeCloseTo(e, 9));
  });
});
