/**
 * Synthetic trips: TLC-shaped parquet files for tests, notebooks and benchmarks.
 *
 * The real monthly files are about 50 MB each and cannot be fetched here (no
 * network but the npm registry), so this module writes look-alikes: the same
 * 19 yellow columns (or the green ones) with the 2024 physical types, every
 * column OPTIONAL, ZSTD pages, row groups of about a million rows, realistic
 * distributions, and the quirks the course's cleaning step exists for
 * (pickups years outside the month, dropoff before pickup, trip distances in
 * the hundreds of thousands of miles, null passenger counts). Output is a pure
 * function of the options: the same seed gives the same bytes.
 *
 * Trips come from a toy city (see `cityOf`): zones with places, sizes,
 * congestion and Zipf-like popularity; a trip's distance follows from its
 * zones and its duration from that distance at a speed set by congestion and
 * the hour, with noise no column explains. So the course's regression behaves
 * as on the real months: on 100,000-row months, after the 1–60 minute filter,
 * mean about 13.8 min and standard deviation about 10.6 (real 2023-01: 14.2 and
 * 9.9), RMSE about 7.6 on train and 7.7 on another month (real: 7.65 / 7.81),
 * against 10.6 for predicting the mean.
 *
 * Variants that real older files use (int64 location IDs, nanosecond
 * timestamps, SNAPPY/GZIP/no compression, other row-group sizes, the
 * lowercase `airport_fee` of 2023-01) are options, so the reader can be tested
 * against each.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
// hyparquet-writer pins its own hyparquet; take the schema type from it so the two agree.
import type { ColumnSource, SchemaElement } from 'hyparquet-writer';
import { DATASETS, type Dataset } from './datasets.js';
import { GENERATOR_CREATED_BY } from './generated.js';
import { writeFileAtomic } from './output.js';
import { zstdWasm } from './zstd.js';

type Compressors = ConstructorParameters<typeof ParquetWriter>[0]['compressors'];

/** How often each quirk appears, as a fraction of rows. */
export interface SyntheticQuirks {
  /** Pickup (and dropoff) moved years away from the month, as in real files. Default 0.0001. */
  outOfMonth: number;
  /** Dropoff before pickup (a negative duration). Default 0.0005. */
  negativeDuration: number;
  /** Trips shorter than a minute (the course drops them). Default 0.012. */
  underOneMinute: number;
  /** Trips longer than an hour, some lasting days (on top of the ordinary trips that run past an hour in traffic, about 0.7%). Default 0.009. */
  overOneHour: number;
  /** trip_distance outliers between 1,000 and 300,000 miles. Default 0.0001. */
  hugeDistance: number;
  /**
   * Of the {@link SyntheticQuirks.hugeDistance} rows, the fraction whose
   * duration is an ordinary trip's, so the course's 1–60 minute filter keeps
   * them. The rest come with a garbled clock too (negative, under a minute or
   * over an hour) and are filtered out. Default 0: a single kept
   * 100,000-mile row drags the fitted distance coefficient to zero (the
   * regression then predicts about the mean for every trip), which the
   * course's results on the real months show does not happen there.
   */
  hugeDistanceKept: number;
  /** Rows whose passenger_count, RatecodeID, store_and_fwd_flag, congestion_surcharge and Airport_fee are null (payment_type 0), as TLC ships them. Default 0.047. */
  nullPassengers: number;
  /**
   * Rows with a null in one of the five columns the course needs (pickup,
   * dropoff, PULocationID, DOLocationID, trip_distance). Real 2024 files have
   * none; a small default exercises the null-dropping path. Default 0.0002.
   */
  neededNull: number;
}

/** Options of {@link writeSyntheticTrips}. */
export interface SyntheticTripsOptions {
  /** Month the trips belong to, 'YYYY-MM'. */
  month: string;
  /** Number of rows to write (0 is allowed and writes a valid empty file). */
  rows: number;
  /** Seed of the generator; the same seed gives the same file. Default 1. */
  seed?: number;
  /**
   * The dataset's layout: yellow taxis (tpep_* columns, 19 columns), green taxis (lpep_*, 20),
   * for-hire vehicles (`fhv`: 7 columns, zones as INT64 `PUlocationID`/`DOlocationID`, no distance)
   * or high-volume for-hire vehicles (`fhvhv`: 24 columns, `trip_miles`, INT64 zones), with TLC's
   * 2024 names and types. The trips come from the same toy city. Default 'yellow'.
   */
  color?: Dataset;
  /** Page compression. Default 'ZSTD', as TLC. */
  compression?: 'ZSTD' | 'SNAPPY' | 'GZIP' | 'UNCOMPRESSED';
  /** Rows per row group. Default 1,048,576 (pyarrow's default, about 3 row groups per month). */
  rowGroupSize?: number;
  /** Physical type of PULocationID/DOLocationID: INT32 as in 2023+, INT64 as in 2022 and earlier. Default 'INT32'. */
  locationIdType?: 'INT32' | 'INT64';
  /** Unit of the timestamp columns. Default 'MICROS' (2024 files); some older files use 'NANOS'. */
  timestampUnit?: 'MICROS' | 'NANOS';
  /** Name the last column `airport_fee` (lowercase, as in 2023-01) instead of `Airport_fee`. Default false. */
  lowercaseAirportFee?: boolean;
  /** Override the frequency of quirks (fractions of rows). */
  quirks?: Partial<SyntheticQuirks>;
  /**
   * A change in the city from a month on, for testing monitoring and retraining: applied when
   * `month` is within `drift.from`..`drift.until`; other months are the same bytes as without it.
   */
  drift?: SyntheticDrift;
}

/**
 * How the generated city changes from a month on (traffic, trip lengths, new service areas),
 * so that monitoring has something to find. Every factor defaults to no change.
 *
 * @example
 * await writeSyntheticTrips(path, { month: '2024-06', rows: 50_000, drift: { from: '2024-05', durationFactor: 1.3 } });
 */
export interface SyntheticDrift {
  /** First month that drifts, 'YYYY-MM'. */
  from: string;
  /** Last month that drifts, inclusive ('YYYY-MM'); default: every month from `from` on. */
  until?: string;
  /** Ordinary trips take this many times as long for the same route (traffic slows down). Default 1. */
  durationFactor?: number;
  /** Trips are this many times as long in miles, and take the time that distance takes. Default 1. */
  distanceFactor?: number;
  /**
   * Share of trips picked up in zones that undrifted months never have (IDs 2, 103, 104, 110
   * and 199: a new service area beyond Brooklyn), from 0 to 1. Default 0.
   */
  newZoneShare?: number;
}

const DEFAULT_QUIRKS: SyntheticQuirks = {
  outOfMonth: 0.0001,
  negativeDuration: 0.0005,
  underOneMinute: 0.012,
  overOneHour: 0.009,
  hugeDistance: 0.0001,
  hugeDistanceKept: 0,
  nullPassengers: 0.047,
  neededNull: 0.0002,
};

/**
 * The generator's version: raised whenever the same options start giving other
 * rows. Caches of generated months (the command's `--synthetic`, the
 * benchmarks) put it in their paths, so a newer generator never reuses files
 * an older one wrote.
 *
 * @example
 * join('data', 'synthetic', `v${SYNTHETIC_GENERATOR_VERSION}`); // 'data/synthetic/v2'
 */
export const SYNTHETIC_GENERATOR_VERSION = 2;

/**
 * The most rows one generated month may have: three times a real month (about 3 million rows,
 * 50 MB, a few seconds to write). More would take minutes and gigabytes for nothing.
 *
 * @example
 * await writeSyntheticTrips(path, { month: '2024-01', rows: MAX_SYNTHETIC_ROWS + 1 }); // throws
 */
export const MAX_SYNTHETIC_ROWS = 10_000_000;

/**
 * The most rows one generated month of a dataset may have: {@link MAX_SYNTHETIC_ROWS}, but 30
 * million for high-volume FHV, whose real months hold about 20 million trips.
 *
 * @example
 * maxSyntheticRows('fhvhv'); // 30000000
 */
export function maxSyntheticRows(dataset: Dataset = 'yellow'): number {
  return dataset === 'fhvhv' ? 30_000_000 : MAX_SYNTHETIC_ROWS;
}

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

/**
 * Writes a TLC-shaped parquet file of synthetic taxi trips, deterministically from a seed.
 *
 * The file is written through lib/output.ts (a temporary name beside `path`,
 * flushed, renamed when complete), so an interrupted run never leaves a half
 * file under `path`.
 * Memory stays bounded by one row group (generation goes row group by row group);
 * three million rows take under 20 seconds on a 2-core machine.
 *
 * Edge cases: `rows: 0` writes a valid file with the schema and no row groups.
 * Timestamps are wall-clock times stored without a time zone (TIMESTAMP with
 * isAdjustedToUTC=false), whole seconds, as TLC's.
 *
 * @throws Error (`synthetic: ...`) for a malformed month, a negative or
 *   non-integer row count or one above {@link MAX_SYNTHETIC_ROWS}, or a
 *   non-positive row-group size; `output: ...` when the file cannot be written.
 * @example
 * await writeSyntheticTrips('data/yellow_tripdata_2024-01.parquet', { month: '2024-01', rows: 3_000_000, seed: 1 });
 */
export async function writeSyntheticTrips(path: string, options: SyntheticTripsOptions): Promise<void> {
  const {
    month,
    rows,
    seed = 1,
    color = 'yellow',
    compression = 'ZSTD',
    rowGroupSize = 1_048_576,
    locationIdType = 'INT32',
    timestampUnit = 'MICROS',
    lowercaseAirportFee = false,
  } = options;
  const quirks: SyntheticQuirks = { ...DEFAULT_QUIRKS, ...options.quirks };
  const match = MONTH_RE.exec(month);
  if (!match) throw new Error(`synthetic: month must look like 2024-01, got ${JSON.stringify(month)}`);
  if (!Number.isSafeInteger(rows) || rows < 0) {
    throw new Error(`synthetic: rows must be a non-negative integer, got ${rows}`);
  }
  if (!(DATASETS as readonly string[]).includes(color)) throw new Error(`synthetic: color must be one of ${DATASETS.join(', ')}, got ${JSON.stringify(color)}`);
  if (rows > maxSyntheticRows(color)) {
    const real = color === 'fhvhv' ? '20,000,000' : '3,000,000';
    throw new Error(`synthetic: rows must be at most ${maxSyntheticRows(color).toLocaleString('en-US')} (a real ${color} month has about ${real}), got ${rows.toLocaleString('en-US')}`);
  }
  if (!Number.isSafeInteger(rowGroupSize) || rowGroupSize <= 0) {
    throw new Error(`synthetic: rowGroupSize must be a positive integer, got ${rowGroupSize}`);
  }
  const year = Number(match[1]);
  const monthIndex = Number(match[2]) - 1;
  const drift = activeDrift(options.drift, month);

  const compressors = await compressorsFor(compression);
  const schema = schemaFor(color, locationIdType, timestampUnit, lowercaseAirportFee);
  await writeFileAtomic(path, async (tmp) => {
    const writer = new ParquetWriter({
      writer: fileWriter(tmp),
      schema,
      codec: compression,
      compressors,
      // pyarrow writes statistics too; keeps the files' footers alike.
      statistics: true,
      createdBy: GENERATOR_CREATED_BY,
    });
    const generator = new TripGenerator({ year, monthIndex, seed, quirks, color, timestampUnit, locationIdType, drift });
    for (let start = 0; start < rows; start += rowGroupSize) {
      const n = Math.min(rowGroupSize, rows - start);
      const columnData = generator.rowGroup(n, schema);
      writer.write({ columnData, rowGroupSize: n });
      // Writing is synchronous: yield between row groups so Ctrl-C is handled (and the temporary removed) now.
      await new Promise((resolveTurn) => setImmediate(resolveTurn));
    }
    await writer.finish();
  }, { what: 'the generated month' });
}

/** The drift that applies to `month` (factors filled in), or null; checks the drift's fields. */
function activeDrift(drift: SyntheticDrift | undefined, month: string): Required<Omit<SyntheticDrift, 'until'>> | null {
  if (drift === undefined) return null;
  for (const key of ['from', 'until'] as const) {
    const value = drift[key];
    if ((key === 'from' || value !== undefined) && !MONTH_RE.test(String(value))) {
      throw new Error(`synthetic: drift.${key} must look like 2024-05, got ${JSON.stringify(value)}`);
    }
  }
  const { durationFactor = 1, distanceFactor = 1, newZoneShare = 0 } = drift;
  for (const [key, value] of [['durationFactor', durationFactor], ['distanceFactor', distanceFactor]] as const) {
    if (!Number.isFinite(value) || value <= 0 || value > 10) throw new Error(`synthetic: drift.${key} must be a factor above 0 and at most 10, got ${value}`);
  }
  if (!(newZoneShare >= 0 && newZoneShare <= 1)) throw new Error(`synthetic: drift.newZoneShare must be a share from 0 to 1, got ${newZoneShare}`);
  // Months as 'YYYY-MM' compare as strings.
  if (month < drift.from || (drift.until !== undefined && month > drift.until)) return null;
  return { from: drift.from, durationFactor, distanceFactor, newZoneShare };
}

/**
 * The cache path of a generated month:
 * `<cacheDir>/synthetic/v<version>/<color>_tripdata_<month>_<rows>[_<variant>].parquet`.
 *
 * Generated months live apart from downloaded ones so that one is never taken
 * for the other, and under the generator's version so that a newer generator
 * never reuses an older one's files.
 *
 * @example
 * syntheticMonthPath('data', 'yellow', '2024-01', 100_000); // 'data/synthetic/v2/yellow_tripdata_2024-01_100000.parquet'
 */
export function syntheticMonthPath(cacheDir: string, color: Dataset, month: string, rows: number, variant = ''): string {
  const suffix = variant === '' ? '' : `_${variant}`;
  return join(cacheDir, 'synthetic', `v${SYNTHETIC_GENERATOR_VERSION}`, `${color}_tripdata_${month}_${rows}${suffix}.parquet`);
}

/** Options of {@link syntheticMonth}: those of {@link writeSyntheticTrips}, plus a cache variant name. */
export interface SyntheticMonthOptions extends SyntheticTripsOptions {
  /** Names options other than month, rows and color in the file name (e.g. 'nonull' for other quirks); default ''. */
  variant?: string;
}

/**
 * A generated month in the cache, written on first use: the offline stand-in for
 * `fetchTrips`. The seed defaults to the month as a number (2024-01 → 202401),
 * so train and validation months differ and every run agrees.
 *
 * Different `quirks` or layout options must come with their own `variant`:
 * the file name holds only month, rows, colour and variant.
 *
 * @example
 * const { path, generated } = await syntheticMonth('data', { month: '2024-01', rows: 100_000 });
 */
export async function syntheticMonth(
  cacheDir: string,
  options: SyntheticMonthOptions,
): Promise<{ path: string; generated: boolean }> {
  const { variant = '', ...write } = options;
  const color = write.color ?? 'yellow';
  const path = syntheticMonthPath(cacheDir, color, write.month, write.rows, variant);
  if (existsSync(path)) return { path, generated: false };
  await writeSyntheticTrips(path, { seed: Number(write.month.replace('-', '')), ...write, color });
  return { path, generated: true };
}

/**
 * The column names of a TLC file of the given colour, in file order (2024 layout).
 *
 * @example
 * tripColumnNames('yellow').length; // 19
 */
export function tripColumnNames(color: Dataset = 'yellow'): string[] {
  return schemaFor(color, 'INT32', 'MICROS', false).slice(1).map((e) => e.name);
}

type Physical = 'INT32' | 'INT64' | 'DOUBLE' | 'STRING' | 'TIMESTAMP';

function schemaFor(
  color: Dataset,
  idType: 'INT32' | 'INT64',
  unit: 'MICROS' | 'NANOS',
  lowercaseAirportFee: boolean,
): SchemaElement[] {
  const p = color === 'yellow' ? 'tpep' : 'lpep';
  const columns: [string, Physical | 'ID'][] =
    color === 'fhv' || color === 'fhvhv'
      ? forHireColumns(color)
      : color === 'yellow'
      ? [
          ['VendorID', 'INT32'],
          [`${p}_pickup_datetime`, 'TIMESTAMP'],
          [`${p}_dropoff_datetime`, 'TIMESTAMP'],
          ['passenger_count', 'INT64'],
          ['trip_distance', 'DOUBLE'],
          ['RatecodeID', 'INT64'],
          ['store_and_fwd_flag', 'STRING'],
          ['PULocationID', 'ID'],
          ['DOLocationID', 'ID'],
          ['payment_type', 'INT64'],
          ['fare_amount', 'DOUBLE'],
          ['extra', 'DOUBLE'],
          ['mta_tax', 'DOUBLE'],
          ['tip_amount', 'DOUBLE'],
          ['tolls_amount', 'DOUBLE'],
          ['improvement_surcharge', 'DOUBLE'],
          ['total_amount', 'DOUBLE'],
          ['congestion_surcharge', 'DOUBLE'],
          [lowercaseAirportFee ? 'airport_fee' : 'Airport_fee', 'DOUBLE'],
        ]
      : [
          // Green files store the small categorical codes as doubles (pandas' float for nullable ints).
          ['VendorID', 'INT32'],
          [`${p}_pickup_datetime`, 'TIMESTAMP'],
          [`${p}_dropoff_datetime`, 'TIMESTAMP'],
          ['store_and_fwd_flag', 'STRING'],
          ['RatecodeID', 'DOUBLE'],
          ['PULocationID', 'ID'],
          ['DOLocationID', 'ID'],
          ['passenger_count', 'DOUBLE'],
          ['trip_distance', 'DOUBLE'],
          ['fare_amount', 'DOUBLE'],
          ['extra', 'DOUBLE'],
          ['mta_tax', 'DOUBLE'],
          ['tip_amount', 'DOUBLE'],
          ['tolls_amount', 'DOUBLE'],
          ['ehail_fee', 'DOUBLE'],
          ['improvement_surcharge', 'DOUBLE'],
          ['total_amount', 'DOUBLE'],
          ['payment_type', 'DOUBLE'],
          ['trip_type', 'DOUBLE'],
          ['congestion_surcharge', 'DOUBLE'],
        ];
  const elements: SchemaElement[] = [{ name: 'schema', num_children: columns.length }];
  for (const [name, kind] of columns) {
    const base = { name, repetition_type: 'OPTIONAL' as const };
    if (kind === 'TIMESTAMP') {
      // No converted_type: pyarrow omits TIMESTAMP_MICROS for timestamps not adjusted to UTC.
      elements.push({ ...base, type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit } });
    } else if (kind === 'STRING') {
      elements.push({ ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } });
    } else if (kind === 'ID') {
      elements.push({ ...base, type: idType });
    } else {
      elements.push({ ...base, type: kind });
    }
  }
  return elements;
}

/**
 * The columns of TLC's for-hire vehicle files (2024): FHV's seven, with INT64 zone IDs in
 * `PUlocationID`/`DOlocationID` and no distance; high-volume FHV's twenty-four, with `trip_miles`.
 */
function forHireColumns(dataset: 'fhv' | 'fhvhv'): [string, Physical | 'ID'][] {
  if (dataset === 'fhv') {
    return [
      ['dispatching_base_num', 'STRING'],
      ['pickup_datetime', 'TIMESTAMP'],
      ['dropOff_datetime', 'TIMESTAMP'],
      ['PUlocationID', 'INT64'],
      ['DOlocationID', 'INT64'],
      ['SR_Flag', 'INT64'],
      ['Affiliated_base_number', 'STRING'],
    ];
  }
  return [
    ['hvfhs_license_num', 'STRING'],
    ['dispatching_base_num', 'STRING'],
    ['originating_base_num', 'STRING'],
    ['request_datetime', 'TIMESTAMP'],
    ['on_scene_datetime', 'TIMESTAMP'],
    ['pickup_datetime', 'TIMESTAMP'],
    ['dropoff_datetime', 'TIMESTAMP'],
    ['PULocationID', 'INT64'],
    ['DOLocationID', 'INT64'],
    ['trip_miles', 'DOUBLE'],
    ['trip_time', 'INT64'],
    ['base_passenger_fare', 'DOUBLE'],
    ['tolls', 'DOUBLE'],
    ['bcf', 'DOUBLE'],
    ['sales_tax', 'DOUBLE'],
    ['congestion_surcharge', 'DOUBLE'],
    ['airport_fee', 'DOUBLE'],
    ['tips', 'DOUBLE'],
    ['driver_pay', 'DOUBLE'],
    ['shared_request_flag', 'STRING'],
    ['shared_match_flag', 'STRING'],
    ['access_a_ride_flag', 'STRING'],
    ['wav_request_flag', 'STRING'],
    ['wav_match_flag', 'STRING'],
  ];
}

async function compressorsFor(codec: SyntheticTripsOptions['compression']): Promise<NonNullable<Compressors>> {
  if (codec === 'ZSTD') {
    // Node 20 has no zstd in zlib; the wasm build of the reference library compresses like pyarrow does.
    const zstd = await zstdWasm();
    return { ZSTD: (input: Uint8Array) => zstd.compress(input, 3) };
  }
  if (codec === 'GZIP') return { GZIP: (input: Uint8Array) => new Uint8Array(gzipSync(input)) };
  return {}; // SNAPPY is built into hyparquet-writer; UNCOMPRESSED needs nothing.
}

/**
 * A small fast PRNG (sfc32) seeded through splitmix32, so files do not depend
 * on Math.random or on the platform.
 */
class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** A discrete distribution sampled by binary search over cumulative weights. */
class Discrete {
  private readonly cumulative: Float64Array;
  constructor(
    readonly values: readonly number[],
    weights: readonly number[],
  ) {
    this.cumulative = new Float64Array(weights.length);
    let total = 0;
    weights.forEach((w, i) => {
      total += w;
      this.cumulative[i] = total;
    });
    for (let i = 0; i < this.cumulative.length; i++) this.cumulative[i]! /= total;
  }
  sample(random: Random): number {
    const u = random.next();
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo]!;
  }
}

/** FHV bases (dispatching base licence numbers), as in TLC's files. */
const BASES = Array.from({ length: 40 }, (_, i) => `B0${String(2000 + 37 * i).padStart(4, '0')}`);

/** Zones with airport fees in TLC's zone table: JFK and LaGuardia. */
const AIRPORTS = new Set([132, 138]);
const JFK = 132;
const LGA = 138;

/**
 * A toy city behind the trips: every taxi zone gets a place on a plane (in
 * miles), a size, a congestion level and a popularity rank. Trips then get
 * their distance from where their zones are and their duration from that
 * distance at a speed set by congestion and the hour, which is what lets the
 * course's regression (one-hot PU/DO + trip_distance) explain part of the
 * variance, as on the real months, rather than none or nearly all of it.
 *
 * Seed-independent: every month shares one city (as the real months do).
 */
interface City {
  /** Zone IDs that occur, most popular (for pickups) first. */
  readonly zones: readonly number[];
  /** Per zone ID (index 0..265): position in miles, east (x) and north (y). */
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** Per zone ID: typical distance of a trip within the zone, miles. */
  readonly size: Float64Array;
  /** Per zone ID: 0 (open roads) .. 1 (Midtown at noon). */
  readonly congestion: Float64Array;
  readonly pickups: Discrete;
  /** Per pickup zone ID: where its trips end (near zones more often, popular ones more often). */
  readonly dropoffs: readonly (Discrete | undefined)[];
  /** Straight-line miles between zones, at [from * 266 + to] (a table: cheaper than per-row square roots). */
  readonly crow: Float64Array;
}

let city: City | undefined;

function cityOf(): City {
  if (city) return city;
  // ~260 zones with Zipf-like popularity in a seed-independent order, so
  // every month shares the same busy zones (as Manhattan's are every month).
  const order = Array.from({ length: 265 }, (_, i) => i + 1);
  const random = new Random(20240101);
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  // A few zones never appear (as 103-105, 199 in practice), so vocabularies are < 265.
  const zones = order.filter((z) => z !== 103 && z !== 104 && z !== 110 && z !== 199 && z !== 2 && !AIRPORTS.has(z));
  // The airports are among the busiest pickup zones in the real files; here JFK is 6th (about 2.5% of
  // pickups) and LaGuardia 13th (about 1%), a little below their real shares: their long trips
  // dominate the spread of the durations.
  zones.splice(5, 0, JFK);
  zones.splice(12, 0, LGA);

  const x = new Float64Array(266);
  const y = new Float64Array(266);
  const size = new Float64Array(266);
  const congestion = new Float64Array(266);
  const place = (z: number, cx: number, cy: number, spread: number, s: number, cLo: number, cHi: number): void => {
    x[z] = cx + spread * random.normal();
    y[z] = cy + spread * random.normal();
    size[z] = s * (0.7 + 0.6 * random.next());
    congestion[z] = cLo + (cHi - cLo) * random.next();
  };
  // Outer boroughs' clusters (centre x, y, spread), roughly where Brooklyn, Queens, the Bronx and Staten Island lie from Midtown.
  const inner = [[1.5, -4.5, 1.5], [4.5, 2.5, 1.5], [1.5, 10, 1.2]] as const;
  const outer = [[3, -8, 2.5], [10, 1, 2.5], [4, 13, 2], [-8, -11, 2]] as const;
  zones.forEach((z, rank) => {
    if (z === JFK) {
      x[z] = 10; y[z] = -5; size[z] = 1; congestion[z] = 0.45;
    } else if (z === LGA) {
      x[z] = 6.5; y[z] = 4.5; size[z] = 0.8; congestion[z] = 0.45;
    } else if (rank < 27) {
      // The popular zones are Manhattan below 96th Street: a narrow strip; how jammed differs by zone.
      x[z] = 0.4 * random.normal();
      y[z] = 0.5 + 3 * random.next();
      size[z] = 0.35 * (0.7 + 0.6 * random.next());
      congestion[z] = 0.3 + 0.7 * random.next();
    } else if (rank < 72) {
      x[z] = 0.5 * random.normal();
      y[z] = -3 + 11.5 * random.next();
      size[z] = 0.5 * (0.7 + 0.6 * random.next());
      congestion[z] = 0.3 + 0.55 * random.next();
    } else if (rank < 140) {
      const [cx, cy, spread] = inner[random.int(0, inner.length - 1)]!;
      place(z, cx, cy, spread, 0.7, 0.35, 0.55);
    } else {
      const [cx, cy, spread] = outer[random.int(0, outer.length - 1)]!;
      place(z, cx, cy, spread, 1, 0.1, 0.35);
    }
  });

  const pickups = new Discrete(zones, zones.map((_, rank) => 1 / Math.pow(rank + 1, 1.15)));
  // Drop-offs spread wider than pickups; fewer trips end at the airports than start there.
  const dropPopularity = zones.map((z, rank) => (AIRPORTS.has(z) ? 0.5 : 1) / Math.pow(rank + 1, 0.95));
  const crow = new Float64Array(266 * 266);
  for (const from of zones) for (const to of zones) crow[from * 266 + to] = Math.sqrt((x[to]! - x[from]!) ** 2 + (y[to]! - y[from]!) ** 2);
  const dropoffs: (Discrete | undefined)[] = new Array(266);
  for (const from of zones) {
    // Gravity model: most trips are short (the weight falls with the cube of the distance past
    // 2 miles). From an airport, trips go anywhere, which by popularity means mostly Manhattan.
    const reach = AIRPORTS.has(from) ? Infinity : 2;
    dropoffs[from] = new Discrete(
      zones,
      zones.map((to, i) => dropPopularity[i]! / (1 + (crow[from * 266 + to]! / reach) ** 3)),
    );
  }
  city = { zones, x, y, size, congestion, pickups, dropoffs, crow };
  return city;
}

/** How much traffic slows trips by hour of day (1 = midday), rush hours above, nights well below. */
const HOUR_TRAFFIC = [0.45, 0.35, 0.3, 0.3, 0.3, 0.4, 0.7, 1.05, 1.15, 1.05, 1, 1, 1, 1, 1.05, 1.1, 1.15, 1.2, 1.1, 0.95, 0.8, 0.75, 0.7, 0.6];

interface GeneratorConfig {
  year: number;
  monthIndex: number;
  seed: number;
  quirks: SyntheticQuirks;
  color: Dataset;
  timestampUnit: 'MICROS' | 'NANOS';
  locationIdType: 'INT32' | 'INT64';
  /** The drift of this month, or null (then not one random number more is drawn: same bytes as before drift existed). */
  drift: Required<Omit<SyntheticDrift, 'until'>> | null;
}

/** Zones the city never uses (see cityOf) that a drift opens as a new service area. */
const NEW_ZONES = [2, 103, 104, 110, 199] as const;

/** A new zone's place in the city: where it is, how trips from it go. */
interface NewZone {
  size: number;
  congestion: number;
  dropoffs: Discrete;
  /** Straight-line miles to each zone ID. */
  crow: Float64Array;
}

let newZones: Map<number, NewZone> | undefined;

/**
 * The drift's new zones: a district south-east of the outer Brooklyn cluster, open roads,
 * trips mostly to nearby zones (the gravity model of cityOf). Seed-independent, like the city.
 */
function newZonesOf(city: City): Map<number, NewZone> {
  if (newZones) return newZones;
  const random = new Random(20240501);
  newZones = new Map();
  for (const id of NEW_ZONES) {
    const x = 6 + 1.5 * random.normal();
    const y = -12 + 1.5 * random.normal();
    const crow = new Float64Array(266);
    for (const to of city.zones) crow[to] = Math.sqrt((city.x[to]! - x) ** 2 + (city.y[to]! - y) ** 2);
    const weights = city.zones.map((to, rank) => 1 / Math.pow(rank + 1, 0.95) / (1 + (crow[to]! / 3) ** 3));
    newZones.set(id, { size: 1, congestion: 0.15 + 0.1 * random.next(), dropoffs: new Discrete(city.zones, weights), crow });
  }
  return newZones;
}

class TripGenerator {
  private readonly random: Random;
  private readonly monthStartUs: number;
  private readonly monthUs: number;
  /** Day of the week of the month's first day (0 = Sunday). */
  private readonly firstWeekday: number;
  private readonly hours: Discrete;
  private readonly city: City;

  /** Draws of the for-hire layouts' own columns, apart from the trips' (which every layout shares). */
  private readonly extra: Random;

  constructor(private readonly config: GeneratorConfig) {
    this.random = new Random(config.seed);
    this.extra = new Random(config.seed ^ 0x5f3759df);
    const start = Date.UTC(config.year, config.monthIndex, 1);
    const end = Date.UTC(config.year, config.monthIndex + 1, 1);
    this.monthStartUs = start * 1000;
    this.monthUs = (end - start) * 1000;
    this.firstWeekday = new Date(start).getUTCDay();
    // Trips per hour of day: quiet at night, peaks in the evening (shape of TLC counts).
    this.hours = new Discrete(
      Array.from({ length: 24 }, (_, h) => h),
      [2.4, 1.6, 1.1, 0.7, 0.5, 0.6, 1.5, 3.0, 4.1, 4.4, 4.6, 4.9, 5.2, 5.4, 5.8, 6.0, 6.1, 6.5, 7.0, 6.4, 5.6, 5.4, 4.9, 3.6],
    );
    this.city = cityOf();
  }

  rowGroup(n: number, schema: SchemaElement[]): ColumnSource[] {
    const { random, config } = this;
    const q = config.quirks;
    const nanos = config.timestampUnit === 'NANOS';
    const ts = (us: number): bigint => (nanos ? BigInt(us) * 1000n : BigInt(us));

    const vendor = new Int32Array(n);
    const pickup: (bigint | null)[] = new Array(n);
    const dropoff: (bigint | null)[] = new Array(n);
    const passengers: (number | null)[] = new Array(n);
    const distance: (number | null)[] = new Array(n);
    const ratecode: (number | null)[] = new Array(n);
    const flag: (string | null)[] = new Array(n);
    const pu: (number | null)[] = new Array(n);
    const dof: (number | null)[] = new Array(n);
    const payment = new Float64Array(n);
    const fare = new Float64Array(n);
    const extra = new Float64Array(n);
    const mta = new Float64Array(n);
    const tip = new Float64Array(n);
    const tolls = new Float64Array(n);
    const improvement = new Float64Array(n);
    const total = new Float64Array(n);
    const congestion: (number | null)[] = new Array(n);
    const airportFee: (number | null)[] = new Array(n);
    const tripType = new Float64Array(n);

    for (let i = 0; i < n; i++) {
      vendor[i] = random.next() < 0.26 ? 1 : 2;

      // Pickup: a day of the month, an hour by the daily profile, any second.
      const day = Math.floor(random.next() * (this.monthUs / (86_400 * 1e6)));
      const hour = this.hours.sample(random);
      const second = random.int(0, 3599);
      let pickupUs = this.monthStartUs + (day * 86_400 + hour * 3600 + second) * 1e6;
      if (random.next() < q.outOfMonth) {
        // Real files hold pickups from 2002, 2008-2009 or the next year: meter clocks gone wrong.
        const yearsOff = [-22, -16, -15, -1, 1][random.int(0, 4)]!;
        pickupUs += yearsOff * 365 * 86_400 * 1e6;
      }

      // Where: a pickup zone by popularity, a drop-off zone near it more often than far (5% stay in the zone).
      const { city } = this;
      const drift = config.drift;
      let puZone = city.pickups.sample(random);
      // A drifted month picks some trips up in the new zones instead (a draw only when it opens them).
      let fresh: NewZone | null = null;
      if (drift !== null && drift.newZoneShare > 0 && random.next() < drift.newZoneShare) {
        puZone = NEW_ZONES[random.int(0, NEW_ZONES.length - 1)]!;
        fresh = newZonesOf(city).get(puZone)!;
      }
      const doZone = random.next() < 0.05 ? puZone : (fresh?.dropoffs ?? city.dropoffs[puZone]!).sample(random);
      const puSize = fresh?.size ?? city.size[puZone]!;
      const puCongestion = fresh?.congestion ?? city.congestion[puZone]!;
      // Within a new zone, the size stands in for the crossing; drop-offs in it stay local.
      const doSize = doZone === puZone ? puSize : city.size[doZone]!;
      const doCongestion = doZone === puZone ? puCongestion : city.congestion[doZone]!;
      const crowMiles = fresh !== null ? (doZone === puZone ? 0 : fresh.crow[doZone]!) : city.crow[puZone * 266 + doZone]!;

      // The distance actually driven: street distance between the zones (a grid
      // is longer than the straight line), plus getting in and out of them, times
      // a per-trip route choice. The meter reports it with a little noise.
      const local = 0.5 * (puSize + doSize) * (0.3 + random.next());
      let driven = (1.3 * crowMiles + local) * Math.exp(0.15 * random.normal());
      if (drift !== null) driven *= drift.distanceFactor;

      // Duration: two minutes' overhead plus the distance at a speed that congestion
      // (both zones', scaled by the hour, lighter at weekends) brings down from
      // 16 mph on the streets; long trips take highways, up to 42 mph at night and
      // much less in rush hours. Then what no column of the file explains: a
      // multiplicative noise (lights, traffic, the driver), wide on short trips and
      // narrow on long ones, and a waiting time (exponential, longer in busy hours).
      const weekday = (this.firstWeekday + day) % 7;
      const traffic = HOUR_TRAFFIC[hour]! * (weekday === 0 || weekday === 6 ? 0.75 : 1);
      const streetMph = 16 / (1 + 1.5 * traffic * 0.5 * (puCongestion + doCongestion));
      const highwayMph = 42 / (1 + 0.7 * traffic);
      const mph = streetMph + (highwayMph - streetMph) * (1 - Math.exp(-driven / 6));
      const sigma = 0.25 + 0.65 * Math.exp(-driven / 4);
      // Mean-preserving (the -sigma²/2), so the noise spreads short trips without lengthening them on average.
      let tripMinutes = (2 + (60 * driven) / mph) * Math.exp(sigma * random.normal() - (sigma * sigma) / 2) - 2.5 * traffic * Math.log(1 - random.next());
      if (drift !== null) tripMinutes *= drift.durationFactor;

      // Distance as the meter records it: zero-mile trips, huge outliers (meter glitches).
      let miles: number;
      let garbledClock = false;
      const d = random.next();
      if (d < q.hugeDistance) {
        miles = 1000 + random.next() * 299_000;
        garbledClock = random.next() >= q.hugeDistanceKept;
      } else if (d < q.hugeDistance + 0.015) miles = 0;
      else miles = driven * Math.exp(0.03 * random.normal());
      miles = Math.round(miles * 100) / 100;

      // Duration in whole seconds, plus the tails the course filters (0: none,
      // 1: negative, 2: under a minute, 3: over an hour). A glitch that garbles
      // the distance garbles the clock too: one of the three tails, evenly.
      const u = random.next();
      const tail = garbledClock
        ? random.int(1, 3)
        : u < q.negativeDuration
          ? 1
          : u < q.negativeDuration + q.underOneMinute
            ? 2
            : u < q.negativeDuration + q.underOneMinute + q.overOneHour
              ? 3
              : 0;
      let seconds: number;
      if (tail === 1) seconds = -random.int(1, 3600);
      else if (tail === 2) seconds = random.int(0, 59);
      else if (tail === 3) {
        // Mostly an hour or two; one in ten forgot to stop the meter for up to three days.
        seconds = random.next() < 0.9 ? random.int(3601, 3 * 3600) : random.int(3 * 3600, 72 * 3600);
      } else {
        // Trips past an hour stay there (the filter drops them, as real ones), but
        // the last two minutes' worth is held at exactly 60:00 and the sub-minute
        // ones at 1:00, so that even small files exercise both inclusive bounds.
        seconds = Math.max(Math.round(60 * tripMinutes), 60);
        if (seconds > 3600 && seconds <= 3720) seconds = 3600;
      }
      const dropoffUs = pickupUs + seconds * 1e6;
      const minutes = Math.abs(seconds) / 60;

      pickup[i] = ts(pickupUs);
      dropoff[i] = ts(dropoffUs);
      distance[i] = miles;
      pu[i] = puZone;
      dof[i] = doZone;
      if (random.next() < q.neededNull) {
        const which = random.int(0, 4);
        if (which === 0) pickup[i] = null;
        else if (which === 1) dropoff[i] = null;
        else if (which === 2) pu[i] = null;
        else if (which === 3) dof[i] = null;
        else distance[i] = null;
      }

      // Fare: TLC's meter (initial charge, per mile, per minute), some refunds (negative amounts).
      const airport = AIRPORTS.has(puZone);
      const rate = airport && random.next() < 0.35 ? 2 : random.next() < 0.985 ? 1 : [3, 4, 5, 99][random.int(0, 3)]!;
      let fareAmount = rate === 2 ? 70 : Math.round((3 + 3.5 * Math.min(miles, 60) + 0.7 * Math.min(minutes, 180)) * 10) / 10;
      if (random.next() < 0.012) fareAmount = -fareAmount;
      const pay = random.next();
      const paymentType = pay < 0.78 ? 1 : pay < 0.95 ? 2 : pay < 0.98 ? 4 : 3;
      const tipAmount = paymentType === 1 && fareAmount > 0 ? Math.round(fareAmount * (0.1 + 0.2 * random.next()) * 100) / 100 : 0;
      const tollAmount = random.next() < 0.07 ? 6.94 : 0;
      const extraAmount = hour >= 16 && hour < 20 ? 2.5 : hour >= 20 || hour < 6 ? 1 : 0;
      const congestionAmount = random.next() < 0.92 ? 2.5 : 0;
      const airportAmount = airport ? 1.75 : 0;
      const sign = fareAmount < 0 ? -1 : 1;
      fare[i] = fareAmount;
      extra[i] = sign * extraAmount;
      mta[i] = sign * 0.5;
      tip[i] = tipAmount;
      tolls[i] = tollAmount;
      improvement[i] = sign * 1;
      tripType[i] = random.next() < 0.97 ? 1 : 2;

      if (random.next() < q.nullPassengers) {
        // TLC's "unknown" rows: the meter data without the trip record's extra fields.
        passengers[i] = null;
        ratecode[i] = null;
        flag[i] = null;
        congestion[i] = null;
        airportFee[i] = null;
        payment[i] = 0;
      } else {
        const p = random.next();
        passengers[i] = p < 0.015 ? 0 : p < 0.77 ? 1 : p < 0.92 ? 2 : p < 0.955 ? 3 : p < 0.975 ? 4 : p < 0.988 ? 5 : 6;
        ratecode[i] = rate;
        flag[i] = random.next() < 0.005 ? 'Y' : 'N';
        congestion[i] = sign * congestionAmount;
        airportFee[i] = sign * airportAmount;
        payment[i] = paymentType;
      }
      total[i] =
        Math.round(
          (fareAmount + extra[i]! + mta[i]! + tipAmount + tollAmount + improvement[i]! + (congestion[i] ?? 0) + (airportFee[i] ?? 0)) * 100,
        ) / 100;
    }

    const bigints = (values: ArrayLike<number | null>): (bigint | null)[] =>
      Array.from(values, (v) => (v === null ? null : BigInt(v)));
    const ids = (values: (number | null)[]): (number | bigint | null)[] => (config.locationIdType === 'INT64' ? bigints(values) : values);
    const byName: Record<string, unknown[] | ArrayLike<unknown>> =
      config.color === 'fhv' || config.color === 'fhvhv'
        ? this.forHireColumns(n, { pickup, dropoff, pu, dof, distance, fare, tip, tolls, congestion, airportFee })
        : config.color === 'yellow'
        ? {
            VendorID: vendor,
            tpep_pickup_datetime: pickup,
            tpep_dropoff_datetime: dropoff,
            passenger_count: bigints(passengers),
            trip_distance: distance,
            RatecodeID: bigints(ratecode),
            store_and_fwd_flag: flag,
            PULocationID: ids(pu),
            DOLocationID: ids(dof),
            payment_type: bigints(payment),
            fare_amount: fare,
            extra,
            mta_tax: mta,
            tip_amount: tip,
            tolls_amount: tolls,
            improvement_surcharge: improvement,
            total_amount: total,
            congestion_surcharge: congestion,
            Airport_fee: airportFee,
            airport_fee: airportFee,
          }
        : {
            VendorID: vendor,
            lpep_pickup_datetime: pickup,
            lpep_dropoff_datetime: dropoff,
            store_and_fwd_flag: flag,
            RatecodeID: ratecode,
            PULocationID: ids(pu),
            DOLocationID: ids(dof),
            passenger_count: passengers,
            trip_distance: distance,
            fare_amount: fare,
            extra,
            mta_tax: mta,
            tip_amount: tip,
            tolls_amount: tolls,
            // ehail_fee has been entirely null since 2015.
            ehail_fee: new Array<null>(n).fill(null),
            improvement_surcharge: improvement,
            total_amount: total,
            payment_type: payment,
            trip_type: tripType,
            congestion_surcharge: congestion,
          };
    return schema.slice(1).map((element) => ({
      name: element.name,
      data: byName[element.name] as ColumnSource['data'],
    }));
  }

  /**
   * A for-hire row group's columns from the trips drawn for a taxi one (same city, zones, times,
   * distances and fares): FHV's bases and flag, or high-volume FHV's license, bases, request
   * and on-scene times, trip seconds, fares and flags. A few extra draws per row, from their own
   * generator, so the trips are the taxi layouts' trips.
   */
  private forHireColumns(
    n: number,
    trip: {
      pickup: (bigint | null)[];
      dropoff: (bigint | null)[];
      pu: (number | null)[];
      dof: (number | null)[];
      distance: (number | null)[];
      fare: Float64Array;
      tip: Float64Array;
      tolls: Float64Array;
      congestion: (number | null)[];
      airportFee: (number | null)[];
    },
  ): Record<string, unknown[] | ArrayLike<unknown>> {
    const random = this.extra;
    const ids = (values: (number | null)[]): (bigint | null)[] => values.map((v) => (v === null ? null : BigInt(v)));
    const base = (i: number): string => BASES[(i * 7 + random.int(0, BASES.length - 1)) % BASES.length]!;
    if (this.config.color === 'fhv') {
      const bases = Array.from({ length: n }, (_, i) => base(i));
      return {
        dispatching_base_num: bases,
        pickup_datetime: trip.pickup,
        dropOff_datetime: trip.dropoff,
        PUlocationID: ids(trip.pu),
        DOlocationID: ids(trip.dof),
        SR_Flag: new Array<null>(n).fill(null),
        Affiliated_base_number: bases,
      };
    }
    const nanos = this.config.timestampUnit === 'NANOS' ? 1000n : 1n;
    const license: string[] = new Array(n);
    const dispatching: string[] = new Array(n);
    const request: (bigint | null)[] = new Array(n);
    const onScene: (bigint | null)[] = new Array(n);
    const tripTime: (bigint | null)[] = new Array(n);
    const fare = new Float64Array(n);
    const bcf = new Float64Array(n);
    const tax = new Float64Array(n);
    const driverPay = new Float64Array(n);
    const shared: string[] = new Array(n);
    const wav: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const uber = random.next() < 0.73;
      license[i] = uber ? 'HV0003' : 'HV0005';
      dispatching[i] = uber ? 'B03404' : 'B03406';
      const pickup = trip.pickup[i];
      const dropoff = trip.dropoff[i];
      // Requested 2 to 12 minutes before the pickup; Lyft does not record the car's arrival.
      const wait = BigInt(random.int(120, 720)) * 1_000_000n * nanos;
      request[i] = pickup === null || pickup === undefined ? null : pickup - wait;
      onScene[i] = pickup === null || pickup === undefined || !uber ? null : pickup - BigInt(random.int(0, 120)) * 1_000_000n * nanos;
      tripTime[i] = pickup === null || dropoff === null || pickup === undefined || dropoff === undefined ? null : (dropoff - pickup) / (1_000_000n * nanos);
      const f = Math.round(Math.abs(trip.fare[i]!) * 1.1 * 100) / 100;
      fare[i] = f;
      bcf[i] = Math.round(f * 0.0275 * 100) / 100;
      tax[i] = Math.round(f * 0.08875 * 100) / 100;
      driverPay[i] = Math.round(f * 0.72 * 100) / 100;
      shared[i] = random.next() < 0.01 ? 'Y' : 'N';
      wav[i] = random.next() < 0.06 ? 'Y' : 'N';
    }
    const no = new Array<string>(n).fill('N');
    return {
      hvfhs_license_num: license,
      dispatching_base_num: dispatching,
      originating_base_num: dispatching,
      request_datetime: request,
      on_scene_datetime: onScene,
      pickup_datetime: trip.pickup,
      dropoff_datetime: trip.dropoff,
      PULocationID: ids(trip.pu),
      DOLocationID: ids(trip.dof),
      trip_miles: trip.distance,
      trip_time: tripTime,
      base_passenger_fare: fare,
      tolls: trip.tolls,
      bcf,
      sales_tax: tax,
      congestion_surcharge: trip.congestion.map((c) => (c === null ? 0 : Math.abs(c) > 0 ? 2.75 : 0)),
      airport_fee: trip.airportFee.map((a) => (a === null ? 0 : Math.abs(a) > 0 ? 2.5 : 0)),
      tips: trip.tip,
      driver_pay: driverPay,
      shared_request_flag: shared,
      shared_match_flag: shared,
      access_a_ride_flag: no,
      wav_request_flag: wav,
      wav_match_flag: wav,
    };
  }
}
