/**
 * train() records its run: parameters, data hashes, rows, metrics, its own model and plot, the
 * code version; a failed training is a failed run; the store can be moved or turned off.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { defaultRunsDir, listRuns, loadModel, promote, readRun, resolveModelRef, trackTraining, train, type TrainResult } from '../lib/index.js';
import { gitHead } from './helpers/git.js';

let dir: string;
let runsDir: string;
let first: TrainResult;
const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-tracking-'));
  runsDir = join(dir, 'runs');
  first = await train({ synthetic: true, syntheticRows: 20_000, cacheDir: join(dir, 'cache'), outDir: join(dir, 'models'), runs: runsDir });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('train() records a run', () => {
  it('with the resolved parameters, both data files hashed, rows, metrics, stage times and the code version', async () => {
    expect(first.run?.dir).toBe(join(runsDir, first.run!.id));
    const run = await readRun(first.run!.id, { runsDir });
    expect(run).toMatchObject({ kind: 'train', status: 'finished', synthetic: true, parentRunId: null, error: null });
    expect(run.params).toMatchObject({
      train: '2024-01', val: '2024-02', color: 'yellow', minDuration: 1, maxDuration: 60, synthetic: true, syntheticRows: 20_000,
      features: 'PULocationID,DOLocationID,trip_distance', outDir: join(dir, 'models'), cacheDir: join(dir, 'cache'),
    });
    expect(run.data.map((d) => d.role)).toEqual(['train', 'val']);
    const [trainData, valData] = run.data;
    expect(trainData).toMatchObject({ source: '2024-01', path: first.train.path, generated: true, rowsRead: 20_000, rowsKept: first.train.rowsKept, sha256: await sha256(first.train.path) });
    expect(valData).toMatchObject({ source: '2024-02', rowsKept: first.val.rowsKept, sha256: await sha256(first.val.path) });
    expect(run.metrics).toEqual({ rmseTrain: first.train.rmse, rmseVal: first.val.rmse, features: first.features });
    expect(run.seconds.total).toBe(first.seconds.total);
    expect(run.code.gitCommit).toBe(gitHead()); // null in an unpacked archive
    expect(Date.parse(run.endedAt!)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
  });

  it('keeps its own copy of the model and a slim plot that loads the store’s shared plotly.js', async () => {
    const run = await readRun(first.run!.id, { runsDir });
    const model = join(run.dir, run.artifacts.model!.path);
    expect(await readFile(model, 'utf8')).toBe(await readFile(first.outputs.model, 'utf8'));
    expect(run.artifacts.model!.sha256).toBe(await sha256(model));
    const plot = await readFile(join(run.dir, run.artifacts.plot!.path), 'utf8');
    expect(plot.length).toBeLessThan(100_000); // the published plot inlines 4.8 MB of plotly.js
    const src = /<script src="([^"]+)"><\/script>/.exec(plot)![1]!;
    expect(src).toMatch(/^\.\.\/\.\.\/\.assets\/plotly-[0-9a-f]{12}\.min\.js$/);
    expect(existsSync(join(run.dir, 'artifacts', src))).toBe(true);
    expect(plot).toContain('SYNTHETIC DATA');
  });

  it('stays reproducible when the published model is overwritten by a later run', async () => {
    const second = await train({ synthetic: true, syntheticRows: 10_000, cacheDir: join(dir, 'cache'), outDir: join(dir, 'models'), plotName: false, runs: runsDir });
    expect(second.run!.id).not.toBe(first.run!.id);
    await promote(first.run!.id, 'production', { runsDir });
    const { path } = await resolveModelRef('production', { runsDir });
    const kept = await loadModel(path);
    expect(Array.from(kept.model.coef)).toEqual(Array.from(first.model.coef));
    expect(Array.from((await loadModel(first.outputs.model)).model.coef)).toEqual(Array.from(second.model.coef));
    expect((await readRun(second.run!.id, { runsDir })).artifacts.plot).toBeUndefined();
  });

  it('records a failed training as a failed run and rethrows its error unchanged', async () => {
    const before = (await listRuns({ runsDir })).length;
    const error = await train({ train: join(dir, 'missing.parquet'), val: join(dir, 'missing.parquet'), cacheDir: join(dir, 'cache'), outDir: join(dir, 'models'), runs: runsDir }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^source: /);
    const runs = await listRuns({ runsDir });
    expect(runs).toHaveLength(before + 1);
    expect(runs.at(-1)).toMatchObject({ status: 'failed', error: { message: (error as Error).message.split('\n')[0] } });
  });

  it('records nothing with runs: false, and fails before any work when the store cannot be written', async () => {
    const before = (await listRuns({ runsDir })).length;
    const untracked = await train({ synthetic: true, syntheticRows: 10_000, cacheDir: join(dir, 'cache'), outDir: join(dir, 'models'), plotName: false, runs: false });
    expect(untracked.run).toBeUndefined();
    expect(await listRuns({ runsDir })).toHaveLength(before);
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    const cache = join(dir, 'never-made');
    await expect(train({ synthetic: true, syntheticRows: 10_000, cacheDir: cache, outDir: join(dir, 'models'), runs: file })).rejects.toThrow(/^runs: cannot record a run in /);
    expect(existsSync(cache)).toBe(false); // nothing was generated or read
  });

  it('names its run in the metrics JSON, and its model artifact is the published model, byte for byte', async () => {
    const metricsJson = join(dir, 'metrics', 'm.json');
    const result = await train({ synthetic: true, syntheticRows: 10_000, cacheDir: join(dir, 'cache'), outDir: join(dir, 'published'), plotName: false, metricsJson, runs: runsDir });
    const metrics = JSON.parse(await readFile(metricsJson, 'utf8')) as { run?: { id: string; dir: string } };
    expect(metrics.run).toEqual(result.run);
    const run = await readRun(result.run!.id, { runsDir });
    expect(await sha256(join(run.dir, run.artifacts.model!.path))).toBe(await sha256(result.outputs.model));
  });

  it('publishes nothing when recording the run fails: the earlier model, plot and metrics stay, the run is failed', async () => {
    const outDir = join(dir, 'kept');
    const metricsJson = join(outDir, 'metrics.json');
    const options = { synthetic: true, syntheticRows: 10_000, cacheDir: join(dir, 'cache'), outDir, metricsJson, runs: runsDir } as const;
    const earlier = await train(options);
    const before = await Promise.all([earlier.outputs.model, earlier.outputs.plot!, metricsJson].map(sha256));
    // While the new run trains, something takes the place of its artifacts folder: its model copy cannot be written.
    const error = await train({
      ...options,
      minDuration: 2,
      onProgress: (e) => {
        if (e.stage === 'score' && e.done && e.split === undefined) {
          const running = readdirSync(runsDir).filter((n) => /^\d{8}-/.test(n)).map((n) => join(runsDir, n)).find((d) => readFileSync(join(d, 'run.json'), 'utf8').includes('"status": "running"'))!;
          writeFileSync(join(running, 'artifacts'), 'in the way');
        }
      },
    }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^runs: recording run (\S+) failed, so no output was published \(.*kept\/lin_reg\.json is as it was\): runs: cannot write artifacts\/model\.json of run \1: /);
    expect(await Promise.all([earlier.outputs.model, earlier.outputs.plot!, metricsJson].map(sha256))).toEqual(before);
    const failed = (await listRuns({ runsDir })).at(-1)!;
    expect(failed).toMatchObject({ status: 'failed', error: { message: (error as Error).message } });
    expect((await loadModel(earlier.outputs.model)).metadata.minDuration).toBe(1);
  });

  it('marks a finished run failed when publishing its outputs fails afterwards (the model stays as it was)', async () => {
    const outDir = join(dir, 'lost-lock');
    const earlier = await train({ synthetic: true, syntheticRows: 10_000, cacheDir: join(dir, 'cache'), outDir, plotName: false, runs: false });
    const before = await sha256(earlier.outputs.model);
    // The output lock is removed by hand while the run trains: the run is recorded, then publishing refuses.
    const error = await train({
      synthetic: true, syntheticRows: 10_000, minDuration: 2, cacheDir: join(dir, 'cache'), outDir, plotName: false, runs: runsDir,
      onProgress: (e) => {
        if (e.stage === 'score' && e.done && e.split === undefined) rmSync(join(outDir, '.lin_reg.json.lock'));
      },
    }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^output: lost the lock .*\.lin_reg\.json\.lock on the model/);
    expect(await sha256(earlier.outputs.model)).toBe(before);
    const run = (await listRuns({ runsDir })).at(-1)!;
    expect(run).toMatchObject({ status: 'failed', error: { message: (error as Error).message } });
    expect(run.artifacts.model).toBeDefined(); // it was recorded whole before publishing failed
  });

  it('fails a run whose training returned without recording it before publishing', async () => {
    const error = await trackTraining({ runs: runsDir }, async () => first).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^runs: the training returned without recording run \S+ before publishing its outputs$/);
    expect((await listRuns({ runsDir })).at(-1)).toMatchObject({ status: 'failed' });
  });

  it('records in TAXI_RUNS_DIR by default (the suite points it at a temporary folder)', async () => {
    expect(defaultRunsDir()).toBe(process.env.TAXI_RUNS_DIR);
    const result = await train({ synthetic: true, syntheticRows: 10_000, cacheDir: join(dir, 'cache'), outDir: join(dir, 'models'), plotName: false });
    expect(result.run!.dir).toBe(join(process.env.TAXI_RUNS_DIR!, result.run!.id));
  });
});
