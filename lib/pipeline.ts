/**
 * The course's whole training pipeline as one function: the MLOps "training pipeline".
 *
 * sources (fetch, footers) → accumulate (read → clean → sum, a row group at a time) → solve →
 * score (read → clean → predict, a row group at a time) → plot → model file (+ metrics JSON).
 *
 * Memory is bounded by design, whatever the number of months: rows stream through read and
 * clean into {@link TripStatistics} (a GROUP BY over zone pairs, a few MB) and are never held;
 * the model is solved from the sums; validation months are scored in a second streaming pass;
 * the training RMSE comes exactly from the statistics; the chart from durations counted into
 * fine bins while scoring. Row groups go to worker threads (lib/passPool.ts), one per core, and
 * come back as per-group results added up in file order and statistics merged exactly, so one
 * thread and many give the same model and scores bit for bit.
 *
 * The CLI (`taxi-duration`, `npm start`) is a thin caller of {@link train}; notebooks can call
 * it too and get the fitted vectorizer and model back.
 */
import { dirname, join, resolve } from 'node:path';
import { realpath } from 'node:fs/promises';

import type { AccumulatedGroup } from './accumulate.js';
import { BinnedSeries } from './binnedSeries.js';
import { checkDataset, parseMonth, type Dataset } from './datasets.js';
import { MAX_SOURCES, parseMonths } from './months.js';
import { figureHtml } from './display.js';
import { OptionError, redactUrl } from './errors.js';
import { checkEstimatorOptions, createEstimator, estimatorName } from './estimators.js';
import { checkFeatureSet, COURSE_FEATURES, formatFeatureSet, neededColumns, parseFeatureList, type FeatureSet } from './features.js';
import type { EstimatorName, LinearModel } from './linearModel.js';
import { modelFileText, type ModelMetadata } from './modelFile.js';
import { commitFiles, lockOutput, makeDir, resolveOutputPath, stageFile, type OutputLock, type StagedFile } from './output.js';
import { PassPool, workerCount } from './passPool.js';
import { fmtInt, prepareSources, setAsideUnreadable, TRIPS, type SourceFile } from './pipelineSources.js';
import { binnedDurationFigure, type Figure } from './plots.js';
import { mergeProfiles, type TrainingProfile } from './profile.js';
import { modelData, type ScoredGroup } from './score.js';
import { defaultCacheDir } from './source.js';
import { StageClock } from './stageClock.js';
import type { TripStatistics } from './statistics.js';
import { trackTraining, type TrainingRecorder, type TrainRuns } from './tracking.js';
import { totalCounts, type GroupCounts, type PassJob, type PassSpec } from './tripPass.js';
import type { DictVectorizer } from './vectorize.js';

/**
 * The pipeline's stages, in order; `seconds` in the result has one entry per stage.
 * `prepare`: fetch (or generate) every source and read its footer; `accumulate`: the training
 * pass; `solve`: the model from the statistics; `score`: the validation pass; `plot`, `save`.
 *
 * @example
 * for (const stage of STAGES) console.log(stage, result.seconds[stage]);
 */
export const STAGES = ['prepare', 'accumulate', 'solve', 'score', 'plot', 'save'] as const;
/** One stage of {@link train}. */
export type Stage = (typeof STAGES)[number];

/**
 * A progress report from {@link train}; the CLI draws bars from these, notebooks may log them.
 *
 * @example
 * await train({ onProgress: (e) => { if (e.done) console.log(e.message); } });
 */
export interface ProgressEvent {
  /** The stage running. */
  stage: Stage;
  /** Which data set the event is about, when it is about one. */
  split?: 'train' | 'val';
  /** A short human-readable line, e.g. `read train: 2,964,624 rows`. */
  message: string;
  /** Fraction done in [0, 1] when known (downloads, rows read). */
  fraction?: number;
  /** True on the last event of a stage for a split (or of the stage when no split). */
  done?: boolean;
}

/**
 * Options of {@link train}; every field has the course's default.
 *
 * @example
 * const options: TrainOptions = { train: '2023-01..2023-03', val: '2023-04,2023-05', color: 'green', outDir: 'build/models' };
 */
export interface TrainOptions {
  /**
   * Training data: one source or several, as a list or as text `parseMonths` reads (a range
   * `2023-01..2023-12`, a comma list, or a mix). A source is a month `YYYY-MM`, a local parquet
   * path or an http(s) URL. Default `2024-01`.
   */
  train?: string | readonly string[];
  /** Validation data, same forms as `train`; each source is scored on its own, and together. Default `2024-02`. */
  val?: string | readonly string[];
  /**
   * The dataset (TLC's: `yellow`, `green`, `fhv`, `fhvhv`; called the colour for the course's
   * taxis): decides the URL of months given as `YYYY-MM`, and every file must hold its trips (the
   * file's columns say). Default: the first training file's dataset (yellow for a month).
   */
  color?: Dataset;
  /**
   * The features, as the course's lists or a comma list (`PU_DO,trip_distance`); see
   * lib/features.ts. Default: the course's (`PULocationID,DOLocationID,trip_distance`), or the
   * zones alone for FHV files (which record no distance).
   */
  features?: FeatureSet | string;
  /** The estimator: `LinearRegression` (default), `Ridge` or `Lasso` (any case; `linear` too). */
  estimator?: string;
  /** The estimator's options, scikit-learn's (`alpha`, `maxIter`, `tol`, `fitIntercept`; see ESTIMATOR_OPTIONS). */
  estimatorOptions?: Record<string, number | boolean>;
  /** Shortest trip kept, in minutes (inclusive). Default 1. */
  minDuration?: number;
  /** Longest trip kept, in minutes (inclusive). Default 60. */
  maxDuration?: number;
  /** Folder for the model file and the plot; created if missing. Default `models` (relative to the working directory). */
  outDir?: string;
  /** File name of the model inside `outDir`. Default `lin_reg.json` (the course's `lin_reg.bin`, as JSON). */
  modelName?: string;
  /** File name of the predicted-vs-actual plot inside `outDir`; `false` skips the plot. Default `predicted_vs_actual.html`. */
  plotName?: string | false;
  /** Also write the metrics as JSON to this path. Default: not written. */
  metricsJson?: string;
  /** Cache folder for downloaded and generated months. Default `defaultCacheDir()` (env `TAXI_DATA_DIR`, else `data/`). */
  cacheDir?: string;
  /** Base URL of the TLC trip-data site (tests point it at 127.0.0.1). Default: env `TLC_BASE_URL`, else the TLC CDN. */
  baseUrl?: string;
  /**
   * Train on generated TLC-shaped months instead of real ones (works offline). `train`/`val`
   * must then be months. Results are labelled synthetic in the result, the model metadata and
   * the metrics JSON.
   */
  synthetic?: boolean;
  /** Rows per generated month when `synthetic`, at most `maxSyntheticRows(color)` (10 million; 30 million for fhvhv). Default 100,000. */
  syntheticRows?: number;
  /** Downloads must bring 64 KiB in every this many milliseconds. Default: fetchTrips' (env `TAXI_DOWNLOAD_TIMEOUT`, else 60 s). */
  downloadIdleTimeoutMs?: number;
  /** A download must end within this many milliseconds. Default: fetchTrips' (env `TAXI_DOWNLOAD_DEADLINE`, else 30 min). */
  downloadDeadlineMs?: number;
  /** Receives progress events; nothing is printed by the library itself. */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Worker threads for the two passes: `'auto'` and `true` (the default) one per core when there
   * are at least two, a number that many, `false` none (this thread reads everything). Results
   * are the same bit for bit. Only the built library (lib/dist) can start workers: from the
   * TypeScript sources (tsx, vitest) this thread does the work.
   */
  parallel?: boolean | 'auto' | number;
  /** Runs store to record this run in (lib/tracking.ts): a folder, or `false` for none. Default `defaultRunsDir()` (env `TAXI_RUNS_DIR`, else `runs/`). */
  runs?: TrainRuns;
}

/** What one source (a file) contributed and scored. */
export interface SourceResult {
  /** What the user asked for (`2024-01`, a path, a URL without its credentials and query string). */
  source: string;
  /** The local parquet file that was read. */
  path: string;
  /** True when the file was written by this library's generator (lib/synthetic.ts), whatever its name. */
  generated: boolean;
  /** Rows in the file. */
  rowsRead: number;
  /** Rows dropped because a needed column was null. */
  rowsWithNulls: number;
  /** Rows left after the duration filter. */
  rowsKept: number;
  /** Mean duration before filtering (of the rows with both times), minutes. */
  durationMean: number;
  /** RMSE of the model on this file's kept rows, minutes: validation sources; null for training sources (their sums are merged). */
  rmse: number | null;
}

/** What one data set (train or val: one source or several) contributed and scored. */
export interface SplitResult {
  /** The sources as one comma list (`2024-01`, `2023-01,2023-02,…`), as `parseMonths` reads it back. */
  source: string;
  /** The local parquet file of the first source (every file: `sources`). */
  path: string;
  /** Each source, in the order given. */
  sources: SourceResult[];
  /** True when any file was generated. */
  generated: boolean;
  /** Rows in the files. */
  rowsRead: number;
  /** Rows dropped because a needed column was null. */
  rowsWithNulls: number;
  /** Rows left after the duration filter (the rows the model saw). */
  rowsKept: number;
  /** Mean duration before filtering, minutes. */
  durationMean: number;
  /** Root mean squared error over every kept row of the split, minutes (train: exactly from the statistics). */
  rmse: number;
}

/** The outcome of {@link train}: the metrics JSON is this minus the fitted objects. */
export interface TrainResult {
  /**
   * True when the data were generated: the `synthetic` option, or a train/val file whose parquet footer
   * says our generator wrote it (e.g. the benchmark's months). The numbers then say nothing about real taxis.
   */
  synthetic: boolean;
  /** The dataset of the files (`yellow`, `green`, `fhv`, `fhvhv`). */
  color: Dataset;
  /** Duration filter used, minutes. */
  minDuration: number;
  maxDuration: number;
  train: SplitResult;
  val: SplitResult;
  /** Number of features after one-hot encoding (columns of X). */
  features: number;
  /** The feature set, as a comma list (`PULocationID,DOLocationID,trip_distance`). */
  featureSet: string;
  /** The estimator and its options (for Lasso also its iterations and whether it converged). */
  estimator: { name: EstimatorName; params: Record<string, number | boolean>; nIter?: number; converged?: boolean };
  /** Wall-clock seconds per stage on this thread, and `total`. */
  seconds: Record<Stage | 'total', number>;
  /** Worker threads the passes ran on (0: this thread). */
  threads: number;
  /** Busy seconds of the passes summed over their threads (they overlap `seconds`). */
  threadSeconds: { accumulate: number; score: number };
  /** Peak resident set size of this process so far, bytes (getrusage maxrss; worker threads included). */
  peakRssBytes: number;
  /** Files written. */
  outputs: { model: string; plot: string | null; metrics: string | null };
  /** ISO time the run finished. */
  finishedAt: string;
  /** The fitted vectorizer (not in the metrics JSON). */
  vectorizer: DictVectorizer;
  /** The fitted model (not in the metrics JSON). */
  model: LinearModel;
  /** The run that recorded this training in the runs store; absent with `runs: false`. */
  run?: { id: string; dir: string };
}

/** The JSON document written by `metricsJson`: {@link TrainResult} without the fitted objects. */
export type TrainMetrics = Omit<TrainResult, 'vectorizer' | 'model'> & { version: 1; note?: string };

/**
 * The label put on everything trained on generated data (summary, metrics JSON, model metadata).
 *
 * @example
 * if (result.synthetic) console.warn(SYNTHETIC_NOTE);
 */
export const SYNTHETIC_NOTE =
  'SYNTHETIC DATA: generated TLC-shaped trips, not real NYC taxi data; these numbers say nothing about real trips.';

/** Zones alone: the features of FHV files, which record no distance. */
const ZONE_FEATURES: FeatureSet = Object.freeze({ categorical: Object.freeze(['PULocationID', 'DOLocationID'] as const), numerical: Object.freeze([] as const) });

/**
 * Trains the course's model end to end and writes the model file, the plot and (optionally) metrics JSON.
 *
 * Memory does not grow with the data (see the module doc): one month or forty take about the
 * same. The validation chart shows the validation sources' predicted and actual durations (the
 * course charts the training month's; that would take a second pass over every training month).
 *
 * Outputs are all or nothing. Before any data is read, every output path is checked (a folder
 * that can be created, a target that is a regular file or a link to one, no two outputs on one
 * file, none on an input) and locked against other runs (see lib/output.ts's lockOutput). At
 * the end each output is written in full to a temporary file beside its target, and only when
 * all were written are they renamed into place, the model last. A failed run (a full disk, a
 * bad month, Ctrl-C) leaves every earlier output as it was.
 *
 * The run is recorded in the runs store (lib/tracking.ts: parameters, data hashes, metrics, its
 * own copy of the model and plot) unless `runs: false`; `result.run` names it.
 *
 * Edge cases: an empty file, a file whose every row lacks a needed value, no training rows left
 * after filtering, or a validation source with none left, is an error naming it (and the filter);
 * `minDuration` must be ≥ 0 and below `maxDuration`; with `synthetic` the sources must be months,
 * and generated months are cached under `<cacheDir>/synthetic/` (never mixed with downloads). A
 * downloaded or generated file that cannot be read is set aside (`<file>.corrupt`) so the next run
 * fetches it again; the error says so. FHV files record no distance: their default features are
 * the zones, and features with `trip_distance` are refused with that fix.
 *
 * @throws OptionError `pipeline: ...` / `output: ...` / `source: ...` / `features: ...` /
 *   `regression: ...` for bad options, sources and output paths (found before any work); Error
 *   `pipeline: ...` for empty data or files of the wrong dataset, `output: ...` for outputs that
 *   cannot be written or are locked by another run; errors of the data steps (`source: ...`,
 *   `read: ...`) pass through.
 * @example
 * const result = await train({ synthetic: true, outDir: 'build/models' });
 * console.log(result.val.rmse, result.outputs.model);
 * const year = await train({ train: '2023-01..2023-12', val: '2024-01,2024-02', features: 'PU_DO,trip_distance', estimator: 'lasso', estimatorOptions: { alpha: 0.01 } });
 * year.val.sources.map((s) => s.rmse); // one RMSE per validation month
 */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  return trackTraining(options, trainOnce);
}

async function trainOnce(options: TrainOptions, recorder?: TrainingRecorder): Promise<TrainResult> {
  const started = performance.now();
  const o = await resolveOptions(options);
  // Fail before minutes of work, not after: every output must be writable, distinct and ours now.
  const outputs = await claimOutputs(o);
  // The threads load the library while the sources are fetched.
  const pool = PassPool.start(workerCount(options.parallel));
  try {
    return await trainInto(outputs, pool, o, options, started, recorder);
  } finally {
    await pool.close();
    await outputs.release();
  }
}

async function trainInto(outputs: ClaimedOutputs, pool: PassPool, o: Resolved, options: TrainOptions, started: number, recorder?: TrainingRecorder): Promise<TrainResult> {
  const progress = options.onProgress ?? (() => {});
  const clock = new StageClock(STAGES, started);

  // 1. Every source fetched and its footer checked, so a bad validation month fails now, not after training.
  const files = await clock.time('prepare', () => prepareSources(o, o, (e) => progress({ stage: 'prepare', ...e })));
  await outputs.checkNotInputs([...files.train, ...files.val].map((f) => f.path));
  const features = featuresFor(o, files.dataset, [...files.train, ...files.val]);
  const spec: PassSpec = { minDuration: o.minDuration, maxDuration: o.maxDuration, features };

  // 2. The training pass: every row group read, cleaned and summed on the pool's threads. A thread
  // left without work before the model is solved reads the first validation row groups ahead.
  const accumulating = clock.time('accumulate', () => runPass(pool, 'accumulate', files.train, spec, o, progress));
  pool.prefetch(passJobs(files.val, spec));
  const trainGroups = await accumulating;
  const trainParts = files.train.map((file, i) => sourceResult(file, trainGroups[i]!, null));
  checkSplit('train', trainParts, o);
  const stats = await clock.time('accumulate', () => pool.statistics(spec));

  // 3. The model from the sums; the training RMSE exactly from them too.
  const { vectorizer, model, rmseTrain } = await clock.time('solve', () => solve(stats, o, features, progress));
  const profile = trainGroups.flat().map((g) => g.profile).reduce((a, b) => mergeProfiles(a, b));

  // 4. The validation pass: every row group scored on the pool's threads.
  pool.setModel(modelData({ vectorizer, model, features }));
  const valGroups = await clock.time('score', () => runPass(pool, 'score', files.val, spec, o, progress));
  const valParts = files.val.map((file, i) => sourceResult(file, valGroups[i]!, rmseOf(valGroups[i]!)));
  checkSplit('val', valParts, o);
  const trainResult = splitResult(trainParts, rmseTrain);
  const valResult = splitResult(valParts, rmseOf(valGroups.flat()));
  if (valParts.length > 1) {
    for (const part of valParts) progress({ stage: 'score', split: 'val', message: `RMSE val ${part.source}: ${part.rmse!.toFixed(3)} (${fmtInt(part.rowsKept)} trips)`, done: true });
  }
  progress({ stage: 'score', message: `RMSE train ${rmseTrain.toFixed(3)}, val ${valResult.rmse.toFixed(3)}`, done: true });
  const synthetic = trainResult.generated || valResult.generated;

  // 5. The chart: validation durations, counted into bins while scoring.
  let figure: Figure | null = null;
  if (outputs.plot !== null) {
    figure = await clock.time('plot', () => {
      const bins = (key: 'predicted' | 'actual') =>
        valGroups.flat().reduce((total, g) => total.merge(BinnedSeries.fromData(g[key])), BinnedSeries.forDurations(o.minDuration, o.maxDuration));
      const title = `Predicted vs actual trip duration, validation ${shortList(valResult)}${synthetic ? ' (SYNTHETIC DATA)' : ''}`;
      return binnedDurationFigure({ actual: bins('actual'), predicted: bins('predicted') }, { title });
    });
  }

  // 6. Every output written in full beside its target; only then renamed into place.
  const estimator = estimatorSummary(model);
  const metadata = modelMetadata({ o, dataset: files.dataset, features, trainResult, valResult, synthetic, profile, estimator });
  const staged: StagedFile[] = [];
  try {
    const plotHtml = outputs.plot !== null && figure !== null ? figureHtml(figure) : null;
    if (plotHtml !== null) staged.push(await clock.time('plot', () => stageFile(outputs.plot!, plotHtml, { what: 'the plot', fix: OUT_FIX })));
    const modelText = modelFileText({ vectorizer, model, features, metadata }, outputs.model).text;
    const stagedModel = await clock.time('save', () => stageFile(outputs.model, modelText, { what: 'the model', fix: OUT_FIX }));
    const result: TrainResult = {
      synthetic,
      color: files.dataset,
      minDuration: o.minDuration,
      maxDuration: o.maxDuration,
      train: trainResult,
      val: valResult,
      features: vectorizer.getFeatureNamesOut().length,
      featureSet: formatFeatureSet(features),
      estimator,
      seconds: clock.finish(),
      threads: pool.threads,
      threadSeconds: { ...pool.seconds },
      peakRssBytes: peakRssBytes(),
      outputs: { model: outputs.model, plot: outputs.plot, metrics: outputs.metrics },
      finishedAt: new Date().toISOString(),
      vectorizer,
      model,
    };
    // The run is recorded (lib/tracking.ts) before anything is published: a model never appears
    // without its run record, and a failed recording publishes nothing. The metrics then name the run.
    await recorder?.beforePublish(result, { model: modelText, plot: plotHtml });
    if (outputs.metrics !== null) {
      staged.push(await stageFile(outputs.metrics, JSON.stringify(toMetrics(result), null, 2) + '\n', { what: 'the metrics', fix: METRICS_FIX }));
    }
    staged.push(stagedModel);
    await outputs.checkLocks();
    await commitFiles(staged);
    if (outputs.plot !== null) progress({ stage: 'plot', message: `plot: ${outputs.plot}`, done: true });
    progress({ stage: 'save', message: `model: ${outputs.model}`, done: true });
    return result;
  } finally {
    await Promise.all(staged.map((file) => file.discard()));
  }
}

/**
 * One pass over every row group of `files` on the pool: per file, its groups' results in row
 * group order (whichever thread did them). Progress counts rows read over all the files; a file
 * that turns out unreadable is set aside when it came from the cache.
 */
async function runPass<K extends 'accumulate' | 'score'>(
  pool: PassPool,
  kind: K,
  files: readonly SourceFile[],
  spec: PassSpec,
  o: Resolved,
  progress: (e: ProgressEvent) => void,
): Promise<(K extends 'accumulate' ? AccumulatedGroup : ScoredGroup)[][]> {
  type Group = K extends 'accumulate' ? AccumulatedGroup : ScoredGroup;
  const split = kind === 'accumulate' ? 'train' : 'val';
  const stage: Stage = kind;
  const total = files.reduce((n, f) => n + f.layout.rows, 0);
  let done = 0;
  let lastReport = 0;
  const onRows = (rows: number): void => {
    done += rows;
    const now = performance.now();
    if (now - lastReport < 100 && done < total) return; // at most ten reports a second
    lastReport = now;
    progress({ stage, split, message: `read ${split}: ${fmtInt(done)} of ${fmtInt(total)} rows`, fraction: total > 0 ? done / total : 1 });
  };
  progress({ stage, split, message: `read ${split}: 0 of ${fmtInt(total)} rows`, fraction: 0 });
  const results = await Promise.all(
    files.map((file) =>
      Promise.all(
        passJobs([file], spec).map((job) => (kind === 'accumulate' ? pool.accumulate(job, onRows) : pool.score(job, onRows)) as Promise<Group[]>),
      )
        .then((groups) => groups.flat())
        .catch((error: unknown) => setAsideUnreadable(file.source, file.path, error, o)),
    ),
  );
  progress({ stage, split, message: `read ${split}: ${fmtInt(total)} rows`, fraction: 1, done: true });
  const counts = results.map((groups) => totalCounts(groups));
  const kept = counts.reduce((n, c) => n + c.rowsKept, 0);
  progress({ stage, split, message: `clean ${split}: kept ${fmtInt(kept)} of ${fmtInt(total)} rows (${(total > 0 ? (100 * kept) / total : 0).toFixed(1)}%)`, done: true });
  return results;
}

/** The jobs of a pass over files: one per row group, in file order. */
function passJobs(files: readonly SourceFile[], spec: PassSpec): PassJob[] {
  return files.flatMap((file) => Array.from({ length: file.layout.rowGroups }, (_, g) => ({ path: file.path, rowGroups: [g, g + 1] as [number, number], spec })));
}

/** The model from the statistics: vectorizer, estimator and the training RMSE (exact, from the sums). */
function solve(stats: TripStatistics, o: Resolved, features: FeatureSet, progress: (e: ProgressEvent) => void): { vectorizer: DictVectorizer; model: LinearModel; rmseTrain: number } {
  const eq = stats.normalEquations(features);
  const message = `solve: ${o.estimator} on ${fmtInt(stats.rows)} trips × ${fmtInt(eq.features)} features (${fmtInt(stats.cells)} zone pairs)`;
  progress({ stage: 'solve', message, fraction: 0 });
  const model = createEstimator(o.estimator, o.estimatorOptions).fitStatistics(eq);
  progress({ stage: 'solve', message, fraction: 1, done: true });
  const summary = estimatorSummary(model);
  if (summary.converged === false) {
    progress({ stage: 'solve', message: `solve: ${o.estimator} did not converge in ${summary.nIter} iterations; raise --max-iter (maxIter) or --tol`, done: true });
  }
  return { vectorizer: eq.vectorizer(), model, rmseTrain: eq.rootMeanSquaredError(model) };
}

function estimatorSummary(model: LinearModel): TrainResult['estimator'] {
  const lasso = model as LinearModel & { nIter?: number; converged?: boolean };
  return {
    name: model.estimator,
    params: model.getParams(),
    ...(typeof lasso.nIter === 'number' ? { nIter: lasso.nIter } : {}),
    ...(typeof lasso.converged === 'boolean' ? { converged: lasso.converged } : {}),
  };
}

/** RMSE over scored groups: their squared errors and rows added up in order. */
function rmseOf(groups: readonly ScoredGroup[]): number {
  let squares = 0;
  let rows = 0;
  for (const g of groups) {
    squares += g.squaredErrorSum;
    rows += g.rowsKept;
  }
  return Math.sqrt(squares / rows);
}

function sourceResult(file: SourceFile, groups: readonly GroupCounts[], rmse: number | null): SourceResult {
  const { rowsRead, rowsWithNulls, rowsKept, durationMean } = totalCounts(groups);
  return { source: file.shown, path: file.path, generated: file.generated, rowsRead, rowsWithNulls, rowsKept, durationMean, rmse };
}

function splitResult(parts: readonly SourceResult[], rmse: number): SplitResult {
  let sum = 0;
  let count = 0;
  for (const p of parts) {
    // The files' means weighted back into one: each is over the rows with both times.
    const withTimes = p.rowsRead;
    if (Number.isFinite(p.durationMean)) {
      sum += p.durationMean * withTimes;
      count += withTimes;
    }
  }
  return {
    source: parts.map((p) => p.source).join(','),
    path: parts[0]!.path,
    sources: [...parts],
    generated: parts.some((p) => p.generated),
    rowsRead: parts.reduce((n, p) => n + p.rowsRead, 0),
    rowsWithNulls: parts.reduce((n, p) => n + p.rowsWithNulls, 0),
    rowsKept: parts.reduce((n, p) => n + p.rowsKept, 0),
    durationMean: count > 0 ? sum / count : NaN,
    rmse,
  };
}

/** `2024-01`, or `2023-01 … 2023-12 (12 sources)` for a chart title. */
function shortList(split: SplitResult): string {
  const s = split.sources;
  return s.length === 1 ? s[0]!.source : `${s[0]!.source} … ${s.at(-1)!.source} (${s.length} sources)`;
}

/**
 * Refuses what no model can come of: a file without rows, a file whose every row lacks a needed
 * value, no training row left after the filter, or a validation source with none left (it could not be scored).
 */
function checkSplit(split: 'train' | 'val', parts: readonly SourceResult[], o: Resolved): void {
  for (const p of parts) {
    if (p.rowsRead === 0) {
      // No filter can help a file without trips.
      throw new Error(`pipeline: the ${split} file ${p.source} holds no rows (0 trips); give a month or file with trips`);
    }
    if (p.rowsWithNulls === p.rowsRead) {
      throw new Error(`pipeline: every one of the ${fmtInt(p.rowsRead)} ${split} rows of ${p.source} lacks a needed value (pickup, dropoff or a column the features need); check the file`);
    }
  }
  const noneLeft = split === 'train' ? (parts.every((p) => p.rowsKept === 0) ? parts : []) : parts.filter((p) => p.rowsKept === 0);
  if (noneLeft.length > 0) {
    const read = noneLeft.reduce((n, p) => n + p.rowsRead, 0);
    const nulls = noneLeft.reduce((n, p) => n + p.rowsWithNulls, 0);
    throw new Error(
      `pipeline: no ${split} rows left after filtering ${noneLeft.map((p) => p.source).join(',')} (${fmtInt(read)} read, ${fmtInt(nulls)} with nulls) ` +
        `to durations of ${o.minDuration}..${o.maxDuration} minutes; widen --min-duration/--max-duration or check the file`,
    );
  }
}

/**
 * The feature set of the run: the option's, else the course's (the zones alone for FHV). A
 * feature set that needs a column some file lacks (FHV's distance) is refused with the fix.
 */
function featuresFor(o: Resolved, dataset: Dataset, files: readonly SourceFile[]): FeatureSet {
  const features = o.features ?? (dataset === 'fhv' ? ZONE_FEATURES : COURSE_FEATURES);
  for (const file of files) {
    const missing = neededColumns(features).filter((c) => file.layout.absent.includes(c));
    if (missing.length > 0) {
      throw new Error(
        `pipeline: ${file.split} ${file.shown} holds ${TRIPS[file.layout.dataset]}, which record no ${missing.join(', ')}, but the features (${formatFeatureSet(features)}) need it; ` +
          `train on the zones alone: --features PULocationID,DOLocationID (features option)`,
      );
    }
  }
  return features;
}

function modelMetadata(r: {
  o: Resolved;
  dataset: Dataset;
  features: FeatureSet;
  trainResult: SplitResult;
  valResult: SplitResult;
  synthetic: boolean;
  profile: TrainingProfile;
  estimator: TrainResult['estimator'];
}): ModelMetadata {
  const { o, trainResult, valResult, synthetic } = r;
  return {
    training: { sources: trainResult.sources.map((s) => s.source), rows: trainResult.rowsKept, perSource: trainResult.sources.map((s) => ({ source: s.source, rows: s.rowsKept })) },
    validation: {
      sources: valResult.sources.map((s) => s.source),
      rows: valResult.rowsKept,
      perSource: valResult.sources.map((s) => ({ source: s.source, rows: s.rowsKept, rmse: s.rmse! })),
    },
    metrics: { rmseTrain: trainResult.rmse, rmseValidation: valResult.rmse },
    synthetic,
    ...(synthetic ? { note: SYNTHETIC_NOTE } : {}),
    color: r.dataset,
    minDuration: o.minDuration,
    maxDuration: o.maxDuration,
    // What predict needs to rebuild records as training saw them (IDs as strings, as astype(str)).
    categorical: [...r.features.categorical],
    numerical: [...r.features.numerical],
    target: 'duration',
    ...(r.estimator.converged !== undefined ? { solver: { nIter: r.estimator.nIter, converged: r.estimator.converged } } : {}),
    // The training histograms monitoring compares new months with (lib/profile.ts).
    profile: r.profile,
  };
}

const OUT_FIX = 'choose another --out (outDir)';
const METRICS_FIX = 'choose another --metrics-json (metricsJson)';

/** The run's output paths, checked and locked; see {@link claimOutputs}. */
interface ClaimedOutputs {
  model: string;
  plot: string | null;
  metrics: string | null;
  /** Refuses a run whose outputs would overwrite its own input files. */
  checkNotInputs(inputs: readonly string[]): Promise<void>;
  /** Throws when a lock was lost (removed by hand), so nothing is committed over another run's files. */
  checkLocks(): Promise<void>;
  release(): Promise<void>;
}

/**
 * Checks the outputs before any work: folders created, targets regular files (or links to one),
 * no two on one file; then locks each against concurrent runs.
 */
async function claimOutputs(o: Resolved): Promise<ClaimedOutputs> {
  await makeDir(o.outDir, { what: 'the output folder', fix: OUT_FIX });
  const wanted: [what: string, path: string, fix: string][] = [['the model', join(o.outDir, o.modelName), OUT_FIX]];
  if (o.plotName !== false) wanted.push(['the plot', join(o.outDir, o.plotName), OUT_FIX]);
  if (o.metricsJson !== undefined) {
    await makeDir(dirname(resolve(o.metricsJson)), { what: 'the folder of the metrics', fix: METRICS_FIX });
    wanted.push(['the metrics', o.metricsJson, METRICS_FIX]);
  }
  const targets: string[] = [];
  for (const [what, path, fix] of wanted) targets.push(await resolveOutputPath(path, { what, fix }));
  // Two outputs on one file would leave, say, the metrics where the model should be.
  for (let i = 0; i < targets.length; i++) {
    for (let j = 0; j < i; j++) {
      if (targets[i] === targets[j]) {
        throw new OptionError(`pipeline: ${wanted[i]![0]} and ${wanted[j]![0]} would both be written to ${targets[i]}; ${wanted[i]![2]}`);
      }
    }
  }
  const locks: OutputLock[] = [];
  try {
    for (let i = 0; i < wanted.length; i++) locks.push(await lockOutput(targets[i]!, { what: wanted[i]![0], fix: wanted[i]![2] }));
  } catch (error) {
    await Promise.all(locks.map((lock) => lock.release()));
    throw error;
  }
  const metricsAt = wanted.findIndex(([what]) => what === 'the metrics');
  const plotAt = wanted.findIndex(([what]) => what === 'the plot');
  return {
    model: targets[0]!,
    plot: plotAt < 0 ? null : targets[plotAt]!,
    metrics: metricsAt < 0 ? null : targets[metricsAt]!,
    async checkNotInputs(inputs) {
      for (const input of inputs) {
        const real = await realpath(input).catch(() => resolve(input));
        const i = targets.indexOf(real);
        if (i >= 0) throw new OptionError(`pipeline: ${wanted[i]![0]} would overwrite the input file ${real}; ${wanted[i]![2]}`);
      }
    },
    async checkLocks() {
      for (const lock of locks) await lock.check();
    },
    async release() {
      await Promise.all(locks.map((lock) => lock.release()));
    },
  };
}

/**
 * The metrics JSON document of a result: everything but the fitted objects, plus a version and,
 * for synthetic runs, the synthetic-data note.
 *
 * @example
 * JSON.stringify(toMetrics(await train({ synthetic: true })));
 */
export function toMetrics(result: TrainResult): TrainMetrics {
  const { vectorizer: _v, model: _m, ...rest } = result;
  return { version: 1, ...(result.synthetic ? { note: SYNTHETIC_NOTE } : {}), ...rest };
}

/**
 * Peak resident set size of this process so far, in bytes.
 *
 * @example
 * peakRssBytes() > 0; // true
 */
export function peakRssBytes(): number {
  // maxRSS is in kilobytes (getrusage ru_maxrss on Linux).
  return process.resourceUsage().maxRSS * 1024;
}

/** The options with every default filled in and every value checked. */
interface Resolved {
  train: string[];
  val: string[];
  color: Dataset;
  colorGiven: boolean;
  features: FeatureSet | undefined;
  estimator: EstimatorName;
  estimatorOptions: Record<string, number | boolean>;
  minDuration: number;
  maxDuration: number;
  outDir: string;
  modelName: string;
  plotName: string | false;
  cacheDir: string;
  synthetic: boolean;
  syntheticRows: number;
  metricsJson?: string | undefined;
  baseUrl?: string | undefined;
  downloadIdleTimeoutMs?: number | undefined;
  downloadDeadlineMs?: number | undefined;
}

/** An option error from a check that throws a plain Error (`source: ...`, `features: ...`). */
function asOption<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof OptionError) throw error;
    throw new OptionError((error as Error).message, { cause: error });
  }
}

async function resolveOptions(options: TrainOptions): Promise<Resolved> {
  const color = options.color === undefined ? 'yellow' : asOption(() => checkDataset(options.color as string));
  const o: Resolved = {
    // A malformed month or range fails here, before any folder is created or byte downloaded.
    train: asOption(() => parseMonths(options.train ?? '2024-01')),
    val: asOption(() => parseMonths(options.val ?? '2024-02')),
    color,
    colorGiven: options.color !== undefined,
    features: options.features === undefined ? undefined : asOption(() => (typeof options.features === 'string' ? parseFeatureList(options.features) : checkFeatureSet(options.features!))),
    estimator: asOption(() => estimatorName(options.estimator ?? 'LinearRegression')),
    estimatorOptions: { ...options.estimatorOptions },
    minDuration: options.minDuration ?? 1,
    maxDuration: options.maxDuration ?? 60,
    outDir: resolve(options.outDir ?? 'models'),
    modelName: options.modelName ?? 'lin_reg.json',
    plotName: options.plotName ?? 'predicted_vs_actual.html',
    cacheDir: options.cacheDir ?? defaultCacheDir(),
    synthetic: options.synthetic ?? false,
    syntheticRows: options.syntheticRows ?? 100_000,
    metricsJson: options.metricsJson,
    baseUrl: options.baseUrl,
    downloadIdleTimeoutMs: options.downloadIdleTimeoutMs,
    downloadDeadlineMs: options.downloadDeadlineMs,
  };
  // The estimator's options are checked by building one now (unknown options, bad values).
  asOption(() => {
    checkEstimatorOptions(o.estimator, o.estimatorOptions);
    createEstimator(o.estimator, o.estimatorOptions);
  });
  for (const [split, list] of [['train', o.train], ['val', o.val]] as const) {
    if (list.length === 0) throw new OptionError(`pipeline: no ${split} data given; name a month (2024-01), a range (2023-01..2023-03), a parquet path or a URL`);
    if (list.length > MAX_SOURCES) throw new OptionError(`pipeline: at most ${MAX_SOURCES} ${split} sources, got ${list.length}`);
  }
  if (o.features !== undefined) {
    if (!o.features.categorical.some((c) => c === 'PULocationID' || c === 'DOLocationID' || c === 'PU_DO')) {
      throw new OptionError(`pipeline: the features (${formatFeatureSet(o.features)}) need a zone feature (PULocationID, DOLocationID or PU_DO): the model is solved from sums per zone pair`);
    }
    if (o.colorGiven && o.color === 'fhv' && o.features.numerical.includes('trip_distance')) {
      throw new OptionError(`pipeline: fhv files record no trip distance, but the features (${formatFeatureSet(o.features)}) need it; train on the zones alone: --features PULocationID,DOLocationID (features option)`);
    }
  }
  for (const [name, value] of [
    ['minDuration', o.minDuration],
    ['maxDuration', o.maxDuration],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new OptionError(`pipeline: ${name} must be a number of minutes ≥ 0, got ${value}`);
    }
  }
  if (o.minDuration >= o.maxDuration) {
    throw new OptionError(`pipeline: minDuration (${o.minDuration}) must be below maxDuration (${o.maxDuration})`);
  }
  if (o.synthetic) {
    for (const [name, list] of [['train', o.train], ['val', o.val]] as const) {
      const notMonth = list.find((source) => !/^\d{4}-\d{2}$/.test(source));
      if (notMonth !== undefined) {
        throw new OptionError(`pipeline: with synthetic data, ${name} must be months YYYY-MM to generate, got '${redactUrl(notMonth)}'`);
      }
      for (const month of list) asOption(() => parseMonth(month));
    }
    // Loaded only for synthetic runs: the generator's parquet writer is not needed to train on real data.
    const { maxSyntheticRows } = await import('./synthetic.js');
    const max = maxSyntheticRows(o.color);
    if (!Number.isInteger(o.syntheticRows) || o.syntheticRows < 1 || o.syntheticRows > max) {
      throw new OptionError(
        `pipeline: syntheticRows must be a whole number from 1 to ${fmtInt(max)} (a real ${o.color} month has about ${fmtInt(o.color === 'fhvhv' ? 20_000_000 : 3_000_000)}), got ${o.syntheticRows}`,
      );
    }
  }
  return o;
}
