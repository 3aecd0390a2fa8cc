/**
 * The validation month's share of {@link train}, run in a worker thread beside the training month.
 *
 * Internal to the pipeline (not re-exported). On a machine with two cores, `train()` reads and
 * cleans the validation month here while the main thread reads, cleans, vectorizes and fits the
 * training month; once the model is fitted, this thread scores the validation month while the
 * main thread scores the training month and draws the plot. The typed arrays never cross the
 * thread boundary: only the model (about 530 numbers) goes in and the counts and RMSE come out.
 *
 * The same functions run in-thread when no worker is used (tests run the TypeScript sources,
 * which a worker thread cannot load without a build), so both paths compute identical numbers.
 */
import { once } from 'node:events';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

import { cleanTripGroups, type CleanOptions, type CleanStats, type CleanTrips } from './clean.js';
import { rootMeanSquaredError } from './metrics.js';
import { readTripGroups, type TripGroup } from './read.js';
import { LinearRegression, type LinearRegressionParameters } from './regression.js';
import { DictVectorizer } from './vectorize.js';

/** Rows vectorized and predicted at a time when scoring: about 10 MB of CSR, reused by the allocator. */
export const SCORE_CHUNK_ROWS = 262_144;

/**
 * Predictions for every row of a cleaned month, vectorizing a chunk of rows at a time.
 *
 * Predictions are row by row, so chunking gives exactly the numbers of one big matrix while
 * holding about 10 MB of CSR instead of 120 MB for a full month. `time` (optional) is told how
 * long vectorizing and predicting took, for the pipeline's stage seconds.
 */
export function predictInChunks(
  vectorizer: DictVectorizer,
  model: LinearRegression,
  clean: CleanTrips,
  time?: (stage: 'vectorize' | 'evaluate', seconds: number) => void,
): Float64Array {
  const rows = clean.length;
  const predicted = new Float64Array(rows);
  const into = chunkBuffers(clean);
  for (let start = 0; start < rows; start += SCORE_CHUNK_ROWS) {
    const end = Math.min(rows, start + SCORE_CHUNK_ROWS);
    const t0 = performance.now();
    const X = vectorizer.transform(clean.features, { start, end, into });
    const t1 = performance.now();
    predicted.set(model.predict(X), start);
    time?.('vectorize', (t1 - t0) / 1000);
    time?.('evaluate', (performance.now() - t1) / 1000);
  }
  return predicted;
}

/** A month read and cleaned, with the file's timestamp column names (null for a file without row groups). */
export interface PreparedMonth {
  clean: CleanTrips;
  /** `tpep_*` (yellow) or `lpep_*` (green): which taxis the file holds, whatever its name says. */
  timestampColumns: readonly [string, string] | null;
}

/**
 * Reads and cleans a month row group by row group (readTripGroups + cleanTripGroups), telling
 * `time` how the seconds split between reading and cleaning, and `onProgress` the rows read.
 */
export async function readAndClean(
  path: string,
  options: CleanOptions,
  time: (stage: 'read' | 'clean', seconds: number) => void,
  onProgress?: (rowsDone: number, rowsTotal: number) => void,
): Promise<PreparedMonth> {
  let reading = 0;
  let timestampColumns: readonly [string, string] | null = null;
  async function* timedGroups(): AsyncGenerator<TripGroup, void, undefined> {
    const groups = readTripGroups(path, onProgress ? { onProgress } : {});
    for (;;) {
      const t = performance.now();
      const next = await groups.next();
      reading += performance.now() - t;
      if (next.done) return;
      timestampColumns ??= next.value.timestampColumns;
      yield next.value;
    }
  }
  const t = performance.now();
  const clean = await cleanTripGroups(timedGroups(), options);
  time('read', reading / 1000);
  time('clean', (performance.now() - t - reading) / 1000);
  return { clean, timestampColumns };
}

/**
 * Arrays for one chunk's CSR matrix (at most one entry per feature column per row), reused
 * from chunk to chunk: each chunk is consumed before the next is vectorized.
 */
export function chunkBuffers(clean: CleanTrips): { indptr: Int32Array; indices: Int32Array; data: Float64Array } {
  const rows = Math.min(clean.length, SCORE_CHUNK_ROWS);
  const entries = rows * Object.keys(clean.features).length;
  return { indptr: new Int32Array(rows + 1), indices: new Int32Array(entries), data: new Float64Array(entries) };
}

/** What the worker is asked to do (its `workerData`). */
export interface MonthJob {
  /** Marks a worker started by the pipeline, so this module does nothing in other workers. */
  kind: typeof JOB_KIND;
  path: string;
  minDuration: number;
  maxDuration: number;
}

/** The fitted model, sent to the worker once training is done. */
export interface ModelMessage {
  type: 'model';
  featureNames: string[];
  parameters: LinearRegressionParameters;
}

/** Messages from the worker, in the order they are sent. */
export type WorkerMessage =
  | { type: 'progress'; rowsDone: number; rowsTotal: number }
  | { type: 'cleaned'; stats: CleanStats; timestampColumns: readonly [string, string] | null; seconds: { read: number; clean: number } }
  | { type: 'scored'; rmse: number; seconds: { vectorize: number; evaluate: number } }
  | { type: 'error'; message: string; stack?: string };

/** `workerData.kind` of the pipeline's worker. */
export const JOB_KIND = 'taxi-duration:validation-month';

async function runJob(job: MonthJob): Promise<void> {
  const port = parentPort!;
  const post = (message: WorkerMessage) => port.postMessage(message);
  try {
    const prepared = { read: 0, clean: 0 };
    const { clean, timestampColumns } = await readAndClean(
      job.path,
      { minDuration: job.minDuration, maxDuration: job.maxDuration, pickup: false },
      (stage, s) => (prepared[stage] += s),
      (rowsDone, rowsTotal) => post({ type: 'progress', rowsDone, rowsTotal }),
    );
    post({ type: 'cleaned', stats: clean.stats, timestampColumns, seconds: prepared });
    if (clean.length === 0) return; // the main thread reports it

    const [message] = (await once(port, 'message')) as [ModelMessage | { type: 'stop' }];
    if (message.type !== 'model') return;
    const vectorizer = DictVectorizer.fromFeatureNames(message.featureNames);
    const model = LinearRegression.fromParameters(message.parameters);
    const seconds = { vectorize: 0, evaluate: 0 };
    const predicted = predictInChunks(vectorizer, model, clean, (stage, s) => (seconds[stage] += s));
    const t = performance.now();
    const rmse = rootMeanSquaredError(clean.duration, predicted);
    seconds.evaluate += (performance.now() - t) / 1000;
    post({ type: 'scored', rmse, seconds });
  } catch (error) {
    const e = error as Error;
    post({ type: 'error', message: e.message ?? String(error), ...(e.stack ? { stack: e.stack } : {}) });
  }
}

if (!isMainThread && (workerData as Partial<MonthJob> | null)?.kind === JOB_KIND) {
  void runJob(workerData as MonthJob);
}
