/**
 * The pipeline's worker thread: receives pass jobs from lib/passPool.ts and posts their results.
 *
 * Internal to the pipeline (not re-exported). It holds nothing of its own but what the jobs need
 * between messages: the training statistics it has summed so far (sent back and dropped when
 * asked, `collect`), and the model it scores with (sent once, rebuilt once). The work itself is
 * lib/accumulate.ts's and lib/score.ts's, the same functions the calling thread runs when there
 * is no worker, so both give the same numbers.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

import { accumulateRowGroups, statisticsFor } from './accumulate.js';
import { PredictBuffers, type PredictionModel } from './predict.js';
import { ReadBuffers } from './read.js';
import { modelFromData, scoreRowGroups } from './score.js';
import type { TripStatistics } from './statistics.js';
import { jobKey, POOL_WORKER_KIND, type PoolReply, type PoolRequest } from './passPool.js';
import { cleanRowGroups, type PassGroup } from './tripPass.js';

const port = parentPort;
let stats: TripStatistics | null = null;
/** One set of row-group buffers for every job of this thread (jobs run one at a time). */
const buffers = new ReadBuffers();
const predictBuffers = new PredictBuffers();
let model: { id: number; saved: PredictionModel } | null = null;
/** A score job's first row group, read ahead while this thread waited for the model (`prefetch`). */
let held: { key: string; groups: AsyncGenerator<PassGroup, void, undefined>; first: IteratorResult<PassGroup, void>; report: { onRows: (rows: number) => void } } | null = null;

async function handle(request: PoolRequest): Promise<void> {
  const post = (reply: PoolReply, transfer: ArrayBuffer[] = []) => port!.postMessage(reply, transfer);
  const { id } = request;
  try {
    switch (request.type) {
      case 'accumulate': {
        stats ??= statisticsFor(request.job.spec);
        const groups = await accumulateRowGroups(request.job, stats, { buffers, onRows: (rows) => post({ type: 'rows', id, rows }) });
        post({ type: 'accumulated', id, groups });
        break;
      }
      case 'model':
        model = { id: request.modelId, saved: modelFromData(request.model) };
        post({ type: 'ready', id });
        break;
      case 'prefetch': {
        await held?.groups.return(undefined);
        held = null;
        // The rows read are reported to the score job that takes the group, when it does.
        const report = { onRows: (_rows: number): void => {} };
        const groups = cleanRowGroups(request.job, { buffers, onRows: (rows) => report.onRows(rows) });
        held = { key: jobKey(request.job), groups, first: await groups.next(), report };
        post({ type: 'prefetched', id });
        break;
      }
      case 'score': {
        if (model?.id !== request.modelId) throw new Error(`pipeline: the worker was not sent model ${request.modelId}`);
        const onRows = (rows: number) => post({ type: 'rows', id, rows });
        const ahead = held !== null && held.key === jobKey(request.job) ? held : null;
        if (held !== null && ahead === null) await held.groups.return(undefined);
        held = null;
        const groups = ahead === null ? undefined : readAhead(ahead, onRows);
        const scored = await scoreRowGroups(request.job, model.saved, { buffers, predictBuffers, onRows, ...(groups ? { groups } : {}) });
        post({ type: 'scored', id, groups: scored });
        break;
      }
      case 'collect': {
        const data = stats?.toData() ?? null;
        stats = null;
        // The sums' buffers are this call's own copies: move them instead of copying them again.
        const transfer = data === null ? [] : [data.sums.keys.buffer, data.sums.counts.buffer, data.sums.sums.buffer, data.sums.products.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
        post({ type: 'statistics', id, data }, transfer);
        break;
      }
    }
  } catch (error) {
    const e = error as Error;
    post({ type: 'error', id, message: e.message ?? String(error), ...(e.stack ? { stack: e.stack } : {}) });
  }
}

/** The groups of a job whose first group was read ahead: that one, then the rest as they are read. */
async function* readAhead(ahead: NonNullable<typeof held>, onRows: (rows: number) => void): AsyncGenerator<PassGroup, void, undefined> {
  if (ahead.first.done) return;
  onRows(ahead.first.value.counts.rowsRead);
  ahead.report.onRows = onRows;
  yield ahead.first.value;
  yield* ahead.groups;
}

if (!isMainThread && port !== null && (workerData as { kind?: string } | null)?.kind === POOL_WORKER_KIND) {
  // One request at a time, in the order sent: the pool sends a worker its next job only when the last is done.
  // Except `collect`: the pool asks for the sums once every accumulate job has been answered, when
  // this thread may already be reading ahead for the score pass; the sums are not the read-ahead's
  // business, so they go back at once instead of after a row group's read (the model waits for them).
  let queue = Promise.resolve();
  port.on('message', (request: PoolRequest) => {
    if (request.type === 'collect') void handle(request);
    else queue = queue.then(() => handle(request));
  });
}
