/**
 * `train()`: the pipeline in-process, on generated months (the offline mode) and on files.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  OptionError,
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
    expect(result.seconds.read).toBeGreaterThan(0);
    expect(result.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
  });

  it('reports progress per stage, ending each with done', () => {
    const doneStages = new Set(events.filter((e) => e.done).map((e) => e.stage));
    for (const stage of ['fetch', 'read', 'clean', 'fit', 'evaluate', 'plot', 'save'] as const) {
      expect(doneStages.has(stage), stage).toBe(true);
    }
    expect(events.filter((e) => e.stage === 'read' && e.done).map((e) => e.split)).toEqual(['train', 'val']);
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
    [{ synthetic: true, train: 'some/file.parquet' }, /^pipeline: with synthetic data, train must be a month YYYY-MM/],
    [{ synthetic: true, syntheticRows: 0 }, /^pipeline: syntheticRows must be a whole number from 1 to 10,000,000 \(a real month has about 3,000,000\), got 0$/],
    [{ synthetic: true, syntheticRows: 1e12 }, /^pipeline: syntheticRows must be a whole number from 1 to 10,000,000 .*got 1000000000000$/],
    [{ train: '2024-13' }, /^source: month "2024-13" is not a month/],
    [{ color: 'blue' as 'yellow' }, /^pipeline: color must be 'yellow' or 'green', got 'blue'$/],
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

describe('train with the validation month in a worker thread (the built library)', () => {
  // A worker thread cannot load the TypeScript sources, so this runs lib/dist (`npm test` builds it first).
  const distIndex = new URL('../lib/dist/index.js', import.meta.url);

  it('gives bit for bit the results of one thread, and of the sources', async () => {
    if (!existsSync(distIndex)) throw new Error('lib/dist is missing: run `npm run build` first (npm test does)');
    const lib = (await import(distIndex.href)) as typeof import('../lib/index.js');
    const common = { train: result.train.path, val: result.val.path, plotName: false as const };
    const parallelEvents: ProgressEvent[] = [];
    const parallel = await lib.train({ ...common, outDir: join(dir, 'parallel'), parallel: true, onProgress: (e) => parallelEvents.push(e) });
    const sequential = await lib.train({ ...common, outDir: join(dir, 'sequential'), parallel: false });
    if (!('validationThreadSeconds' in parallel)) throw new Error('lib/dist is stale: run `npm run build` first');
    expect(parallel.validationThreadSeconds, 'the worker ran').not.toBeNull();
    expect(parallel.validationThreadSeconds!.read).toBeGreaterThan(0);
    expect(sequential.validationThreadSeconds).toBeNull();
    for (const run of [parallel, sequential]) {
      // Same file, counts and RMSE as the sources' in-thread run (which named the months, not the paths).
      expect({ ...run.val, source: '' }).toEqual({ ...result.val, source: '' });
      expect({ ...run.train, source: '' }).toEqual({ ...result.train, source: '' });
      expect(Array.from(run.model.coef)).toEqual(Array.from(result.model.coef));
      expect(run.model.intercept).toBe(result.model.intercept);
    }
    // Stages still end train first, then val, and the read bar reaches 100%.
    expect(parallelEvents.filter((e) => e.stage === 'read' && e.done).map((e) => e.split)).toEqual(['train', 'val']);
    expect(parallelEvents.filter((e) => e.stage === 'clean' && e.done).map((e) => e.split)).toEqual(['train', 'val']);
    const fractions = parallelEvents.filter((e) => e.stage === 'read' && !e.done).map((e) => e.fraction!);
    expect(fractions.length).toBeGreaterThan(0);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(fractions.at(-1)).toBe(1);
    // The fit bar moves through both passes over the rows before it is done.
    const fit = parallelEvents.filter((e) => e.stage === 'fit').map((e) => e.fraction!);
    expect(fit).toEqual([...fit].sort((a, b) => a - b));
    expect(fit.filter((f) => f > 0 && f < 0.5).length).toBeGreaterThan(0);
    expect(fit.filter((f) => f >= 0.5 && f < 1).length).toBeGreaterThan(0);
    expect(fit.at(-1)).toBe(1);
    const sum = STAGES.reduce((s, k) => s + parallel.seconds[k], 0);
    expect(parallel.seconds.total).toBeGreaterThanOrEqual(sum - 1e-6);
  });

  it('passes a validation month error through unchanged and leaves no worker behind', async () => {
    if (!existsSync(distIndex)) throw new Error('lib/dist is missing: run `npm run build` first (npm test does)');
    const lib = (await import(distIndex.href)) as typeof import('../lib/index.js');
    const bad = join(dir, 'bad-val.parquet');
    await writeFile(bad, 'not parquet at all');
    await expect(lib.train({ train: result.train.path, val: bad, outDir: join(dir, 'bad'), parallel: true })).rejects.toThrow(
      /^read: .*bad-val\.parquet: not a parquet file/,
    );
    await expect(
      lib.train({ train: result.train.path, val: result.val.path, outDir: join(dir, 'bad'), parallel: true, minDuration: 5000, maxDuration: 6000 }),
    ).rejects.toThrow(/^pipeline: no train rows left/);
  });
});
