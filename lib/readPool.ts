/**
 * Read pool: worker threads that decode column chunks in parallel, shared by every read in the process.
 *
 * Internal (not re-exported): read.ts uses it when asked for `threads`. A row group's five
 * chunks are five tasks, so even a month of three row groups spreads evenly over two
 * threads. The workers write into SharedArrayBuffer-backed columns the caller allocated, so
 * no value is copied between threads. Idle workers do not keep the process alive; a busy one
 * does until its task ends.
 *
 * Workers load the built JavaScript (lib/dist/readWorker.js): a worker thread cannot load the
 * TypeScript sources that tsx and vitest run, so from the sources {@link workersAvailable} is
 * false and read.ts decodes on its own thread (the same code, the same numbers).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ColumnPlan, Decoder, RowGroupJob, TripBuffers } from './readRowGroup.js';

const WORKER_URL = new URL('./readWorker.js', import.meta.url);

/** Marks the pool's workers and their messages (`workerData.kind`). */
export const TASK_KIND = 'taxi-duration:decode-chunk';

/** One chunk to decode, as posted to a worker. */
export interface ChunkTask {
  readonly id: number;
  readonly path: string;
  readonly plans: readonly ColumnPlan[];
  readonly planIndex: number;
  readonly job: RowGroupJob;
  /** Columns on SharedArrayBuffers: the worker writes the decoded values into them. */
  readonly buffers: TripBuffers;
  readonly offset: number;
  readonly decoder: Decoder;
}

/** A worker's answer: done, or the error's message. */
export type ChunkResult = { readonly id: number; readonly error?: undefined } | { readonly id: number; readonly error: string };

/**
 * Whether decode workers can run here: this module is the built JavaScript and the worker
 * file sits beside it.
 */
export function workersAvailable(): boolean {
  return import.meta.url.endsWith('.js') && existsSync(fileURLToPath(WORKER_URL));
}

/**
 * How many decode threads `threads` asks for: a number as given (at least 1), 'auto' one per
 * core. 1 means "decode on the calling thread".
 */
export function threadCount(threads: number | 'auto' | undefined): number {
  if (threads === undefined) return 1;
  if (threads === 'auto') return Math.max(1, availableParallelism());
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`read: threads must be a positive integer or 'auto', got ${String(threads)}`);
  return threads;
}

interface Slot {
  readonly worker: Worker;
  task?: { id: number; resolve: () => void; reject: (error: Error) => void };
}

interface Queued {
  readonly task: Omit<ChunkTask, 'id'>;
  readonly owner: object;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

const slots: Slot[] = [];
const queue: Queued[] = [];
let size = 0;
let nextId = 1;

/**
 * Decodes one chunk on a worker thread, starting up to `threads` workers in all (the pool only
 * grows); resolves when the values are in the task's buffers. `owner` marks the read the task
 * belongs to, for {@link cancelQueued}.
 *
 * @throws Error with the worker's `read:` message, or `read: a decode worker stopped …`.
 */
export function decodeOnWorker(task: Omit<ChunkTask, 'id'>, threads: number, owner: object): Promise<void> {
  size = Math.max(size, threads);
  return new Promise<void>((resolve, reject) => {
    queue.push({ task, owner, resolve, reject });
    dispatch();
  });
}

/**
 * Drops the queued (not yet started) tasks of a read that ended early (an error, or a caller
 * that stopped iterating); their promises reject. Tasks already on a worker finish harmlessly
 * into buffers nobody reads.
 */
export function cancelQueued(owner: object): void {
  for (let i = queue.length - 1; i >= 0; i--) {
    if (queue[i]!.owner !== owner) continue;
    const [dropped] = queue.splice(i, 1);
    dropped!.reject(new Error('read: cancelled'));
  }
}

function dispatch(): void {
  while (queue.length > 0) {
    let slot = slots.find((s) => s.task === undefined);
    if (!slot && slots.length < size) slot = spawn();
    if (!slot) return;
    const { task, resolve, reject } = queue.shift()!;
    const id = nextId++;
    slot.task = { id, resolve, reject };
    slot.worker.ref(); // a task in flight keeps the process alive until it ends
    slot.worker.postMessage({ kind: TASK_KIND, task: { ...task, id } });
  }
}

function spawn(): Slot {
  // Not the parent's execArgv: options such as --input-type=module (a script run with -e) stop
  // a worker file from loading at all.
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--input-type') && arg !== '-e' && arg !== '--eval');
  const worker = new Worker(WORKER_URL, { workerData: { kind: TASK_KIND }, execArgv });
  const slot: Slot = { worker };
  worker.unref();
  worker.on('message', (result: ChunkResult) => {
    const current = slot.task;
    if (!current || current.id !== result.id) return;
    slot.task = undefined;
    worker.unref();
    if (result.error === undefined) current.resolve();
    else current.reject(new Error(result.error));
    dispatch();
  });
  const fail = (error: Error): void => {
    slots.splice(slots.indexOf(slot), 1);
    const current = slot.task;
    slot.task = undefined;
    current?.reject(new Error(`read: a decode worker stopped (${error.message}); try again, or read with threads: 1`));
    dispatch();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (slots.includes(slot)) fail(new Error(`exit code ${code}`));
  });
  slots.push(slot);
  return slot;
}
