/**
 * Tracking: records each `train()` in the runs store (lib/runs.ts), the bridge between the
 * training pipeline and the store.
 *
 * `train()` calls {@link trackTraining} around its own work, so the CLI, notebooks and scripts
 * all record runs without doing anything. The run is started before any data is read (an
 * unwritable store fails the run at once, not after minutes of work), and finished after the
 * model file was written: it then holds the parameters, both data files (size and SHA-256),
 * rows, metrics, stage times, its own copy of the model file and of the plot, and the code version.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { loadModel } from './modelFile.js';
import type { TrainOptions, TrainResult } from './pipeline.js';
import { plotlyAsset, scriptSrc, withExternalPlotly } from './runAssets.js';
import { startRun, type ActiveRun } from './runs.js';

/**
 * Where `train()` records its run: a runs folder, `false` for nowhere, or a folder with the run
 * this training is a step of (a retrain) and tags.
 *
 * @example
 * await train({ synthetic: true, runs: { dir: 'build/runs', tags: { note: 'baseline' } } });
 */
export type TrainRuns = string | false | { dir?: string; parentRunId?: string; tags?: Record<string, string> };

/**
 * Runs `trainOnce(options)` as a recorded run of the store `options.runs` names (default
 * `defaultRunsDir()`), and returns its result with `run` set to the run's id and folder.
 *
 * A failure while training marks the run failed and is rethrown unchanged. A failure while
 * recording, after the model was written, marks the run failed and becomes a `runs: ...`
 * error that says the model was written.
 *
 * @example
 * export async function train(options = {}) { return trackTraining(options, trainOnce); }
 */
export async function trackTraining(
  options: TrainOptions,
  trainOnce: (options: TrainOptions) => Promise<TrainResult>,
): Promise<TrainResult> {
  const target = options.runs ?? {};
  if (target === false) return trainOnce(options);
  const { dir, parentRunId, tags } = typeof target === 'string' ? { dir: target, parentRunId: undefined, tags: undefined } : target;
  const run = await startRun({
    ...(dir !== undefined ? { runsDir: dir } : {}),
    kind: 'train',
    params: requestedParams(options),
    parentRunId: parentRunId ?? null,
    ...(tags !== undefined ? { tags } : {}),
  });
  let result: TrainResult;
  try {
    result = await trainOnce(options);
  } catch (error) {
    await run.fail(error);
    throw error;
  }
  try {
    await recordTraining(run, options, result);
    await run.finish();
  } catch (error) {
    await run.fail(error);
    throw new Error(`runs: the model was trained and written to ${result.outputs.model}, but recording run ${run.id} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  options.onProgress?.({ stage: 'save', message: `run: ${run.id} (${run.dir})`, done: true });
  result.run = { id: run.id, dir: run.dir };
  return result;
}

/** The options as the caller gave them (before defaults), without callbacks. */
function requestedParams(options: TrainOptions): Record<string, unknown> {
  const { onProgress: _progress, runs: _runs, ...rest } = options;
  return { ...rest };
}

/** Fills the run from a finished training: params as resolved, data, metrics, times, artifacts. */
async function recordTraining(run: ActiveRun, options: TrainOptions, result: TrainResult): Promise<void> {
  const r = run.record;
  r.params = {
    ...r.params,
    train: result.train.source,
    val: result.val.source,
    color: result.color,
    minDuration: result.minDuration,
    maxDuration: result.maxDuration,
    synthetic: options.synthetic ?? false,
    ...(options.synthetic ? { syntheticRows: options.syntheticRows ?? 100_000 } : {}),
    // Folders as absolute paths: a relative one says nothing once the working folder is forgotten.
    outDir: dirname(result.outputs.model),
    ...(options.cacheDir !== undefined ? { cacheDir: resolve(options.cacheDir) } : {}),
    ...(result.outputs.metrics !== null ? { metricsJson: result.outputs.metrics } : {}),
  };
  for (const [role, split] of [['train', result.train], ['val', result.val]] as const) {
    // Every file of a split, in order: several months train (and validate) one model.
    for (const s of split.sources) await run.addData({ role, source: s.source, path: s.path, generated: s.generated, rowsRead: s.rowsRead, rowsKept: s.rowsKept });
  }
  r.synthetic = result.synthetic;
  r.metrics = { rmseTrain: result.train.rmse, rmseVal: result.val.rmse, features: result.features };
  // Each validation source's RMSE, when there are several (the first step of monitoring).
  if (result.val.sources.length > 1) {
    r.series.rmseVal = result.val.sources.map((s, step) => ({ step, label: s.source, value: s.rmse! }));
  }
  r.seconds = { ...result.seconds };
  r.details = {
    outputs: result.outputs,
    peakRssBytes: result.peakRssBytes,
    threads: result.threads,
    threadSeconds: result.threadSeconds,
    estimator: result.estimator,
    rowsWithNulls: { train: result.train.rowsWithNulls, val: result.val.rowsWithNulls },
  };

  // The run's own copy of the model: the published file may be overwritten by the next run.
  // It must be the model this call fitted, not one another process saved there meanwhile.
  const model = await run.addArtifact('model', result.outputs.model, 'model.json');
  const copy = await loadModel(join(run.dir, model.path));
  const same =
    copy.model.intercept === result.model.intercept &&
    copy.model.coef.length === result.model.coef.length &&
    copy.model.coef.every((c, i) => c === result.model.coef[i]) &&
    copy.vectorizer.getFeatureNamesOut().join('\n') === result.vectorizer.getFeatureNamesOut().join('\n');
  if (!same) throw new Error(`${result.outputs.model} changed before it could be copied (another run saved there meanwhile)`);
  r.params.features = [...copy.features.categorical, ...copy.features.numerical].join(',');
  if (result.outputs.plot !== null) {
    // The page loads the store's shared plotly.js (lib/runAssets.ts) instead of carrying 4.8 MB of it.
    const html = await readFile(result.outputs.plot, 'utf8');
    const src = scriptSrc(join(run.dir, 'artifacts'), await plotlyAsset(run.runsDir));
    await run.writeArtifact('plot', 'predicted_vs_actual.html', withExternalPlotly(html, src) ?? html);
  }
}
