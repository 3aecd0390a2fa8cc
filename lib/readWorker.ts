/**
 * The decode worker: a thread that decodes column chunks for readPool.ts.
 *
 * Internal (not re-exported). Each message is one column chunk of one row group; the worker
 * opens the file, decodes the chunk with readRowGroup.ts's `decodeChunk` (fast path, hyparquet
 * behind it) straight into the caller's SharedArrayBuffer-backed columns, and answers with the
 * task's id, or its `read:` message. Nothing but the id and a message crosses back: the values
 * are already where the caller reads them.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { openParquet } from './parquetFile.js';
import type { PageDecompressor } from './parquetPages.js';
import { TASK_KIND, type ChunkResult, type ChunkTask } from './readPool.js';
import { decodeChunk, pageDecompressor } from './readRowGroup.js';

const decompressors = new Map<string, Promise<PageDecompressor>>();

async function run(task: ChunkTask): Promise<void> {
  const codec = task.job.chunks[task.planIndex]!.codec;
  let decompress = decompressors.get(codec);
  if (!decompress) {
    decompress = pageDecompressor(new Set([codec]));
    decompressors.set(codec, decompress);
  }
  const file = await openParquet(task.path);
  try {
    const context = { file, plans: task.plans, absent: [], decompress: await decompress, decoder: task.decoder };
    await decodeChunk(context, task.planIndex, task.job, task.buffers, task.offset);
  } finally {
    await file.handle.close();
  }
}

// Only in a thread the pool started: other workers that load the library (the pipeline's) must
// not listen on their port, which would keep them alive.
if (!isMainThread && parentPort && (workerData as { kind?: string } | null)?.kind === TASK_KIND) {
  const port = parentPort;
  port.on('message', (message: { kind?: string; task?: ChunkTask }) => {
    if (message.kind !== TASK_KIND || !message.task) return;
    const task = message.task;
    run(task).then(
      () => port.postMessage({ id: task.id } satisfies ChunkResult),
      (error: unknown) => port.postMessage({ id: task.id, error: (error as Error).message ?? String(error) } satisfies ChunkResult),
    );
  });
}
