/**
 * The course's whole training pipeline as one function: the MLOps "training pipeline".
 *
 * fetch → read → clean (train and val) → DictVectorizer (fit on train, transform val)
 * → LinearRegression → RMSE on both → plot → model file (+ metrics JSON).
 * The CLI (`taxi-duration`, `npm start`) is a thin caller of {@link train}; notebooks
 * can call it too and get the fitted vectorizer and model back.
 */
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import type { CleanStats } from './clean.js';
import { OptionError, redactUrl } from './errors.js';
import { rootMeanSquaredError } from './metrics.js';
import { isGeneratedFile } from './generated.js';
import { modelFileText, type ModelMetadata } from './modelFile.js';
import { commitFiles, lockOutput, makeDir, resolveOutputPath, stageFile, type OutputLock, type StagedFile } from './output.js';
import { chunkBuffers, JOB_KIND, predictInChunks, readAndClean, SCORE_CHUNK_ROWS, type ModelMessage, type MonthJob, type WorkerMessage } from './pipelineWorker.js';
import { figureHtml } from './display.js';
import { durationDistributionFigure, type Figure } from './plots.js';
import { LinearRegression, type LinearRegressionParameters } from './regression.js';
import { asideNote, defaultCacheDir, fetchTrips, makeCacheDir, parseMonth, setAsideCorrupt, type Color } from './source.js';
import { trackTraining, type TrainingRecorder, type TrainRuns } from './tracking.js';
import { DictVectorizer } from './vectorize.js';

/**
 * The pipeline's stages, in order; `seconds` in the result has one entry per stage.
 *
 * @example
 * for (const stage of STAGES) console.log(stage, result.seconds[stage]);
 */
export const STAGES = ['fetch', 'read', 'clean', 'vectorize', 'fit', 'evaluate', 'plot', 'save'] as const;
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
  /** Fraction done in [0, 1] when known (downloads, reading by row group). */
  fraction?: number;
  /** True on the last event of a stage for a split (or of the stage when no split). */
  done?: boolean;
}

/**
 * Options of {@link train}; every field has the course's default.
 *
 * @example
 * const options: TrainOptions = { train: '2023-01', val: '2023-02', color: 'green', outDir: 'build/models' };
 */
export interface TrainOptions {
  /** Training data: a month `YYYY-MM`, a local parquet path or an http(s) URL. Default `2024-01`. */
  train?: string;
  /** Validation data, same forms as `train`. Default `2024-02`. */
  val?: string;
  /**
   * Taxi colour: decides the URL of months given as `YYYY-MM`, and every file must hold trips of
   * this colour (its `tpep_*` or `lpep_*` columns say). Default: the training file's colour
   * (yellow for a month); a validation file of the other colour is refused.
   */
  color?: Color;
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
  /** Rows per generated month when `synthetic`, at most `MAX_SYNTHETIC_ROWS` (10 million). Default 100,000. */
  syntheticRows?: number;
  /** Downloads must bring 64 KiB in every this many milliseconds. Default: fetchTrips' (env `TAXI_DOWNLOAD_TIMEOUT`, else 60 s). */
  downloadIdleTimeoutMs?: number;
  /** A download must end within this many milliseconds. Default: fetchTrips' (env `TAXI_DOWNLOAD_DEADLINE`, else 30 min). */
  downloadDeadlineMs?: number;
  /** Receives progress events; nothing is printed by the library itself. */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Read, clean and score the validation month in a worker thread while this thread trains.
   * Results are identical either way. On an idle two-core machine it saves about a third of
   * the time; when other work keeps both cores busy it costs about a tenth; peak memory holds
   * both months' cleaned columns at once (about 410 MB instead of 260 MB at full size).
   * `'auto'` and `true` (the default) use the worker when at least two cores exist; `false`
   * never. Only the built library (lib/dist) can start the worker: from the TypeScript sources
   * (tsx, vitest) the months are always processed one after the other.
   */
  parallel?: boolean | 'auto';
  /** Runs store to record this run in (lib/tracking.ts): a folder, or `false` for none. Default `defaultRunsDir()` (env `TAXI_RUNS_DIR`, else `runs/`). */
  runs?: TrainRuns;
}

/** What one data set (train or val) contributed and scored. */
export interface SplitResult {
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
  /** Rows left after the duration filter (the rows the model saw). */
  rowsKept: number;
  /** Mean of the kept durations, minutes. */
  durationMean: number;
  /** Root mean squared error of the model's predictions on the kept rows, minutes. */
  rmse: number;
}

/** The outcome of {@link train}: the metrics JSON is this minus the fitted objects. */
export interface TrainResult {
  /**
   * True when the data were generated: the `synthetic` option, or a train/val file whose parquet footer
   * says our generator wrote it (e.g. the benchmark's months). The numbers then say nothing about real taxis.
   */
  synthetic: boolean;
  /** Taxi colour of the files (their `tpep_*` / `lpep_*` columns). */
  color: Color;
  /** Duration filter used, minutes. */
  minDuration: number;
  maxDuration: number;
  train: SplitResult;
  val: SplitResult;
  /** Number of features after one-hot encoding (columns of X). */
  features: number;
  /**
   * Wall-clock seconds per stage, and `total`. With the validation month in a worker thread
   * (`parallel`), these are this thread's: time spent waiting for the worker counts to the stage
   * waited for, so the stages still add up to at most the total.
   */
  seconds: Record<Stage | 'total', number>;
  /**
   * Seconds the validation month spent per stage in its worker thread, overlapping `seconds`;
   * null when it was processed in this thread.
   */
  validationThreadSeconds: { read: number; clean: number; vectorize: number; evaluate: number } | null;
  /** Peak resident set size of this process so far, bytes (getrusage maxrss). */
  peakRssBytes: number;
  /** Files written. */
  outputs: { model: string; plot: string | null; metrics: string | null };
  /** ISO time the run finished. */
  finishedAt: string;
  /** The fitted vectorizer (not in the metrics JSON). */
  vectorizer: DictVectorizer;
  /** The fitted model (not in the metrics JSON). */
  model: LinearRegression;
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

const MONTH = /^(\d{4})-(\d{2})$/;

/**
 * Trains the course's model end to end and writes the model file, the plot and (optionally) metrics JSON.
 *
 * Train and val are processed one after the other and each month's raw columns are dropped once
 * cleaned, so peak memory stays near one month's columns plus the sparse matrix.
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
 * Edge cases: an empty file, or no rows left after filtering (train or val), is an error naming
 * the file (and the filter); `minDuration` must be ≥ 0 and below `maxDuration`; with `synthetic`
 * the sources must be months, and generated months are cached under `<cacheDir>/synthetic/`
 * (never mixed with downloads). A downloaded or generated file that cannot be read is set aside
 * (`<file>.corrupt`) so the next run fetches it again; the error says so.
 *
 * @throws OptionError `pipeline: ...` / `output: ...` / `source: ...` for bad options, sources and
 *   output paths (found before any work); Error `pipeline: ...` for empty data or files of the
 *   wrong colour, `output: ...` for outputs that cannot be written or are locked by another run;
 *   errors of the data steps (`source: ...`, `read: ...`) pass through.
 * @example
 * const result = await train({ synthetic: true, outDir: 'build/models' });
 * console.log(result.val.rmse, result.outputs.model);
 */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  return trackTraining(options, trainOnce);
}

async function trainOnce(options: TrainOptions, recorder?: TrainingRecorder): Promise<TrainResult> {
  const started = performance.now();
  const o = await resolveOptions(options);
  // Fail before minutes of work, not after: every output must be writable, distinct and ours now.
  const outputs = await claimOutputs(o);
  try {
    return await trainInto(outputs, o, options, started, recorder);
  } finally {
    await outputs.release();
  }
}

async function trainInto(outputs: ClaimedOutputs, o: Resolved, options: TrainOptions, started: number, recorder?: TrainingRecorder): Promise<TrainResult> {
  const progress = options.onProgress ?? (() => {});
  const seconds = Object.fromEntries([...STAGES, 'total'].map((s) => [s, 0])) as Record<Stage | 'total', number>;
  const timed = async <T>(stage: Stage, work: () => T | Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await work();
    } finally {
      seconds[stage] += (performance.now() - t) / 1000;
    }
  };
  const { model: modelPath, plot: plotPath, metrics: metricsPath } = outputs;
  const shown = { train: redactUrl(o.train), val: redactUrl(o.val) };

  // Download (or find) both months first, so a bad val source fails before minutes of training.
  const trainPath = await timed('fetch', () => fetchSource('train', o.train, o, progress));
  const valPath = await timed('fetch', () => fetchSource('val', o.val, o, progress));
  await outputs.checkNotInputs([trainPath, valPath]);
  // A cached file that cannot be read is set aside, so the next run fetches it again instead of failing on it.
  const unreadable = async (source: string, path: string, error: unknown): Promise<never> => {
    const fromCache = o.synthetic || MONTH.test(source) || /^https?:\/\//i.test(source);
    if (!fromCache || !(error instanceof Error) || !error.message.startsWith('read: ') || !existsSync(path)) throw error;
    const aside = await setAsideCorrupt(path);
    throw new Error(`${error.message}; ${asideNote(aside, redactUrl(source), o.synthetic ? 'generates' : 'downloads')}`, { cause: error });
  };
  // The run's colour: the option, else the first file's (a month's is the colour it was fetched as);
  // every file's columns must agree with it.
  let color: Color | undefined = options.color;
  let colorFrom: 'option' | 'month' | 'file' = 'option';
  const checkColor = (split: 'train' | 'val', source: string, columns: readonly [string, string] | null): void => {
    const found = columns === null ? undefined : /^lpep_/.test(columns[0]) ? 'green' : /^tpep_/.test(columns[0]) ? 'yellow' : undefined;
    if (found === undefined) return;
    if (color === undefined) {
      colorFrom = MONTH.test(source) ? 'month' : 'file';
      color = colorFrom === 'month' ? o.color : found;
      if (colorFrom === 'file' && found !== o.color) progress({ stage: 'read', split, message: `color: ${found} (from the file's ${columns![0]} column)`, done: true });
    }
    if (found !== color) {
      const why =
        colorFrom === 'option' ? `the run is for ${color} taxis (--color ${color})`
          : colorFrom === 'month' && split === 'train' ? `it was fetched as a ${color} month`
            : `the training data are ${color} taxi trips`;
      throw new Error(
        `pipeline: ${split} ${redactUrl(source)} holds ${found} taxi trips (${columns![0]}, ${columns![1]}) but ${why}; ` +
          (colorFrom === 'file' && MONTH.test(source)
            ? `pass --color ${color} (the color option) so that months are fetched as ${color}`
            : `pass --color ${found} (the color option) for ${found} data, or give ${color} files`),
      );
    }
  };

  // The validation month goes to a worker thread when one can run (see useWorker): it is read and
  // cleaned there while this thread trains, then scored there while this thread plots.
  const worker = useWorker(options.parallel) ? new ValidationWorker(valPath, o) : null;
  let trainReadDone = false;
  const heldEvents: ProgressEvent[] = [];
  /** Val events that end a stage wait for train's, so stages still finish train first, then val. */
  const report = (e: ProgressEvent): void => {
    if (e.split === 'val' && e.done && !trainReadDone) heldEvents.push(e);
    else progress(e);
  };
  const rowsProgress: Record<"train" | "val", [number, number]> = { train: [0, 0], val: [0, 0] };
  /** Read progress per row group; with the worker, one bar for both months read at once. */
  const readProgress = (split: 'train' | 'val', rowsDone: number, rowsTotal: number): void => {
    rowsProgress[split] = [rowsDone, rowsTotal];
    if (worker === null) {
      report({ stage: 'read', split, message: `read ${split}: ${fmtInt(rowsDone)} of ${fmtInt(rowsTotal)} rows`, fraction: rowsTotal > 0 ? rowsDone / rowsTotal : 1 });
      return;
    }
    const [td, tt] = rowsProgress.train;
    const [vd, vt] = rowsProgress.val;
    if (tt === 0 || vt === 0) return; // both totals known first, so the bar never runs backwards
    report({ stage: 'read', message: `read train + val: ${fmtInt(td + vd)} of ${fmtInt(tt + vt)} rows`, fraction: (td + vd) / (tt + vt) });
  };
  worker?.listen({
    progress: (rowsDone, rowsTotal) => readProgress('val', rowsDone, rowsTotal),
    cleaned: (stats) => {
      report({ stage: 'read', split: 'val', message: `read val: ${fmtInt(stats.rowsRead)} rows`, fraction: 1, done: true });
      reportCleaned('val', stats);
    },
  });

  /** Reads and cleans one month in this thread, row group by row group. */
  const prepare = async (split: 'train' | 'val', source: string, path: string) => {
    if (worker === null) report({ stage: 'read', split, message: `read ${split}: ${path}`, fraction: 0 });
    const { clean, timestampColumns } = await readAndClean(
      path,
      { minDuration: o.minDuration, maxDuration: o.maxDuration, pickup: false },
      (stage, s) => (seconds[stage] += s),
      (done, total) => readProgress(split, done, total),
    ).catch((error: unknown) => unreadable(source, path, error));
    const generated = o.synthetic || (await timed('read', () => isGeneratedFile(path)));
    report({ stage: 'read', split, message: `read ${split}: ${fmtInt(clean.stats.rowsRead)} rows`, fraction: 1, done: true });
    reportCleaned(split, clean.stats);
    checkNotEmpty(split, source, clean.stats);
    checkColor(split, source, timestampColumns);
    return { clean, generated };
  };
  const reportCleaned = (split: 'train' | 'val', s: CleanStats): void =>
    report({
      stage: 'clean',
      split,
      message: `clean ${split}: kept ${fmtInt(s.rowsKept)} of ${fmtInt(s.rowsRead)} rows (${(100 * s.fractionKept).toFixed(1)}%)`,
      done: true,
    });
  const checkNotEmpty = (split: 'train' | 'val', source: string, s: CleanStats): void => {
    const name = redactUrl(source);
    if (s.rowsRead === 0) {
      // No filter can help a file without trips.
      throw new Error(`pipeline: the ${split} file ${name} holds no rows (0 trips); give a month or file with trips`);
    }
    if (s.rowsWithNulls === s.rowsRead) {
      throw new Error(`pipeline: every one of the ${fmtInt(s.rowsRead)} ${split} rows of ${name} lacks a needed value (pickup, dropoff, locations or distance); check the file`);
    }
    if (s.rowsKept === 0) {
      throw new Error(
        `pipeline: no ${split} rows left after filtering ${name} (${fmtInt(s.rowsRead)} read, ${fmtInt(s.rowsWithNulls)} with nulls) ` +
          `to durations of ${o.minDuration}..${o.maxDuration} minutes; widen --min-duration/--max-duration or check the file`,
      );
    }
  };
  const splitResult = (source: string, path: string, generated: boolean, stats: CleanStats, rmse: number): SplitResult => ({
    source: redactUrl(source),
    path,
    generated,
    rowsRead: stats.rowsRead,
    rowsWithNulls: stats.rowsWithNulls,
    rowsKept: stats.rowsKept,
    durationMean: stats.durationMean,
    rmse,
  });

  // One month at a time in this thread, keeping only what later steps need: memory peaks at one
  // month's raw columns, its cleaned columns and its sparse matrix, not two months' worth.
  const vectorizer = new DictVectorizer();
  let model: LinearRegression;
  let figure: Figure | null = null;
  let trainResult: SplitResult;
  let valResult: SplitResult;
  try {
    {
      const { clean, generated } = await prepare('train', o.train, trainPath);
      trainReadDone = true;
      for (const e of heldEvents.splice(0)) progress(e);
      await timed('vectorize', () => vectorizer.fit(clean.features));
      const features = vectorizer.getFeatureNamesOut();
      // The training matrix is built a chunk at a time, once per pass of the fit, instead of
      // whole (120 MB of fresh memory for a month): the same sums in the same order, so the
      // same model bit for bit, in less time and with a lower peak.
      let vectorizing = 0;
      const into = chunkBuffers(clean); // fitChunks consumes each chunk before asking for the next
      const fitMessage = `fit: ${fmtInt(clean.length)} rows × ${features.length} features`;
      // fitChunks makes two passes over the rows; the bar moves with each chunk of each pass,
      // and the small p×p solve after them is the last step.
      let pass = 0;
      const chunks = function* () {
        pass++;
        for (let start = 0; start < clean.length; start += SCORE_CHUNK_ROWS) {
          const end = Math.min(clean.length, start + SCORE_CHUNK_ROWS);
          const t = performance.now();
          const X = vectorizer.transform(clean.features, { start, end, into });
          vectorizing += performance.now() - t;
          yield { X, y: clean.duration.subarray(start, end) };
          progress({ stage: 'fit', message: fitMessage, fraction: (0.95 * ((pass - 1) * clean.length + end)) / (2 * clean.length) });
        }
      };
      model = await timed('fit', () => {
        progress({ stage: 'fit', message: fitMessage, fraction: 0 });
        const m = new LinearRegression().fitChunks(chunks);
        progress({ stage: 'fit', message: fitMessage, fraction: 1, done: true });
        return m;
      });
      seconds.fit -= vectorizing / 1000;
      seconds.vectorize += vectorizing / 1000;
      // The worker scores the val month while this thread scores train and draws the plot.
      worker?.sendModel(features, model.parameters);
      const predicted = predictInChunks(vectorizer, model, clean, (stage, s) => (seconds[stage] += s));
      const rmse = await timed('evaluate', () => rootMeanSquaredError(clean.duration, predicted));
      trainResult = splitResult(o.train, trainPath, generated, clean.stats, rmse);
      if (plotPath !== null) {
        // The course's picture: distribution of predicted vs actual durations on the training month.
        // Built now (a few kB of bins and curves) so the month's arrays can go.
        figure = await timed('plot', () =>
          durationDistributionFigure(
            { actual: clean.duration, predicted },
            { title: `Predicted vs actual trip duration, train ${shown.train}${generated ? ' (SYNTHETIC DATA)' : ''}` },
          ),
        );
      }
    }
    if (worker !== null) {
      // Time spent waiting for the worker counts to the stage waited for, so stages still add up to the total.
      const generated = o.synthetic || (await timed('read', () => isGeneratedFile(valPath)));
      const { stats, timestampColumns } = await timed('clean', () => worker.cleaned).catch((error: unknown) => unreadable(o.val, valPath, error));
      checkNotEmpty('val', o.val, stats);
      checkColor('val', o.val, timestampColumns);
      const { rmse } = await timed('evaluate', () => worker.scored);
      valResult = splitResult(o.val, valPath, generated, stats, rmse);
    } else {
      const { clean, generated } = await prepare('val', o.val, valPath);
      const predicted = predictInChunks(vectorizer, model, clean, (stage, s) => (seconds[stage] += s));
      const rmse = await timed('evaluate', () => rootMeanSquaredError(clean.duration, predicted));
      valResult = splitResult(o.val, valPath, generated, clean.stats, rmse);
    }
  } finally {
    await worker?.stop();
  }
  const rmseTrain = trainResult.rmse;
  const rmseVal = valResult.rmse;
  progress({ stage: 'evaluate', message: `RMSE train ${rmseTrain.toFixed(3)}, val ${rmseVal.toFixed(3)}`, done: true });
  const synthetic = trainResult.generated || valResult.generated;

  const runColor = color ?? o.color;
  const metadata: ModelMetadata = {
    training: { sources: [trainResult.source], rows: trainResult.rowsKept },
    validation: { sources: [valResult.source], rows: valResult.rowsKept },
    metrics: { rmseTrain, rmseValidation: rmseVal },
    synthetic,
    ...(synthetic ? { note: SYNTHETIC_NOTE } : {}),
    color: runColor,
    minDuration: o.minDuration,
    maxDuration: o.maxDuration,
    // What predict needs to rebuild records as training saw them (IDs as strings, as astype(str)).
    categorical: ['PULocationID', 'DOLocationID'],
    numerical: ['trip_distance'],
    target: 'duration',
  };

  // Every output is written in full beside its target first; only then are they renamed into place.
  const staged: StagedFile[] = [];
  try {
    const plotHtml = plotPath !== null && figure !== null ? figureHtml(figure) : null;
    if (plotHtml !== null) staged.push(await timed('plot', () => stageFile(plotPath!, plotHtml, { what: 'the plot', fix: OUT_FIX })));
    const modelText = modelFileText({ vectorizer, model, metadata }, modelPath).text;
    const stagedModel = await timed('save', () => stageFile(modelPath, modelText, { what: 'the model', fix: OUT_FIX }));
    seconds.total = (performance.now() - started) / 1000;
    const result: TrainResult = {
      synthetic,
      color: runColor,
      minDuration: o.minDuration,
      maxDuration: o.maxDuration,
      train: trainResult,
      val: valResult,
      features: vectorizer.getFeatureNamesOut().length,
      seconds,
      validationThreadSeconds: worker?.seconds ?? null,
      peakRssBytes: peakRssBytes(),
      outputs: { model: modelPath, plot: plotPath, metrics: metricsPath },
      finishedAt: new Date().toISOString(),
      vectorizer,
      model,
    };
    // The run is recorded (lib/tracking.ts) before anything is published: a model never appears
    // without its run record, and a failed recording publishes nothing. The metrics then name the run.
    await recorder?.beforePublish(result, { model: modelText, plot: plotHtml });
    if (metricsPath !== null) {
      staged.push(await stageFile(metricsPath, JSON.stringify(toMetrics(result), null, 2) + '\n', { what: 'the metrics', fix: METRICS_FIX }));
    }
    staged.push(stagedModel);
    await outputs.checkLocks();
    await commitFiles(staged);
    if (plotPath !== null) progress({ stage: 'plot', message: `plot: ${plotPath}`, done: true });
    progress({ stage: 'save', message: `model: ${modelPath}`, done: true });
    return result;
  } finally {
    await Promise.all(staged.map((file) => file.discard()));
  }
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

type Resolved = Required<Omit<TrainOptions, 'metricsJson' | 'baseUrl' | 'onProgress' | 'parallel' | 'runs' | 'downloadIdleTimeoutMs' | 'downloadDeadlineMs'>> &
  Pick<TrainOptions, 'metricsJson' | 'baseUrl' | 'downloadIdleTimeoutMs' | 'downloadDeadlineMs'>;

async function resolveOptions(options: TrainOptions): Promise<Resolved> {
  const o: Resolved = {
    train: options.train ?? '2024-01',
    val: options.val ?? '2024-02',
    color: options.color ?? 'yellow',
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
  if (o.color !== 'yellow' && o.color !== 'green') {
    throw new OptionError(`pipeline: color must be 'yellow' or 'green', got '${String(o.color)}'`);
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
  // A malformed month fails here, before any folder is created or byte downloaded.
  for (const value of [o.train, o.val]) {
    if (!MONTH.test(value)) continue;
    try {
      parseMonth(value);
    } catch (error) {
      throw new OptionError((error as Error).message, { cause: error });
    }
  }
  if (o.synthetic) {
    for (const [name, value] of [
      ['train', o.train],
      ['val', o.val],
    ] as const) {
      if (!MONTH.test(value)) {
        throw new OptionError(`pipeline: with synthetic data, ${name} must be a month YYYY-MM to generate, got '${redactUrl(value)}'`);
      }
    }
    // Loaded only for synthetic runs: the generator's parquet writer is not needed to train on real data.
    const { MAX_SYNTHETIC_ROWS } = await import('./synthetic.js');
    if (!Number.isInteger(o.syntheticRows) || o.syntheticRows < 1 || o.syntheticRows > MAX_SYNTHETIC_ROWS) {
      throw new OptionError(
        `pipeline: syntheticRows must be a whole number from 1 to ${fmtInt(MAX_SYNTHETIC_ROWS)} (a real month has about 3,000,000), got ${o.syntheticRows}`,
      );
    }
  }
  return o;
}

async function fetchSource(
  split: 'train' | 'val',
  source: string,
  o: Resolved,
  progress: (e: ProgressEvent) => void,
): Promise<string> {
  if (o.synthetic) {
    progress({ stage: 'fetch', split, message: `${split}: ${fmtInt(o.syntheticRows)} synthetic rows for ${source} (generated on first use)` });
    const { syntheticMonth } = await import('./synthetic.js');
    await makeCacheDir(o.cacheDir);
    const { path } = await syntheticMonth(o.cacheDir, { month: source, rows: o.syntheticRows, color: o.color });
    progress({ stage: 'fetch', split, message: `${split}: ${path} (synthetic)`, fraction: 1, done: true });
    return path;
  }
  // A terminal bar is the caller's business (the CLI draws one from these events).
  let lastReport = 0;
  const path = await fetchTrips(source, {
    color: o.color,
    cacheDir: o.cacheDir,
    ...(o.baseUrl !== undefined ? { baseUrl: o.baseUrl } : {}),
    ...(o.downloadIdleTimeoutMs !== undefined ? { idleTimeoutMs: o.downloadIdleTimeoutMs } : {}),
    ...(o.downloadDeadlineMs !== undefined ? { deadlineMs: o.downloadDeadlineMs } : {}),
    onProgress: (received, total) => {
      const now = performance.now();
      if (now - lastReport < 100) return; // at most ten reports a second
      lastReport = now;
      const mb = (received / 2 ** 20).toFixed(1);
      progress({
        stage: 'fetch',
        split,
        message: `download ${split}: ${mb} MB`,
        ...(Number.isFinite(total) && total > 0 ? { fraction: received / total } : {}),
      });
    },
  });
  progress({ stage: 'fetch', split, message: `${split}: ${path}`, fraction: 1, done: true });
  return path;
}

/** `2964624` → `2,964,624` (as toLocaleString('en-US'), whose first call costs about 20 ms of ICU set-up). */
function fmtInt(n: number): string {
  return Number.isInteger(n) ? String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : n.toLocaleString('en-US');
}

const WORKER_URL = new URL('./pipelineWorker.js', import.meta.url);

/**
 * Whether train() runs the validation month in a worker thread: not turned off, at least two
 * cores, and this module is the built JavaScript (a worker thread cannot load the TypeScript
 * sources that tsx and vitest run). Measured on the 2-core machine with full-size months: an
 * idle or lightly loaded machine (load average up to about 1.5) ran 15 to 35 % faster with the
 * worker; with both cores busy elsewhere (load 2.5 to 3) about 10 % slower. The load average
 * is no guide at start-up (it counts the previous run of this very command), so the choice is
 * made on the cores alone.
 */
function useWorker(parallel: boolean | 'auto' = 'auto'): boolean {
  if (parallel === false || availableParallelism() < 2) return false;
  return import.meta.url.endsWith('.js') && existsSync(fileURLToPath(WORKER_URL));
}

/** A promise that can be settled from outside, and never counts as an unhandled rejection. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // awaited later, or not at all when training fails first
  return { promise, resolve, reject };
}

/** The main thread's side of lib/pipelineWorker.ts: one validation month, read, cleaned and scored there. */
class ValidationWorker {
  readonly seconds = { read: 0, clean: 0, vectorize: 0, evaluate: 0 };
  readonly #worker: Worker;
  readonly #cleaned = deferred<{ stats: CleanStats; timestampColumns: readonly [string, string] | null }>();
  readonly #scored = deferred<{ rmse: number }>();
  #handlers: ValidationWorkerHandlers = {};
  #finished = false;

  constructor(path: string, o: Resolved) {
    const job: MonthJob = { kind: JOB_KIND, path, minDuration: o.minDuration, maxDuration: o.maxDuration };
    this.#worker = new Worker(WORKER_URL, { workerData: job });
    this.#worker.on('message', (m: WorkerMessage) => this.#receive(m));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => {
      if (!this.#finished) this.#fail(new Error(`pipeline: the validation worker stopped (exit code ${code}) before scoring ${path}`));
    });
  }

  /** Receives the worker's read progress and stage ends. */
  listen(handlers: ValidationWorkerHandlers): void {
    this.#handlers = handlers;
  }

  /** Resolves with the validation month's cleaning stats. */
  get cleaned(): Promise<{ stats: CleanStats; timestampColumns: readonly [string, string] | null }> {
    return this.#cleaned.promise;
  }

  /** Resolves with the validation RMSE, once {@link sendModel} was called. */
  get scored(): Promise<{ rmse: number }> {
    return this.#scored.promise;
  }

  /** Hands the fitted vectorizer's feature names and the model's parameters to the worker. */
  sendModel(featureNames: string[], parameters: LinearRegressionParameters): void {
    const message: ModelMessage = { type: 'model', featureNames, parameters };
    this.#worker.postMessage(message);
  }

  /** Ends the worker (it may still be reading when training failed). */
  async stop(): Promise<void> {
    this.#finished = true;
    await this.#worker.terminate();
  }

  #receive(m: WorkerMessage): void {
    switch (m.type) {
      case 'progress':
        this.#handlers.progress?.(m.rowsDone, m.rowsTotal);
        break;
      case 'cleaned':
        this.seconds.read = m.seconds.read;
        this.seconds.clean = m.seconds.clean;
        this.#handlers.cleaned?.(m.stats);
        this.#cleaned.resolve({ stats: m.stats, timestampColumns: m.timestampColumns });
        break;
      case 'scored':
        this.seconds.vectorize = m.seconds.vectorize;
        this.seconds.evaluate = m.seconds.evaluate;
        this.#finished = true;
        this.#scored.resolve({ rmse: m.rmse });
        break;
      case 'error': {
        // The data steps' own message (`read: ...`), unchanged, with the worker's stack for --verbose.
        const error = new Error(m.message);
        if (m.stack !== undefined) error.stack = m.stack;
        this.#fail(error);
        break;
      }
    }
  }

  #fail(error: Error): void {
    this.#finished = true;
    this.#cleaned.reject(error);
    this.#scored.reject(error);
  }
}

interface ValidationWorkerHandlers {
  progress?: (rowsDone: number, rowsTotal: number) => void;
  cleaned?: (stats: CleanStats) => void;
}
