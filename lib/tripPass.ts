/**
 * Trip pass: one streamed pass over some row groups of a trip file, read and cleaned a group at
 * a time; what the training pipeline's two passes (accumulate.ts: sums for the model; score.ts:
 * the model's errors) have in common.
 *
 * A pass is described by plain data ({@link PassJob}), so the same job runs on a worker thread
 * (pipelineWorker.ts) or on the calling thread, with the same numbers. Its results are per row
 * group ({@link GroupCounts} and what the pass adds): the pipeline adds them up in file and row
 * group order, whichever thread did which group, so one thread and many give the same bits.
 */
import { GroupCleaner, tripColumnsFor, type CleanGroup } from './clean.js';
import type { FeatureSet } from './features.js';
import type { PredictBuffers } from './predict.js';
import { readTripGroups, type ReadBuffers } from './read.js';

/** How trips are cleaned and which features they are for, as plain data. */
export interface PassSpec {
  /** Shortest and longest trip kept, minutes (inclusive). */
  minDuration: number;
  maxDuration: number;
  /** The feature set: a row is dropped for a null only in a column it needs. */
  features: FeatureSet;
}

/** One pass's share of a file: row groups `rowGroups[0]` to `rowGroups[1] − 1`. */
export interface PassJob {
  /** The parquet file. */
  path: string;
  /** Row groups to read, `[start, end)`. */
  rowGroups: [number, number];
  spec: PassSpec;
}

/** What cleaning one row group kept and dropped. */
export interface GroupCounts {
  /** The row group's index in its file. */
  rowGroup: number;
  rowsRead: number;
  rowsWithNulls: number;
  rowsKept: number;
  /** Sum and count of the finite durations before filtering (for the mean duration). */
  durationSum: number;
  durationCount: number;
}

/** Options of a pass's functions. */
export interface PassOptions {
  /** Told the rows read after each row group. */
  onRows?: (rows: number) => void;
  /** Row-group buffers to reuse from pass to pass on one thread (see `ReadTripsOptions.buffers`). */
  buffers?: ReadBuffers;
  /** Sparse-row buffers for predicting, reused likewise (score passes). */
  predictBuffers?: PredictBuffers;
  /** The job's groups, read and cleaned already (read ahead); default: {@link cleanRowGroups} reads them. */
  groups?: AsyncIterable<PassGroup>;
}

/** One cleaned row group of a pass, and whether its file records distances. */
export interface PassGroup {
  counts: GroupCounts;
  clean: CleanGroup;
  /** False for files without a distance column (FHV): `clean.features.trip_distance` is then NaN. */
  hasDistance: boolean;
}

/**
 * The job's row groups, read (only the columns its features need) and cleaned in place, one at
 * a time; `onRows` is told the rows read after each group. The columns are the reader's buffers,
 * reused for the next group: use each group before asking for the next.
 *
 * @throws Error (`read: ...`) for a file that cannot be read; `clean: ...` for bad bounds.
 * @example
 * for await (const { clean } of cleanRowGroups(job, { buffers })) stats.add(clean.features, clean.duration);
 */
export async function* cleanRowGroups(job: PassJob, options: PassOptions = {}): AsyncGenerator<PassGroup, void, undefined> {
  const { path, rowGroups, spec } = job;
  const cleaner = new GroupCleaner({ minDuration: spec.minDuration, maxDuration: spec.maxDuration, features: spec.features });
  let group = rowGroups[0];
  const read = { rowGroups, required: tripColumnsFor(spec.features), ...(options.buffers ? { buffers: options.buffers } : {}) };
  for await (const trips of readTripGroups(path, read)) {
    const hasDistance = !(trips.absent ?? []).includes('trip_distance');
    const clean = cleaner.cleanInPlace(trips);
    options.onRows?.(trips.length);
    const counts: GroupCounts = {
      rowGroup: group++,
      rowsRead: clean.rowsRead,
      rowsWithNulls: clean.rowsWithNulls,
      rowsKept: clean.rowsKept,
      durationSum: clean.durationSum,
      durationCount: clean.durationCount,
    };
    yield { counts, clean, hasDistance };
  }
}

/**
 * Adds up per-group counts in the order given (file order, row group order): the same numbers
 * bit for bit whatever thread counted which group.
 *
 * @example
 * const { rowsKept, durationMean } = totalCounts(groups);
 */
export function totalCounts(groups: readonly GroupCounts[]): { rowsRead: number; rowsWithNulls: number; rowsKept: number; durationMean: number } {
  let rowsRead = 0;
  let rowsWithNulls = 0;
  let rowsKept = 0;
  let sum = 0;
  let count = 0;
  for (const g of groups) {
    rowsRead += g.rowsRead;
    rowsWithNulls += g.rowsWithNulls;
    rowsKept += g.rowsKept;
    sum += g.durationSum;
    count += g.durationCount;
  }
  return { rowsRead, rowsWithNulls, rowsKept, durationMean: count > 0 ? sum / count : NaN };
}
