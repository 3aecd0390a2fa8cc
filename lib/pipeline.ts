/**
 * The course's whole training pipeline as one function: the MLOps "training pipeline".
 *
 * fetch → read → clean (train and val) → DictVectorizer (fit on train, transform val)
 * → LinearRegression → RMSE on both → plot → model file (+ metrics JSON).
 * The CLI (`taxi-duration`, `npm start`) is a thin caller of {@link train}; notebooks
 * can call it too and get the fitted vectorizer and model back.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { parquetMetadata } from 'hyparquet';

import { cleanTrips, type CleanStats } from './clean.js';
import { rootMeanSquaredError } from './metrics.js';
import { saveModel, type ModelMetadata } from './modelFile.js';
import { durationDistributionFigure, saveFigureHtml, type Figure } from './plots.js';
import { readTrips } from './read.js';
import { LinearRegression } from './regression.js';
import { defaultCacheDir, fetchTrips, parseMonth, type Color } from './source.js';
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
  /** Taxi colour of months given as `YYYY-MM` (decides the URL and column names). Default `yellow`. */
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
  /** Rows per generated month when `synthetic`. Default 100,000. */
  syntheticRows?: number;
  /** Receives progress events; nothing is printed by the library itself. */
  onProgress?: (event: ProgressEvent) => void;
}

/** What one data set (train or val) contributed and scored. */
export interface SplitResult {
  /** What the user asked for (`2024-01`, a path, a URL). */
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
  /** Taxi colour. */
  color: Color;
  /** Duration filter used, minutes. */
  minDuration: number;
  maxDuration: number;
  train: SplitResult;
  val: SplitResult;
  /** Number of features after one-hot encoding (columns of X). */
  features: number;
  /** Wall-clock seconds per stage, and `total`. */
  seconds: Record<Stage | 'total', number>;
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
/** The `created_by` that lib/synthetic.ts writes into every footer. */
const GENERATOR = /^taxi-duration synthetic/;

/**
 * Trains the course's model end to end and writes the model file, the plot and (optionally) metrics JSON.
 *
 * Train and val are processed one after the other and each month's raw columns are dropped once
 * cleaned, so peak memory stays near one month's columns plus the sparse matrix.
 * Output folders are checked before any data is read, and the model file is replaced atomically
 * and only after everything before it succeeded, so a failed run leaves an earlier model intact.
 *
 * Edge cases: no rows left after filtering (train or val) is an error naming the file and the
 * filter; `minDuration` must be ≥ 0 and below `maxDuration`; with `synthetic` the sources must be
 * months, and generated months are cached under `<cacheDir>/synthetic/` (never mixed with downloads).
 *
 * @throws Error `pipeline: ...` for bad options, empty data and unwritable outputs; errors of the
 *   data steps (`source: ...`, `read: ...`) pass through unchanged.
 * @example
 * const result = await train({ synthetic: true, outDir: 'build/models' });
 * console.log(result.val.rmse, result.outputs.model);
 */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  const started = performance.now();
  const o = resolveOptions(options);
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

  const modelPath = join(o.outDir, o.modelName);
  const plotPath = o.plotName === false ? null : join(o.outDir, o.plotName);
  const metricsPath = o.metricsJson === undefined ? null : resolve(o.metricsJson);
  // Fail before minutes of work, not after: every output folder must take a file now.
  await ensureWritableDir(o.outDir, '--out');
  if (metricsPath !== null) {
    if (existsSync(metricsPath) && statSync(metricsPath).isDirectory()) {
      throw new Error(`pipeline: metrics file ${metricsPath} is a folder; give --metrics-json a file path`);
    }
    await ensureWritableDir(dirname(metricsPath), '--metrics-json');
  }

  // Download (or find) both months first, so a bad val source fails before minutes of training.
  const trainPath = await timed('fetch', () => fetchSource('train', o.train, o, progress));
  const valPath = await timed('fetch', () => fetchSource('val', o.val, o, progress));

  /** Reads and cleans one month; its raw columns are garbage once this returns. */
  const prepare = async (split: 'train' | 'val', source: string, path: string) => {
    let generated = false;
    const trips = await timed('read', async () => {
      progress({ stage: 'read', split, message: `read ${split}: ${path}`, fraction: 0 });
      const t = await readTrips(path);
      generated = o.synthetic || GENERATOR.test((await parquetCreatedBy(path)) ?? '');
      progress({ stage: 'read', split, message: `read ${split}: ${fmtInt(t.length)} rows`, fraction: 1, done: true });
      return t;
    });
    const clean = await timed('clean', () =>
      cleanTrips(trips, { minDuration: o.minDuration, maxDuration: o.maxDuration }),
    );
    const s = clean.stats;
    progress({
      stage: 'clean',
      split,
      message: `clean ${split}: kept ${fmtInt(s.rowsKept)} of ${fmtInt(s.rowsRead)} rows (${(100 * s.fractionKept).toFixed(1)}%)`,
      done: true,
    });
    if (clean.length === 0) {
      throw new Error(
        `pipeline: no ${split} rows left after filtering ${source} (${fmtInt(s.rowsRead)} read, ${fmtInt(s.rowsWithNulls)} with nulls) ` +
          `to durations of ${o.minDuration}..${o.maxDuration} minutes; widen --min-duration/--max-duration or check the file`,
      );
    }
    return { clean, generated };
  };
  const splitResult = (source: string, path: string, generated: boolean, stats: CleanStats, rmse: number): SplitResult => ({
    source,
    path,
    generated,
    rowsRead: stats.rowsRead,
    rowsWithNulls: stats.rowsWithNulls,
    rowsKept: stats.rowsKept,
    durationMean: stats.durationMean,
    rmse,
  });

  // One month at a time, keeping only what later steps need: memory peaks at one month's raw
  // columns, its cleaned columns and its sparse matrix, not two months' worth.
  const vectorizer = new DictVectorizer();
  let model: LinearRegression;
  let figure: Figure | null = null;
  let trainResult: SplitResult;
  {
    const { clean, generated } = await prepare('train', o.train, trainPath);
    const X = await timed('vectorize', () => vectorizer.fitTransform(clean.features));
    model = await timed('fit', () => {
      progress({ stage: 'fit', message: `fit: ${fmtInt(X.rows)} rows × ${X.cols} features`, fraction: 0 });
      const m = new LinearRegression().fit(X, clean.duration);
      progress({ stage: 'fit', message: `fit: ${fmtInt(X.rows)} rows × ${X.cols} features`, fraction: 1, done: true });
      return m;
    });
    const predicted = await timed('evaluate', () => model.predict(X));
    const rmse = await timed('evaluate', () => rootMeanSquaredError(clean.duration, predicted));
    trainResult = splitResult(o.train, trainPath, generated, clean.stats, rmse);
    if (plotPath !== null) {
      // The course's picture: distribution of predicted vs actual durations on the training month.
      // Built now (a few kB of bins and curves) so the month's arrays can go.
      figure = await timed('plot', () =>
        durationDistributionFigure(
          { actual: clean.duration, predicted },
          { title: `Predicted vs actual trip duration, train ${o.train}${generated ? ' (SYNTHETIC DATA)' : ''}` },
        ),
      );
    }
  }
  let valResult: SplitResult;
  {
    const { clean, generated } = await prepare('val', o.val, valPath);
    const X = await timed('vectorize', () => vectorizer.transform(clean.features));
    const predicted = await timed('evaluate', () => model.predict(X));
    const rmse = await timed('evaluate', () => rootMeanSquaredError(clean.duration, predicted));
    valResult = splitResult(o.val, valPath, generated, clean.stats, rmse);
  }
  const rmseTrain = trainResult.rmse;
  const rmseVal = valResult.rmse;
  progress({ stage: 'evaluate', message: `RMSE train ${rmseTrain.toFixed(3)}, val ${rmseVal.toFixed(3)}`, done: true });
  const synthetic = trainResult.generated || valResult.generated;

  if (plotPath !== null && figure !== null) {
    const spec = figure;
    await timed('plot', async () => {
      await saveFigureHtml(spec, plotPath);
      progress({ stage: 'plot', message: `plot: ${plotPath}`, done: true });
    });
  }

  const metadata: ModelMetadata = {
    training: { sources: [trainResult.source], rows: trainResult.rowsKept },
    validation: { sources: [valResult.source], rows: valResult.rowsKept },
    metrics: { rmseTrain, rmseValidation: rmseVal },
    synthetic,
    ...(synthetic ? { note: SYNTHETIC_NOTE } : {}),
    color: o.color,
    minDuration: o.minDuration,
    maxDuration: o.maxDuration,
    // What predict needs to rebuild records as training saw them (IDs as strings, as astype(str)).
    categorical: ['PULocationID', 'DOLocationID'],
    numerical: ['trip_distance'],
    target: 'duration',
  };
  await timed('save', async () => {
    await saveModel(modelPath, { vectorizer, model, metadata });
    progress({ stage: 'save', message: `model: ${modelPath}`, done: true });
  });

  seconds.total = (performance.now() - started) / 1000;
  const result: TrainResult = {
    synthetic,
    color: o.color,
    minDuration: o.minDuration,
    maxDuration: o.maxDuration,
    train: trainResult,
    val: valResult,
    features: vectorizer.getFeatureNamesOut().length,
    seconds,
    peakRssBytes: peakRssBytes(),
    outputs: { model: modelPath, plot: plotPath, metrics: metricsPath },
    finishedAt: new Date().toISOString(),
    vectorizer,
    model,
  };
  if (metricsPath !== null) {
    try {
      await writeFileAtomic(metricsPath, JSON.stringify(toMetrics(result), null, 2) + '\n');
    } catch (error) {
      throw new Error(`pipeline: could not write metrics to ${metricsPath}: ${(error as Error).message}`, { cause: error });
    }
  }
  return result;
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

/**
 * The path of a generated month in the cache: `<cacheDir>/synthetic/<color>_tripdata_<month>[_<rows>].parquet`.
 *
 * Kept apart from downloaded months so a generated file is never mistaken for a real one.
 *
 * @example
 * syntheticMonthPath('data', 'yellow', '2024-01', 100_000); // 'data/synthetic/yellow_tripdata_2024-01_100000.parquet'
 */
export function syntheticMonthPath(cacheDir: string, color: Color, month: string, rows?: number): string {
  const suffix = rows === undefined ? '' : `_${rows}`;
  return join(cacheDir, 'synthetic', `${color}_tripdata_${month}${suffix}.parquet`);
}

type Resolved = Required<Omit<TrainOptions, 'metricsJson' | 'baseUrl' | 'onProgress'>> &
  Pick<TrainOptions, 'metricsJson' | 'baseUrl'>;

function resolveOptions(options: TrainOptions): Resolved {
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
  };
  if (o.color !== 'yellow' && o.color !== 'green') {
    throw new Error(`pipeline: color must be 'yellow' or 'green', got '${String(o.color)}'`);
  }
  for (const [name, value] of [
    ['minDuration', o.minDuration],
    ['maxDuration', o.maxDuration],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`pipeline: ${name} must be a number of minutes ≥ 0, got ${value}`);
    }
  }
  if (o.minDuration >= o.maxDuration) {
    throw new Error(`pipeline: minDuration (${o.minDuration}) must be below maxDuration (${o.maxDuration})`);
  }
  // A malformed month fails here, before any folder is created or byte downloaded.
  for (const value of [o.train, o.val]) if (MONTH.test(value)) parseMonth(value);
  if (o.synthetic) {
    for (const [name, value] of [
      ['train', o.train],
      ['val', o.val],
    ] as const) {
      if (!MONTH.test(value)) {
        throw new Error(`pipeline: with synthetic data, ${name} must be a month YYYY-MM to generate, got '${value}'`);
      }
    }
    if (!Number.isInteger(o.syntheticRows) || o.syntheticRows < 1) {
      throw new Error(`pipeline: syntheticRows must be a positive integer, got ${o.syntheticRows}`);
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
    const path = syntheticMonthPath(o.cacheDir, o.color, source, o.syntheticRows);
    if (!existsSync(path)) {
      progress({ stage: 'fetch', split, message: `generate ${split}: ${fmtInt(o.syntheticRows)} synthetic rows for ${source}` });
      await mkdir(dirname(path), { recursive: true });
      // Deterministic: the seed is derived from the month, so train and val differ and reruns agree.
      const seed = Number(source.replace('-', ''));
      // Loaded only here: the generator's parquet writer is not needed to train on real data.
      const { writeSyntheticTrips } = await import('./synthetic.js');
      await writeSyntheticTrips(path, { month: source, rows: o.syntheticRows, seed, color: o.color });
    }
    progress({ stage: 'fetch', split, message: `${split}: ${path} (synthetic)`, fraction: 1, done: true });
    return path;
  }
  // A terminal bar is the caller's business (the CLI draws one from these events), so fetchTrips stays quiet.
  let lastReport = 0;
  const path = await fetchTrips(source, {
    color: o.color,
    cacheDir: o.cacheDir,
    ...(o.baseUrl !== undefined ? { baseUrl: o.baseUrl } : {}),
    quiet: true,
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

/** Creates `dir` if needed and proves a file can be written there (access() lies for root). */
async function ensureWritableDir(dir: string, option: string): Promise<void> {
  const probe = join(dir, `.write-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`pipeline: output folder ${dir} is not writable (${code}); choose another ${option}`, {
      cause: error,
    });
  }
}

/** Writes via a temporary file and rename, so readers never see half a file. */
async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** The `created_by` of a parquet file's footer (who wrote it), or undefined if unreadable. */
async function parquetCreatedBy(path: string): Promise<string | undefined> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const tail = Buffer.alloc(8);
    await file.read(tail, 0, 8, size - 8);
    const length = tail.readUInt32LE(0);
    if (length + 12 > size) return undefined;
    // parquetMetadata reads the footer from the end of the buffer it is given: footer + length + magic.
    const footer = new ArrayBuffer(length + 8);
    await file.read(new Uint8Array(footer), 0, length + 8, size - length - 8);
    return parquetMetadata(footer).created_by;
  } catch {
    return undefined;
  } finally {
    await file.close();
  }
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}
