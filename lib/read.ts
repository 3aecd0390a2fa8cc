/**
 * Read: the five trip columns the course needs from a TLC trip parquet file, into typed arrays.
 *
 * TLC files hold about 20 columns and 3 million rows a month (20 million for high-volume
 * FHV); the model needs the pickup and dropoff times, the pickup and dropoff zones and the
 * trip distance. This module recognises the file's layout (yellow `tpep_*`, green `lpep_*`,
 * FHV, high-volume FHV; datasets.ts knows their history), reads only the needed column chunks,
 * row group by row group, and decodes them straight into typed arrays:
 * - parquetFile.ts opens the file and checks its footer before anything is allocated;
 * - parquetPages.ts is the fast path (page headers, levels, dictionaries, PLAIN, delta and
 *   byte-stream-split values, no BigInt or Date per value);
 * - readFallback.ts decodes what the fast path does not know with hyparquet's public API;
 * - readPool.ts / readWorker.ts decode chunks on worker threads when asked (`threads`).
 *
 * Timestamps come back as float64 microseconds since the epoch (wall-clock time, as TLC's
 * files store it; files with UTC-adjusted timestamps give the UTC instant). A float64 holds
 * every integer up to 2^53, so microseconds are exact for any date within ±285 years of
 * 1970; nanosecond files are floored to microseconds exactly.
 */
import type { FileMetaData, SchemaElement, SchemaTree } from 'hyparquet';
// The public parquetSchema, from its own module (see parquetFile.ts on start-up time).
import { parquetSchema } from 'hyparquet/src/metadata.js';
import { tripLayoutOf, DATASET_TITLES, type Dataset, type TripColumnNames } from './datasets.js';
import { openParquet, readFooter } from './parquetFile.js';
import type { ValueKind } from './parquetPages.js';
import { cancelQueued, decodeOnWorker, threadCount, workersAvailable } from './readPool.js';
import {
  MISSING,
  allocateBuffers,
  decodeChunk,
  fillAbsent,
  pageDecompressor,
  type ColumnPlan,
  type Decoder,
  type RowGroupContext,
  type RowGroupJob,
  type TripBuffers,
  type TripColumn,
} from './readRowGroup.js';

export { MISSING, type TripColumn };

/**
 * The trip columns, in the order of {@link MISSING}'s bits.
 *
 * @example
 * TRIP_COLUMNS.length; // 5
 */
export const TRIP_COLUMNS: readonly TripColumn[] = Object.freeze(['pickup', 'dropoff', 'PULocationID', 'DOLocationID', 'trip_distance'] as const);

/**
 * Trips as read from one file: five typed columns of equal length plus where values are missing.
 *
 * A missing float value is NaN; a missing location ID is -1 (never a TLC zone).
 * `missing[i]` is 0 when row `i` has all five values, else the OR of the
 * {@link MISSING} bits of the absent ones. A column the file does not have at all (FHV files
 * record no distance) is listed in `absent` and filled with NaN, its bit never set: a cleaner
 * that does not use it keeps every row.
 */
export interface Trips {
  /** The file the trips were read from. */
  readonly source: string;
  /** Number of rows. */
  readonly length: number;
  /** Pickup time, microseconds since 1970-01-01T00:00 wall-clock (no time zone); NaN if missing. */
  readonly pickup: Float64Array;
  /** Dropoff time, microseconds since 1970-01-01T00:00 wall-clock; NaN if missing. */
  readonly dropoff: Float64Array;
  /** TLC taxi zone of the pickup (1..265); -1 if missing. */
  readonly PULocationID: Int32Array;
  /** TLC taxi zone of the dropoff (1..265); -1 if missing. */
  readonly DOLocationID: Int32Array;
  /** Trip distance in miles, as the meter reported it (outliers included); NaN if missing or absent. */
  readonly trip_distance: Float64Array;
  /** Per row, the OR of the {@link MISSING} bits of missing values (0 = complete row). */
  readonly missing: Uint8Array;
  /** Missing values per column (0 for an absent column: see `absent`). */
  readonly nullCounts: Readonly<Record<TripColumn, number>>;
  /** The file's column names of pickup and dropoff (`tpep_*` for yellow, `lpep_*` for green, `pickup_datetime` …). */
  readonly timestampColumns: readonly [string, string];
  /** Number of row groups read. */
  readonly rowGroups: number;
  /**
   * Which TLC dataset's layout the file has: 'yellow', 'green', 'fhv' or 'fhvhv'. Always set
   * by readTrips and readTripGroups; optional so trips built by hand (tests) need not say.
   */
  readonly dataset?: Dataset;
  /** The file's name for each trip column (FHV: `PUlocationID`, high-volume FHV: `trip_miles`), null when absent. Set as `dataset`. */
  readonly columns?: TripColumnNames;
  /**
   * Trip columns the file does not have (FHV: `['trip_distance']`); their values are NaN and
   * never marked missing. Set as `dataset` (an empty list when the file has all five);
   * undefined means none is absent.
   */
  readonly absent?: readonly TripColumn[];
}

/** Options of {@link readTrips} and {@link readTripGroups}. */
export interface ReadTripsOptions {
  /** Read at most this many rows (whole row groups are decoded, then cut). Default: all rows. */
  limit?: number;
  /**
   * Called once before decoding (`rowsDone` 0) and after each row group with the rows
   * decoded so far and the rows that will be read in all (`limit` or the file's count),
   * so a caller can draw a progress bar. A TLC month has about three row groups.
   */
  onProgress?: (rowsDone: number, rowsTotal: number) => void;
  /**
   * Trip columns the caller cannot do without. A file lacking one is refused with the
   * reason; a file lacking another (FHV's distance) reads with it in `absent`. Default: all
   * five, so a caller that uses the distance never gets a file without it.
   */
  required?: readonly TripColumn[];
  /**
   * Decode on this many worker threads ('auto': one per core); default 1, the calling
   * thread. Workers run only from the built library (lib/dist); from the TypeScript sources
   * (tsx, vitest) decoding stays on the calling thread. The numbers are the same either way.
   */
  threads?: number | 'auto';
  /**
   * Read only the row groups `start` to `end − 1` (file order, from 0); `limit` then counts from
   * the first of them. For splitting one file across threads that each read their own row groups
   * (lib/pipeline.ts does). Default: every row group.
   */
  rowGroups?: readonly [start: number, end: number];
  /**
   * Row-group buffers {@link readTripGroups} takes from and gives back to, so consecutive reads
   * (one row group each, say) reuse one set instead of allocating their own: give the same
   * {@link ReadBuffers} to reads that never run at the same time. Default: each read allocates.
   */
  buffers?: ReadBuffers;
  /**
   * 'hyparquet' decodes every chunk with hyparquet's public API instead of the fast path:
   * slower, for checking the fast path against an independent decoder. Default 'auto'.
   */
  decoder?: Decoder;
}

/**
 * Reads the pickup, dropoff, PULocationID, DOLocationID and trip distance columns of a TLC trip file.
 *
 * Handles what TLC files contain: the yellow (`tpep_*`), green (`lpep_*`), FHV
 * (`pickup_datetime`, `dropOff_datetime`, `PUlocationID`, no distance) and high-volume FHV
 * (`trip_miles`) layouts, column names in any case, nullable or required columns, ZSTD,
 * SNAPPY, GZIP, Brotli, LZ4 or no compression, one or many row groups, int32, int64 or
 * floating-point location IDs, milli-, micro- or nanosecond and INT96 timestamps, data
 * pages v1 and v2, plain, dictionary, delta and byte-stream-split encodings (anything the
 * fast path does not know goes through hyparquet). Other columns are never read.
 *
 * The layout, types and footer are checked before any data is decoded.
 *
 * @throws Error (`read: <file>: ...`) when the file is empty, not parquet, truncated, has a
 *   footer claiming impossible row counts, records coordinates instead of zones (yellow
 *   2009–2010), lacks a needed column, stores one with an unusable type, or holds a zone
 *   ID outside the int32 range; each message says what to do.
 * @example
 * const trips = await readTrips('data/yellow_tripdata_2024-01.parquet');
 * trips.length;           // 2964624
 * trips.pickup[0];        // 1704068404000000 (µs: 2024-01-01T00:57:55)
 * const fhv = await readTrips('data/fhv_tripdata_2024-01.parquet', { required: ['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] });
 * fhv.absent;             // ['trip_distance']
 */
export async function readTrips(path: string, options: ReadTripsOptions = {}): Promise<Trips> {
  const reader = await TripFileReader.open(path, options);
  try {
    const { limit, jobs, firstRow } = reader;
    const rows = jobs.reduce((n, job) => n + job.rows, 0);
    const threads = reader.threads;
    const buffers = reader.allocate(rows, threads > 1);
    options.onProgress?.(0, limit);
    const groups = threads > 1 ? jobs.map((job) => reader.decodeOnWorkers(job, buffers, job.rowStart - firstRow, threads)) : [];
    groups.forEach((p) => p.catch(() => {})); // awaited in order below
    for (const [g, job] of jobs.entries()) {
      if (threads > 1) await groups[g];
      else await reader.decode(job, buffers, job.rowStart - firstRow);
      options.onProgress?.(Math.min(job.rowStart - firstRow + job.rows, limit), limit);
    }
    const n = limit;
    const cut = <T extends Float64Array | Int32Array | Uint8Array>(a: T): T => (n === a.length ? a : (a.slice(0, n) as T));
    const missing = cut(buffers.missing);
    return {
      ...reader.describe(),
      length: n,
      pickup: cut(buffers.pickup),
      dropoff: cut(buffers.dropoff),
      PULocationID: cut(buffers.PULocationID),
      DOLocationID: cut(buffers.DOLocationID),
      trip_distance: cut(buffers.trip_distance),
      missing,
      nullCounts: countNulls(missing),
      rowGroups: jobs.length,
    };
  } finally {
    await reader.close();
  }
}

/** One row group's trips, as {@link readTripGroups} yields them. */
export interface TripGroup extends Trips {
  /** Index in the file of this group's first row. */
  readonly rowStart: number;
  /** Rows that will be read from the file in all (`limit` or the file's row count). */
  readonly totalRows: number;
}

/**
 * Reads the same columns as {@link readTrips}, one row group at a time, for callers that
 * reduce or filter as they go and never need the whole file's raw columns at once.
 *
 * Each yielded group is a {@link Trips} of that group's rows (`rowGroups` 1, `nullCounts`
 * of the group) plus its `rowStart` and the `totalRows` to expect. The columns are views
 * into buffers that are reused for a later group, so a TLC month needs about 35 MB
 * instead of 100 MB: copy out what you keep before asking for the next group.
 * Concatenating the groups gives exactly what readTrips returns.
 *
 * With `threads` > 1 the next group is decoded on worker threads (its chunks spread over
 * them) while the caller works on the current one: two groups' buffers in all.
 *
 * @throws Error (`read: <file>: ...`) as {@link readTrips}, from the first `next()`
 *   for a bad file and from the group where a corrupt page is found.
 * @example
 * let kept = 0;
 * for await (const group of readTripGroups('data/yellow_tripdata_2024-01.parquet', { threads: 2 })) {
 *   for (let i = 0; i < group.length; i++) if (group.missing[i] === 0) kept++;
 * }
 */
export async function* readTripGroups(path: string, options: ReadTripsOptions = {}): AsyncGenerator<TripGroup, void, undefined> {
  const reader = await TripFileReader.open(path, options);
  let lent: TripBuffers[] = [];
  try {
    const { limit, jobs, firstRow } = reader;
    const threads = reader.threads;
    const largest = jobs.reduce((n, job) => Math.max(n, job.rows), 0);
    options.onProgress?.(0, limit);
    // With workers: two buffer sets, the group the caller holds and the next one, decoding on
    // all the threads at once (its five chunks are five tasks), so one group ahead keeps the
    // workers busy and memory at two groups whatever `threads` is.
    const parallel = threads > 1;
    const ring = Array.from({ length: Math.min(parallel ? 2 : 1, jobs.length) }, () => options.buffers?.take(largest, parallel) ?? reader.allocate(largest, parallel));
    lent = ring;
    const pending: Promise<void>[] = [];
    const start = (g: number): void => {
      const job = jobs[g];
      if (!job || !parallel) return;
      const buffers = ring[g % ring.length]!;
      buffers.missing.fill(0, 0, job.rows);
      const p = reader.decodeOnWorkers(job, buffers, 0, threads);
      p.catch(() => {}); // awaited when its turn comes
      pending[g] = p;
    };
    start(0);
    const base = reader.describe();
    for (const [g, job] of jobs.entries()) {
      const buffers = ring[g % ring.length]!;
      if (parallel) {
        await pending[g];
        delete pending[g];
      } else {
        buffers.missing.fill(0, 0, job.rows); // decoding only sets the bits of nulls
        await reader.decode(job, buffers, 0);
      }
      const n = Math.min(job.rows, limit - (job.rowStart - firstRow));
      const missing = buffers.missing.subarray(0, n);
      options.onProgress?.(job.rowStart - firstRow + n, limit);
      // The next group reuses the buffers of the group before this one, which the caller has let go.
      start(g + 1);
      yield {
        ...base,
        length: n,
        pickup: buffers.pickup.subarray(0, n),
        dropoff: buffers.dropoff.subarray(0, n),
        PULocationID: buffers.PULocationID.subarray(0, n),
        DOLocationID: buffers.DOLocationID.subarray(0, n),
        trip_distance: buffers.trip_distance.subarray(0, n),
        missing,
        nullCounts: countNulls(missing),
        rowGroups: 1,
        rowStart: job.rowStart,
        totalRows: limit,
      };
    }
  } finally {
    await reader.close();
    for (const buffers of lent) options.buffers?.give(buffers);
  }
}

/**
 * Row-group buffers that reads can share one after another (`ReadTripsOptions.buffers`): a read
 * takes the sets it needs (large enough for its row groups) and gives them back when it ends, and
 * reads each column chunk's bytes into one kept buffer, so a thread reading a row group at a time
 * allocates once instead of once per read and chunk. The groups a read yielded are views of
 * these buffers: the next read overwrites them. Decode workers (`threads`) keep their own.
 *
 * @example
 * const buffers = new ReadBuffers();
 * for (let g = 0; g < layout.rowGroups; g++) {
 *   for await (const group of readTripGroups(path, { rowGroups: [g, g + 1], buffers })) sum(group);
 * }
 */
export class ReadBuffers {
  readonly #free: { buffers: TripBuffers; rows: number; shared: boolean }[] = [];
  #chunk = new Uint8Array(0);

  /**
   * A buffer of at least `length` bytes for one column chunk's compressed bytes, reused for the
   * next chunk (this thread decodes a chunk before it reads the next).
   */
  chunkBytes(length: number): Uint8Array {
    // Grown by half again, so a file's slightly larger chunk does not allocate anew each time.
    if (this.#chunk.length < length) this.#chunk = new Uint8Array(Math.ceil(length * 1.5));
    return this.#chunk;
  }

  /** A set for `rows` rows (shared memory for decode workers when `shared`): a kept one when large enough. */
  take(rows: number, shared: boolean): TripBuffers {
    const i = this.#free.findIndex((f) => f.rows >= rows && f.shared === shared);
    if (i >= 0) return this.#free.splice(i, 1)[0]!.buffers;
    // A set too small for this read is dropped rather than kept beside the new one.
    this.#free.length = 0;
    return allocateBuffers(rows, shared);
  }

  /** Gives a set back for the next read. */
  give(buffers: TripBuffers): void {
    this.#free.push({ buffers, rows: buffers.missing.length, shared: buffers.missing.buffer instanceof SharedArrayBuffer });
  }
}

/** What a trip file holds, from its footer alone (see {@link readTripLayout}). */
export interface TripFileLayout {
  /** The file. */
  readonly source: string;
  /** Which TLC dataset's layout the file has. */
  readonly dataset: Dataset;
  /** The file's name for each trip column, null when absent. */
  readonly columns: TripColumnNames;
  /** Trip columns the file does not have (FHV: `['trip_distance']`). */
  readonly absent: readonly TripColumn[];
  /** The file's pickup and dropoff column names. */
  readonly timestampColumns: readonly [string, string];
  /** Rows in the file. */
  readonly rows: number;
  /** Row groups in the file. */
  readonly rowGroups: number;
  /** The program that wrote the file (`parquet-cpp-arrow version 14.0.2` for TLC's), if it says. */
  readonly createdBy: string | undefined;
}

/**
 * Which TLC dataset a trip file is, and where its trip columns are, from the footer alone
 * (no data is read): how a caller refuses a green file given as yellow before reading it.
 *
 * @throws Error (`read: <file>: ...`) as {@link readTrips} for a bad file or layout (with
 *   `required` as there: a file lacking a required column is refused).
 * @example
 * const layout = await readTripLayout('data/green_tripdata_2024-02.parquet');
 * layout.dataset;          // 'green'
 * layout.timestampColumns; // ['lpep_pickup_datetime', 'lpep_dropoff_datetime']
 */
export async function readTripLayout(path: string, options: Pick<ReadTripsOptions, 'required'> = {}): Promise<TripFileLayout> {
  const reader = await TripFileReader.open(path, options);
  try {
    const { dataset, columns, absent, timestampColumns } = reader.describe();
    return {
      source: path,
      dataset,
      columns,
      absent,
      timestampColumns,
      rows: Number(reader.metadata.num_rows),
      rowGroups: reader.metadata.row_groups.length,
      createdBy: reader.metadata.created_by,
    };
  } finally {
    await reader.close();
  }
}

/**
 * The `created_by` of a parquet file's footer: the program that wrote it. Only the footer
 * is read, with the same checks as {@link readTrips}.
 *
 * @throws Error (`read: <file>: ...`) as readTrips, for a missing, empty, non-parquet or truncated file.
 * @example
 * await parquetCreatedBy('data/yellow_tripdata_2024-01.parquet'); // e.g. 'parquet-cpp-arrow version 14.0.2'
 */
export async function parquetCreatedBy(path: string): Promise<string | undefined> {
  const file = await openParquet(path);
  try {
    return (await readFooter(file)).created_by;
  } finally {
    await file.handle.close();
  }
}

/** The row groups `[start, end)` to read, checked against the file's count. */
function rowGroupRange(range: ReadTripsOptions['rowGroups'], groups: number, path: string): [number, number] {
  if (range === undefined) return [0, groups];
  const [start, end] = range;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > groups) {
    throw new Error(`read: ${path}: rowGroups must be [start, end) with 0 ≤ start ≤ end ≤ ${groups} (the file's row groups), got [${String(start)}, ${String(end)})`);
  }
  return [start, end];
}

function countNulls(missing: Uint8Array): Record<TripColumn, number> {
  const nullCounts = { pickup: 0, dropoff: 0, PULocationID: 0, DOLocationID: 0, trip_distance: 0 };
  for (let i = 0; i < missing.length; i++) {
    const m = missing[i]!;
    if (m === 0) continue;
    if (m & 1) nullCounts.pickup++;
    if (m & 2) nullCounts.dropoff++;
    if (m & 4) nullCounts.PULocationID++;
    if (m & 8) nullCounts.DOLocationID++;
    if (m & 16) nullCounts.trip_distance++;
  }
  return nullCounts;
}

/**
 * One open trip file: its footer, layout and column plans checked, and the row groups to read
 * (cut at `limit`), shared by readTrips, readTripGroups and readTripLayout.
 */
class TripFileReader {
  private constructor(
    private readonly context: RowGroupContext,
    readonly metadata: FileMetaData,
    private readonly dataset: Dataset,
    private readonly columns: TripColumnNames,
    /** The row groups to decode (enough to reach `limit`). */
    readonly jobs: readonly RowGroupJob[],
    /** Rows that will be returned: `limit` or the count of the row groups read. */
    readonly limit: number,
    /** The file's index of the first row read (0 unless `rowGroups` starts later). */
    readonly firstRow: number,
    /** Decode threads to use (1: this thread). */
    readonly threads: number,
  ) {}

  static async open(path: string, options: ReadTripsOptions): Promise<TripFileReader> {
    if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 0)) {
      throw new Error(`read: limit must be a non-negative integer, got ${String(options.limit)}`);
    }
    const threads = threadCount(options.threads);
    const file = await openParquet(path);
    try {
      const metadata = await readFooter(file);
      const { dataset, columns, plans, absent } = planColumns(metadata, path, options.required ?? TRIP_COLUMNS);
      const [first, end] = rowGroupRange(options.rowGroups, metadata.row_groups.length, path);
      let firstRow = 0;
      let selectedRows = 0;
      for (const [index, group] of metadata.row_groups.entries()) {
        if (index < first) firstRow += Number(group.num_rows);
        else if (index < end) selectedRows += Number(group.num_rows);
      }
      const limit = Math.min(selectedRows, options.limit ?? Infinity);
      const jobs: RowGroupJob[] = [];
      const codecs = new Set<string>();
      let rowStart = firstRow;
      for (const [index, group] of metadata.row_groups.entries()) {
        if (index < first) continue;
        if (index >= end || rowStart - firstRow >= limit) break;
        const rows = Number(group.num_rows);
        const chunks = plans.map((plan) => {
          const meta = group.columns[plan.chunkIndex]!.meta_data!;
          codecs.add(meta.codec);
          // The chunk starts at its dictionary page when it has one (some writers put 0 there when it has none).
          const dictionary = meta.dictionary_page_offset === undefined ? 0 : Number(meta.dictionary_page_offset);
          const start = dictionary > 0 ? Math.min(dictionary, Number(meta.data_page_offset)) : Number(meta.data_page_offset);
          return { start, length: Number(meta.total_compressed_size), codec: meta.codec };
        });
        jobs.push({ index, rowStart, rows, chunks });
        rowStart += rows;
      }
      const useWorkers = threads > 1 && options.decoder !== 'hyparquet' && workersAvailable();
      const decompress = await pageDecompressor(codecs);
      const scratch = options.buffers ? (length: number) => options.buffers!.chunkBytes(length) : undefined;
      const context: RowGroupContext = { file, plans, absent, decompress, decoder: options.decoder ?? 'auto', metadata, ...(scratch ? { scratch } : {}) };
      return new TripFileReader(context, metadata, dataset, columns, jobs, limit, firstRow, useWorkers ? threads : 1);
    } catch (error) {
      await file.handle.close();
      throw error;
    }
  }

  /** The parts of a {@link Trips} that describe the file rather than its rows. */
  describe(): { source: string; dataset: Dataset; columns: TripColumnNames; absent: readonly TripColumn[]; timestampColumns: readonly [string, string] } {
    return {
      source: this.context.file.path,
      dataset: this.dataset,
      columns: this.columns,
      absent: this.context.absent,
      timestampColumns: [this.columns.pickup!, this.columns.dropoff!],
    };
  }

  allocate(rows: number, shared: boolean): TripBuffers {
    try {
      return allocateBuffers(rows, shared);
    } catch (error) {
      throw new Error(`read: ${this.context.file.path}: cannot allocate ${rows.toLocaleString('en-US')} rows (${(error as Error).message}); read fewer rows (limit) or one row group at a time (readTripGroups)`);
    }
  }

  /** Decodes a row group on this thread into `buffers[offset ..]` (missing bits 0 on entry). */
  async decode(job: RowGroupJob, buffers: TripBuffers, offset: number): Promise<void> {
    fillAbsent(this.context.absent, job.rows, buffers, offset);
    for (let i = 0; i < this.context.plans.length; i++) await decodeChunk(this.context, i, job, buffers, offset);
  }

  /** Decodes a row group's chunks on worker threads into shared `buffers[offset ..]` (missing bits 0 on entry). */
  async decodeOnWorkers(job: RowGroupJob, buffers: TripBuffers, offset: number, threads: number): Promise<void> {
    fillAbsent(this.context.absent, job.rows, buffers, offset);
    const { plans, decoder, file } = this.context;
    await Promise.all(plans.map((_, planIndex) => decodeOnWorker({ path: file.path, plans, planIndex, job, buffers, offset, decoder }, threads, this)));
  }

  async close(): Promise<void> {
    cancelQueued(this);
    await this.context.file.handle.close();
  }
}

/**
 * Maps the trip columns onto the file's top-level fields (datasets.ts's `tripLayoutOf`) and
 * checks each one's type: the plans of the columns present, and the ones absent.
 */
function planColumns(
  metadata: FileMetaData,
  path: string,
  required: readonly TripColumn[],
): { dataset: Dataset; columns: TripColumnNames; plans: ColumnPlan[]; absent: TripColumn[] } {
  const tree = parquetSchema(metadata);
  const fields = tree.children;
  const found = tripLayoutOf(fields.map((f) => f.element.name));
  if (found.problem !== undefined) throw new Error(`read: ${path}: ${found.problem}`);
  const { dataset, columns } = found.layout;
  // Chunk order follows the schema's leaves; count leaves before each top-level field.
  const chunkIndexOf = new Map<SchemaTree, number>();
  let leaves = 0;
  for (const field of fields) {
    chunkIndexOf.set(field, leaves);
    leaves += countLeaves(field);
  }
  const plans: ColumnPlan[] = [];
  const absent: TripColumn[] = [];
  for (const column of TRIP_COLUMNS) {
    const name = columns[column];
    if (name === null) {
      if (required.includes(column)) {
        throw new Error(
          `read: ${path}: this ${DATASET_TITLES[dataset]} file has no ${column} (TLC's ${dataset} records have none); ` +
            `choose features without it (e.g. PULocationID,DOLocationID) and read without requiring it`,
        );
      }
      absent.push(column);
      continue;
    }
    const field = fields.find((f) => f.element.name === name)!;
    if (field.children.length > 0 || field.element.repetition_type === 'REPEATED') {
      throw new Error(`read: ${path}: column ${name} is nested or repeated; expected a flat ${column} column`);
    }
    const element = field.element;
    const spec = columnSpec(column, element, path);
    plans.push({ column, name, chunkIndex: chunkIndexOf.get(field)!, spec: { ...spec, optional: element.repetition_type !== 'REQUIRED' } });
  }

  // Every row group must list the chunks in schema order; check names and types once up front.
  for (const [g, rowGroup] of metadata.row_groups.entries()) {
    for (const plan of plans) {
      const meta = rowGroup.columns[plan.chunkIndex]?.meta_data;
      if (!meta || meta.path_in_schema.join('.') !== plan.name || meta.type !== plan.spec.type) {
        throw new Error(`read: ${path}: row group ${g} does not hold column ${plan.name} where the schema says; the file is corrupt, fetch it again`);
      }
    }
  }
  return { dataset, columns, plans, absent };
}

/** How a trip column of this schema element is decoded, or a refusal naming the type found. */
function columnSpec(column: TripColumn, element: SchemaElement, path: string): { type: string; kind: ValueKind; unit?: 'MILLIS' | 'MICROS' | 'NANOS' } {
  const type = element.type ?? 'a group';
  if (column === 'pickup' || column === 'dropoff') {
    const logical = element.logical_type;
    if (type === 'INT64') {
      if (logical?.type === 'TIMESTAMP') return { type, kind: 'timestamp', unit: logical.unit };
      if (element.converted_type === 'TIMESTAMP_MICROS') return { type, kind: 'timestamp', unit: 'MICROS' };
      if (element.converted_type === 'TIMESTAMP_MILLIS') return { type, kind: 'timestamp', unit: 'MILLIS' };
    }
    // Legacy Impala/Spark nanoseconds; hyparquet decodes them (the fast path hands them over).
    if (type === 'INT96') return { type, kind: 'timestamp', unit: 'NANOS' };
    throw new Error(
      `read: ${path}: column ${element.name} is ${describeType(element)}; expected an INT64 TIMESTAMP (milli-, micro- or nanoseconds) or INT96. If it holds strings, convert the file to parquet timestamps first`,
    );
  }
  if (column === 'PULocationID' || column === 'DOLocationID') {
    if (type === 'INT32' || type === 'INT64' || type === 'DOUBLE' || type === 'FLOAT') return { type, kind: 'zone' };
    throw new Error(`read: ${path}: column ${element.name} is ${describeType(element)}; expected INT32 or INT64 taxi-zone IDs`);
  }
  if (type === 'DOUBLE' || type === 'FLOAT') return { type, kind: 'number' };
  throw new Error(`read: ${path}: column ${element.name} is ${describeType(element)}; expected DOUBLE (or FLOAT) miles`);
}

function countLeaves(tree: SchemaTree): number {
  if (tree.children.length === 0) return 1;
  let n = 0;
  for (const child of tree.children) n += countLeaves(child);
  return n;
}

function describeType(element: SchemaElement): string {
  const logical = element.logical_type ? ` (${element.logical_type.type})` : element.converted_type ? ` (${element.converted_type})` : '';
  return `${element.type ?? 'a group'}${logical}`;
}

