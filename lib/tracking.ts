/**
 * Tracking: records each `train()` in the runs store (lib/runs.ts), the bridge between the
 * training pipeline and the store.
 *
 * `train()` calls {@link trackTraining} around its own work, so the CLI, notebooks and scripts
 * all record runs without doing anything. The run is started before any data is read (an
 * unwritable store fails the run at once, not after minutes of work), and finished before the
 * outputs are published: it then holds the parameters, both data files (size and SHA-256),
 * rows, metrics, stage times, its own copy of the model file and of the plot, and the code
 * version. So every published model has its run record; see {@link trackTraining} for the order.
 */
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
 * What `train()` hands its recorder once every output is staged (written in full beside its
 * target) and before any is published: the run is recorded from these very bytes, so the run's
 * copy of the model is the published model, and a recording that fails publishes nothing.
 *
 * @example
 * await recorder?.beforePublish(result, { model: modelText, plot: plotHtml });
 */
export interface TrainingRecorder {
  /** Records the finished training; throwing stops the outputs from being published. */
  beforePublish(result: TrainResult, files: { model: string; plot: string | null }): Promise<void>;
}

/**
 * Runs `trainOnce` as a recorded run of the store `options.runs` names (default
 * `defaultRunsDir()`), and returns its result with `run` set to the run's id and folder.
 *
 * The order makes a published model always have its run record: the run starts before any data
 * is read; when the outputs are staged, `trainOnce` calls the recorder, which writes the run's
 * data hashes, metrics, its own copies of the staged model and plot, and marks it `finished`;
 * only then are the outputs renamed into place (the model last). A failure while training or
 * recording publishes nothing and marks the run failed; a failure while publishing (after the
 * run finished) marks it failed too, since its outputs are not where it says. Errors are
 * rethrown unchanged, except the recording's, which add that no output was published.
 *
 * @throws Error (`runs: ...`) when the run cannot be started or recorded; the training's own errors.
 * @example
 * export async function train(options = {}) { return trackTraining(options, trainOnce); }
 */
export async function trackTraining(
  options: TrainOptions,
  trainOnce: (options: TrainOptions, recorder?: TrainingRecorder) => Promise<TrainResult>,
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
  let recorded = false;
  const recorder: TrainingRecorder = {
    async beforePublish(result, files) {
      try {
        await recordTraining(run, options, result, files);
        await run.finish();
      } catch (error) {
        throw new Error(`runs: recording run ${run.id} failed, so no output was published (${result.outputs.model} is as it was): ${(error as Error).message}`, { cause: error });
      }
      recorded = true;
      result.run = { id: run.id, dir: run.dir };
    },
  };
  let result: TrainResult;
  try {
    result = await trainOnce(options, recorder);
    if (!recorded) throw new Error(`runs: the training returned without recording run ${run.id} before publishing its outputs`);
  } catch (error) {
    await run.fail(error);
    throw error;
  }
  options.onProgress?.({ stage: 'save', message: `run: ${run.id} (${run.dir})`, done: true });
  return result;
}

/** The options as the caller gave them (before defaults), without callbacks. */
function requestedParams(options: TrainOptions): Record<string, unknown> {
  const { onProgress: _progress, runs: _runs, ...rest } = options;
  return { ...rest };
}

/** Fills the run from a finished training: params as resolved, data, metrics, times, and its own copies of the staged model and plot. */
async function recordTraining(run: ActiveRun, options: TrainOptions, result: TrainResult, files: { model: string; plot: string | null }): Promise<void> {
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

  // The run's own copy of the model, the bytes about to be published: the published file may be
  // overwritten by the next run. Loaded back, so a run never lists a model that would not load.
  const model = await run.writeArtifact('model', 'model.json', files.model);
  const copy = await loadModel(join(run.dir, model.path));
  r.params.features = [...copy.features.categorical, ...copy.features.numerical].join(',');
  if (files.plot !== null) {
    // The page loads the store's shared plotly.js (lib/runAssets.ts) instead of carrying 4.8 MB of it.
    const src = scriptSrc(join(run.dir, 'artifacts'), await plotlyAsset(run.runsDir));
    await run.writeArtifact('plot', 'predicted_vs_actual.html', withExternalPlotly(files.plot, src) ?? files.plot);
  }
}
