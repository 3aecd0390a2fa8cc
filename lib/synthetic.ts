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
 * Variants that real older files use (int64 location IDs, nanosecond
 * timestamps, SNAPPY/GZIP/no compression, other row-group sizes, the
 * lowercase `airport_fee` of 2023-01) are options, so the reader can be tested
 * against each.
 */
import { rename, rm } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
// hyparquet-writer pins its own hyparquet; take the schema type from it so the two agree.
import type { ColumnSource, SchemaElement } from 'hyparquet-writer';
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
  /** Trips longer than an hour, some lasting days. Default 0.009. */
  overOneHour: number;
  /** trip_distance outliers between 1,000 and 300,000 miles. Default 0.0001. */
  hugeDistance: number;
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
  /** Taxi colour: yellow (tpep_* columns, 19 columns) or green (lpep_* columns, 20 columns). Default 'yellow'. */
  color?: 'yellow' | 'green';
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
}

const DEFAULT_QUIRKS: SyntheticQuirks = {
  outOfMonth: 0.0001,
  negativeDuration: 0.0005,
  underOneMinute: 0.012,
  overOneHour: 0.009,
  hugeDistance: 0.0001,
  nullPassengers: 0.047,
  neededNull: 0.0002,
};

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

/**
 * Writes a TLC-shaped parquet file of synthetic taxi trips, deterministically from a seed.
 *
 * The file is written to a temporary name beside `path` and renamed when
 * complete, so an interrupted run never leaves a half file under `path`.
 * Memory stays bounded by one row group (generation goes row group by row group);
 * three million rows take a few seconds.
 *
 * Edge cases: `rows: 0` writes a valid file with the schema and no row groups.
 * Timestamps are wall-clock times stored without a time zone (TIMESTAMP with
 * isAdjustedToUTC=false), whole seconds, as TLC's.
 *
 * @throws Error (`synthetic: ...`) for a malformed month, a negative or
 *   non-integer row count, or a non-positive row-group size.
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
  if (!Number.isSafeInteger(rowGroupSize) || rowGroupSize <= 0) {
    throw new Error(`synthetic: rowGroupSize must be a positive integer, got ${rowGroupSize}`);
  }
  const year = Number(match[1]);
  const monthIndex = Number(match[2]) - 1;

  const compressors = await compressorsFor(compression);
  const schema = schemaFor(color, locationIdType, timestampUnit, lowercaseAirportFee);
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const writer = new ParquetWriter({
      writer: fileWriter(tmp),
      schema,
      codec: compression,
      compressors,
      // pyarrow writes statistics too; keeps the files' footers alike.
      statistics: true,
      createdBy: 'taxi-duration synthetic (TLC-shaped)',
    });
    const generator = new TripGenerator({ year, monthIndex, seed, quirks, color, timestampUnit, locationIdType });
    for (let start = 0; start < rows; start += rowGroupSize) {
      const n = Math.min(rowGroupSize, rows - start);
      const columnData = generator.rowGroup(n, schema);
      writer.write({ columnData, rowGroupSize: n });
    }
    await writer.finish();
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** The column names of a TLC file of the given colour, in file order (2024 layout). */
export function tripColumnNames(color: 'yellow' | 'green' = 'yellow'): string[] {
  return schemaFor(color, 'INT32', 'MICROS', false).slice(1).map((e) => e.name);
}

type Physical = 'INT32' | 'INT64' | 'DOUBLE' | 'STRING' | 'TIMESTAMP';

function schemaFor(
  color: 'yellow' | 'green',
  idType: 'INT32' | 'INT64',
  unit: 'MICROS' | 'NANOS',
  lowercaseAirportFee: boolean,
): SchemaElement[] {
  const p = color === 'yellow' ? 'tpep' : 'lpep';
  const columns: [string, Physical | 'ID'][] =
    color === 'yellow'
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

const MINUTE_US = 60_000_000;
/** Zones with airport fees in TLC's zone table: JFK and LaGuardia. */
const AIRPORTS = new Set([132, 138]);

interface GeneratorConfig {
  year: number;
  monthIndex: number;
  seed: number;
  quirks: SyntheticQuirks;
  color: 'yellow' | 'green';
  timestampUnit: 'MICROS' | 'NANOS';
  locationIdType: 'INT32' | 'INT64';
}

class TripGenerator {
  private readonly random: Random;
  private readonly monthStartUs: number;
  private readonly monthUs: number;
  private readonly hours: Discrete;
  private readonly pickupZones: Discrete;
  private readonly dropoffZones: Discrete;

  constructor(private readonly config: GeneratorConfig) {
    this.random = new Random(config.seed);
    const start = Date.UTC(config.year, config.monthIndex, 1);
    const end = Date.UTC(config.year, config.monthIndex + 1, 1);
    this.monthStartUs = start * 1000;
    this.monthUs = (end - start) * 1000;
    // Trips per hour of day: quiet at night, peaks in the evening (shape of TLC counts).
    this.hours = new Discrete(
      Array.from({ length: 24 }, (_, h) => h),
      [2.4, 1.6, 1.1, 0.7, 0.5, 0.6, 1.5, 3.0, 4.1, 4.4, 4.6, 4.9, 5.2, 5.4, 5.8, 6.0, 6.1, 6.5, 7.0, 6.4, 5.6, 5.4, 4.9, 3.6],
    );
    // ~260 zones with Zipf-like popularity in a seed-independent order, so
    // every month shares the same busy zones (as Manhattan's are every month).
    const zoneOrder = Array.from({ length: 265 }, (_, i) => i + 1);
    const shuffle = new Random(20240101);
    for (let i = zoneOrder.length - 1; i > 0; i--) {
      const j = shuffle.int(0, i);
      [zoneOrder[i], zoneOrder[j]] = [zoneOrder[j]!, zoneOrder[i]!];
    }
    // A few zones never appear (as 103-105, 199 in practice), so vocabularies are < 265.
    const used = zoneOrder.filter((z) => z !== 103 && z !== 104 && z !== 110 && z !== 199 && z !== 2);
    this.pickupZones = new Discrete(used, used.map((_, rank) => 1 / Math.pow(rank + 1, 1.15)));
    // Drop-offs spread wider than pickups.
    this.dropoffZones = new Discrete(used, used.map((_, rank) => 1 / Math.pow(rank + 1, 0.95)));
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

      // Duration in whole seconds: lognormal around 11.5 minutes, plus the tails the course filters.
      const u = random.next();
      let seconds: number;
      if (u < q.negativeDuration) seconds = -random.int(1, 3600);
      else if (u < q.negativeDuration + q.underOneMinute) seconds = random.int(0, 59);
      else if (u < q.negativeDuration + q.underOneMinute + q.overOneHour) {
        // Mostly an hour or two; one in ten forgot to stop the meter for up to three days.
        seconds = random.next() < 0.9 ? random.int(3601, 3 * 3600) : random.int(3 * 3600, 72 * 3600);
      } else {
        seconds = Math.round(60 * 11.5 * Math.exp(0.62 * random.normal()));
        seconds = Math.min(Math.max(seconds, 60), 3600);
      }
      const dropoffUs = pickupUs + seconds * 1e6;

      // Distance follows duration at a city speed (median ~10.5 mph), with zero-mile trips and huge outliers.
      const minutes = Math.abs(seconds) / 60;
      let miles: number;
      const d = random.next();
      if (d < q.hugeDistance) miles = 1000 + random.next() * 299_000;
      else if (d < q.hugeDistance + 0.015) miles = 0;
      else {
        const mph = 10.5 * Math.exp(0.35 * random.normal());
        miles = (mph * Math.min(minutes, 90)) / 60;
      }
      miles = Math.round(miles * 100) / 100;

      const puZone = this.pickupZones.sample(random);
      const doZone = random.next() < 0.05 ? puZone : this.dropoffZones.sample(random);

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
      config.color === 'yellow'
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
}
