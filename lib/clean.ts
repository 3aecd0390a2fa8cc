/**
 * Clean: the course's duration target and outlier filter, over typed columns.
 *
 * The course computes `duration = dropoff - pickup` in minutes, keeps trips of
 * 1 to 60 minutes, and casts the location IDs to strings for DictVectorizer.
 * Here the duration comes straight from the microsecond columns, the filter is
 * one pass, and the IDs become {@link Categorical} columns (codes are the IDs,
 * one label string per zone) so no string is allocated per row.
 */
import { categorical } from './columns.js';
import type { Categorical } from './columns.js';
import type { TripGroup, Trips } from './read.js';

/** Options of {@link cleanTrips}. */
export interface CleanOptions {
  /** Shortest duration kept, in minutes, inclusive. Default 1 (the course's). */
  minDuration?: number;
  /** Longest duration kept, in minutes, inclusive. Default 60 (the course's). */
  maxDuration?: number;
  /**
   * Copy the kept rows' pickup times into `CleanTrips.pickup`. Default true; `false` leaves
   * `pickup` empty and saves 8 bytes a row (24 MB a month) for callers that only train.
   */
  pickup?: boolean;
}

/** What cleaning kept and dropped: the numbers the course's homework asks for. */
export interface CleanStats {
  /** Rows in the input. */
  readonly rowsRead: number;
  /** Rows dropped because pickup, dropoff, PULocationID, DOLocationID or trip_distance was null. */
  readonly rowsWithNulls: number;
  /** Rows kept: no null and `minDuration <= duration <= maxDuration`. */
  readonly rowsKept: number;
  /** rowsKept / rowsRead (the homework's "fraction of records left"); NaN for no rows. */
  readonly fractionKept: number;
  /**
   * Mean duration in minutes before filtering, over every row whose pickup and
   * dropoff are both present (as pandas' `df.duration.describe()`, which skips NaN).
   */
  readonly durationMean: number;
  /** Sample standard deviation (ddof = 1, as pandas) over the same rows as durationMean; NaN for fewer than 2. */
  readonly durationStd: number;
  /** Number of rows durationMean and durationStd are over. */
  readonly durationCount: number;
  /** The bounds used, in minutes. */
  readonly minDuration: number;
  readonly maxDuration: number;
}

/** Trips ready for the vectorizer: features, the duration target and the cleaning stats. */
export interface CleanTrips {
  /** Number of rows kept. */
  readonly length: number;
  /** The course's features: location IDs as categories, distance as a number. */
  readonly features: {
    readonly PULocationID: Categorical;
    readonly DOLocationID: Categorical;
    readonly trip_distance: Float64Array;
  };
  /** Trip duration in minutes (the target), one per kept row. */
  readonly duration: Float64Array;
  /**
   * Pickup time of each kept row, microseconds since the epoch (wall-clock), for looking and
   * plotting; empty when cleaned with `pickup: false`.
   */
  readonly pickup: Float64Array;
  /** What was kept and dropped. */
  readonly stats: CleanStats;
  /** The file the trips came from. */
  readonly source: string;
}

const MICROS_PER_MINUTE = 60_000_000;

/**
 * Computes the duration in minutes, drops rows with nulls and rows outside `[minDuration, maxDuration]`.
 *
 * Edge cases: durations exactly at the bounds are kept (the course uses `>=`
 * and `<=`); negative durations (dropoff before pickup) and pickups years off
 * the month are simply filtered by duration, as in the course; trip_distance
 * outliers are kept (the course does not filter them). The mean and standard
 * deviation describe the durations before filtering.
 *
 * @throws Error (`clean: ...`) when the bounds are not finite numbers with min <= max.
 * @example
 * const clean = cleanTrips(await readTrips('data/yellow_tripdata_2024-01.parquet'));
 * clean.stats.fractionKept;           // about 0.98 on real January 2024
 * clean.features.PULocationID.labels[clean.features.PULocationID.codes[0]!]; // '161'
 */
export function cleanTrips(trips: Trips, options: CleanOptions = {}): CleanTrips {
  const { minDuration = 1, maxDuration = 60, pickup: keepPickup = true } = options;
  if (!Number.isFinite(minDuration) || !Number.isFinite(maxDuration) || minDuration > maxDuration) {
    throw new Error(`clean: minDuration and maxDuration must be finite minutes with min <= max, got ${minDuration} and ${maxDuration}`);
  }
  const n = trips.length;
  const { pickup, dropoff, missing } = trips;

  // Pass 1: durations, their sum for the mean, the count of rows to keep.
  const minutes = new Float64Array(n);
  let sum = 0;
  let count = 0;
  let kept = 0;
  let withNulls = 0;
  for (let i = 0; i < n; i++) {
    const d = (dropoff[i]! - pickup[i]!) / MICROS_PER_MINUTE;
    minutes[i] = d;
    if (d === d) {
      sum += d;
      count++;
    }
    if (missing[i] !== 0) withNulls++;
    else if (d >= minDuration && d <= maxDuration) kept++;
  }
  const mean = count > 0 ? sum / count : NaN;

  // Pass 2: squared deviations from the mean (two-pass, as numpy, for accuracy with
  // huge outliers), and in the same loop the kept rows' copy.
  const duration = new Float64Array(kept);
  const keptPickup = new Float64Array(keepPickup ? kept : 0);
  const pu = new Int32Array(kept);
  const dof = new Int32Array(kept);
  const distance = new Float64Array(kept);
  const { PULocationID, DOLocationID, trip_distance } = trips;
  let squares = 0;
  // Smallest and largest location IDs kept, so the categories need no pass of their own.
  let puMin = 0;
  let puMax = -1;
  let doMin = 0;
  let doMax = -1;
  let j = 0;
  for (let i = 0; i < n; i++) {
    const d = minutes[i]!;
    if (d === d) squares += (d - mean) * (d - mean);
    if (missing[i] === 0 && d >= minDuration && d <= maxDuration) {
      const a = PULocationID[i]!;
      const b = DOLocationID[i]!;
      duration[j] = d;
      if (keepPickup) keptPickup[j] = pickup[i]!;
      pu[j] = a;
      dof[j] = b;
      distance[j] = trip_distance[i]!;
      if (a < puMin) puMin = a;
      if (a > puMax) puMax = a;
      if (b < doMin) doMin = b;
      if (b > doMax) doMax = b;
      j++;
    }
  }
  const std = count > 1 ? Math.sqrt(squares / (count - 1)) : NaN;

  return {
    length: kept,
    features: {
      PULocationID: locations(pu, puMin, puMax),
      DOLocationID: locations(dof, doMin, doMax),
      trip_distance: distance,
    },
    duration,
    pickup: keptPickup,
    stats: {
      rowsRead: n,
      rowsWithNulls: withNulls,
      rowsKept: kept,
      fractionKept: n > 0 ? kept / n : NaN,
      durationMean: mean,
      durationStd: std,
      durationCount: count,
      minDuration,
      maxDuration,
    },
    source: trips.source,
  };
}

/**
 * {@link cleanTrips} over a file read row group by row group ({@link readTripGroups}): the
 * same numbers, bit for bit, without ever holding the whole file's raw columns.
 *
 * Each group's kept rows are copied out before the next group is read (its buffers are
 * reused), so a TLC month needs its cleaned columns plus one row group and one float per
 * row (the durations, for the two-pass standard deviation), about 150 MB instead of 220 MB.
 * The kept columns are views of arrays sized for every row of the file (rows dropped by
 * the filter leave unused room at the end, about 2 % on real months).
 *
 * @throws Error (`clean: ...`) for bad bounds, as cleanTrips; read errors pass through.
 * @example
 * const clean = await cleanTripGroups(readTripGroups('data/yellow_tripdata_2024-01.parquet'));
 * clean.stats.rowsKept; // as cleanTrips(await readTrips(...)).stats.rowsKept
 */
export async function cleanTripGroups(groups: AsyncIterable<TripGroup> | Iterable<TripGroup>, options: CleanOptions = {}): Promise<CleanTrips> {
  const { minDuration = 1, maxDuration = 60, pickup: keepPickup = true } = options;
  if (!Number.isFinite(minDuration) || !Number.isFinite(maxDuration) || minDuration > maxDuration) {
    throw new Error(`clean: minDuration and maxDuration must be finite minutes with min <= max, got ${minDuration} and ${maxDuration}`);
  }
  let source = '';
  // Every row's duration (for the two-pass standard deviation); compacted into the kept
  // rows' durations at the end, so the target needs no array of its own.
  let minutes = new Float64Array(0);
  let keep = new Uint8Array(0);
  let keptPickup = minutes;
  let distance = minutes;
  let pu = new Int32Array(0);
  let dof = pu;
  let n = 0;
  let sum = 0;
  let count = 0;
  let withNulls = 0;
  let j = 0;
  let puMin = 0;
  let puMax = -1;
  let doMin = 0;
  let doMax = -1;
  let first = true;
  for await (const group of groups) {
    if (first) {
      first = false;
      source = group.source;
      const capacity = group.totalRows;
      minutes = new Float64Array(capacity);
      keep = new Uint8Array(capacity);
      keptPickup = new Float64Array(keepPickup ? capacity : 0);
      distance = new Float64Array(capacity);
      pu = new Int32Array(capacity);
      dof = new Int32Array(capacity);
    }
    if (n + group.length > minutes.length) {
      throw new Error(`clean: the row groups of ${source} hold more than the ${minutes.length} rows announced`);
    }
    const { pickup, dropoff, missing, PULocationID, DOLocationID, trip_distance } = group;
    // cleanTrips' pass 1 and its copy in one loop: which rows are kept does not depend on the mean.
    for (let i = 0; i < group.length; i++) {
      const d = (dropoff[i]! - pickup[i]!) / MICROS_PER_MINUTE;
      minutes[n + i] = d;
      if (d === d) {
        sum += d;
        count++;
      }
      if (missing[i] !== 0) withNulls++;
      else if (d >= minDuration && d <= maxDuration) {
        const a = PULocationID[i]!;
        const b = DOLocationID[i]!;
        keep[n + i] = 1;
        if (keepPickup) keptPickup[j] = pickup[i]!;
        pu[j] = a;
        dof[j] = b;
        distance[j] = trip_distance[i]!;
        if (a < puMin) puMin = a;
        if (a > puMax) puMax = a;
        if (b < doMin) doMin = b;
        if (b > doMax) doMax = b;
        j++;
      }
    }
    n += group.length;
  }
  const mean = count > 0 ? sum / count : NaN;
  // Pass 2 as cleanTrips', and the kept durations moved to the front (k <= i: nothing unread is overwritten).
  let squares = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const d = minutes[i]!;
    if (d === d) squares += (d - mean) * (d - mean);
    if (keep[i] === 1) minutes[k++] = d;
  }
  const std = count > 1 ? Math.sqrt(squares / (count - 1)) : NaN;
  const kept = j;
  return {
    length: kept,
    features: {
      PULocationID: locations(pu.subarray(0, kept), puMin, puMax),
      DOLocationID: locations(dof.subarray(0, kept), doMin, doMax),
      trip_distance: distance.subarray(0, kept),
    },
    duration: minutes.subarray(0, kept),
    pickup: keepPickup ? keptPickup.subarray(0, kept) : keptPickup,
    stats: {
      rowsRead: n,
      rowsWithNulls: withNulls,
      rowsKept: kept,
      fractionKept: n > 0 ? kept / n : NaN,
      durationMean: mean,
      durationStd: std,
      durationCount: count,
      minDuration,
      maxDuration,
    },
    source,
  };
}

/**
 * The location IDs as categories, given bounds of the IDs known from the copy loop:
 * IDs within categorical()'s range get its labels without another pass over the rows;
 * anything else goes through categorical(), which names the bad ID and its row.
 */
function locations(ids: Int32Array, idMin: number, idMax: number): Categorical {
  if (idMin < 0 || idMax >= 1 << 24) return categorical(ids);
  return { codes: ids, labels: Array.from({ length: idMax + 1 }, (_, id) => String(id)) };
}
