/**
 * train() records its run: parameters, data hashes, rows, metrics, its own model and plot, the
 * code version; a failed training is a failed run; the store can be moved or turned off.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
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

  it('refuses to record a model file that another process replaced before it was copied', async () => {
    const other = await train({ synthetic: true, syntheticRows: 10_000, cacheDir: join(dir, 'cache'), outDir: join(dir, 'other'), plotName: false, runs: false });
    // The training "returns" the first result, but its published file now holds another model.
    const error = await trackTraining({ runs: runsDir }, async () => ({ ...first, outputs: { ...first.outputs, model: other.outputs.model, plot: null } })).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^runs: the model was trained and written to .*other.*lin_reg\.json, but recording run \S+ failed: .* changed before it could be copied/);
    expect((await listRuns({ runsDir })).at(-1)).toMatchObject({ status: 'failed' });
  });

  it('records in TAXI_RUNS_DIR by default (the suite points it at a temporary folder)', async () => {
    expect(defaultRunsDir()).toBe(process.env.TAXI_RUNS_DIR);
    const result = await train({ synthetic: true, syntheticRows: 10_000, cacheDir: join(dir, 'cache'), outDir: join(dir, 'models'), plotName: false });
    expect(result.run!.dir).toBe(join(process.env.TAXI_RUNS_DIR!, result.run!.id));
  });
});
