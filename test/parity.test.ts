/**
 * Parity with scikit-learn: the library's pipeline on the parquet files in
 * test/reference/data/ against the goldens that test/reference/course.py computed
 * with pandas + pyarrow + scikit-learn (see test/reference/README.md).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DictVectorizer, Lasso, LinearRegression, PAIR_FEATURES, Ridge, TripStatistics, COURSE_FEATURES, cleanTrips, featureColumns, readTrips,
  rootMeanSquaredError, type CleanTrips, type CsrMatrix, type FeatureSet, type LinearModel,
} from '../lib/index.js';

interface SplitGolden {
  file: string;
  rowsRead: number;
  rowsWithNulls: number;
  rowsKept: number;
  durationSum: number;
  tripDistanceSum: number;
  tripDistanceMax: number;
  unseenRows?: number;
}
interface PenalizedGolden {
  alpha: number;
  intercept: number;
  rmseTrain: number;
  rmseValidation: number;
  coef?: number[];
  tol?: number;
  nonzero?: number[];
  coefNonzero?: number[];
}
interface LeastSquaresGolden {
  intercept: number;
  coef: number[];
  rmseTrain: number;
  rmseValidation: number;
}
interface Golden {
  design: string;
  train: SplitGolden;
  validation: SplitGolden;
  featureNames: string[];
  exact: { rank: number; intercept: number; coef: number[]; rmseTrain: number; rmseValidation: number };
  courseDefault: { intercept: number; rmseTrain: number; rmseValidation: number };
  ridge: PenalizedGolden;
  lasso: PenalizedGolden;
  courseDefaultRidge: { rmseTrain: number; rmseValidation: number };
  courseDefaultLasso: { rmseTrain: number; rmseValidation: number };
  pairs: { featureNames: string[]; exact: LeastSquaresGolden; ridge: PenalizedGolden; lasso: PenalizedGolden };
  samples: {
    split: 'train' | 'validation';
    row: number;
    PULocationID: number;
    DOLocationID: number;
    trip_distance: number;
    duration: number;
    prediction: number;
    predictionCourseDefault: number;
  }[];
}

const root = new URL('../', import.meta.url);
const load = (design: string): Golden => JSON.parse(readFileSync(new URL(`test/reference/${design}.json`, root), 'utf8')) as Golden;
const relativeDiff = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

async function clean(file: string): Promise<CleanTrips> {
  return cleanTrips(await readTrips(new URL(file, root).pathname));
}

function sumOf(values: Float64Array): number {
  // Kahan-compensated, so the comparison with pandas' pairwise sum is about the rows, not rounding.
  let sum = 0;
  let c = 0;
  for (const v of values) {
    const y = v - c;
    const t = sum + y;
    c = t - sum - y;
    sum = t;
  }
  return sum;
}

describe.each(['base', 'outliers', 'unseen'])('parity with scikit-learn: %s', (design) => {
  const golden = load(design);

  it('keeps the same rows, builds the same features and fits the same model', async () => {
    const train = await clean(golden.train.file);
    const validation = await clean(golden.validation.file);

    // Same rows kept (counts and sums over them).
    for (const [split, ours] of [
      [golden.train, train],
      [golden.validation, validation],
    ] as const) {
      expect(ours.stats.rowsRead).toBe(split.rowsRead);
      expect(ours.stats.rowsWithNulls).toBe(split.rowsWithNulls);
      expect(ours.length).toBe(split.rowsKept);
      expect(relativeDiff(sumOf(ours.duration), split.durationSum)).toBeLessThan(1e-12);
      expect(relativeDiff(sumOf(ours.features.trip_distance), split.tripDistanceSum)).toBeLessThan(1e-12);
      expect(Math.max(...ours.features.trip_distance)).toBe(split.tripDistanceMax);
    }

    // Same feature names in the same order.
    const dv = new DictVectorizer();
    const Xtrain = dv.fitTransform(train.features);
    const Xval = dv.transform(validation.features);
    expect(dv.getFeatureNamesOut()).toEqual(golden.featureNames);

    const model = new LinearRegression().fit(Xtrain, train.duration);
    const predTrain = model.predict(Xtrain);
    const predVal = model.predict(Xval);

    // RMSE within 1e-6 relative of scikit-learn's exact least-squares answer.
    const rmseTrain = rootMeanSquaredError(train.duration, predTrain);
    const rmseVal = rootMeanSquaredError(validation.duration, predVal);
    expect(relativeDiff(rmseTrain, golden.exact.rmseTrain)).toBeLessThan(1e-6);
    expect(relativeDiff(rmseVal, golden.exact.rmseValidation)).toBeLessThan(1e-6);

    // The same (minimum-norm) solution: rank, coefficients, intercept.
    expect(model.rank).toBe(golden.exact.rank);
    const scale = Math.max(...golden.exact.coef.map(Math.abs));
    golden.exact.coef.forEach((c, j) => expect(Math.abs(model.coef[j]! - c) / scale).toBeLessThan(1e-6));
    expect(relativeDiff(model.intercept, golden.exact.intercept)).toBeLessThan(1e-6);

    // Predictions on the sample rows, which are the same trips on both sides.
    for (const s of golden.samples) {
      const [data, pred] = s.split === 'train' ? [train, predTrain] : [validation, predVal];
      const { PULocationID, DOLocationID, trip_distance } = data.features;
      expect(PULocationID.labels[PULocationID.codes[s.row]!]).toBe(String(s.PULocationID));
      expect(DOLocationID.labels[DOLocationID.codes[s.row]!]).toBe(String(s.DOLocationID));
      expect(trip_distance[s.row]).toBe(s.trip_distance);
      expect(relativeDiff(data.duration[s.row]!, s.duration)).toBeLessThan(1e-12);
      expect(relativeDiff(pred[s.row]!, s.prediction)).toBeLessThan(1e-6);
    }

    // The course's own LinearRegression() stops LSQR at tol=1e-6, short of the
    // optimum: its training RMSE can only be the same or worse than the exact one.
    expect(rmseTrain).toBeLessThanOrEqual(golden.courseDefault.rmseTrain * (1 + 1e-12));
  });
});

describe('the parity designs cover what they claim', () => {
  it('has extreme trip_distance outliers in the outliers design', () => {
    expect(load('outliers').train.tripDistanceMax).toBeGreaterThan(100_000);
  });
  it('has validation rows with locations never seen in training in the unseen design', () => {
    const golden = load('unseen');
    expect(golden.validation.unseenRows).toBeGreaterThan(100);
    expect(golden.samples.filter((s) => s.split === 'validation').length).toBeGreaterThanOrEqual(3);
  });
});

/** The largest difference of two coefficient vectors, relative to the largest coefficient. */
function coefDifference(ours: ArrayLike<number>, theirs: readonly number[]): number {
  const scale = Math.max(...theirs.map(Math.abs));
  let worst = 0;
  theirs.forEach((c, j) => (worst = Math.max(worst, Math.abs(ours[j]! - c) / scale)));
  return worst;
}

/** The parity numbers of one model against its golden: RMSEs, intercept, coefficients or zeros. */
function expectParity(model: LinearModel, golden: PenalizedGolden | LeastSquaresGolden, X: CsrMatrix, Xval: CsrMatrix, train: CleanTrips, validation: CleanTrips): void {
  expect(relativeDiff(rootMeanSquaredError(train.duration, model.predict(X)), golden.rmseTrain)).toBeLessThan(1e-6);
  expect(relativeDiff(rootMeanSquaredError(validation.duration, model.predict(Xval)), golden.rmseValidation)).toBeLessThan(1e-6);
  if ('nonzero' in golden && golden.nonzero !== undefined) {
    // Lasso: the same coefficients are exactly zero; the others agree as the solutions do.
    const nonzero = [...model.coef.keys()].filter((j) => model.coef[j] !== 0);
    expect(nonzero).toEqual(golden.nonzero);
    const full = new Array<number>(model.coef.length).fill(0);
    golden.nonzero.forEach((j, i) => (full[j] = golden.coefNonzero![i]!));
    expect(coefDifference(model.coef, full)).toBeLessThan(1e-6);
  } else {
    expect(coefDifference(model.coef, golden.coef!)).toBeLessThan(1e-6);
    expect(relativeDiff(model.intercept, golden.intercept)).toBeLessThan(1e-6);
  }
}

describe.each(['base', 'outliers', 'unseen'])('parity with scikit-learn, Ridge, Lasso and PU_DO: %s', (design) => {
  const golden = load(design);
  let train: CleanTrips;
  let validation: CleanTrips;
  const design_ = (features: FeatureSet): { X: CsrMatrix; Xval: CsrMatrix; names: string[] } => {
    const dv = new DictVectorizer();
    const X = dv.fitTransform(featureColumns(train.features, features));
    return { X, Xval: dv.transform(featureColumns(validation.features, features)), names: dv.getFeatureNamesOut() };
  };
  const lasso = (): Lasso => new Lasso({ alpha: golden.lasso.alpha, tol: golden.lasso.tol!, maxIter: 1_000_000 });

  it('fits Ridge() and Lasso(0.01) as scikit-learn does on the course features', async () => {
    train = await clean(golden.train.file);
    validation = await clean(golden.validation.file);
    const { X, Xval } = design_(COURSE_FEATURES);
    expectParity(new Ridge({ alpha: golden.ridge.alpha }).fit(X, train.duration), golden.ridge, X, Xval, train, validation);
    const fitted = lasso().fit(X, train.duration);
    expect(fitted.converged).toBe(true);
    expectParity(fitted, golden.lasso, X, Xval, train, validation);
    // The course's default tolerances stop short; the exact answers are never worse on the training month.
    expect(golden.ridge.rmseTrain).toBeLessThanOrEqual(golden.courseDefaultRidge.rmseTrain * (1 + 1e-12));
  });

  it('builds the PU_DO feature and fits LinearRegression, Ridge and Lasso on it as scikit-learn does', () => {
    const { X, Xval, names } = design_(PAIR_FEATURES);
    expect(names).toEqual(golden.pairs.featureNames);
    expectParity(new LinearRegression().fit(X, train.duration), golden.pairs.exact, X, Xval, train, validation);
    expectParity(new Ridge({ alpha: golden.pairs.ridge.alpha }).fit(X, train.duration), golden.pairs.ridge, X, Xval, train, validation);
    expectParity(lasso().fit(X, train.duration), golden.pairs.lasso, X, Xval, train, validation);
  });

  it('gives the same answers from one pass of trip statistics, for both feature sets', () => {
    const stats = new TripStatistics().add(train.features, train.duration);
    for (const [features, names, goldens] of [
      [COURSE_FEATURES, golden.featureNames, { exact: { ...golden.exact }, ridge: golden.ridge, lasso: golden.lasso }],
      [PAIR_FEATURES, golden.pairs.featureNames, golden.pairs],
    ] as const) {
      const eq = stats.normalEquations(features);
      expect(eq.featureNames).toEqual(names);
      const dv = eq.vectorizer();
      const X = dv.transform(featureColumns(train.features, features));
      const Xval = dv.transform(featureColumns(validation.features, features));
      const models = [
        [new LinearRegression().fitStatistics(eq), goldens.exact],
        [new Ridge({ alpha: goldens.ridge.alpha }).fitStatistics(eq), goldens.ridge],
        [lasso().fitStatistics(eq), goldens.lasso],
      ] as const;
      for (const [model, g] of models) {
        expectParity(model, g, X, Xval, train, validation);
        // The training RMSE straight from the statistics.
        expect(relativeDiff(eq.rootMeanSquaredError(model), g.rmseTrain)).toBeLessThan(1e-6);
      }
    }
  });
});
