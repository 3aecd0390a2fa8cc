/**
 * Pass pool: runs the training pipeline's pass jobs (lib/accumulate.ts, lib/score.ts) on worker
 * threads, one row group per job, each worker taking the next job when it is done, so every
 * core works whether a run has one month or forty; or on the calling thread, one job after the
 * other, when there are no workers (`threads: 0`, or the TypeScript sources, which a worker
 * cannot load).
 *
 * Results come back per row group and the caller combines them in file order; the training
 * statistics stay in each worker until {@link PassPool.statistics} merges them (exact sums: the
 * same bits in any order). So one thread and many give the same model and the same scores.
 *
 * Internal to the pipeline (not re-exported).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { accumulateRowGroups, statisticsFor, type AccumulatedGroup } from './accumulate.js';
import { PredictBuffers, type PredictionModel } from './predict.js';
import { ReadBuffers } from './read.js';
import { modelFromData, scoreRowGroups, type ModelData, type ScoredGroup } from './score.js';
import { TripStatistics, type TripStatisticsData } from './statistics.js';
import type { PassJob, PassSpec } from './tripPass.js';

/**
 * `workerData.kind` of the pool's workers, so the worker module does nothing in other workers.
 *
 * @example
 * new Worker(url, { workerData: { kind: POOL_WORKER_KIND } });
 */
export const POOL_WORKER_KIND = 'taxi-duration:pipeline-pass';

/** What the pool asks a worker. */
export type PoolRequest =
  | { type: 'accumulate'; id: number; job: PassJob }
  | { type: 'prefetch'; id: number; job: PassJob }
  | { type: 'model'; id: number; modelId: number; model: ModelData }
  | { type: 'score'; id: number; modelId: number; job: PassJob }
  | { type: 'collect'; id: number };

/** What a worker answers (`rows` any number of times before the answer to a job). */
export type PoolReply =
  | { type: 'rows'; id: number; rows: number }
  | { type: 'accumulated'; id: number; groups: AccumulatedGroup[] }
  | { type: 'ready'; id: number }
  | { type: 'prefetched'; id: number }
  | { type: 'scored'; id: number; groups: ScoredGroup[] }
  | { type: 'statistics'; id: number; data: TripStatisticsData | null }
  | { type: 'error'; id: number; message: string; stack?: string };

const WORKER_URL = new URL('./pipelineWorker.js', import.meta.url);

/**
 * How many worker threads `threads` asks for, on this machine, from this build: 0 (the calling
 * thread) for `false`, 0 or 1 core, or the TypeScript sources (a worker thread cannot load them;
 * tests and tsx run them, with the same numbers); else `threads` ('auto' and `true`: one per core).
 *
 * @throws Error (`pipeline: ...`) for a count that is not a whole number ≥ 0.
 * @example
 * const pool = PassPool.start(workerCount(options.parallel));
 */
export function workerCount(threads: number | boolean | 'auto' = 'auto'): number {
  if (threads === false || threads === 0) return 0;
  // One core: a worker would only take turns with this thread.
  const wanted = threads === true || threads === 'auto' ? (availableParallelism() >= 2 ? availableParallelism() : 0) : threads;
  if (!Number.isInteger(wanted) || wanted < 0) throw new Error(`pipeline: threads must be a whole number ≥ 0, 'auto', true or false, got ${String(threads)}`);
  const built = import.meta.url.endsWith('.js') && existsSync(fileURLToPath(WORKER_URL));
  return built ? wanted : 0;
}

/**
 * What tells score jobs apart: the file and its row groups.
 *
 * @example
 * jobKey({ path: 'a.parquet', rowGroups: [0, 1], spec }); // '0-1 a.parquet'
 */
export function jobKey(job: PassJob): string {
  return `${job.rowGroups[0]}-${job.rowGroups[1]} ${job.path}`;
}

/** Busy seconds per kind of job, summed over the threads (they overlap in wall-clock time). */
export interface PoolSeconds {
  accumulate: number;
  score: number;
}

interface Pending {
  resolve: (reply: PoolReply) => void;
  reject: (error: Error) => void;
  onRows?: (rows: number) => void;
}

/** One worker thread and the request it is answering. */
class WorkerExecutor {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #dead: Error | null = null;

  constructor() {
    this.#worker = new Worker(WORKER_URL, { workerData: { kind: POOL_WORKER_KIND } });
    this.#worker.on('message', (reply: PoolReply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      if (reply.type === 'rows') return pending.onRows?.(reply.rows);
      this.#pending.delete(reply.id);
      if (reply.type === 'error') {
        // The data steps' own message (`read: ...`), unchanged, with the worker's stack for --verbose.
        const error = new Error(reply.message);
        if (reply.stack !== undefined) error.stack = reply.stack;
        pending.reject(error);
      } else pending.resolve(reply);
    });
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`pipeline: a worker thread stopped (exit code ${code}) in the middle of its work`)));
  }

  request(request: PoolRequest, onRows?: (rows: number) => void): Promise<PoolReply> {
    if (this.#dead) return Promise.reject(this.#dead);
    return new Promise((resolve, reject) => {
      this.#pending.set(request.id, { resolve, reject, ...(onRows ? { onRows } : {}) });
      this.#worker.postMessage(request);
    });
  }

  #fail(error: Error): void {
    this.#dead ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  async stop(): Promise<void> {
    this.#dead ??= new Error('pipeline: the worker thread was stopped');
    await this.#worker.terminate();
  }
}

/**
 * Runs pass jobs on worker threads (or this thread) and gathers their statistics (see the module doc).
 *
 * @example
 * const pool = PassPool.start(2);
 * try {
 *   const groups = await Promise.all(jobs.map((job) => pool.accumulate(job)));
 *   const stats = await pool.statistics(spec);
 * } finally {
 *   await pool.close();
 * }
 */
export class PassPool {
  /** Busy seconds of the jobs, summed over threads. */
  readonly seconds: PoolSeconds = { accumulate: 0, score: 0 };
  /** Row groups read ahead ({@link prefetch}) that a score job then took (`used`) or that were read for nothing (`unused`, counted at {@link close}). */
  readonly readAhead = { used: 0, unused: 0 };
  readonly #workers: WorkerExecutor[];
  readonly #idle: WorkerExecutor[];
  readonly #waiting: ((executor: WorkerExecutor) => void)[] = [];
  /** This thread's statistics, when it runs the jobs itself. */
  #stats: TripStatistics | null = null;
  #model: { id: number; data: ModelData; saved: PredictionModel | null } | null = null;
  /** Which workers have the current model. */
  readonly #modelSent = new WeakMap<WorkerExecutor, number>();
  #closed = false;
  /** Score jobs to read ahead, on a worker that would otherwise wait for the model (see {@link prefetch}). */
  #ahead: PassJob[] = [];
  /** Workers holding a job's first row group, read ahead, by the job's key. */
  readonly #holding = new Map<string, WorkerExecutor>();
  #nextId = 1;
  #nextModel = 1;
  /** Row-group buffers of this thread's jobs. */
  readonly #buffers = new ReadBuffers();
  readonly #predictBuffers = new PredictBuffers();
  /** This thread's jobs run one at a time. */
  #inThread: Promise<unknown> = Promise.resolve();

  private constructor(workers: number) {
    this.#workers = Array.from({ length: workers }, () => new WorkerExecutor());
    this.#idle = [...this.#workers];
  }

  /**
   * A pool of `workers` threads (0: this thread runs every job). Start it early: the threads
   * load the library while the caller downloads.
   */
  static start(workers: number): PassPool {
    return new PassPool(workers);
  }

  /** Worker threads (0 when this thread runs the jobs). */
  get threads(): number {
    return this.#workers.length;
  }

  /** Reads, cleans and sums a job's row groups (lib/accumulate.ts); the statistics stay in the pool. */
  async accumulate(job: PassJob, onRows?: (rows: number) => void): Promise<AccumulatedGroup[]> {
    if (this.threads === 0) {
      return this.#onThisThread('accumulate', () => accumulateRowGroups(job, (this.#stats ??= statisticsFor(job.spec)), { buffers: this.#buffers, ...(onRows ? { onRows } : {}) }));
    }
    const reply = await this.#onWorker('accumulate', (worker) => worker.request({ type: 'accumulate', id: this.#nextId++, job }, onRows));
    return (reply as Extract<PoolReply, { type: 'accumulated' }>).groups;
  }

  /**
   * The statistics of every job accumulated so far, merged (and taken out of the pool);
   * empty statistics for `spec`'s columns when there were none.
   */
  async statistics(spec: PassSpec): Promise<TripStatistics> {
    const total = this.#stats ?? statisticsFor(spec);
    this.#stats = null;
    const parts = await Promise.all(this.#workers.map((worker) => worker.request({ type: 'collect', id: this.#nextId++ })));
    for (const reply of parts) {
      const data = (reply as Extract<PoolReply, { type: 'statistics' }>).data;
      if (data !== null) total.merge(TripStatistics.fromData(data));
    }
    return total;
  }

  /**
   * Score jobs to come: a worker left without work before the model is solved (the last round of
   * the training pass, and the solve) reads and cleans the first row group of the next of them
   * and holds it, so the score pass starts with it read. Each worker holds at most one row group
   * (its own buffers: no memory is added). Nothing is read ahead on this thread.
   */
  prefetch(jobs: readonly PassJob[]): void {
    if (this.threads === 0) return;
    this.#ahead.push(...jobs);
    while (this.#ahead.length > 0 && this.#idle.length > 0 && this.#waiting.length === 0) this.#readAhead(this.#idle.pop()!);
  }

  /** Sets the model that {@link score} predicts with (sent to each worker once, before its first score job). */
  setModel(model: ModelData): void {
    this.#model = { id: this.#nextModel++, data: model, saved: null };
  }

  /** Reads, cleans and predicts a job's row groups with the model of {@link setModel} (lib/score.ts). */
  async score(job: PassJob, onRows?: (rows: number) => void): Promise<ScoredGroup[]> {
    const model = this.#model;
    if (model === null) throw new Error('pipeline: score jobs need a model; call setModel first');
    if (this.threads === 0) {
      model.saved ??= modelFromData(model.data);
      return this.#onThisThread('score', () => scoreRowGroups(job, model.saved!, { buffers: this.#buffers, predictBuffers: this.#predictBuffers, ...(onRows ? { onRows } : {}) }));
    }
    const run = async (worker: WorkerExecutor) => {
      if (this.#modelSent.get(worker) !== model.id) {
        await worker.request({ type: 'model', id: this.#nextId++, modelId: model.id, model: model.data });
        this.#modelSent.set(worker, model.id);
      }
      return worker.request({ type: 'score', id: this.#nextId++, modelId: model.id, job }, onRows);
    };
    // The worker that read this job ahead scores it; the others take jobs in turn, and a job taken
    // that was still to be read ahead is no longer (a worker reading it too would only waste a core).
    const key = jobKey(job);
    const holder = this.#holding.get(key);
    if (holder !== undefined) {
      this.#holding.delete(key);
      this.readAhead.used += 1;
    } else this.#ahead = this.#ahead.filter((next) => jobKey(next) !== key);
    const reply = holder !== undefined ? await this.#onHeld('score', holder, run) : await this.#onWorker('score', run);
    return (reply as Extract<PoolReply, { type: 'scored' }>).groups;
  }

  /** Ends the worker threads (jobs still running are abandoned, jobs not started are refused). */
  async close(): Promise<void> {
    this.#closed = true;
    this.readAhead.unused += this.#holding.size;
    this.#holding.clear();
    await Promise.all(this.#workers.map((worker) => worker.stop()));
  }

  /** Runs `work` and counts its time (not the time it waited for its turn) to `kind`. */
  async #timed<T>(kind: keyof PoolSeconds, work: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await work();
    } finally {
      this.seconds[kind] += (performance.now() - t) / 1000;
    }
  }

  #onThisThread<T>(kind: keyof PoolSeconds, work: () => Promise<T>): Promise<T> {
    const run = this.#inThread.then(() => {
      // After a failure the pipeline closes the pool: the jobs queued behind it are not worth reading.
      if (this.#closed) throw new Error('pipeline: the pass was stopped');
      return this.#timed(kind, work);
    });
    this.#inThread = run.catch(() => undefined);
    return run;
  }

  /** Runs `work` on the next idle worker, which becomes idle again when it is done. */
  async #onWorker<T>(kind: keyof PoolSeconds, work: (worker: WorkerExecutor) => Promise<T>): Promise<T> {
    const worker = this.#idle.pop() ?? (await new Promise<WorkerExecutor>((resolve) => this.#waiting.push(resolve)));
    return this.#onHeld(kind, worker, work);
  }

  /** Runs `work` on a worker already taken, and hands the worker on when it is done. */
  async #onHeld<T>(kind: keyof PoolSeconds, worker: WorkerExecutor, work: (worker: WorkerExecutor) => Promise<T>): Promise<T> {
    try {
      return await this.#timed(kind, () => work(worker));
    } finally {
      this.#release(worker);
    }
  }

  /** A worker is free: the next job waiting gets it, else a score job to read ahead, else it waits. */
  #release(worker: WorkerExecutor): void {
    const next = this.#waiting.shift();
    if (next) next(worker);
    else if (this.#ahead.length > 0 && !this.#closed) this.#readAhead(worker);
    else this.#idle.push(worker);
  }

  /** Has `worker` read the next score job's first row group and hold it until the job comes. */
  #readAhead(worker: WorkerExecutor): void {
    const job = this.#ahead.shift()!;
    const key = jobKey(job);
    this.#holding.set(key, worker);
    worker.request({ type: 'prefetch', id: this.#nextId++, job }).catch(() => {
      // A file that cannot be read fails when its job is scored, with its own message: let the worker go.
      if (this.#holding.get(key) === worker) {
        this.#holding.delete(key);
        this.#release(worker);
      }
    });
  }
}
