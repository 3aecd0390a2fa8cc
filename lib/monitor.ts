/**
 * Monitor: how a saved model does on months it has not seen (MLOps level 3, model monitoring).
 *
 * For each month: RMSE, mean predicted against mean actual duration, the share of trips in
 * zones the training data never had, and the drift of trip distance and duration from the
 * training data: population stability index and Wasserstein distance between the month's
 * histograms and the training profile's (lib/profile.ts, same fixed edges). A month crosses a
 * threshold when any measure passes its limit ({@link MonitorThresholds}); a scheduler reads
 * that as exit code 3 of `taxi-duration monitor`.
 *
 * Months go through the same source → read → clean path as training, one month in memory at a
 * time, with the model's own duration filter. The model comes by path, alias or run
 * (lib/registry.ts). Its training profile comes from `metadata.profile` when the model file has
 * one; otherwise it is computed once from the training data the run recorded (checked against
 * the recorded SHA-256) and cached in the runs store.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { writeFileAtomic } from './output.js';
import { cleanTripGroups, tripColumnsFor, type CleanTrips } from './clean.js';
import { hashFile } from './fileHash.js';
import { isGeneratedFile } from './generated.js';
import { rootMeanSquaredError } from './metrics.js';
import { monitorReportHtml } from './mlopsCharts.js';
import type { LoadedModel } from './modelFile.js';
import { parseMonths } from './months.js';
import { predictTrips } from './predict.js';
import { buildProfile, checkProfile, histogramMean, populationStabilityIndex, PROFILE_VERSION, wassersteinDistance, type Histogram, type TrainingProfile } from './profile.js';
import { readTripGroups } from './read.js';
import { findRunOfModel, loadModelRef, type ResolvedModelRef } from './registry.js';
import { plotlyAsset, scriptSrc } from './runAssets.js';
import { defaultRunsDir, recordRun, runsCacheDir, type ActiveRun, type Run } from './runs.js';
import { recordedDataset, type Dataset } from './datasets.js';
import { defaultCacheDir, fetchTrips, parseMonth } from './source.js';

/**
 * Limits a month must stay within; a measure past its limit flags the month.
 *
 * @example
 * const strict: MonitorThresholds = { ...DEFAULT_THRESHOLDS, psi: 0.1 };
 */
export interface MonitorThresholds {
  /** Population stability index of distance or duration against training. Default 0.2 (0.1–0.25 is read as a moderate shift). */
  psi: number;
  /** RMSE as a multiple of the model's validation RMSE at training time (`metadata.metrics.rmseValidation`). Default 1.2. */
  rmseRatio: number;
  /** Share of trips picked up or dropped off in a zone training never saw in that role. Default 0.02. */
  unseenShare: number;
  /** RMSE in minutes, whatever the training RMSE was; none by default. */
  rmse?: number;
  /** Wasserstein distance of durations, minutes; none by default. */
  wassersteinDuration?: number;
  /** Wasserstein distance of trip distances, miles; none by default. */
  wassersteinDistance?: number;
}

/**
 * The thresholds `monitor` and `retrain` use unless told otherwise.
 *
 * @example
 * DEFAULT_THRESHOLDS.psi; // 0.2
 */
export const DEFAULT_THRESHOLDS: Readonly<MonitorThresholds> = Object.freeze({ psi: 0.2, rmseRatio: 1.2, unseenShare: 0.02 });

/** How one measured distribution compares with training. */
export interface DriftMeasure {
  /** Population stability index against the training histogram. */
  psi: number;
  /** Wasserstein-1 distance, in the value's units (minutes, miles). */
  wasserstein: number;
  /** Mean this month and in training. */
  mean: number;
  trainingMean: number;
}

/** One month's measures. */
export interface MonthReport {
  /** The month (or other source) as given. */
  month: string;
  /** The local file read. */
  path: string;
  /** True when the file was written by this library's generator. */
  generated: boolean;
  rowsRead: number;
  /** Rows scored: no needed null, duration within the model's filter. */
  rowsKept: number;
  /** Root mean squared error of the predictions, minutes. */
  rmse: number;
  /** Mean predicted and mean actual duration, minutes. */
  meanPredicted: number;
  meanActual: number;
  /** Share of kept trips whose pickup or drop-off zone training never saw in that role. */
  unseenShare: number;
  duration: DriftMeasure;
  /** Null for data without distances. */
  trip_distance: DriftMeasure | null;
  /** Thresholds crossed, e.g. `duration PSI 0.31 > 0.2`; empty when the month is fine. */
  flags: string[];
}

/** The whole monitoring result (the JSON of `monitor --json`). */
export interface MonitorReport {
  version: 1;
  /** What the model was asked as, and what it resolved to. */
  model: { ref: string; path: string; runId: string | null; alias: string | null; trainedOn: string[]; referenceRmse: number | null; synthetic: boolean };
  /** Where the training profile came from: the model file, the store's cache, or the training data read now. */
  profileSource: 'model' | 'cache' | 'training data';
  thresholds: MonitorThresholds;
  months: MonthReport[];
  /** Months that crossed a threshold. */
  flaggedMonths: string[];
  /** True when any month crossed a threshold. */
  flagged: boolean;
  /** True when any month (or the model's training data) was generated. */
  synthetic: boolean;
  /** The monitor run that recorded this report; null when not recorded. */
  runId: string | null;
  /** When the report was made, ISO 8601. */
  createdAt: string;
}

/** Where monitored months come from (as `train()`'s options). */
export interface MonthSourceOptions {
  /** Taxi colour of months given as `YYYY-MM`. Default: the model's, else yellow. */
  color?: Dataset;
  /** Cache folder. Default `defaultCacheDir()`. */
  cacheDir?: string;
  /** Base URL of the TLC site. Default env `TLC_BASE_URL`, else TLC's. */
  baseUrl?: string;
  /** Generate the months (offline), as `train({ synthetic: true })` does. */
  synthetic?: boolean;
  /** Rows per generated month. Default 100,000. */
  syntheticRows?: number;
}

/** A progress line from monitoring (the CLI prints them on stderr). */
export interface MonitorProgress {
  month?: string;
  message: string;
  done?: boolean;
}

/** Options of {@link monitorModel}. */
export interface MonitorOptions extends MonthSourceOptions {
  /** The model: a path, an alias (`production`) or a run id. */
  model: string;
  /** Months (or paths/URLs) to score: a list, or text as `parseMonths` reads it (`2024-03..2024-08`). */
  months: readonly string[] | string;
  /** Limits; missing fields take {@link DEFAULT_THRESHOLDS}. */
  thresholds?: Partial<MonitorThresholds>;
  /** Runs store: aliases, the recorded training data, the profile cache, and where this monitor run is recorded. Default `defaultRunsDir()`. */
  runsDir?: string;
  /** Record a `monitor` run in the store. Default true. */
  record?: boolean;
  /** Run this monitoring is a step of (a retrain). */
  parentRunId?: string;
  /** Training data to profile when the model has no profile and no recorded run tells where its data is. */
  trainingData?: string;
  onProgress?: (event: MonitorProgress) => void;
}

/**
 * Scores a model on months and compares them with its training data; records a `monitor` run
 * (the report as JSON and HTML artifacts) unless `record: false`.
 *
 * @throws Error (`monitor: ...`) for bad months or thresholds, a model whose training profile
 *   cannot be had; errors of the data steps (`source: ...`, `read: ...`) and of the registry pass through.
 * @example
 * const report = await monitorModel({ model: 'production', months: '2024-03..2024-08' });
 * if (report.flagged) console.log(report.flaggedMonths);
 */
export async function monitorModel(options: MonitorOptions): Promise<MonitorReport> {
  const months = typeof options.months === 'string' ? parseMonths(options.months) : [...options.months];
  if (months.length === 0) throw new Error('monitor: no months to monitor; give months like 2024-03..2024-08');
  const thresholds = checkThresholds({ ...DEFAULT_THRESHOLDS, ...options.thresholds });
  const runsDir = resolve(options.runsDir ?? defaultRunsDir());
  const loaded = await loadModelRef(options.model, { runsDir });
  const progress = options.onProgress ?? (() => {});
  const work = async (run: ActiveRun | null): Promise<MonitorReport> => {
    const { profile, from } = await trainingProfile(loaded, { ...options, runsDir, run, progress });
    const reference = loaded.metadata.metrics?.rmseValidation ?? null;
    const reports: MonthReport[] = [];
    for (const month of months) {
      const data = await readMonth(month, loaded, options, progress);
      if (data.clean.length === 0) {
        throw new Error(`monitor: no trips of ${month} are left after the model's filter (${data.clean.stats.rowsRead} read); check the file`);
      }
      const report = measureMonth(loaded, profile, data, thresholds, reference);
      await run?.addData({ role: 'month', source: month, path: report.path, generated: report.generated, rowsRead: report.rowsRead, rowsKept: report.rowsKept });
      progress({ month, message: `${month}: RMSE ${report.rmse.toFixed(3)}${report.flags.length > 0 ? `; ${report.flags.join('; ')}` : ''}`, done: true });
      reports.push(report);
    }
    const flaggedMonths = reports.filter((m) => m.flags.length > 0).map((m) => m.month);
    return {
      version: 1,
      model: {
        ref: options.model,
        path: loaded.ref.path,
        runId: loaded.ref.run?.id ?? null,
        alias: loaded.ref.alias,
        trainedOn: loaded.metadata.training?.sources ?? [],
        referenceRmse: reference,
        synthetic: loaded.metadata.synthetic === true,
      },
      profileSource: from,
      thresholds,
      months: reports,
      flaggedMonths,
      flagged: flaggedMonths.length > 0,
      synthetic: loaded.metadata.synthetic === true || reports.some((m) => m.generated),
      runId: run?.id ?? null,
      createdAt: new Date().toISOString(),
    };
  };
  if (options.record === false) return work(null);
  return recordRun(
    {
      runsDir,
      kind: 'monitor',
      params: { model: options.model, modelPath: loaded.ref.path, modelRunId: loaded.ref.run?.id ?? null, months, color: monthColor(loaded, options), thresholds, synthetic: options.synthetic ?? false },
      parentRunId: options.parentRunId ?? null,
    },
    async (run) => {
      const report = await work(run);
      await recordMonitorRun(run, report);
      return report;
    },
  );
}

/** A month read and cleaned for scoring. */
export interface MonthData {
  month: string;
  path: string;
  generated: boolean;
  clean: CleanTrips;
}

/**
 * Fetches (or generates), reads and cleans one month with the model's duration filter.
 *
 * @example
 * const { clean } = await readMonth('2024-03', model, { cacheDir: 'data' });
 */
export async function readMonth(month: string, saved: Pick<LoadedModel, 'metadata' | 'features'>, options: MonthSourceOptions = {}, progress: (e: MonitorProgress) => void = () => {}): Promise<MonthData> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const color = monthColor(saved, options);
  let path: string;
  if (options.synthetic) {
    if (!/^\d{4}-\d{2}$/.test(month)) throw new Error(`monitor: with synthetic data, months must be YYYY-MM to generate, got '${month}'`);
    const { syntheticMonth } = await import('./synthetic.js');
    path = (await syntheticMonth(cacheDir, { month: parseMonth(month), rows: options.syntheticRows ?? 100_000, color })).path;
  } else {
    path = await fetchTrips(month, { color, cacheDir, quiet: true, ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}) });
  }
  progress({ month, message: `${month}: reading ${path}` });
  const { minDuration, maxDuration } = durationFilter(saved);
  const clean = await cleanTripGroups(readTripGroups(path, { required: tripColumnsFor(saved.features) }), { minDuration, maxDuration, pickup: false, features: saved.features });
  return { month, path, generated: options.synthetic === true || (await isGeneratedFile(path)), clean };
}

/** The measures of one month against the training profile, and the thresholds it crosses. */
function measureMonth(saved: LoadedModel, training: TrainingProfile, data: MonthData, limits: MonitorThresholds, reference: number | null): MonthReport {
  const { clean } = data;
  // The one prediction path (lib/predict.ts): the same numbers as `predict` and the service, a chunk at a time.
  const predicted = predictTrips(saved, clean.features).duration;
  const rmse = rootMeanSquaredError(clean.duration, predicted);
  const month = buildProfile({ duration: clean.duration, ...clean.features });
  const drift = (train: Histogram, now: Histogram): DriftMeasure => ({
    psi: populationStabilityIndex(train, now),
    wasserstein: wassersteinDistance(train, now),
    mean: histogramMean(now),
    trainingMean: histogramMean(train),
  });
  const report: MonthReport = {
    month: data.month,
    path: data.path,
    generated: data.generated,
    rowsRead: clean.stats.rowsRead,
    rowsKept: clean.length,
    rmse,
    meanPredicted: mean(predicted),
    meanActual: mean(clean.duration),
    unseenShare: unseenShare(training, clean),
    duration: drift(training.duration, month.duration),
    trip_distance: training.trip_distance !== null && month.trip_distance !== null ? drift(training.trip_distance, month.trip_distance) : null,
    flags: [],
  };
  const flag = (over: boolean, text: string) => over && report.flags.push(text);
  const f = (x: number) => Number(x.toPrecision(3));
  if (limits.rmse !== undefined) flag(rmse > limits.rmse, `RMSE ${f(rmse)} > ${limits.rmse} min`);
  if (reference !== null) flag(rmse > limits.rmseRatio * reference, `RMSE ${f(rmse)} > ${limits.rmseRatio} × ${f(reference)} (validation RMSE at training)`);
  flag(report.unseenShare > limits.unseenShare, `unseen zones ${f(100 * report.unseenShare)}% > ${100 * limits.unseenShare}%`);
  flag(report.duration.psi > limits.psi, `duration PSI ${f(report.duration.psi)} > ${limits.psi}`);
  if (report.trip_distance !== null) flag(report.trip_distance.psi > limits.psi, `distance PSI ${f(report.trip_distance.psi)} > ${limits.psi}`);
  if (limits.wassersteinDuration !== undefined) flag(report.duration.wasserstein > limits.wassersteinDuration, `duration Wasserstein ${f(report.duration.wasserstein)} > ${limits.wassersteinDuration} min`);
  if (limits.wassersteinDistance !== undefined && report.trip_distance !== null) {
    flag(report.trip_distance.wasserstein > limits.wassersteinDistance, `distance Wasserstein ${f(report.trip_distance.wasserstein)} > ${limits.wassersteinDistance} mi`);
  }
  return report;
}

/** Share of trips whose pickup zone was never a pickup in training, or drop-off zone never a drop-off. */
function unseenShare(training: TrainingProfile, clean: CleanTrips): number {
  const seen = (counts: Record<string, number>, labels: readonly string[]) => Uint8Array.from(labels, (label) => ((counts[label] ?? 0) > 0 ? 1 : 0));
  const { PULocationID: pu, DOLocationID: dropoff } = clean.features;
  const puSeen = seen(training.zones.PULocationID, pu.labels);
  const doSeen = seen(training.zones.DOLocationID, dropoff.labels);
  let unseen = 0;
  for (let i = 0; i < clean.length; i++) if (puSeen[pu.codes[i]!] === 0 || doSeen[dropoff.codes[i]!] === 0) unseen++;
  return clean.length > 0 ? unseen / clean.length : 0;
}

interface ProfileContext extends MonitorOptions {
  runsDir: string;
  run: ActiveRun | null;
  progress: (e: MonitorProgress) => void;
}

/**
 * The model's training profile: `metadata.profile` when the file has one; otherwise the profile
 * of its training data (the file its run recorded, checked by SHA-256, or `trainingData`, or the
 * month in its metadata for real data), computed once and cached under the store's `.cache/`.
 */
async function trainingProfile(loaded: LoadedModel & { ref: ResolvedModelRef }, context: ProfileContext): Promise<{ profile: TrainingProfile; from: MonitorReport['profileSource'] }> {
  if (loaded.metadata.profile !== undefined) {
    try {
      return { profile: checkProfile(loaded.metadata.profile), from: 'model' };
    } catch (error) {
      throw new Error(`monitor: ${loaded.ref.path}: metadata.profile: ${(error as Error).message}`, { cause: error });
    }
  }
  const { source, path } = await trainingDataOf(loaded, context);
  const digest = await hashFile(path, { cacheFile: join(runsCacheDir(context.runsDir), 'file-hashes.json') });
  const { minDuration, maxDuration } = durationFilter(loaded);
  const cacheFile = join(runsCacheDir(context.runsDir), 'profiles', `${digest.sha256}-${minDuration}-${maxDuration}-v${PROFILE_VERSION}.json`);
  await context.run?.addData({ role: 'training-profile', source, path, generated: await isGeneratedFile(path) });
  if (existsSync(cacheFile)) {
    try {
      return { profile: checkProfile(JSON.parse(await readFile(cacheFile, 'utf8'))), from: 'cache' };
    } catch {
      // A damaged cache entry: compute it again below.
    }
  }
  context.progress({ message: `the model has no training profile: profiling its training data ${path}` });
  const clean = await cleanTripGroups(readTripGroups(path, { required: tripColumnsFor(loaded.features) }), { minDuration, maxDuration, pickup: false, features: loaded.features });
  const profile = buildProfile({ duration: clean.duration, ...clean.features });
  await writeFileAtomic(cacheFile, JSON.stringify(profile) + '\n').catch(() => undefined); // a cache: failing to keep it costs a re-read later
  return { profile, from: 'training data' };
}

/** Which file the model was trained on, for profiling it. */
async function trainingDataOf(loaded: LoadedModel & { ref: ResolvedModelRef }, context: ProfileContext): Promise<{ source: string; path: string }> {
  if (context.trainingData !== undefined) {
    return { source: context.trainingData, path: await fetchTrips(context.trainingData, { color: monthColor(loaded, context), cacheDir: context.cacheDir ?? defaultCacheDir(), quiet: true }) };
  }
  const run: Run | undefined = loaded.ref.run ?? (await findRunOfModel(loaded.ref.path, { runsDir: context.runsDir }));
  const hint = 'pass the training data with --training-data (trainingData)';
  if (run !== undefined) {
    const data = run.data.find((d) => d.role === 'train');
    if (data === undefined || data.path === null || data.sha256 === null) throw new Error(`monitor: run ${run.id} recorded no training file; ${hint}`);
    if (!existsSync(data.path)) throw new Error(`monitor: ${data.path}, the training data of run ${run.id}, is gone; ${hint}`);
    const now = await hashFile(data.path, { cacheFile: join(runsCacheDir(context.runsDir), 'file-hashes.json') });
    if (now.sha256 !== data.sha256) throw new Error(`monitor: ${data.path} changed since run ${run.id} trained on it (SHA-256 differs); ${hint}`);
    return { source: data.source, path: data.path };
  }
  const source = loaded.metadata.training?.sources[0];
  if (loaded.metadata.synthetic === true || source === undefined) {
    throw new Error(`monitor: ${loaded.ref.path} has no training profile and no run in the store says which file it was trained on; ${hint}`);
  }
  return { source, path: await fetchTrips(source, { color: monthColor(loaded, context), cacheDir: context.cacheDir ?? defaultCacheDir(), quiet: true }) };
}

/** Fills the monitor run: metrics, per-month series, the report's JSON and HTML. */
async function recordMonitorRun(run: ActiveRun, report: MonitorReport): Promise<void> {
  const r = run.record;
  report.runId = run.id;
  const series = (name: string, value: (m: MonthReport) => number | null | undefined) => {
    const points = report.months.flatMap((m, step) => {
      const v = value(m);
      return v === null || v === undefined || !Number.isFinite(v) ? [] : [{ step, label: m.month, value: v }];
    });
    if (points.length > 0) r.series[name] = points;
  };
  series('rmse', (m) => m.rmse);
  series('meanPredicted', (m) => m.meanPredicted);
  series('meanActual', (m) => m.meanActual);
  series('unseenShare', (m) => m.unseenShare);
  series('psiDuration', (m) => m.duration.psi);
  series('psiDistance', (m) => m.trip_distance?.psi);
  series('wassersteinDuration', (m) => m.duration.wasserstein);
  series('wassersteinDistance', (m) => m.trip_distance?.wasserstein);
  r.metrics = {
    months: report.months.length,
    flaggedMonths: report.flaggedMonths.length,
    maxRmse: Math.max(...report.months.map((m) => m.rmse)),
    maxPsiDuration: Math.max(...report.months.map((m) => m.duration.psi)),
  };
  r.details = { flagged: report.flagged, flaggedMonths: report.flaggedMonths, profileSource: report.profileSource, model: report.model };
  r.synthetic ||= report.synthetic;
  await run.writeArtifact('report', 'monitor.json', JSON.stringify(report, null, 1) + '\n');
  const plotlySrc = scriptSrc(join(run.dir, 'artifacts'), await plotlyAsset(run.runsDir));
  await run.writeArtifact('reportHtml', 'monitor.html', monitorReportHtml(report, { plotlySrc }));
}

function checkThresholds(t: MonitorThresholds): MonitorThresholds {
  for (const [name, value] of Object.entries(t)) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`monitor: threshold ${name} must be a number ≥ 0, got ${String(value)}`);
  }
  return t;
}

function durationFilter(saved: Pick<LoadedModel, 'metadata'>): { minDuration: number; maxDuration: number } {
  const { minDuration, maxDuration } = saved.metadata;
  return {
    minDuration: typeof minDuration === 'number' ? minDuration : 1,
    maxDuration: typeof maxDuration === 'number' ? maxDuration : 60,
  };
}

function monthColor(saved: Pick<LoadedModel, 'metadata'>, options: MonthSourceOptions): Dataset {
  return options.color ?? recordedDataset(saved.metadata);
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length > 0 ? sum / values.length : NaN;
}
