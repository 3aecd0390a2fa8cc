import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COURSE_FEATURES,
  DictVectorizer,
  Lasso,
  LinearRegression,
  MODEL_FORMAT,
  PAIR_FEATURES,
  Ridge,
  categorical,
  featureColumns,
  loadModel,
  saveModel,
  type Columns,
  type FeatureSet,
  type LinearModel,
} from '../lib/index.js';
import { rng } from './designs.js';

function features(n: number, seed: number): { columns: Columns; y: Float64Array } {
  const r = rng(seed);
  const pu = Int32Array.from({ length: n }, () => 1 + Math.floor(60 * r() * r()));
  const dof = Int32Array.from({ length: n }, () => 1 + Math.floor(60 * r()));
  const dist = Float64Array.from({ length: n }, () => r() * 12);
  const y = Float64Array.from({ length: n }, (_, i) => 3 + 2.7 * dist[i]! + (pu[i]! % 5) + r() * 3);
  return { columns: { PULocationID: categorical(pu), DOLocationID: categorical(dof), trip_distance: dist }, y };
}

/** The same rows as `features`, as the columns of a feature set. */
function features_(n: number, seed: number, set: FeatureSet): Columns {
  return featureColumns(features(n, seed).columns as never, set);
}

let dir: string;
let vectorizer: DictVectorizer;
let model: LinearRegression;
const train = features(2000, 1);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'model-file-'));
  vectorizer = new DictVectorizer();
  model = new LinearRegression().fit(vectorizer.fitTransform(train.columns), train.y);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('saveModel / loadModel', () => {
  it('round-trips: same feature names, bit-identical predictions, metadata kept and completed', async () => {
    const path = join(dir, 'models', 'lin_reg.json'); // parent directory created on save
    const metadata = {
      training: { sources: ['data/yellow_tripdata_2024-01.parquet'], rows: 2000 },
      metrics: { rmseTrain: 1.25 },
      color: 'yellow',
    };
    const written = await saveModel(path, { vectorizer, model, metadata });
    const loaded = await loadModel(path);
    expect(loaded.vectorizer.getFeatureNamesOut()).toEqual(vectorizer.getFeatureNamesOut());
    const other = features(3000, 2); // new rows, some zones unseen
    const before = model.predict(vectorizer.transform(other.columns));
    const after = loaded.model.predict(loaded.vectorizer.transform(other.columns));
    expect(Buffer.from(after.buffer)).toEqual(Buffer.from(before.buffer));
    expect(loaded.model.intercept).toBe(model.intercept);
    expect(loaded.metadata).toEqual(written);
    expect(loaded.metadata.color).toBe('yellow');
    expect(Date.parse(loaded.metadata.createdAt!)).not.toBeNaN();
    const pkg = JSON.parse(await readFile(new URL('../lib/package.json', import.meta.url), 'utf8')) as { version: string };
    expect(loaded.metadata.libraryVersion).toBe(pkg.version);
    const document = JSON.parse(await readFile(path, 'utf8'));
    expect(document.format).toBe(MODEL_FORMAT);
    expect(document.version).toBe(2);
    expect(document.features).toEqual({ categorical: ['PULocationID', 'DOLocationID'], numerical: ['trip_distance'] });
    expect(document.model.estimator).toBe('LinearRegression');
    expect(document.model.params).toEqual({ fitIntercept: true });
    expect(loaded.model).toBeInstanceOf(LinearRegression);
    expect(loaded.features).toEqual(COURSE_FEATURES);
  });

  it.each([
    ['LinearRegression', COURSE_FEATURES, () => new LinearRegression({ fitIntercept: false })],
    ['Ridge', PAIR_FEATURES, () => new Ridge({ alpha: 2.5 })],
    ['Lasso', PAIR_FEATURES, () => new Lasso({ alpha: 0.01, maxIter: 500, tol: 1e-6 })],
    ['Lasso', COURSE_FEATURES, () => new Lasso({ alpha: 0.3, fitIntercept: false })],
  ] as [string, FeatureSet, () => LinearModel][])('round-trips a %s on %j: estimator, options, features, bit-identical predictions', async (name, features, make) => {
    const dv = new DictVectorizer();
    const fitted = make().fit(dv.fitTransform(featureColumns(train.columns as never, features)), train.y);
    const path = join(dir, `${name}.json`);
    await saveModel(path, { vectorizer: dv, model: fitted, metadata: {}, features });
    const loaded = await loadModel(path);
    expect(loaded.model.estimator).toBe(name);
    expect(loaded.model).toBeInstanceOf(fitted.constructor);
    expect(loaded.model.getParams()).toEqual(fitted.getParams());
    expect(loaded.features).toEqual(features);
    const other = features_(3000, 2, features);
    const before = fitted.predict(dv.transform(other));
    const after = loaded.model.predict(loaded.vectorizer.transform(other));
    expect(Buffer.from(after.buffer)).toEqual(Buffer.from(before.buffer));
  });

  it('still reads version 1 files (taxi-duration/linear-regression), as a LinearRegression', async () => {
    const names = vectorizer.getFeatureNamesOut();
    const v1 = {
      format: 'taxi-duration/linear-regression',
      version: 1,
      vectorizer: { featureNames: names, separator: '=', sort: true },
      model: { coef: Array.from(model.coef), intercept: model.intercept, fitIntercept: true },
      metadata: { createdAt: '2026-11-01T00:00:00.000Z', categorical: ['PULocationID', 'DOLocationID'], numerical: ['trip_distance'] },
    };
    const path = join(dir, 'v1.json');
    await writeFile(path, JSON.stringify(v1));
    const loaded = await loadModel(path);
    expect(loaded.model).toBeInstanceOf(LinearRegression);
    expect(loaded.features).toEqual(COURSE_FEATURES);
    const X = vectorizer.transform(train.columns);
    expect(Buffer.from(loaded.model.predict(X).buffer)).toEqual(Buffer.from(model.predict(X).buffer));
    // Without the metadata lists, a version 1 file holds the course's features.
    await writeFile(path, JSON.stringify({ ...v1, metadata: {} }));
    expect((await loadModel(path)).features).toEqual(COURSE_FEATURES);
  });

  it('writes doubles that read back exactly (awkward values)', async () => {
    const coef = [0.1 + 0.2, 1 / 3, -5e-324, 1.7976931348623157e308, 2 ** -1074 * 3, -0, 123456789.12345679];
    const names = [...coef.slice(1).map((_, i) => `PULocationID=${i + 10}`), 'trip_distance'];
    const m = LinearRegression.fromParameters({ coef, intercept: Math.PI, fitIntercept: true });
    const path = join(dir, 'awkward.json');
    await saveModel(path, { vectorizer: DictVectorizer.fromFeatureNames(names), model: m, metadata: {} });
    const loaded = await loadModel(path);
    // -0 is written as 0 by JSON; every other value is the same double.
    expect(Array.from(loaded.model.coef)).toEqual(coef.map((c) => (Object.is(c, -0) ? 0 : c)));
    expect(loaded.model.intercept).toBe(Math.PI);
  });

  it('never replaces a good file when saving fails, and leaves no temporary files', async () => {
    const path = join(dir, 'keep.json');
    await saveModel(path, { vectorizer, model, metadata: {} });
    const good = await readFile(path, 'utf8');
    await expect(saveModel(path, { vectorizer, model: new LinearRegression(), metadata: {} })).rejects.toThrow(
      /modelFile: the model is not a fitted LinearRegression, Ridge or Lasso/,
    );
    // A model trained on the pairs saved as if on the zones is refused: predict would ignore every feature.
    await expect(saveModel(path, { vectorizer, model, metadata: {}, features: PAIR_FEATURES })).rejects.toThrow(/which the feature set PU_DO,trip_distance does not give/);
    await expect(saveModel(path, { vectorizer, model, metadata: { metrics: { rmse: NaN } } })).rejects.toThrow(/metadata.metrics.rmse is null/);
    const mismatched = DictVectorizer.fromFeatureNames(['PULocationID=1', 'trip_distance']);
    await expect(saveModel(path, { vectorizer: mismatched, model, metadata: {} })).rejects.toThrow(/model.coef has \d+ values but vectorizer.featureNames has 2/);
    expect(await readFile(path, 'utf8')).toBe(good);
    // A rename that fails (the target is a non-empty directory) cleans up its temporary file.
    const blocked = join(dir, 'blocked');
    await mkdir(join(blocked, 'inside'), { recursive: true });
    await expect(saveModel(blocked, { vectorizer, model, metadata: {} })).rejects.toThrow(/modelFile: could not save the model to .*blocked/);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  describe('rejects a bad file with a clear error', () => {
    let good: Record<string, unknown>;
    beforeAll(async () => {
      const path = join(dir, 'base.json');
      await saveModel(path, { vectorizer, model, metadata: { training: { sources: ['x'], rows: 1 } } });
      good = JSON.parse(await readFile(path, 'utf8'));
    });
    const variant = (change: (doc: Record<string, any>) => void): string => {
      const doc = structuredClone(good) as Record<string, any>;
      change(doc);
      return JSON.stringify(doc);
    };

    it.each([
      ['not JSON', () => 'PK\u0003\u0004 pickle?', /is not valid JSON \(corrupt or truncated\?\)/],
      ['a truncated file', () => JSON.stringify(good).slice(0, 500), /is not valid JSON \(corrupt or truncated\?\)/],
      ['a JSON array', () => '[1, 2]', /expected a JSON object at the top level/],
      ['another format', () => variant((d) => (d.format = 'sklearn-pickle')), /format is "sklearn-pickle", expected "taxi-duration\/linear-model"/],
      ['a future version', () => variant((d) => (d.version = 3)), /version 3 is newer than this library reads \(2\); upgrade taxi-duration/],
      ['version 1 under the version 2 format name', () => variant((d) => (d.version = 1)), /format "taxi-duration\/linear-model" has no version 1/],
      ['an unknown estimator', () => variant((d) => (d.model.estimator = 'SGDRegressor')), /model.estimator is "SGDRegressor", expected one of LinearRegression, Ridge, Lasso/],
      ['an option the estimator does not have', () => variant((d) => (d.model.params.alpha = 1)), /model.params: regression: alpha is not an option of LinearRegression \(its options: fitIntercept\)/],
      ['an option of the wrong type', () => variant((d) => (d.model.params.fitIntercept = 'yes')), /model.params: regression: LinearRegression's fitIntercept is "yes", expected true or false/],
      ['a missing fitIntercept', () => variant((d) => delete d.model.params.fitIntercept), /model.params.fitIntercept must be true or false/],
      ['a negative alpha', () => variant((d) => {
        d.model.estimator = 'Ridge';
        d.model.params.alpha = -1;
      }), /model.params: regression: alpha must be a finite number ≥ 0, got -1/],
      ['a fractional maxIter', () => variant((d) => {
        d.model.estimator = 'Lasso';
        d.model.params.maxIter = 2.5;
      }), /model.params: regression: maxIter must be an integer ≥ 1, got 2.5/],
      ['an unknown feature', () => variant((d) => (d.features.categorical = ['PU_DO', 'payment_type'])), /features: features: unknown categorical feature "payment_type"/],
      ['no features', () => variant((d) => delete d.features), /"features" must be \{ "categorical": \[...\], "numerical": \[...\] \}/],
      ['feature names the feature set does not give', () => variant((d) => (d.features = { categorical: ['PU_DO'], numerical: ['trip_distance'] })), /vectorizer.featureNames\[0\] is "DOLocationID=\d+", which the feature set PU_DO,trip_distance does not give/],
      ['metadata lists that disagree with features', () => variant((d) => Object.assign(d.metadata, { categorical: ['PU_DO'], numerical: ['trip_distance'] })), /metadata.categorical \/ metadata.numerical say PU_DO,trip_distance but features say PULocationID,DOLocationID,trip_distance/],
      ['a version as a string', () => variant((d) => (d.version = '1')), /version is "1", expected a positive integer/],
      ['fewer coefficients than features', () => variant((d) => d.model.coef.pop()), /model.coef has \d+ values but vectorizer.featureNames has \d+; the file is inconsistent/],
      ['a non-finite coefficient (null in JSON)', () => variant((d) => (d.model.coef[3] = null)), /model.coef\[3\] is null, expected a finite number/],
      ['a coefficient given as code', () => variant((d) => (d.model.coef[0] = 'process.exit(1)')), /model.coef\[0\] is "process.exit\(1\)", expected a finite number/],
      ['an intercept of 1e999 (Infinity)', () => JSON.stringify(good).replace(/"intercept": ?[-0-9.e]+/, '"intercept": 1e999'), /model.intercept is Infinity, expected a finite number/],
      ['repeated feature names', () => variant((d) => (d.vectorizer.featureNames[1] = d.vectorizer.featureNames[0])), /feature name '.*' appears twice/],
      ['feature names out of order while sort is true', () => variant((d) => {
        // Swap two names (and their coefficients, so nothing else looks inconsistent).
        const n = d.vectorizer.featureNames as string[];
        const c = d.model.coef as number[];
        [n[0], n[1]] = [n[1]!, n[0]!];
        [c[0], c[1]] = [c[1]!, c[0]!];
      }), /vectorizer\.sort is true but the feature names are not sorted \(.*\); the file was edited or corrupted/],
      ['a missing vectorizer', () => variant((d) => delete d.vectorizer), /"vectorizer" is missing or not an object/],
      ['bad training rows', () => variant((d) => (d.metadata.training.rows = -1)), /metadata.training.rows must be a non-negative integer/],
    ])('%s', async (_, text, message) => {
      const path = join(dir, 'bad.json');
      await writeFile(path, text());
      await expect(loadModel(path)).rejects.toThrow(message);
      await expect(loadModel(path)).rejects.toThrow(/^modelFile: /);
    });

    it('accepts names in any order when sort is false', async () => {
      const path = join(dir, 'unsorted.json');
      const m = LinearRegression.fromParameters({ coef: [1, 2], intercept: 0.5, fitIntercept: true });
      const unsorted = ['trip_distance', 'PULocationID=1'];
      await saveModel(path, { vectorizer: DictVectorizer.fromFeatureNames(unsorted, { sort: false }), model: m, metadata: {} });
      expect((await loadModel(path)).vectorizer.getFeatureNamesOut()).toEqual(unsorted);
      // The same names with sort: true are refused on save too (saving checks what loading checks).
      await expect(saveModel(path, { vectorizer: DictVectorizer.fromFeatureNames(unsorted), model: m, metadata: {} })).rejects.toThrow(
        /feature names are not sorted/,
      );
    });

    it('a missing file', async () => {
      await expect(loadModel(join(dir, 'nope.json'))).rejects.toThrow(/modelFile: cannot read .*nope.json \(no such file; train and save a model first\)/);
    });

    it('a __proto__ key stays data: nothing on Object.prototype changes', async () => {
      const path = join(dir, 'proto.json');
      await writeFile(path, JSON.stringify(good).replace('"metadata":{', '"metadata":{"__proto__":{"polluted":true},'));
      const loaded = await loadModel(path);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(loaded.model.coef.length).toBe(vectorizer.getFeatureNamesOut().length);
    });
  });
});
