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
  const cleaner = new Cleaner(options, trips.length, trips.source);
  cleaner.add(trips);
  return cleaner.finish();
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
  let cleaner: Cleaner | undefined;
  for await (const group of groups) {
    cleaner ??= new Cleaner(options, group.totalRows, group.source);
    cleaner.add(group);
  }
  return (cleaner ?? new Cleaner(options, 0, '')).finish();
}

/**
 * The one implementation behind cleanTrips and cleanTripGroups: rows are added in file
 * order (all at once or a row group at a time), kept rows are copied out as they come,
 * and `finish` does the second pass of the two-pass standard deviation (as numpy, for
 * accuracy with huge outliers) while moving the kept durations to the front.
 */
class Cleaner {
  private readonly minDuration: number;
  private readonly maxDuration: number;
  private readonly keepPickup: boolean;
  /** Every row's duration; compacted into the kept rows' durations by finish(). */
  private readonly minutes: Float64Array;
  private readonly keep: Uint8Array;
  private readonly keptPickup: Float64Array;
  private readonly pu: Int32Array;
  private readonly dof: Int32Array;
  private readonly distance: Float64Array;
  private n = 0;
  private j = 0;
  private sum = 0;
  private count = 0;
  private withNulls = 0;
  // Smallest and largest location IDs kept, so the categories need no pass of their own.
  private puMin = 0;
  private puMax = -1;
  private doMin = 0;
  private doMax = -1;

  constructor(options: CleanOptions, private readonly capacity: number, private readonly source: string) {
    const { minDuration = 1, maxDuration = 60, pickup = true } = options;
    if (!Number.isFinite(minDuration) || !Number.isFinite(maxDuration) || minDuration > maxDuration) {
      throw new Error(`clean: minDuration and maxDuration must be finite minutes with min <= max, got ${minDuration} and ${maxDuration}`);
    }
    this.minDuration = minDuration;
    this.maxDuration = maxDuration;
    this.keepPickup = pickup;
    this.minutes = new Float64Array(capacity);
    this.keep = new Uint8Array(capacity);
    this.keptPickup = new Float64Array(pickup ? capacity : 0);
    this.distance = new Float64Array(capacity);
    this.pu = new Int32Array(capacity);
    this.dof = new Int32Array(capacity);
  }

  add(rows: Trips): void {
    const { minDuration, maxDuration, keepPickup, minutes, keep, keptPickup, pu, dof, distance } = this;
    if (this.n + rows.length > this.capacity) {
      throw new Error(`clean: the row groups of ${this.source} hold more than the ${this.capacity} rows announced`);
    }
    const { pickup, dropoff, missing, PULocationID, DOLocationID, trip_distance } = rows;
    const n = this.n;
    let { j, sum, count, withNulls, puMin, puMax, doMin, doMax } = this;
    // Which rows are kept does not depend on the mean, so the copy happens in the first pass.
    for (let i = 0; i < rows.length; i++) {
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
    this.n = n + rows.length;
    this.j = j;
    this.sum = sum;
    this.count = count;
    this.withNulls = withNulls;
    this.puMin = puMin;
    this.puMax = puMax;
    this.doMin = doMin;
    this.doMax = doMax;
  }

  finish(): CleanTrips {
    const { n, j: kept, sum, count, minutes, keep } = this;
    const mean = count > 0 ? sum / count : NaN;
    let squares = 0;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const d = minutes[i]!;
      if (d === d) squares += (d - mean) * (d - mean);
      // k <= i: nothing unread is overwritten.
      if (keep[i] === 1) minutes[k++] = d;
    }
    const std = count > 1 ? Math.sqrt(squares / (count - 1)) : NaN;
    return {
      length: kept,
      features: {
        PULocationID: locations(this.pu.subarray(0, kept), this.puMin, this.puMax),
        DOLocationID: locations(this.dof.subarray(0, kept), this.doMin, this.doMax),
        trip_distance: this.distance.subarray(0, kept),
      },
      duration: minutes.subarray(0, kept),
      pickup: this.keepPickup ? this.keptPickup.subarray(0, kept) : this.keptPickup,
      stats: {
        rowsRead: n,
        rowsWithNulls: this.withNulls,
        rowsKept: kept,
        fractionKept: n > 0 ? kept / n : NaN,
        durationMean: mean,
        durationStd: std,
        durationCount: count,
        minDuration: this.minDuration,
        maxDuration: this.maxDuration,
      },
      source: this.source,
    };
  }
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
