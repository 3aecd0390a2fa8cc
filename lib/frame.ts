/**
 * Frame: a small danfojs DataFrame of trips, for looking at the data in a notebook.
 *
 * The pipeline stays on typed columns (three million rows as a danfojs frame
 * cost gigabytes and minutes); a head or a sample of a few hundred rows is what
 * a person looks at. `toDataFrame` shows trips as read or cleaned (the five columns
 * the model uses); `peekTrips` shows the first rows of a file with all its columns,
 * as the course's `df.head()` does. danfojs pulls in TensorFlow.js (about half a
 * second and 50 MB to load), so it is loaded on the first call, not when the
 * library is imported.
 */
import { createRequire } from 'node:module';
import type { DataFrame } from 'danfojs';
import type { CleanTrips } from './clean.js';
import type { Trips } from './read.js';
import { hyparquetCompressors } from './zstd.js';

/** Options of {@link toDataFrame}. Give `head` or `sample`, not both; neither means `head: 10`. */
export interface ToDataFrameOptions {
  /** The first N rows. */
  head?: number;
  /** N rows drawn at random without replacement (kept in file order). */
  sample?: number;
  /** Seed of the sample; the same seed draws the same rows. Default 1. */
  seed?: number;
}

let danfo: typeof import('danfojs') | undefined;
function loadDanfo(): typeof import('danfojs') {
  // danfojs' Node entry is CommonJS: require keeps toDataFrame synchronous and the load lazy.
  danfo ??= createRequire(import.meta.url)('danfojs') as typeof import('danfojs');
  return danfo;
}

/**
 * A danfojs DataFrame of a head or a sample of trips (as read, or cleaned), with readable columns.
 *
 * Columns: `pickup` and `dropoff` (read trips) or `pickup` (cleaned) as
 * 'YYYY-MM-DD HH:MM:SS' wall-clock strings, `PULocationID` and
 * `DOLocationID` as strings (the course's categories), `trip_distance`, and
 * `duration` in minutes. Missing values are null. The frame's index is the
 * row number in the input.
 *
 * @throws Error (`frame: ...`) when head/sample is not a non-negative integer or both are given.
 * @example
 * const trips = await readTrips('data/yellow_tripdata_2024-01.parquet');
 * toDataFrame(trips).print();                         // first 10 rows
 * toDataFrame(cleanTrips(trips), { sample: 200, seed: 7 }).describe().print();
 */
export function toDataFrame(trips: Trips | CleanTrips, options: ToDataFrameOptions = {}): DataFrame {
  const { head, sample, seed = 1 } = options;
  if (head !== undefined && sample !== undefined) throw new Error('frame: give head or sample, not both');
  const count = sample ?? head ?? 10;
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new Error(`frame: ${sample !== undefined ? 'sample' : 'head'} must be a non-negative integer, got ${count}`);
  }
  const n = trips.length;
  const rows = sample !== undefined ? sampleIndexes(n, count, seed) : Array.from({ length: Math.min(count, n) }, (_, i) => i);

  const columns: Record<string, (string | number | null)[]> = {};
  if ('features' in trips) {
    const { PULocationID, DOLocationID, trip_distance } = trips.features;
    columns.pickup = rows.map((i) => timestamp(trips.pickup[i]!));
    columns.PULocationID = rows.map((i) => PULocationID.labels[PULocationID.codes[i]!] ?? null);
    columns.DOLocationID = rows.map((i) => DOLocationID.labels[DOLocationID.codes[i]!] ?? null);
    columns.trip_distance = rows.map((i) => trip_distance[i]!);
    columns.duration = rows.map((i) => trips.duration[i]!);
  } else {
    columns.pickup = rows.map((i) => timestamp(trips.pickup[i]!));
    columns.dropoff = rows.map((i) => timestamp(trips.dropoff[i]!));
    columns.PULocationID = rows.map((i) => zone(trips.PULocationID[i]!));
    columns.DOLocationID = rows.map((i) => zone(trips.DOLocationID[i]!));
    columns.trip_distance = rows.map((i) => number(trips.trip_distance[i]!));
    columns.duration = rows.map((i) => number((trips.dropoff[i]! - trips.pickup[i]!) / 60e6));
  }
  const { DataFrame: Frame } = loadDanfo();
  return new Frame(columns, { index: rows });
}

/** Options of {@link peekTrips}. */
export interface PeekTripsOptions {
  /** How many rows, from the first. Default 5 (pandas' `head()`). */
  rows?: number;
}

/**
 * The first rows of a parquet file with every column, as a danfojs DataFrame: the
 * course's `pd.read_parquet(path).head()`, without reading the whole file.
 *
 * Only the first row group is read, and its pages decoded up to `rows` (about half a
 * second on a full-size TLC month, against seconds and gigabytes for all of it). Timestamps show as 'YYYY-MM-DD HH:MM:SS' wall-clock strings, 64-bit
 * integers as numbers, nulls as null. `frame.columns` are the file's columns in file
 * order (19 in a 2024 yellow month, 20 in a green one).
 *
 * @throws Error (`frame: <path>: ...`) when the file cannot be read as parquet, or `rows`
 *   is not a non-negative integer.
 * @example
 * const head = await peekTrips('data/yellow_tripdata_2024-01.parquet');
 * head.columns.length; // 19
 * showTable(head);
 */
export async function peekTrips(path: string, options: PeekTripsOptions = {}): Promise<DataFrame> {
  const { rows = 5 } = options;
  if (!Number.isSafeInteger(rows) || rows < 0) throw new Error(`frame: rows must be a non-negative integer, got ${rows}`);
  // Loaded here: hyparquet's row assembly and the pure-JS decompressors are only needed to look.
  const [{ asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema }, compressors] = await Promise.all([import('hyparquet'), hyparquetCompressors()]);
  let columns: string[];
  let records: Record<string, unknown>[];
  try {
    const file = await asyncBufferFromFile(path);
    const metadata = await parquetMetadataAsync(file);
    columns = parquetSchema(metadata).children.map((c) => c.element.name);
    const total = Number(metadata.num_rows);
    records = rows === 0 || total === 0 ? [] : await parquetReadObjects({ file, metadata, rowStart: 0, rowEnd: Math.min(rows, total), compressors });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new Error(`frame: ${path}: cannot read its first rows (${reason}); check that it is a parquet file`, { cause: error });
  }
  const data = Object.fromEntries(columns.map((name) => [name, records.map((r) => cell(r[name]))]));
  const { DataFrame: Frame } = loadDanfo();
  return new Frame(data, { columns, index: records.map((_, i) => i) });
}

/** A parquet value as a frame cell: dates as wall-clock text, bigints as numbers. */
function cell(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString().slice(0, 19).replace('T', ' ');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

function timestamp(micros: number): string | null {
  if (Number.isNaN(micros)) return null;
  const date = new Date(Math.floor(micros / 1000));
  // Years outside 0000-9999 (never in TLC data) would not fit the fixed format.
  return Number.isNaN(date.getTime()) ? null : date.toISOString().slice(0, 19).replace('T', ' ');
}

function zone(id: number): string | null {
  return id < 0 ? null : String(id);
}

function number(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

/** `k` distinct indexes below `n`, ascending, drawn with a seeded PRNG (Floyd's algorithm). */
function sampleIndexes(n: number, k: number, seed: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  let state = seed >>> 0;
  const random = (): number => {
    // mulberry32: small, fast, and the same on every platform.
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = Math.floor(random() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return Array.from(chosen).sort((a, b) => a - b);
}
