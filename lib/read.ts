/**
 * Read: the five columns the course needs from a TLC trip parquet file, into typed arrays.
 *
 * TLC files hold 19 columns and about three million rows a month; the model
 * needs pickup, dropoff, PULocationID, DOLocationID and trip_distance. This
 * module reads only those column chunks, row group by row group, and decodes
 * their pages straight into preallocated typed arrays. It uses hyparquet's
 * footer parser, page-header parser, decompressors and RLE decoder, but not its
 * row assembly: that turns nullable columns into plain JS arrays, INT64 into
 * BigInt and timestamps into Date objects, which costs seconds and gigabytes at
 * this size (see the closing note of issue 2 for numbers).
 *
 * Timestamps come back as float64 microseconds since the epoch (wall-clock
 * time, as the files store it, without time zone). A float64 holds every
 * integer up to 2^53, so microseconds are exact for any date within ±285
 * years of 1970; nanosecond files are floored to microseconds exactly.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ColumnMetaData, CompressionCodec, Compressors, FileMetaData, PageHeader, SchemaElement, SchemaTree } from 'hyparquet';
// hyparquet's modules one by one, not its index: the index also loads row assembly, queries,
// geometry and more, which this reader never uses (about 20 ms of every command's start-up).
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import { deltaBinaryUnpack } from 'hyparquet/src/delta.js';
import { byteStreamSplit, readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { parquetMetadata, parquetSchema } from 'hyparquet/src/metadata.js';
import { readPlain } from 'hyparquet/src/plain.js';
import { zstdPageDecompressor } from './zstd.js';

/**
 * Which of the five needed values are missing in a row: one bit per column.
 *
 * @example
 * const noDistance = (trips.missing[i]! & MISSING.trip_distance) !== 0;
 */
export const MISSING = {
  pickup: 1,
  dropoff: 2,
  PULocationID: 4,
  DOLocationID: 8,
  trip_distance: 16,
} as const;

/** The five columns the course needs, by the names this library uses. */
export type TripColumn = keyof typeof MISSING;

/**
 * Trips as read from one file: five typed columns of equal length plus where values are missing.
 *
 * A missing float value is NaN; a missing location ID is -1 (never a TLC zone).
 * `missing[i]` is 0 when row `i` has all five values, else the OR of the
 * {@link MISSING} bits of the absent ones.
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
  /** Trip distance in miles, as the meter reported it (outliers included); NaN if missing. */
  readonly trip_distance: Float64Array;
  /** Per row, the OR of the {@link MISSING} bits of absent values (0 = complete row). */
  readonly missing: Uint8Array;
  /** Missing values per column. */
  readonly nullCounts: Readonly<Record<TripColumn, number>>;
  /** The file's column names of pickup and dropoff (`tpep_*` for yellow, `lpep_*` for green). */
  readonly timestampColumns: readonly [string, string];
  /** Number of row groups read. */
  readonly rowGroups: number;
}

/** Options of {@link readTrips}. */
export interface ReadTripsOptions {
  /** Read at most this many rows (whole row groups are decoded, then cut). Default: all rows. */
  limit?: number;
  /**
   * Called once before decoding (`rowsDone` 0) and after each row group with the rows
   * decoded so far and the rows that will be read in all (`limit` or the file's count),
   * so a caller can draw a progress bar. A TLC month has about three row groups.
   */
  onProgress?: (rowsDone: number, rowsTotal: number) => void;
}

let allCompressors: Promise<Compressors> | undefined;

/**
 * hyparquet-compressors' decompressors (SNAPPY, GZIP, BROTLI, LZ4 and the pure-JS
 * fzstd), loaded only when a file needs one: TLC files since 2023 are ZSTD, which
 * the wasm build decodes, and loading them all costs about 50 ms of start-up.
 */
function loadCompressors(): Promise<Compressors> {
  allCompressors ??= import('hyparquet-compressors').then((m) => m.compressors);
  return allCompressors;
}

/** Thrown by the wasm ZSTD decompressor so that readTrips can retry the chunk with fzstd. */
class WasmZstdError extends Error {}

/**
 * The decompressors for one file's needed chunks. ZSTD (every TLC file since 2023)
 * goes to the reference zstd compiled to wasm, about twice as fast as the pure-JS
 * fzstd on these pages; other codecs, and ZSTD when the wasm cannot load or rejects
 * a frame, go to hyparquet-compressors.
 */
async function decompressorsFor(codecs: ReadonlySet<CompressionCodec>, useWasmZstd: boolean): Promise<Compressors> {
  const needsOthers = [...codecs].some((c) => c !== 'UNCOMPRESSED' && c !== 'ZSTD');
  let zstd: Awaited<ReturnType<typeof zstdPageDecompressor>> | undefined;
  if (codecs.has('ZSTD') && useWasmZstd) {
    try {
      zstd = await zstdPageDecompressor();
    } catch {
      zstd = undefined;
    }
  }
  const others = needsOthers || (codecs.has('ZSTD') && !zstd) ? await loadCompressors() : {};
  if (!zstd) return others;
  const wasm = zstd;
  return {
    ...others,
    // A view into the wasm memory, valid until the next page: decodeChunk decodes each page
    // (and copies dictionaries) before it decompresses the next.
    ZSTD: (input: Uint8Array, outputLength: number) => {
      try {
        return wasm(input, outputLength);
      } catch (error) {
        throw new WasmZstdError((error as Error).message);
      }
    },
  };
}

const MICROS_PER_UNIT = { MILLIS: 1000, MICROS: 1, NANOS: 0.001 } as const;
type TimeUnit = keyof typeof MICROS_PER_UNIT;

/** How one needed column is stored in the file. */
interface ColumnPlan {
  readonly column: TripColumn;
  /** The file's name for it. */
  readonly name: string;
  readonly type: 'INT32' | 'INT64' | 'FLOAT' | 'DOUBLE';
  /** For timestamps, the unit of the stored integers. */
  readonly unit?: TimeUnit;
  /** Whether the column is OPTIONAL (pages then carry definition levels). */
  readonly optional: boolean;
  /** Index of the column chunk within each row group. */
  readonly chunkIndex: number;
}

/**
 * Reads the pickup, dropoff, PULocationID, DOLocationID and trip_distance columns of a TLC trip file.
 *
 * Handles what TLC files contain: yellow (`tpep_*`) and green (`lpep_*`)
 * timestamp names, nullable or required columns, ZSTD, SNAPPY, GZIP, Brotli,
 * LZ4 or no compression, one or many row groups, int32 or int64 location IDs,
 * milli-, micro- or nanosecond timestamps, data pages v1 and v2, plain,
 * dictionary, delta and byte-stream-split encodings; other columns (whatever
 * their names or case) are never read.
 *
 * The schema is checked before any data is decoded.
 *
 * @throws Error (`read: <file>: ...`) when the file is empty, not parquet,
 *   truncated, lacks a needed column, or stores one with an unusable type;
 *   each message says what to do.
 * @example
 * const trips = await readTrips('data/yellow_tripdata_2024-01.parquet');
 * trips.length;           // 2964624
 * trips.pickup[0];        // 1704068404000000 (µs: 2024-01-01T00:57:55)
 */
export async function readTrips(path: string, options: ReadTripsOptions = {}): Promise<Trips> {
  let columns: TripBuffers | undefined;
  let timestampColumns: readonly [string, string] = ['', ''];
  let n = 0;
  let rowGroups = 0;
  for await (const group of decodeRowGroups(path, options, (totalRows, _largestGroup, names) => {
    columns = allocateBuffers(totalRows);
    timestampColumns = names;
    return (rowStart) => ({ buffers: columns!, offset: rowStart });
  })) {
    n = group.rowStart + group.rows;
    rowGroups++;
  }
  const all = columns!;
  const cut = <T extends Float64Array | Int32Array | Uint8Array>(a: T): T => (n === a.length ? a : (a.slice(0, n) as T));
  const missing = cut(all.missing);
  return {
    source: path,
    length: n,
    pickup: cut(all.pickup),
    dropoff: cut(all.dropoff),
    PULocationID: cut(all.PULocationID),
    DOLocationID: cut(all.DOLocationID),
    trip_distance: cut(all.trip_distance),
    missing,
    nullCounts: countNulls(missing),
    timestampColumns,
    rowGroups,
  };
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
 * into buffers that are reused for the next group, so a TLC month needs about 35 MB
 * instead of 100 MB: copy out what you keep before asking for the next group.
 * Concatenating the groups gives exactly what readTrips returns.
 *
 * @throws Error (`read: <file>: ...`) as {@link readTrips}, from the first `next()`
 *   for a bad file and from the group where a corrupt page is found.
 * @example
 * let kept = 0;
 * for await (const group of readTripGroups('data/yellow_tripdata_2024-01.parquet')) {
 *   for (let i = 0; i < group.length; i++) if (group.missing[i] === 0) kept++;
 * }
 */
export async function* readTripGroups(path: string, options: ReadTripsOptions = {}): AsyncGenerator<TripGroup, void, undefined> {
  let scratch: TripBuffers | undefined;
  let totalRows = 0;
  for await (const group of decodeRowGroups(path, options, (total, largestGroup) => {
    totalRows = Math.min(total, options.limit ?? Infinity);
    scratch = allocateBuffers(largestGroup);
    return () => {
      scratch!.missing.fill(0); // decoding only sets the bits of nulls
      return { buffers: scratch!, offset: 0 };
    };
  })) {
    const b = scratch!;
    const n = group.rows;
    const missing = b.missing.subarray(0, n);
    yield {
      source: path,
      length: n,
      pickup: b.pickup.subarray(0, n),
      dropoff: b.dropoff.subarray(0, n),
      PULocationID: b.PULocationID.subarray(0, n),
      DOLocationID: b.DOLocationID.subarray(0, n),
      trip_distance: b.trip_distance.subarray(0, n),
      missing,
      nullCounts: countNulls(missing),
      timestampColumns: group.timestampColumns,
      rowGroups: 1,
      rowStart: group.rowStart,
      totalRows,
    };
  }
}

/** The five decoded columns and the missing bits, for a whole file or one row group. */
interface TripBuffers {
  pickup: Float64Array;
  dropoff: Float64Array;
  PULocationID: Int32Array;
  DOLocationID: Int32Array;
  trip_distance: Float64Array;
  missing: Uint8Array;
}

function allocateBuffers(rows: number): TripBuffers {
  return {
    pickup: new Float64Array(rows),
    dropoff: new Float64Array(rows),
    PULocationID: new Int32Array(rows),
    DOLocationID: new Int32Array(rows),
    trip_distance: new Float64Array(rows),
    missing: new Uint8Array(rows),
  };
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
 * Where a row group is decoded: `setup(totalRows, largestGroup)` is called once the footer is
 * read and returns, per row group, the buffers and the row offset within them.
 */
type BufferSetup = (
  totalRows: number,
  largestGroup: number,
  timestampColumns: readonly [string, string],
) => (rowStart: number) => { buffers: TripBuffers; offset: number };

/**
 * The reading loop shared by readTrips and readTripGroups: validates the file, then decodes
 * the needed chunks of each row group into the buffers `setup` gives, yielding after each
 * group its first row and its row count (cut at `limit`).
 */
async function* decodeRowGroups(
  path: string,
  options: ReadTripsOptions,
  setup: BufferSetup,
): AsyncGenerator<{ rowStart: number; rows: number; timestampColumns: readonly [string, string] }, void, undefined> {
  const file = await openParquet(path);
  try {
    const metadata = await readFooter(file, path);
    const plans = planColumns(metadata, path);
    const fileRows = Number(metadata.num_rows);
    const limit = Math.min(fileRows, options.limit ?? Infinity);
    const codecs = new Set<CompressionCodec>();
    let largestGroup = 0;
    for (const rowGroup of metadata.row_groups) {
      for (const plan of plans) codecs.add(rowGroup.columns[plan.chunkIndex]!.meta_data!.codec);
      largestGroup = Math.max(largestGroup, Number(rowGroup.num_rows));
    }
    let decompressors = await decompressorsFor(codecs, true);
    const timestampColumns = [plans[0]!.name, plans[1]!.name] as const;
    const bufferFor = setup(fileRows, Math.min(largestGroup, fileRows), timestampColumns);
    const onProgress = options.onProgress;
    onProgress?.(0, limit);

    let rowStart = 0;
    let rowGroups = 0;
    for (const rowGroup of metadata.row_groups) {
      if (rowStart >= limit) break;
      const groupRows = Number(rowGroup.num_rows);
      if (rowStart + groupRows > fileRows) {
        throw new Error(`read: ${path}: row groups hold more rows than the footer's total ${fileRows}; the file is corrupt, fetch it again`);
      }
      const { buffers, offset } = bufferFor(rowStart);
      for (const plan of plans) {
        const chunk = rowGroup.columns[plan.chunkIndex]?.meta_data;
        if (!chunk) throw new Error(`read: ${path}: row group ${rowGroups} has no metadata for column ${plan.name}; the file is corrupt, fetch it again`);
        const bytes = await readChunkBytes(file, chunk, path);
        const decode = () => decodeChunk(bytes, chunk.codec, decompressors, plan, buffers[plan.column], buffers.missing, MISSING[plan.column], offset, groupRows, path);
        let decoded: number;
        try {
          decoded = decode();
        } catch (error) {
          if (!(error instanceof WasmZstdError)) throw error;
          // A frame the wasm build rejects: decode the file with fzstd from here on, which
          // either manages or says precisely why the data is bad.
          decompressors = await decompressorsFor(codecs, false);
          decoded = decode();
        }
        if (decoded !== groupRows) {
          throw new Error(`read: ${path}: column ${plan.name} has ${decoded} values in row group ${rowGroups}, expected ${groupRows}; the file is corrupt, fetch it again`);
        }
      }
      const rows = Math.min(groupRows, limit - rowStart);
      onProgress?.(rowStart + rows, limit);
      yield { rowStart, rows, timestampColumns };
      rowStart += groupRows;
      rowGroups++;
    }
    if (rowStart < limit) {
      throw new Error(`read: ${path}: the footer announces ${fileRows} rows but the row groups hold ${rowStart}; the file is corrupt, fetch it again`);
    }
  } finally {
    await file.handle.close();
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
    return (await readFooter(file, path)).created_by;
  } finally {
    await file.handle.close();
  }
}

interface OpenFile {
  handle: FileHandle;
  size: number;
}

async function openParquet(path: string): Promise<OpenFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`read: ${path}: no such file; check the path (a month such as 2024-01 or a URL is downloaded first: by fetchTrips in code, by --train/--val on the command line)`);
    if (code === 'EISDIR') throw new Error(`read: ${path}: is a directory, not a parquet file; pass the path of a .parquet file`);
    throw new Error(`read: ${path}: cannot open (${code ?? (error as Error).message})`);
  }
  const info = await handle.stat();
  const size = info.size;
  if (info.isDirectory()) {
    await handle.close();
    throw new Error(`read: ${path}: is a directory, not a parquet file; pass the path of a .parquet file`);
  }
  if (size === 0) {
    await handle.close();
    throw new Error(`read: ${path}: the file is empty (0 bytes), probably an interrupted download; delete it and fetch again`);
  }
  return { handle, size };
}

async function readAt(file: OpenFile, position: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.handle.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? bytes : bytes.subarray(0, done);
}

const MAGIC = 0x31524150; // 'PAR1' little-endian

async function readFooter(file: OpenFile, path: string): Promise<FileMetaData> {
  const name = basename(path);
  const head = await readAt(file, 0, Math.min(4, file.size));
  const headMagic = head.length === 4 && new DataView(head.buffer).getUint32(0, true) === MAGIC;
  if (!headMagic) {
    throw new Error(`read: ${path}: not a parquet file (it does not start with PAR1); TLC trip data must be the .parquet files (e.g. yellow_tripdata_2024-01.parquet), not CSV or HTML`);
  }
  const truncated = `read: ${path}: the file is truncated (${file.size} bytes, no complete parquet footer); delete it and fetch ${name} again`;
  if (file.size < 12) throw new Error(truncated);
  const tail = await readAt(file, file.size - 8, 8);
  const tailView = new DataView(tail.buffer);
  if (tailView.getUint32(4, true) !== MAGIC) throw new Error(truncated);
  const metadataLength = tailView.getUint32(0, true);
  if (metadataLength + 12 > file.size) throw new Error(truncated);
  const footer = await readAt(file, file.size - 8 - metadataLength, metadataLength + 8);
  try {
    return parquetMetadata(footer.buffer as ArrayBuffer);
  } catch (error) {
    throw new Error(`read: ${path}: the parquet footer is corrupt (${(error as Error).message}); delete it and fetch ${name} again`);
  }
}

/** Finds the needed columns among the top-level fields and checks their types. */
function planColumns(metadata: FileMetaData, path: string): ColumnPlan[] {
  const tree = parquetSchema(metadata);
  const fields = tree.children;
  const names = fields.map((f) => f.element.name);
  // Chunk order follows the schema's leaves; count leaves before each top-level field.
  const chunkIndexOf = new Map<SchemaTree, number>();
  let leaves = 0;
  for (const field of fields) {
    chunkIndexOf.set(field, leaves);
    leaves += countLeaves(field);
  }
  const find = (candidates: string[]): SchemaTree | undefined => {
    for (const candidate of candidates) {
      const exact = fields.find((f) => f.element.name === candidate);
      if (exact) return exact;
    }
    // Column names' case has changed over the years (airport_fee / Airport_fee), so accept any case.
    const lower = candidates.map((c) => c.toLowerCase());
    return fields.find((f) => lower.includes(f.element.name.toLowerCase()));
  };
  const listed = `it has: ${names.join(', ')}`;
  const need = (column: TripColumn, candidates: string[], what: string): SchemaTree => {
    const field = find(candidates);
    if (!field) {
      throw new Error(`read: ${path}: missing column ${candidates.join(' or ')} (${what}); ${listed}. Is this a yellow or green TLC trip file? FHV files name their columns differently`);
    }
    if (field.children.length > 0 || field.element.repetition_type === 'REPEATED') {
      throw new Error(`read: ${path}: column ${field.element.name} is nested or repeated; expected a flat ${what} column`);
    }
    void column;
    return field;
  };

  const pickupField = need('pickup', ['tpep_pickup_datetime', 'lpep_pickup_datetime'], 'pickup time');
  const prefix = pickupField.element.name.slice(0, 4).toLowerCase();
  const dropoffField = need('dropoff', [`${prefix}_dropoff_datetime`], 'dropoff time');
  const plans: ColumnPlan[] = [];
  for (const [column, field] of [
    ['pickup', pickupField],
    ['dropoff', dropoffField],
  ] as const) {
    plans.push({ column, name: field.element.name, type: 'INT64', unit: timestampUnit(field.element, path), optional: isOptional(field.element), chunkIndex: chunkIndexOf.get(field)! });
  }
  for (const column of ['PULocationID', 'DOLocationID'] as const) {
    const field = need(column, [column], column === 'PULocationID' ? 'pickup zone' : 'dropoff zone');
    const type = field.element.type;
    if (type !== 'INT32' && type !== 'INT64') {
      throw new Error(`read: ${path}: column ${field.element.name} is ${describeType(field.element)}; expected INT32 or INT64 taxi-zone IDs`);
    }
    plans.push({ column, name: field.element.name, type, optional: isOptional(field.element), chunkIndex: chunkIndexOf.get(field)! });
  }
  const distanceField = need('trip_distance', ['trip_distance'], 'trip distance');
  const distanceType = distanceField.element.type;
  if (distanceType !== 'DOUBLE' && distanceType !== 'FLOAT') {
    throw new Error(`read: ${path}: column ${distanceField.element.name} is ${describeType(distanceField.element)}; expected DOUBLE (or FLOAT) miles`);
  }
  plans.push({ column: 'trip_distance', name: distanceField.element.name, type: distanceType, optional: isOptional(distanceField.element), chunkIndex: chunkIndexOf.get(distanceField)! });

  // Every row group must list the chunks in schema order; check names once up front.
  for (const [g, rowGroup] of metadata.row_groups.entries()) {
    for (const plan of plans) {
      const meta = rowGroup.columns[plan.chunkIndex]?.meta_data;
      if (!meta || meta.path_in_schema.join('.') !== plan.name || meta.type !== plan.type) {
        throw new Error(`read: ${path}: row group ${g} does not hold column ${plan.name} where the schema says; the file is corrupt, fetch it again`);
      }
    }
  }
  return plans;
}

function countLeaves(tree: SchemaTree): number {
  if (tree.children.length === 0) return 1;
  let n = 0;
  for (const child of tree.children) n += countLeaves(child);
  return n;
}

function isOptional(element: SchemaElement): boolean {
  return element.repetition_type !== 'REQUIRED';
}

function describeType(element: SchemaElement): string {
  const logical = element.logical_type ? ` (${element.logical_type.type})` : element.converted_type ? ` (${element.converted_type})` : '';
  return `${element.type ?? 'a group'}${logical}`;
}

function timestampUnit(element: SchemaElement, path: string): TimeUnit {
  const logical = element.logical_type;
  if (element.type === 'INT64') {
    if (logical?.type === 'TIMESTAMP') return logical.unit;
    if (element.converted_type === 'TIMESTAMP_MICROS') return 'MICROS';
    if (element.converted_type === 'TIMESTAMP_MILLIS') return 'MILLIS';
  }
  throw new Error(`read: ${path}: column ${element.name} is ${describeType(element)}; expected an INT64 TIMESTAMP (milli-, micro- or nanoseconds). If it holds strings, convert the file to parquet timestamps first`);
}

async function readChunkBytes(file: OpenFile, chunk: ColumnMetaData, path: string): Promise<Uint8Array> {
  // The chunk starts at its dictionary page when it has one (some writers put 0 there when it has none).
  const dictionary = chunk.dictionary_page_offset === undefined ? 0 : Number(chunk.dictionary_page_offset);
  const start = dictionary > 0 ? Math.min(dictionary, Number(chunk.data_page_offset)) : Number(chunk.data_page_offset);
  const length = Number(chunk.total_compressed_size);
  if (start + length > file.size) {
    throw new Error(`read: ${path}: the file is truncated (column ${chunk.path_in_schema.join('.')} ends at byte ${start + length}, the file has ${file.size}); delete it and fetch ${basename(path)} again`);
  }
  return readAt(file, start, length);
}

/** A decoded dictionary, already converted to the output's units. */
type Dictionary = Float64Array | Int32Array;

/** A position in a page's bytes, as hyparquet's decoders take it. */
interface Reader {
  view: DataView;
  offset: number;
}

/**
 * Decodes one column chunk into `out[rowStart ..]`, marking nulls in `missing`.
 * Returns the number of rows decoded.
 *
 * Pages without nulls (all of them in real 2024 files) are decoded straight into
 * `out`; only pages with nulls go through a temporary array of their present values.
 */
function decodeChunk(
  bytes: Uint8Array,
  codec: CompressionCodec,
  decompressors: Compressors,
  plan: ColumnPlan,
  out: Float64Array | Int32Array,
  missing: Uint8Array,
  bit: number,
  rowStart: number,
  groupRows: number,
  path: string,
): number {
  const reader: Reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  let row = rowStart;
  const end = rowStart + groupRows;
  let dictionary: Dictionary | undefined;
  const nullValue = out instanceof Int32Array ? -1 : NaN;
  try {
    while (row < end && reader.offset < bytes.length) {
      const header: PageHeader = parquetHeader(reader);
      const pageBytes = bytes.subarray(reader.offset, reader.offset + header.compressed_page_size);
      reader.offset += header.compressed_page_size;
      if (pageBytes.length < header.compressed_page_size) throw new Error('page extends past the column chunk');

      if (header.type === 'DICTIONARY_PAGE') {
        const count = header.dictionary_page_header?.num_values ?? 0;
        const page = decompressPage(pageBytes, header.uncompressed_page_size, codec, decompressors);
        const raw = readPlain({ view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 }, plan.type, count, undefined);
        dictionary = convertDictionary(raw, plan, out);
        continue;
      }
      if (header.type !== 'DATA_PAGE' && header.type !== 'DATA_PAGE_V2') continue; // index pages: nothing to decode

      // Definition levels (1 = present, 0 = null) and the page's value bytes.
      let numValues: number;
      let levels: Uint8Array | undefined;
      let nulls = 0;
      let page: Uint8Array;
      let valuesAt: number;
      let encoding: string;
      if (header.type === 'DATA_PAGE') {
        const daph = header.data_page_header!;
        numValues = daph.num_values;
        encoding = daph.encoding;
        page = decompressPage(pageBytes, header.uncompressed_page_size, codec, decompressors);
        const levelReader: Reader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 };
        if (plan.optional) {
          levels = new Uint8Array(numValues);
          readRleBitPackedHybrid(levelReader, 1, levels);
          for (let i = 0; i < numValues; i++) nulls += levels[i]! ^ 1;
        }
        valuesAt = levelReader.offset;
      } else {
        const daph2 = header.data_page_header_v2!;
        numValues = daph2.num_values;
        encoding = daph2.encoding;
        const levelBytes = daph2.repetition_levels_byte_length + daph2.definition_levels_byte_length;
        // v2 headers count the nulls: a page without any needs no levels decoded.
        if (plan.optional && daph2.num_nulls > 0) {
          levels = new Uint8Array(numValues);
          const levelReader: Reader = { view: new DataView(pageBytes.buffer, pageBytes.byteOffset + daph2.repetition_levels_byte_length, daph2.definition_levels_byte_length), offset: 0 };
          readRleBitPackedHybrid(levelReader, 1, levels, daph2.definition_levels_byte_length);
          for (let i = 0; i < numValues; i++) nulls += levels[i]! ^ 1;
        }
        const compressed = pageBytes.subarray(levelBytes);
        const size = header.uncompressed_page_size - levelBytes;
        page = daph2.is_compressed !== false && size > 0 ? decompressPage(compressed, size, codec, decompressors) : compressed;
        valuesAt = 0;
      }
      if (row + numValues > end) throw new Error(`a page holds ${numValues} values but only ${end - row} rows remain in the row group`);

      const present = numValues - nulls;
      if (nulls === 0) {
        decodeValues(page, valuesAt, encoding, present, plan, dictionary, out, row);
      } else {
        const values = out instanceof Int32Array ? new Int32Array(present) : new Float64Array(present);
        decodeValues(page, valuesAt, encoding, present, plan, dictionary, values, 0);
        let v = 0;
        for (let i = 0; i < numValues; i++) {
          if (levels![i]) out[row + i] = values[v++]!;
          else {
            out[row + i] = nullValue;
            missing[row + i]! |= bit;
          }
        }
      }
      row += numValues;
    }
  } catch (error) {
    if (error instanceof WasmZstdError) throw error; // readTrips retries with fzstd
    throw new Error(`read: ${path}: cannot decode column ${plan.name} at row ${row} (${(error as Error).message}); the file may be corrupt or truncated: fetch it again`);
  }
  return row - rowStart;
}

/** Converts a decoded dictionary page to the output's element type and units. */
function convertDictionary(raw: ArrayLike<unknown>, plan: ColumnPlan, out: Float64Array | Int32Array): Dictionary {
  const n = raw.length;
  if (out instanceof Int32Array) {
    const dict = new Int32Array(n);
    for (let i = 0; i < n; i++) dict[i] = Number(raw[i] as number | bigint);
    return dict;
  }
  const dict = new Float64Array(n);
  if (plan.unit) {
    for (let i = 0; i < n; i++) dict[i] = bigintToMicros(raw[i] as bigint, plan.unit);
  } else {
    for (let i = 0; i < n; i++) dict[i] = raw[i] as number;
  }
  return dict;
}

function bigintToMicros(value: bigint, unit: TimeUnit): number {
  if (unit === 'NANOS') return Number(value >= 0n ? value / 1000n : -((-value + 999n) / 1000n));
  return Number(value) * MICROS_PER_UNIT[unit];
}

/**
 * Decodes `count` non-null values starting at `page[at]` into `target[offset ..]`,
 * in the target's element type and units.
 *
 * PLAIN values are copied byte for byte into the target (a memcpy, no DataView call
 * per value); INT64 is read as two 32-bit halves (no BigInt per value).
 */
function decodeValues(
  page: Uint8Array,
  at: number,
  encoding: string,
  count: number,
  plan: ColumnPlan,
  dictionary: Dictionary | undefined,
  target: Float64Array | Int32Array,
  offset: number,
): void {
  if (count === 0) return;
  const start = page.byteOffset + at;
  if (encoding === 'PLAIN') {
    const width = plan.type === 'INT32' || plan.type === 'FLOAT' ? 4 : 8;
    if (at + count * width > page.byteLength) throw new Error(`a PLAIN page holds fewer than its ${count} values`);
    const bytes = page.subarray(at, at + count * width);
    if (plan.type === 'DOUBLE' || plan.type === 'INT32') {
      // Same element type as the target: copy the bytes in place.
      new Uint8Array(target.buffer, target.byteOffset + offset * target.BYTES_PER_ELEMENT, bytes.length).set(bytes);
      return;
    }
    if (plan.type === 'FLOAT') {
      const floats = start % 4 === 0 ? new Float32Array(page.buffer, start, count) : new Float32Array(bytes.slice().buffer);
      target.set(floats, offset);
      return;
    }
    // INT64: a view of the page as 32-bit words when aligned (always for v2 pages), else an aligned copy.
    const words = start % 4 === 0 ? new Int32Array(page.buffer, start, count * 2) : new Int32Array(bytes.slice().buffer);
    int64WordsTo(words, count, plan, target, offset);
    return;
  }
  const reader: Reader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: at };
  if (encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY') {
    if (!dictionary) throw new Error('dictionary-encoded page without a dictionary page');
    const bitWidth = reader.view.getUint8(reader.offset++);
    const indexes = new Int32Array(count);
    if (bitWidth > 0) readRleBitPackedHybrid(reader, bitWidth, indexes, reader.view.byteLength - reader.offset);
    const size = dictionary.length;
    for (let i = 0; i < count; i++) {
      const index = indexes[i]!;
      if (index >= size) throw new Error(`dictionary index ${index} out of range ${size}`);
      target[offset + i] = dictionary[index]!;
    }
    return;
  }
  if (encoding === 'DELTA_BINARY_PACKED') {
    if (plan.type === 'INT32') {
      const ints = new Int32Array(count);
      deltaBinaryUnpack(reader, count, ints);
      target.set(ints, offset);
      return;
    }
    const longs = new BigInt64Array(count);
    deltaBinaryUnpack(reader, count, longs);
    int64WordsTo(new Int32Array(longs.buffer), count, plan, target, offset);
    return;
  }
  if (encoding === 'BYTE_STREAM_SPLIT') {
    const decoded = byteStreamSplit(reader, count, plan.type, undefined) as ArrayLike<number | bigint>;
    if (decoded instanceof BigInt64Array) int64WordsTo(new Int32Array(decoded.buffer, decoded.byteOffset, count * 2), count, plan, target, offset);
    else for (let i = 0; i < count; i++) target[offset + i] = decoded[i] as number;
    return;
  }
  throw new Error(`unsupported encoding ${encoding}`);
}

/** Little-endian int64 words (lo, hi pairs) to float64 microseconds or int32 IDs, into `result[offset ..]`. */
function int64WordsTo(words: Int32Array, count: number, plan: ColumnPlan, result: Float64Array | Int32Array, offset: number): void {
  if (result instanceof Int32Array) {
    for (let i = 0; i < count; i++) result[offset + i] = words[2 * i]!; // IDs are small: the low word is the value
    return;
  }
  const unit = plan.unit;
  if (unit === 'NANOS') {
    // floor(ns / 1000) exactly: ns = hi·2^32 + lo = 1000·(hi·4294967) + (hi·296 + lo), both parts exact in float64.
    for (let i = 0; i < count; i++) {
      const lo = words[2 * i]! >>> 0;
      const hi = words[2 * i + 1]!;
      result[offset + i] = hi * 4294967 + Math.floor((hi * 296 + lo) / 1000);
    }
    return;
  }
  if (unit === 'MILLIS') {
    for (let i = 0; i < count; i++) result[offset + i] = (words[2 * i + 1]! * 4294967296 + (words[2 * i]! >>> 0)) * 1000;
    return;
  }
  // Microseconds (TLC's unit): exact for |value| < 2^53, about ±285 years around 1970.
  for (let i = 0; i < count; i++) result[offset + i] = words[2 * i + 1]! * 4294967296 + (words[2 * i]! >>> 0);
}
