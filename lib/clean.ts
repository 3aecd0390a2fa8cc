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
import { COURSE_FEATURES, neededColumns, type FeatureSet } from './features.js';
import { MISSING, readTripGroups, readTripLayout, type TripColumn, type TripGroup, type Trips } from './read.js';

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
  /**
   * The features the trips are for: a row is dropped for a null only in pickup, dropoff or a
   * column these features need (`neededColumns`), so a zones-only model keeps the trips whose
   * distance is missing. Default: the course's (both zones and the distance: any null drops the row).
   * A kept row's null in a zone column the features do not need becomes zone 0 (no TLC zone).
   */
  features?: FeatureSet;
}

/** What cleaning kept and dropped: the numbers the course's homework asks for. */
export interface CleanStats {
  /** Rows in the input. */
  readonly rowsRead: number;
  /** Rows dropped because pickup, dropoff or a column the features need (by default all five) was null. */
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
 * {@link cleanTrips} over several files at once, streamed row group by row group: the trips of
 * every file in one {@link CleanTrips}, in the order given, as if the files were one. For a
 * notebook that trains on a few months in memory; `train()` never holds the rows (it sums each
 * row group as it comes).
 *
 * The files' footers are read first, so the kept columns are allocated once for all their rows.
 * A file is read with the columns the features need, so FHV files (no distance) clean for a
 * zones-only feature set and are refused, with the fix, for one with `trip_distance`.
 *
 * @throws Error (`read: ...`) for a file that cannot be read (or lacks a needed column);
 *   (`clean: ...`) for bad bounds.
 * @example
 * const clean = await cleanTripFiles(['data/yellow_tripdata_2024-01.parquet', 'data/yellow_tripdata_2024-02.parquet']);
 * clean.stats.rowsRead; // both months' rows
 */
export async function cleanTripFiles(paths: readonly string[], options: CleanOptions = {}): Promise<CleanTrips> {
  const required = tripColumnsFor(options.features ?? COURSE_FEATURES);
  let rows = 0;
  for (const path of paths) rows += (await readTripLayout(path, { required })).rows;
  const cleaner = new Cleaner(options, rows, paths.join(', '));
  for (const path of paths) for await (const group of readTripGroups(path, { required })) cleaner.add(group);
  return cleaner.finish();
}

/**
 * The trip columns cleaning needs for a feature set: the times (for the duration) and the
 * columns the features are built from; a file lacking another (FHV's distance) can still be read.
 *
 * @example
 * tripColumnsFor({ categorical: ['PULocationID', 'DOLocationID'], numerical: [] }); // ['pickup', 'dropoff', 'PULocationID', 'DOLocationID']
 */
export function tripColumnsFor(features: FeatureSet): TripColumn[] {
  return ['pickup', 'dropoff', ...neededColumns(features)];
}

/** Which rows cleaning keeps: the duration bounds and the null bits that drop a row. */
interface RowRule {
  readonly minDuration: number;
  readonly maxDuration: number;
  /** MISSING bits of pickup, dropoff and the needed feature columns. */
  readonly nullMask: number;
  /** Zone columns whose nulls (-1) a kept row may carry (not needed): written as zone 0. */
  readonly optionalZones: boolean;
}

function rowRule(options: CleanOptions): RowRule {
  const { minDuration = 1, maxDuration = 60, features = COURSE_FEATURES } = options;
  if (!Number.isFinite(minDuration) || !Number.isFinite(maxDuration) || minDuration > maxDuration) {
    throw new Error(`clean: minDuration and maxDuration must be finite minutes with min <= max, got ${minDuration} and ${maxDuration}`);
  }
  let nullMask = MISSING.pickup | MISSING.dropoff;
  for (const column of neededColumns(features)) nullMask |= MISSING[column];
  const zones = MISSING.PULocationID | MISSING.DOLocationID;
  return { minDuration, maxDuration, nullMask, optionalZones: (nullMask & zones) !== zones };
}

/** Where the kept rows' columns go (from `at` on); `duration` and `pickup` only when given. */
interface KeptColumns {
  pu: Int32Array;
  dof: Int32Array;
  distance: Float64Array;
  duration?: Float64Array;
  pickup?: Float64Array;
}

/** Running totals of the filter; {@link filterRows} adds to them. */
interface FilterTotals {
  kept: number;
  /** Sum and count of the finite durations before filtering (for the mean). */
  sum: number;
  count: number;
  withNulls: number;
  // Smallest and largest location IDs kept, so the categories need no pass of their own.
  puMin: number;
  puMax: number;
  doMin: number;
  doMax: number;
}

const emptyTotals = (): FilterTotals => ({ kept: 0, sum: 0, count: 0, withNulls: 0, puMin: 0, puMax: -1, doMin: 0, doMax: -1 });

/**
 * The course's filter over some rows, in file order: each row's duration in minutes, nulls
 * (in the rule's columns) dropped, durations outside the bounds dropped; the kept rows' columns
 * are copied to `out` from `totals.kept` on. With `all`, every row's duration and whether it was
 * kept also go to `all.minutes` / `all.keep` from `all.at` on (cleanTrips' second pass needs them).
 * The one loop behind every cleaning, so the whole-month and the streaming paths keep the same rows.
 */
function filterRows(rows: Trips, rule: RowRule, out: KeptColumns, totals: FilterTotals, all?: { minutes: Float64Array; keep: Uint8Array; at: number }): void {
  const { minDuration, maxDuration, nullMask, optionalZones } = rule;
  const { pu, dof, distance, duration, pickup: keptPickup } = out;
  const { pickup, dropoff, missing, PULocationID, DOLocationID, trip_distance } = rows;
  const minutes = all?.minutes;
  const keep = all?.keep;
  const at = all?.at ?? 0;
  let { kept: j, sum, count, withNulls, puMin, puMax, doMin, doMax } = totals;
  // Which rows are kept does not depend on the mean, so the copy happens in the first pass.
  for (let i = 0; i < rows.length; i++) {
    const d = (dropoff[i]! - pickup[i]!) / MICROS_PER_MINUTE;
    if (minutes !== undefined) minutes[at + i] = d;
    if (d === d) {
      sum += d;
      count++;
    }
    if ((missing[i]! & nullMask) !== 0) withNulls++;
    else if (d >= minDuration && d <= maxDuration) {
      let a = PULocationID[i]!;
      let b = DOLocationID[i]!;
      if (optionalZones) {
        if (a < 0) a = 0;
        if (b < 0) b = 0;
      }
      if (keep !== undefined) keep[at + i] = 1;
      if (keptPickup !== undefined) keptPickup[j] = pickup[i]!;
      if (duration !== undefined) duration[j] = d;
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
  Object.assign(totals, { kept: j, sum, count, withNulls, puMin, puMax, doMin, doMax });
}

/**
 * The one implementation behind cleanTrips and cleanTripGroups: rows are added in file
 * order (all at once or a row group at a time), kept rows are copied out as they come,
 * and `finish` does the second pass of the two-pass standard deviation (as numpy, for
 * accuracy with huge outliers) while moving the kept durations to the front.
 */
class Cleaner {
  private readonly rule: RowRule;
  private readonly keepPickup: boolean;
  /** Every row's duration; compacted into the kept rows' durations by finish(). */
  private readonly minutes: Float64Array;
  private readonly keep: Uint8Array;
  private readonly out: KeptColumns;
  private readonly totals = emptyTotals();
  private n = 0;

  constructor(options: CleanOptions, private readonly capacity: number, private readonly source: string) {
    this.rule = rowRule(options);
    this.keepPickup = options.pickup ?? true;
    this.minutes = new Float64Array(capacity);
    this.keep = new Uint8Array(capacity);
    this.out = {
      pu: new Int32Array(capacity),
      dof: new Int32Array(capacity),
      distance: new Float64Array(capacity),
      ...(this.keepPickup ? { pickup: new Float64Array(capacity) } : {}),
    };
  }

  add(rows: Trips): void {
    if (this.n + rows.length > this.capacity) {
      throw new Error(`clean: the row groups of ${this.source} hold more than the ${this.capacity} rows announced`);
    }
    filterRows(rows, this.rule, this.out, this.totals, { minutes: this.minutes, keep: this.keep, at: this.n });
    this.n += rows.length;
  }

  finish(): CleanTrips {
    const { n, minutes, keep } = this;
    const { kept, sum, count, withNulls, puMin, puMax, doMin, doMax } = this.totals;
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
        PULocationID: locations(this.out.pu.subarray(0, kept), puMin, puMax),
        DOLocationID: locations(this.out.dof.subarray(0, kept), doMin, doMax),
        trip_distance: this.out.distance.subarray(0, kept),
      },
      duration: minutes.subarray(0, kept),
      pickup: this.out.pickup?.subarray(0, kept) ?? new Float64Array(0),
      stats: {
        rowsRead: n,
        rowsWithNulls: withNulls,
        rowsKept: kept,
        fractionKept: n > 0 ? kept / n : NaN,
        durationMean: mean,
        durationStd: std,
        durationCount: count,
        minDuration: this.rule.minDuration,
        maxDuration: this.rule.maxDuration,
      },
      source: this.source,
    };
  }
}

/** One row group cleaned by {@link GroupCleaner}: views of the group's own columns, valid while the group is. */
export interface CleanGroup {
  /** Rows kept. */
  readonly length: number;
  /** The kept rows' zone IDs (raw, not yet categories) and distances (NaN where the file has none). */
  readonly features: { readonly PULocationID: Int32Array; readonly DOLocationID: Int32Array; readonly trip_distance: Float64Array };
  /** The kept rows' durations, minutes. */
  readonly duration: Float64Array;
  /** Rows in the group, rows dropped for a null, rows kept. */
  readonly rowsRead: number;
  readonly rowsWithNulls: number;
  readonly rowsKept: number;
  /** Sum and count of the finite durations before filtering (the group's share of `durationMean`). */
  readonly durationSum: number;
  readonly durationCount: number;
}

/**
 * Cleans row groups in place, for passes that reduce each group (sums, scores) and never keep a
 * month's rows: the kept rows are moved to the front of the group's own columns (the durations
 * into its `dropoff` column), so cleaning needs no memory of its own whatever the number of
 * groups or files. The rows kept are exactly those {@link cleanTrips} keeps.
 *
 * The group's columns are overwritten: give it groups you are done with otherwise, such as
 * readTripGroups' (whose buffers the next group reuses anyway).
 *
 * @throws Error (`clean: ...`) for bad bounds, as cleanTrips.
 * @example
 * const cleaner = new GroupCleaner({ features: PAIR_FEATURES });
 * for await (const group of readTripGroups(path)) {
 *   const clean = cleaner.cleanInPlace(group);
 *   stats.add(clean.features, clean.duration);
 * }
 */
export class GroupCleaner {
  readonly #rule: RowRule;

  constructor(options: CleanOptions = {}) {
    this.#rule = rowRule(options);
  }

  /** The group's kept rows, moved to the front of its columns (see the class doc). */
  cleanInPlace(group: Trips): CleanGroup {
    // Row i is read before row j ≤ i is written, in every column: the copy can go over itself.
    const out = { pu: group.PULocationID, dof: group.DOLocationID, distance: group.trip_distance, duration: group.dropoff };
    const totals = emptyTotals();
    filterRows(group, this.#rule, out, totals);
    const k = totals.kept;
    return {
      length: k,
      features: { PULocationID: out.pu.subarray(0, k), DOLocationID: out.dof.subarray(0, k), trip_distance: out.distance.subarray(0, k) },
      duration: out.duration.subarray(0, k),
      rowsRead: group.length,
      rowsWithNulls: totals.withNulls,
      rowsKept: k,
      durationSum: totals.sum,
      durationCount: totals.count,
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
