/**
 * `train()` on many months, any dataset, feature set and estimator, in-process (the TypeScript
 * sources: the passes run on this thread; test/pipeline.test.ts runs the built library's worker
 * threads against this same code). Every number is checked against an independent
 * recomputation: the months' trips held in memory and fitted the ordinary way, the saved model's
 * predictions, and scikit-learn where it applies.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DictVectorizer,
  Lasso,
  LinearRegression,
  cleanTripFiles,
  cleanTrips,
  featureColumns,
  loadModel,
  parseFeatureList,
  predictTrips,
  readTrips,
  rootMeanSquaredError,
  cleanTripGroups,
  readTripGroups,
  monitorModel,
  train,
  writeSyntheticTrips,
  type Dataset,
  type ProgressEvent,
  type TrainResult,
} from '../lib/index.js';
import { main } from '../lib/cli.js';

const root = resolve(import.meta.dirname, '..');
const python = join(root, '.venv', 'bin', 'python');

let dir: string;
let cacheDir: string;
const TRAIN = ['2023-01', '2023-02', '2023-03'];
const VAL = ['2023-04', '2023-05'];
const ROWS = 9_000;

/** The cache path of a generated month of a dataset (as fetchTrips finds a downloaded one). */
const monthPath = (month: string, dataset: Dataset = 'yellow') => join(cacheDir, `${dataset}_tripdata_${month}.parquet`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-train-many-'));
  cacheDir = join(dir, 'data');
  // The same trips in three layouts (each layout draws the trips alike), three row groups a month.
  for (const [i, month] of [...TRAIN, ...VAL].entries()) {
    for (const color of ['yellow', 'fhvhv', 'fhv'] as const) {
      await writeSyntheticTrips(monthPath(month, color), { month, rows: ROWS, seed: 70 + i, color, rowGroupSize: 3_000, quirks: { neededNull: 0.01 } });
    }
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const common = () => ({ cacheDir, runs: false as const, plotName: false as const });
let year: TrainResult;
const yearEvents: ProgressEvent[] = [];

describe('train on a range of months', () => {
  beforeAll(async () => {
    year = await train({ ...common(), train: '2023-01..2023-03', val: VAL.join(','), outDir: join(dir, 'year'), onProgress: (e) => yearEvents.push(e) });
  });

  it('reports the rows read over all the months, row group by row group', () => {
    for (const stage of ['accumulate', 'score'] as const) {
      const fractions = yearEvents.filter((e) => e.stage === stage && e.message.startsWith('read ') && !e.done).map((e) => e.fraction!);
      expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
      // One report per row group (three a month), throttled to ten a second: the first and the last at least.
      expect(fractions.filter((f) => f > 0 && f < 1).length, stage).toBeGreaterThan(0);
    }
    expect(yearEvents.find((e) => e.stage === 'accumulate' && e.done)?.message).toBe(`read train: ${(3 * ROWS).toLocaleString('en-US')} rows`);
    expect(yearEvents.filter((e) => e.stage === 'score' && e.split === 'val' && e.message.startsWith('RMSE val ')).map((e) => e.message.split(':')[0])).toEqual(['RMSE val 2023-04', 'RMSE val 2023-05']);
  });

  it('equals the ordinary fit of the months held in memory together', async () => {
    const clean = await cleanTripFiles(TRAIN.map((m) => monthPath(m)));
    const dv = new DictVectorizer();
    const X = dv.fitTransform(clean.features);
    const lr = new LinearRegression().fit(X, clean.duration);
    expect(year.vectorizer.getFeatureNamesOut()).toEqual(dv.getFeatureNamesOut());
    expect(year.train.rowsRead).toBe(3 * ROWS);
    expect(year.train.rowsKept).toBe(clean.length);
    expect(year.train.rowsWithNulls).toBe(clean.stats.rowsWithNulls);
    expect(year.train.rmse / rootMeanSquaredError(clean.duration, lr.predict(X))).toBeCloseTo(1, 11);
    // The same least-squares fit: the same predictions (the solvers' sums differ only in rounding).
    const val = cleanTrips(await readTrips(monthPath(VAL[0]!)));
    const ours = year.model.predict(year.vectorizer.transform(val.features));
    const theirs = lr.predict(dv.transform(val.features));
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
    expect(worst).toBeLessThan(1e-9);
    // Each source's own counts, in the order given.
    expect(year.train.sources.map((s) => s.source)).toEqual(TRAIN);
    for (const [i, month] of TRAIN.entries()) {
      const one = cleanTrips(await readTrips(monthPath(month)));
      expect(year.train.sources[i]).toMatchObject({ path: monthPath(month), rowsRead: ROWS, rowsKept: one.length, rowsWithNulls: one.stats.rowsWithNulls, rmse: null, generated: true });
      expect(year.train.sources[i]!.durationMean).toBeCloseTo(one.stats.durationMean, 10);
    }
    expect(year.train.source).toBe('2023-01,2023-02,2023-03');
  });

  it('scores each validation month, and all of them together, as the saved model predicts them', async () => {
    const saved = await loadModel(year.outputs.model);
    let squares = 0;
    let rows = 0;
    for (const [i, month] of VAL.entries()) {
      const clean = cleanTrips(await readTrips(monthPath(month)));
      const predicted = predictTrips(saved, clean.features).duration;
      const rmse = rootMeanSquaredError(clean.duration, predicted);
      expect(year.val.sources[i]).toMatchObject({ source: month, rowsKept: clean.length });
      expect(year.val.sources[i]!.rmse).toBeCloseTo(rmse, 12);
      squares += rmse * rmse * clean.length;
      rows += clean.length;
    }
    expect(year.val.rmse).toBeCloseTo(Math.sqrt(squares / rows), 12);
    expect(year.val.rmse).not.toBe(year.val.sources[0]!.rmse);
    // The model file keeps the same, per month.
    expect(saved.metadata.training?.sources).toEqual(TRAIN);
    expect(saved.metadata.validation).toEqual({
      sources: VAL,
      rows,
      perSource: year.val.sources.map((s) => ({ source: s.source, rows: s.rowsKept, rmse: s.rmse })),
    });
    expect(saved.metadata.metrics).toEqual({ rmseTrain: year.train.rmse, rmseValidation: year.val.rmse });
  });

  it.skipIf(!existsSync(python))('agrees with scikit-learn (exact least squares) on the same months', async () => {
    const { stdout } = await promisify(execFile)(python, [
      join(root, 'scripts', 'python', 'polars_pipeline.py'),
      TRAIN.map((m) => monthPath(m)).join(','),
      monthPath(VAL[0]!),
      '--tol', '1e-12',
    ]);
    const py = JSON.parse(stdout) as { train: { rowsKept: number; rmse: number }; val: { rowsKept: number; rmse: number }; features: number };
    expect(year.train.rowsKept).toBe(py.train.rowsKept);
    expect(year.val.sources[0]!.rowsKept).toBe(py.val.rowsKept);
    expect(year.features).toBe(py.features);
    expect(year.train.rmse / py.train.rmse).toBeCloseTo(1, 9);
    expect(year.val.sources[0]!.rmse! / py.val.rmse).toBeCloseTo(1, 9);
  });

  it('gives the same model for the months as a range, a list and their paths', async () => {
    const list = await train({ ...common(), train: TRAIN, val: VAL, outDir: join(dir, 'list') });
    const paths = await train({ ...common(), train: TRAIN.map((m) => monthPath(m)), val: VAL.map((m) => monthPath(m)), outDir: join(dir, 'paths') });
    for (const r of [list, paths]) {
      expect(Array.from(r.model.coef)).toEqual(Array.from(year.model.coef));
      expect(r.val.rmse).toBe(year.val.rmse);
    }
    expect(paths.train.source).toBe(TRAIN.map((m) => monthPath(m)).join(','));
  });
});

describe('any dataset', () => {
  it('trains on the high-volume FHV layout (trip_miles) as on the same trips in the yellow one', async () => {
    const hv = await train({ ...common(), color: 'fhvhv', train: TRAIN, val: VAL, outDir: join(dir, 'fhvhv') });
    expect(hv.color).toBe('fhvhv');
    expect(hv.featureSet).toBe('PULocationID,DOLocationID,trip_distance');
    expect(Array.from(hv.model.coef)).toEqual(Array.from(year.model.coef));
    expect(hv.val.rmse).toBe(year.val.rmse);
    expect((await loadModel(hv.outputs.model)).metadata.color).toBe('fhvhv');
  });

  it('trains FHV files (no distance) on the zones alone, keeping the rows a distance null would drop', async () => {
    const fhv = await train({ ...common(), train: TRAIN.map((m) => monthPath(m, 'fhv')), val: VAL.map((m) => monthPath(m, 'fhv')), outDir: join(dir, 'fhv') });
    expect(fhv.color).toBe('fhv'); // followed the files
    expect(fhv.featureSet).toBe('PULocationID,DOLocationID');
    expect(fhv.vectorizer.getFeatureNamesOut().some((f) => f === 'trip_distance')).toBe(false);
    // The yellow files' trips with the zones alone: a row whose only null is its distance is kept there too.
    const zones = await train({ ...common(), train: TRAIN, val: VAL, features: 'PULocationID,DOLocationID', outDir: join(dir, 'zones') });
    expect(zones.train.rowsKept).toBeGreaterThan(year.train.rowsKept);
    expect(fhv.train.rowsKept).toBe(zones.train.rowsKept);
    expect(Array.from(fhv.model.coef)).toEqual(Array.from(zones.model.coef));
    expect(fhv.val.rmse).toBe(zones.val.rmse);
    // The kept rows are those cleaning keeps for these features, in memory.
    const clean = await cleanTripFiles(TRAIN.map((m) => monthPath(m)), { features: parseFeatureList('PULocationID,DOLocationID') });
    expect(zones.train.rowsKept).toBe(clean.length);
    const saved = await loadModel(fhv.outputs.model);
    expect(saved.features).toEqual({ categorical: ['PULocationID', 'DOLocationID'], numerical: [] });
    // Its training profile has durations and zones, and no distances (the files have none).
    const profile = saved.metadata.profile as { rows: number; trip_distance: unknown; duration: { count: number } };
    expect(profile).toMatchObject({ rows: fhv.train.rowsKept, trip_distance: null, duration: { count: fhv.train.rowsKept } });
  });

  it('refuses a distance feature for FHV files, with the fix', async () => {
    const error = await train({ ...common(), train: monthPath('2023-01', 'fhv'), val: monthPath('2023-04', 'fhv'), features: 'PU_DO,trip_distance', outDir: join(dir, 'never') }).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      `pipeline: train ${monthPath('2023-01', 'fhv')} holds for-hire vehicle (FHV) trips, which record no trip_distance, but the features (PU_DO,trip_distance) need it; ` +
        'train on the zones alone: --features PULocationID,DOLocationID (features option)',
    );
    expect(existsSync(join(dir, 'never', 'lin_reg.json'))).toBe(false);
  });

  it('refuses files of two datasets in one run, naming where the run\'s came from', async () => {
    await expect(train({ ...common(), train: [monthPath('2023-01'), monthPath('2023-02', 'fhvhv')], val: VAL, outDir: join(dir, 'mixed') })).rejects.toThrow(
      /^pipeline: train .*fhvhv_tripdata_2023-02\.parquet holds high-volume for-hire vehicle \(FHVHV\) trips \(pickup_datetime, dropoff_datetime\) but the training data are yellow taxi trips; pass --color fhvhv/,
    );
  });
});

/** A writable that keeps what it is given. */
function sink() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = sink();
  const err = sink();
  const code = await main(args, { stdout: out.stream, stderr: err.stream, stdin: Readable.from([]) });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('the command: features, estimators, datasets', () => {
  it('trains Lasso on the PU_DO pair over a range of months, and predicts with it', async () => {
    const out = join(dir, 'cli-lasso');
    const run = await cli(['--train', '2023-01..2023-02', '--val', '2023-04', '--cache-dir', cacheDir, '--features', 'PU_DO,trip_distance', '--estimator', 'lasso', '--alpha', '0.01', '--max-iter', '5000', '--tol', '1e-6', '--out', out, '--metrics-json', '-', '--no-plot', '--quiet']);
    expect(run.code, run.stderr).toBe(0);
    const metrics = JSON.parse(run.stdout) as TrainResult;
    expect(metrics.estimator).toMatchObject({ name: 'Lasso', params: { alpha: 0.01, maxIter: 5000, tol: 1e-6 }, converged: true });
    expect(metrics.featureSet).toBe('PU_DO,trip_distance');
    const saved = await loadModel(join(out, 'lin_reg.json'));
    expect(saved.model.estimator).toBe('Lasso');
    expect(saved.features).toEqual({ categorical: ['PU_DO'], numerical: ['trip_distance'] });
    // The library's Lasso on the in-memory design of the same months: the same objective, to the solvers' tolerance.
    const clean = await cleanTripFiles(['2023-01', '2023-02'].map((m) => monthPath(m)));
    const dv = new DictVectorizer();
    const X = dv.fitTransform(featureColumns(clean.features, saved.features));
    const lasso = new Lasso({ alpha: 0.01, maxIter: 5000, tol: 1e-6 }).fit(X, clean.duration);
    expect(saved.vectorizer.getFeatureNamesOut()).toEqual(dv.getFeatureNamesOut());
    expect(metrics.train.rmse / rootMeanSquaredError(clean.duration, lasso.predict(X))).toBeCloseTo(1, 6);
    // predict: the model's own features (the pair), one line per row of the file.
    const predicted = await cli(['predict', monthPath('2023-04'), '--model', join(out, 'lin_reg.json'), '-q']);
    expect(predicted.code, predicted.stderr).toBe(0);
    const expected = predictTrips(saved, await readTrips(monthPath('2023-04'))).duration;
    expect(predicted.stdout).toBe(Array.from(expected, (y) => (Number.isNaN(y) ? 'null' : String(y))).join('\n') + '\n');
  });

  it('trains an FHV month given as --dataset fhv, and predicts an FHV file with the zones-only model', async () => {
    const out = join(dir, 'cli-fhv');
    const run = await cli(['--dataset', 'fhv', '--train', '2023-01,2023-02', '--val', '2023-04', '--cache-dir', cacheDir, '--out', out, '--metrics-json', '-', '--no-plot']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ color: 'fhv', featureSet: 'PULocationID,DOLocationID' });
    const saved = await loadModel(join(out, 'lin_reg.json'));
    const predicted = await cli(['predict', monthPath('2023-05', 'fhv'), '--model', join(out, 'lin_reg.json'), '-q']);
    expect(predicted.code, predicted.stderr).toBe(0);
    const expected = predictTrips(saved, await readTrips(monthPath('2023-05', 'fhv'), { required: ['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] })).duration;
    expect(predicted.stdout.split('\n').slice(0, -1)).toEqual(Array.from(expected, (y) => (Number.isNaN(y) ? 'null' : String(y))));
    // A month given by name is fetched as the model's dataset (fhv), not yellow: the same predictions.
    // (A cache holding only the FHV month, and no reachable site: fetching it as yellow would fail.)
    const fhvOnly = join(dir, 'fhv-only-cache');
    await mkdir(fhvOnly, { recursive: true });
    await copyFile(monthPath('2023-05', 'fhv'), join(fhvOnly, 'fhv_tripdata_2023-05.parquet'));
    const site = process.env.TLC_BASE_URL;
    process.env.TLC_BASE_URL = 'http://127.0.0.1:9/trip-data';
    const byMonth = await cli(['predict', '2023-05', '--cache-dir', fhvOnly, '--model', join(out, 'lin_reg.json'), '-q']).finally(() => {
      if (site === undefined) delete process.env.TLC_BASE_URL;
      else process.env.TLC_BASE_URL = site;
    });
    expect(byMonth.code, byMonth.stderr).toBe(0);
    expect(byMonth.stdout).toBe(predicted.stdout);
    // Monitoring reads FHV months with the zones-only model too (its profile has no distance).
    const report = await monitorModel({ model: join(out, 'lin_reg.json'), months: '2023-05', cacheDir: fhvOnly, baseUrl: 'http://127.0.0.1:9/trip-data', record: false, runsDir: join(dir, 'runs-fhv') });
    const clean = await cleanTripGroups(readTripGroups(monthPath('2023-05', 'fhv'), { required: ['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] }), { features: saved.features, pickup: false });
    expect(report.months[0]!.rmse).toBe(rootMeanSquaredError(clean.duration, predictTrips(saved, clean.features).duration));
    const refused = await cli(['--dataset', 'fhv', '--train', '2023-01', '--val', '2023-04', '--cache-dir', cacheDir, '--features', 'PU_DO,trip_distance', '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('pipeline: fhv files record no trip distance, but the features (PU_DO,trip_distance) need it; train on the zones alone: --features PULocationID,DOLocationID (features option)\n');
  });

  it.each([
    [['--color', 'fhv', '--dataset', 'green'], /^taxi-duration: --color fhv and --dataset green disagree; they are the same option, give one$/],
    [['--dataset', 'taxi'], /^taxi-duration: --dataset must be one of yellow, green, fhv, fhvhv \(the dataset\), got 'taxi'$/],
    [['--estimator', 'forest'], /^regression: unknown estimator "forest"; known: LinearRegression, Ridge, Lasso$/],
    [['--alpha', '0.5'], /^regression: alpha is not an option of LinearRegression \(its options: fitIntercept\)$/],
    [['--estimator', 'ridge', '--alpha', '-1'], /^taxi-duration: --alpha must be a number ≥ 0, got '-1'$/],
    [['--estimator', 'lasso', '--max-iter', '0'], /^taxi-duration: --max-iter must be a positive whole number, got '0'$/],
    [['--features', 'PU_DO,speed'], /^features: unknown feature "speed"/],
    [['--train', '2023-03..2023-01'], /^months: the range 2023-03\.\.2023-01 runs backwards; write it oldest first \(2023-01\.\.2023-03\)$/],
    [['--train', '2023-01,2023-13'], /^source: month "2023-13" is not a month like 2024-01/],
    [['--one-thread', '--threads', '2'], /^taxi-duration: --one-thread and --threads 2 disagree; give one$/],
    [['--threads', 'two'], /^taxi-duration: --threads must be a whole number from 0 to 256, got 'two'$/],
  ])('refuses %j before any work (exit 2)', async (args, pattern) => {
    const out = join(dir, 'cli-refused');
    const run = await cli([...args, '--out', out, '--cache-dir', join(dir, 'untouched')]);
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd()).toMatch(pattern);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'untouched'))).toBe(false);
  });

  it('prints each validation month on its own line of the summary', async () => {
    const run = await cli(['--train', '2023-01', '--val', '2023-04..2023-05', '--cache-dir', cacheDir, '--out', join(dir, 'cli-summary'), '--no-plot', '--estimator', 'ridge', '--alpha', '2']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^source +2023-01 \(synthetic\) +2023-04 … 2023-05 \(2\) \(synthetic\)$/m);
    expect(run.stdout).toMatch(/^ {2}val 2023-04 +[\d,]+ kept {2}RMSE \d+\.\d{3}$/m);
    expect(run.stdout).toMatch(/^ {2}val 2023-05 +[\d,]+ kept {2}RMSE \d+\.\d{3}$/m);
    expect(run.stdout).toMatch(/^model: Ridge \(alpha 2\) on PULocationID,DOLocationID,trip_distance {3}features: \d+$/m);
  });
});

describe('memory bounded by design', () => {
  /**
   * Whether any typed array as long as a month's rows is made in the modules that handle rows
   * (reading, cleaning, features, predicting, the passes), while train() runs on four months of
   * small row groups. Such an array would hold a month (or the whole training set) at once, so
   * memory would grow with the data. Sums per zone pair and the p×p solve are sized by the zones,
   * not the rows, and are not counted, nor is the buffer of a column chunk's compressed bytes
   * (sized by a row group, like the reader's). Views of existing memory allocate nothing.
   * Allocations are seen by wrapping the typed-array constructors for the duration of the run:
   * a count, not a timing, so it cannot be flaky.
   */
  it('never makes a per-row array of a month, let alone of all months', async () => {
    const months = ['2023-01', '2023-02', '2023-03', '2023-04'];
    const monthRows = ROWS; // 9,000 rows a month, row groups of 3,000
    const big: string[] = [];
    const rowModules = /lib[\\/](read|readRowGroup|parquetPages|parquetFile|clean|columns|features|vectorize|predict|tripPass|accumulate|score|binnedSeries|pipeline|passPool|pipelineSources)\.ts/;
    const originals = [Float64Array, Int32Array, Uint8Array, Float32Array, Uint32Array, Int16Array, Uint16Array, Int8Array] as const;
    const record = (name: string, length: number) => {
      if (length < monthRows) return;
      const stack = new Error().stack!.split('\n').slice(2);
      const frame = stack.find((line) => /lib[\\/]/.test(line));
      if (frame !== undefined && rowModules.test(frame) && !frame.includes('chunkBytes')) big.push(`${name}(${length}) at ${frame.trim()}`);
    };
    const wrapped: (typeof originals)[number][] = originals.map(
      (Type) =>
        new Proxy(Type, {
          construct(target, args, newTarget) {
            const [first] = args as [unknown];
            // A view of an existing buffer allocates nothing; a length or an array to copy does.
            const isView = first instanceof ArrayBuffer || first instanceof SharedArrayBuffer;
            if (!isView) record(target.name, typeof first === 'number' ? first : ((first as ArrayLike<unknown> | undefined)?.length ?? 0));
            return Reflect.construct(target, args, newTarget === wrapped[originals.indexOf(target)] ? target : newTarget) as object;
          },
        }),
    );
    const global = globalThis as unknown as Record<string, unknown>;
    originals.forEach((Type, i) => (global[Type.name] = wrapped[i]));
    let result: TrainResult;
    try {
      result = await train({ ...common(), train: months, val: ['2023-05'], outDir: join(dir, 'bounded') });
    } finally {
      originals.forEach((Type) => (global[Type.name] = Type));
    }
    expect(result.train.rowsRead).toBe(4 * monthRows);
    expect(big).toEqual([]);
    // The check sees what it guards against: cleaning a month whole makes such arrays.
    originals.forEach((Type, i) => (global[Type.name] = wrapped[i]));
    try {
      await cleanTripFiles([monthPath('2023-01')]);
    } finally {
      originals.forEach((Type) => (global[Type.name] = Type));
    }
    expect(big.length).toBeGreaterThan(0);
  });
});
