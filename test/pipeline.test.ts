/**
 * `train()`: the pipeline in-process, on generated months (the offline mode) and on files.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  COURSE_FEATURES,
  OptionError,
  buildProfile,
  cleanTrips,
  loadModel,
  readTrips,
  rootMeanSquaredError,
  STAGES,
  SYNTHETIC_NOTE,
  syntheticMonthPath,
  toMetrics,
  train,
  writeSyntheticTrips,
  type ProgressEvent,
  type TrainResult,
} from '../lib/index.js';

let dir: string;
let result: TrainResult;
const events: ProgressEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-pipeline-'));
  result = await train({
    synthetic: true,
    syntheticRows: 20_000,
    cacheDir: join(dir, 'cache'),
    outDir: join(dir, 'models'),
    metricsJson: join(dir, 'out', 'metrics.json'),
    onProgress: (e) => events.push(e),
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('train (synthetic, offline)', () => {
  it('generates deterministic months in the cache, apart from downloads', async () => {
    const trainPath = syntheticMonthPath(join(dir, 'cache'), 'yellow', '2024-01', 20_000);
    expect(result.train.path).toBe(trainPath);
    expect(existsSync(trainPath)).toBe(true);
    expect(result.train.path).toContain(join('cache', 'synthetic'));
    // Regenerating elsewhere gives the same bytes: the month fixes the seed.
    const again = await mkdtemp(join(tmpdir(), 'taxi-pipeline-again-'));
    try {
      const second = await train({ synthetic: true, syntheticRows: 20_000, cacheDir: again, outDir: join(again, 'm') });
      expect(await readFile(second.train.path)).toEqual(await readFile(trainPath));
      expect(second.val.rmse).toBe(result.val.rmse);
      expect(Array.from(second.model.coef)).toEqual(Array.from(result.model.coef));
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  });

  it('labels everything synthetic: result, metrics JSON, model metadata, plot', async () => {
    expect(result.synthetic).toBe(true);
    const metrics = JSON.parse(await readFile(join(dir, 'out', 'metrics.json'), 'utf8')) as Record<string, unknown>;
    expect(metrics.synthetic).toBe(true);
    expect(metrics.note).toBe(SYNTHETIC_NOTE);
    const { metadata } = await loadModel(result.outputs.model);
    expect((metadata as Record<string, unknown>).synthetic).toBe(true);
    const html = await readFile(result.outputs.plot!, 'utf8');
    expect(html).toContain('SYNTHETIC DATA');
  });

  it('counts rows and scores RMSE as an independent recomputation does', async () => {
    // Recompute val RMSE from the saved model on freshly read and cleaned val data.
    const clean = cleanTrips(await readTrips(result.val.path));
    const { vectorizer, model } = await loadModel(result.outputs.model);
    const rmse = rootMeanSquaredError(clean.duration, model.predict(vectorizer.transform(clean.features)));
    expect(result.val.rmse).toBeCloseTo(rmse, 10);
    expect(result.val.rowsRead).toBe(20_000);
    expect(result.val.rowsKept).toBe(clean.length);
    expect(result.train.rowsKept + result.train.rowsWithNulls).toBeLessThanOrEqual(result.train.rowsRead);
    expect(result.features).toBe(result.vectorizer.getFeatureNamesOut().length);
    // Training error of least squares with an intercept cannot exceed the spread of y.
    const trainClean = cleanTrips(await readTrips(result.train.path));
    expect(result.train.rmse).toBeLessThanOrEqual(trainClean.stats.durationStd + 1e-9);
  });

  it('times every stage and reports peak RSS', () => {
    for (const stage of STAGES) expect(result.seconds[stage]).toBeGreaterThanOrEqual(0);
    const sum = STAGES.reduce((s, k) => s + result.seconds[k], 0);
    expect(result.seconds.total).toBeGreaterThanOrEqual(sum - 1e-6);
    expect(result.seconds.accumulate).toBeGreaterThan(0);
    expect(result.seconds.score).toBeGreaterThan(0);
    // From the sources, the passes run on this thread; their busy time is the stages'.
    expect(result.threads).toBe(0);
    expect(result.threadSeconds.accumulate).toBeGreaterThan(0);
    expect(result.threadSeconds.accumulate).toBeLessThanOrEqual(result.seconds.accumulate + 1e-6);
    expect(result.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
  });

  it('reports progress per stage, ending each with done', () => {
    const doneStages = new Set(events.filter((e) => e.done).map((e) => e.stage));
    for (const stage of STAGES) expect(doneStages.has(stage), stage).toBe(true);
    const done = events.filter((e) => e.done && e.split !== undefined).map((e) => `${e.stage} ${e.message.split(':')[0]}`);
    expect(done).toEqual(['prepare train', 'prepare val', 'accumulate read train', 'accumulate clean train', 'score read val', 'score clean val']);
    // The read bars only move forward, and end at 100 %.
    for (const split of ['train', 'val'] as const) {
      const fractions = events.filter((e) => e.split === split && e.message.startsWith('read ')).map((e) => e.fraction!);
      expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
      expect(fractions.at(-1)).toBe(1);
    }
  });

  it('saves the training profile, the feature set and the estimator in the model file', async () => {
    const saved = await loadModel(result.outputs.model);
    const trainClean = cleanTrips(await readTrips(result.train.path));
    // The profile of the trips streamed row group by row group is the profile of the whole cleaned month.
    const whole = buildProfile({ duration: trainClean.duration, ...trainClean.features });
    const profile = saved.metadata.profile as typeof whole;
    expect({ ...profile, duration: { ...profile.duration, sum: 0 }, trip_distance: { ...profile.trip_distance!, sum: 0 } }).toEqual({
      ...whole,
      duration: { ...whole.duration, sum: 0 },
      trip_distance: { ...whole.trip_distance!, sum: 0 },
    });
    expect(profile.duration.sum).toBeCloseTo(whole.duration.sum, 6);
    expect(saved.features).toEqual(COURSE_FEATURES);
    expect(saved.model.estimator).toBe('LinearRegression');
    expect(saved.metadata.validation).toEqual({ sources: ['2024-02'], rows: result.val.rowsKept, perSource: [{ source: '2024-02', rows: result.val.rowsKept, rmse: result.val.rmse }] });
    expect(result.featureSet).toBe('PULocationID,DOLocationID,trip_distance');
    expect(result.estimator).toEqual({ name: 'LinearRegression', params: { fitIntercept: true } });
  });

  it('charts the validation durations, binned while scoring', async () => {
    const html = await readFile(result.outputs.plot!, 'utf8');
    expect(html).toContain('<title>Predicted vs actual trip duration, validation 2024-02 (SYNTHETIC DATA)</title>');
    expect(html).toContain('"name":"prediction (density)"');
    expect(html).toContain('"name":"actual (density)"');
  });

  it('drops the fitted objects from the metrics document', () => {
    const metrics = toMetrics(result);
    expect('model' in metrics).toBe(false);
    expect('vectorizer' in metrics).toBe(false);
    expect(JSON.parse(JSON.stringify(metrics))).toEqual(metrics);
  });
});

describe('train: options and failures', () => {
  it.each([
    [{ minDuration: 10, maxDuration: 5 }, /^pipeline: minDuration \(10\) must be below maxDuration \(5\)$/],
    [{ minDuration: -1 }, /^pipeline: minDuration must be a number of minutes ≥ 0, got -1$/],
    [{ maxDuration: Number.NaN }, /^pipeline: maxDuration must be a number/],
    [{ synthetic: true, train: 'some/file.parquet' }, /^pipeline: with synthetic data, train must be months YYYY-MM to generate, got 'some\/file\.parquet'$/],
    [{ synthetic: true, syntheticRows: 0 }, /^pipeline: syntheticRows must be a whole number from 1 to 10,000,000 \(a real yellow month has about 3,000,000\), got 0$/],
    [{ synthetic: true, color: 'fhvhv' as const, syntheticRows: 40_000_000 }, /^pipeline: syntheticRows must be a whole number from 1 to 30,000,000 \(a real fhvhv month has about 20,000,000\)/],
    [{ synthetic: true, syntheticRows: 1e12 }, /^pipeline: syntheticRows must be a whole number from 1 to 10,000,000 .*got 1000000000000$/],
    [{ train: '2024-13' }, /^source: month "2024-13" is not a month/],
    [{ color: 'blue' as 'yellow' }, /^source: color must be 'yellow', 'green', 'fhv' or 'fhvhv', got "blue"$/],
    [{ train: '2024-03..2024-01' }, /^months: the range 2024-03\.\.2024-01 runs backwards; write it oldest first \(2024-01\.\.2024-03\)$/],
    [{ train: '2024-01,2024-01' }, /^months: 2024-01 is listed twice in "2024-01,2024-01"; name each source once$/],
    [{ val: ' , ' }, /^pipeline: no val data given; name a month/],
    [{ features: 'PU_DO,speed' }, /^features: unknown feature "speed"; known: PULocationID, DOLocationID, PU_DO, trip_distance$/],
    [{ features: 'trip_distance' }, /^pipeline: the features \(trip_distance\) need a zone feature/],
    [{ color: 'fhv' as const, features: 'PU_DO,trip_distance' }, /^pipeline: fhv files record no trip distance, but the features \(PU_DO,trip_distance\) need it; train on the zones alone: --features PULocationID,DOLocationID/],
    [{ estimator: 'forest' }, /^regression: unknown estimator "forest"; known: LinearRegression, Ridge, Lasso$/],
    [{ estimator: 'linear', estimatorOptions: { alpha: 1 } }, /^regression: alpha is not an option of LinearRegression/],
    [{ estimator: 'lasso', estimatorOptions: { alpha: -1 } }, /alpha/],
  ])('rejects %j before any work, as an OptionError', async (options, pattern) => {
    const error = await train({ outDir: join(dir, 'never'), ...options }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionError);
    expect((error as Error).message).toMatch(pattern);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('checks the output folder before generating or reading anything', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, '');
    const cache = join(dir, 'untouched-cache');
    await expect(
      train({ synthetic: true, syntheticRows: 1000, cacheDir: cache, outDir: join(file, 'sub') }),
    ).rejects.toThrow(/^output: the output folder .*plain-file\/sub cannot be a folder \(.*plain-file is a regular file\); choose another --out \(outDir\)$/);
    expect(existsSync(cache)).toBe(false);
    await expect(
      train({ synthetic: true, syntheticRows: 1000, cacheDir: cache, outDir: join(dir, 'ok'), metricsJson: join(file, 'm.json') }),
    ).rejects.toThrow(/choose another --metrics-json \(metricsJson\)$/);
    await expect(
      train({ synthetic: true, syntheticRows: 1000, cacheDir: cache, outDir: join(dir, 'ok'), metricsJson: dir }),
    ).rejects.toThrow(/^output: the metrics .* is a folder, not a regular file; refusing to replace it\. Choose another --metrics-json \(metricsJson\)$/);
    expect(existsSync(cache)).toBe(false);
  });

  it('fails on no rows left and keeps the earlier model byte for byte; no temp files left', async () => {
    const outDir = join(dir, 'keep');
    const cacheDir = join(dir, 'cache');
    const first = await train({ synthetic: true, syntheticRows: 20_000, cacheDir, outDir, plotName: false });
    const before = await readFile(first.outputs.model);
    await expect(
      train({ synthetic: true, syntheticRows: 20_000, cacheDir, outDir, minDuration: 5000, maxDuration: 6000 }),
    ).rejects.toThrow(/^pipeline: no train rows left after filtering 2024-01 \(20,000 read, \d+ with nulls\) to durations of 5000\.\.6000 minutes/);
    expect(await readFile(first.outputs.model)).toEqual(before);
    expect((await readdir(outDir)).sort()).toEqual(['lin_reg.json']);
  });

  it('trains on local files and honours the duration filter', async () => {
    const a = join(dir, 'a.parquet');
    const b = join(dir, 'b.parquet');
    await writeSyntheticTrips(a, { month: '2023-03', rows: 8_000, seed: 5 });
    await writeSyntheticTrips(b, { month: '2023-04', rows: 8_000, seed: 6 });
    const wide = await train({ train: a, val: b, outDir: join(dir, 'files'), plotName: false });
    const narrow = await train({ train: a, val: b, outDir: join(dir, 'files'), plotName: false, minDuration: 5, maxDuration: 30 });
    // Our generator's footer marks the files: generated data is labelled even under any name.
    expect(wide.synthetic).toBe(true);
    expect(wide.train.generated).toBe(true);
    expect(wide.train.source).toBe(a);
    expect(narrow.train.rowsKept).toBeLessThan(wide.train.rowsKept);
    expect(narrow.train.rowsKept).toBe(cleanTrips(await readTrips(a), { minDuration: 5, maxDuration: 30 }).length);
  });
});

describe('train on worker threads (the built library)', () => {
  // A worker thread cannot load the TypeScript sources, so this runs lib/dist (`npm test` builds it first).
  const distIndex = new URL('../lib/dist/index.js', import.meta.url);
  const loadDist = async () => {
    if (!existsSync(distIndex)) throw new Error('lib/dist is missing: run `npm run build` first (npm test does)');
    const lib = (await import(distIndex.href)) as typeof import('../lib/index.js');
    if (!('threadSeconds' in (await lib.train({ synthetic: true, syntheticRows: 1000, cacheDir: join(dir, 'cache'), outDir: join(dir, 'probe'), plotName: false, runs: false })))) {
      throw new Error('lib/dist is stale: run `npm run build` first');
    }
    return lib;
  };

  it('gives bit for bit the results of one thread, of other thread counts and of the sources, for several months', async () => {
    const lib = await loadDist();
    // Three training months and two validation months, four row groups each: jobs of every size land on every thread.
    const months = ['2023-05', '2023-06', '2023-07', '2023-08', '2023-09'];
    const paths = months.map((m) => join(dir, `threads-${m}.parquet`));
    for (const [i, month] of months.entries()) await writeSyntheticTrips(paths[i]!, { month, rows: 12_000, seed: 40 + i, rowGroupSize: 3_000 });
    const common = { train: paths.slice(0, 3), val: paths.slice(3), features: 'PU_DO,trip_distance', estimator: 'ridge', runs: false as const };
    const runs = [];
    for (const parallel of [2, 3, false, 1] as const) {
      const events: ProgressEvent[] = [];
      runs.push({ parallel, events, result: await lib.train({ ...common, outDir: join(dir, `threads-${parallel}`), parallel, onProgress: (e) => events.push(e) }) });
    }
    const sources = await train({ ...common, outDir: join(dir, 'threads-sources') });
    expect(runs.map((r) => r.result.threads)).toEqual([2, 3, 0, 1]);
    expect(sources.threads).toBe(0);
    const [first] = runs;
    const files = await Promise.all([...runs.map((r) => r.result), sources].map((r) => readFile(r.outputs.model, 'utf8')));
    const withoutTime = (text: string) => text.replace(/"createdAt": *"[^"]*"/, '');
    for (const [i, run] of [...runs.map((r) => r.result), sources].entries()) {
      expect(Array.from(run.model.coef)).toEqual(Array.from(first!.result.model.coef));
      expect(run.model.intercept).toBe(first!.result.model.intercept);
      expect(run.train).toEqual(first!.result.train);
      expect(run.val).toEqual(first!.result.val);
      // The model file too, profile and all, but for its creation time.
      expect(withoutTime(files[i]!)).toBe(withoutTime(files[0]!));
    }
    expect(first!.result.train.rowsRead).toBe(36_000);
    expect(first!.result.val.sources.map((s) => s.rowsRead)).toEqual([12_000, 12_000]);
    for (const { events } of runs) {
      // The read bars only move forward, over both months, and end at 100 %.
      const fractions = events.filter((e) => e.stage === 'accumulate' && e.message.startsWith('read ')).map((e) => e.fraction!);
      expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
      expect(fractions.at(-1)).toBe(1);
    }
  });

  it('reads every validation row group once: a job another thread takes is no longer read ahead', async () => {
    const lib = await loadDist();
    const { PassPool } = (await import(new URL('../lib/dist/passPool.js', import.meta.url).href)) as typeof import('../lib/passPool.js');
    const { modelData } = (await import(new URL('../lib/dist/score.js', import.meta.url).href)) as typeof import('../lib/score.js');
    // Three training row groups on two threads: the thread left over reads ahead, then the next too.
    const [trainPath, valPath] = [join(dir, 'ahead-train.parquet'), join(dir, 'ahead-val.parquet')];
    await writeSyntheticTrips(trainPath, { month: '2023-05', rows: 9_000, seed: 61, rowGroupSize: 3_000 });
    await writeSyntheticTrips(valPath, { month: '2023-06', rows: 12_000, seed: 62, rowGroupSize: 3_000 });
    const fitted = await lib.train({ train: trainPath, val: valPath, outDir: join(dir, 'ahead'), plotName: false, runs: false, parallel: false });
    const spec = { minDuration: 1, maxDuration: 60, features: lib.COURSE_FEATURES };
    const jobs = (path: string, groups: number) => Array.from({ length: groups }, (_, g) => ({ path, rowGroups: [g, g + 1] as [number, number], spec }));
    const pool = PassPool.start(2);
    try {
      const accumulating = Promise.all(jobs(trainPath, 3).map((job) => pool.accumulate(job)));
      pool.prefetch(jobs(valPath, 4));
      await accumulating;
      await pool.statistics(spec);
      pool.setModel(modelData({ vectorizer: fitted.vectorizer, model: fitted.model, features: lib.COURSE_FEATURES }));
      const scored = (await Promise.all(jobs(valPath, 4).map((job) => pool.score(job)))).flat();
      expect(scored.reduce((n, g) => n + g.rowsRead, 0)).toBe(12_000);
      expect(scored.reduce((n, g) => n + g.rowsKept, 0)).toBe(fitted.val.rowsKept);
    } finally {
      await pool.close();
    }
    // The two read ahead were scored by the threads holding them; the two others were scored, not read twice.
    expect(pool.readAhead).toEqual({ used: 2, unused: 0 });
  });

  it('passes a validation file error through unchanged and leaves no worker behind', async () => {
    const lib = await loadDist();
    const bad = join(dir, 'bad-val.parquet');
    await writeFile(bad, 'not parquet at all');
    await expect(lib.train({ train: result.train.path, val: bad, outDir: join(dir, 'bad'), parallel: true, runs: false })).rejects.toThrow(
      /^read: .*bad-val\.parquet: not a parquet file/,
    );
    await expect(
      lib.train({ train: result.train.path, val: result.val.path, outDir: join(dir, 'bad'), parallel: true, minDuration: 5000, maxDuration: 6000, runs: false }),
    ).rejects.toThrow(/^pipeline: no train rows left/);
    // A damaged page (the footer is fine): found by a worker thread, reading ahead or scoring; its message unchanged.
    const damaged = join(dir, 'damaged-val.parquet');
    const bytes = await readFile(result.val.path);
    bytes.fill(7, Math.floor(bytes.length * 0.3), Math.floor(bytes.length * 0.3) + 4000);
    await writeFile(damaged, bytes);
    await expect(lib.train({ train: result.train.path, val: damaged, outDir: join(dir, 'bad'), parallel: 2, runs: false })).rejects.toThrow(
      /^read: .*damaged-val\.parquet: cannot decode column \w+ in row group 0 .*; the file may be corrupt or truncated: delete it and fetch it again$/,
    );
    expect(existsSync(join(dir, 'bad', 'lin_reg.json'))).toBe(false);
  });
});
