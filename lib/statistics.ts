/**
 * TripStatistics: everything a linear model of trip duration needs from a month, in one pass
 * and a few MB, mergeable exactly across row groups, months and worker threads.
 *
 * The statistics are a GROUP BY over the trips' pickup and dropoff zones (a "cell" per zone
 * pair that occurs, about 30,000 in a month): per cell the number of trips and the exact sums
 * of the duration and of each numeric feature (trip_distance); over all trips the exact sums
 * of duration², distance × duration and distance². Every feature set built from the zones
 * (the course's `PULocationID` + `DOLocationID`, the `PU_DO` pair, any mix) is a function of
 * the zone pair, so one set of statistics solves them all: {@link normalEquations} turns the
 * cells into XᵀX, Xᵀy and the rest for the chosen features, in the sorted vocabulary
 * `DictVectorizer.fit` would have learned.
 *
 * Zones are gathered in "code space": a zone is its label (`'161'`), numbered in the order this
 * object first met it; new zones simply get new numbers while streaming, so no vectorizer has
 * to be fitted first. Merging maps the other object's zones through their labels.
 *
 * Sums are exact (see exactSum), so the statistics of a month are the same, bit for bit,
 * whether it was added whole, by row group, or split across threads and merged in any order,
 * and so is every model solved from them. Sums are taken about zero: trip durations and
 * distances have spreads of the order of their means, so no digits are lost to centring.
 *
 * `toData()` gives plain data (typed arrays and label lists) that `postMessage` copies or
 * transfers to another thread; `TripStatistics.fromData` rebuilds the object there.
 */
import type { Categorical } from './columns.js';
import { neededColumns, type FeatureSet, type TripFeatureColumn, type TripFeatureSource } from './features.js';
import { GroupedSums, type GroupedSumsData } from './groupedSums.js';
import { normalEquationsFromSums, type NormalEquations } from './normalEquations.js';
import { compareCodePoints, DictVectorizer } from './vectorize.js';

/** Rows summed per block: the block's buffers stay in cache. */
const BLOCK_ROWS = 65_536;

/** The zone columns statistics can group by. */
type ZoneColumn = 'PULocationID' | 'DOLocationID';
const ZONES: readonly ZoneColumn[] = ['PULocationID', 'DOLocationID'];

/** Options of {@link TripStatistics}. */
export interface TripStatisticsOptions {
  /**
   * The trip columns to gather: zones to group by and numeric columns to sum. Default: both zones
   * and `trip_distance` (every feature set of the course); FHV trips, which have no distance,
   * take `['PULocationID', 'DOLocationID']`.
   */
  columns?: readonly TripFeatureColumn[];
}

/** Which rows of the columns {@link TripStatistics.add} takes. */
export interface TripRowRange {
  /** First row. Default 0. */
  start?: number;
  /** One past the last row. Default: all rows. */
  end?: number;
}

/** {@link TripStatistics} as plain data, for `postMessage` (see `toData`). */
export interface TripStatisticsData {
  /** Always `'taxi-duration/trip-statistics'`. */
  kind: 'taxi-duration/trip-statistics';
  /** Zone columns grouped by. */
  zones: ZoneColumn[];
  /** Numeric columns summed. */
  numerical: 'trip_distance'[];
  /** Per zone column, the labels in code order. */
  labels: string[][];
  /** The grouped sums (keys are zone codes). */
  sums: GroupedSumsData;
}

/**
 * Sufficient statistics of trips for linear models, in one pass (see the module doc).
 *
 * @example
 * const stats = new TripStatistics();
 * for await (const group of readTripGroups(path)) {
 *   const clean = cleanTrips(group);
 *   stats.add(clean.features, clean.duration);
 * }
 * const eq = stats.normalEquations(PAIR_FEATURES);
 * const lasso = new Lasso({ alpha: 0.01 }).fitStatistics(eq);
 * const dv = eq.vectorizer();               // the DictVectorizer fit would have learned
 * eq.rootMeanSquaredError(lasso);           // training RMSE, from the statistics
 */
export class TripStatistics {
  /** The zone columns grouped by. */
  readonly zones: readonly ZoneColumn[];
  /** The numeric columns summed. */
  readonly numerical: readonly 'trip_distance'[];
  readonly #labels: string[][];
  readonly #codes: Map<string, number>[];
  #sums: GroupedSums;

  /**
   * Empty statistics over the given columns.
   *
   * @throws Error (`statistics: ...`) for an unknown column or no zone column.
   * @example
   * const fhv = new TripStatistics({ columns: ['PULocationID', 'DOLocationID'] });
   */
  constructor(options: TripStatisticsOptions = {}) {
    const columns = options.columns ?? ['PULocationID', 'DOLocationID', 'trip_distance'];
    for (const c of columns) {
      if (c !== 'PULocationID' && c !== 'DOLocationID' && c !== 'trip_distance') {
        throw new Error(`statistics: unknown column ${JSON.stringify(c)}; known: PULocationID, DOLocationID, trip_distance`);
      }
    }
    this.zones = ZONES.filter((z) => columns.includes(z));
    this.numerical = columns.includes('trip_distance') ? ['trip_distance'] : [];
    if (this.zones.length === 0) throw new Error('statistics: gather at least one zone column (PULocationID or DOLocationID)');
    this.#labels = this.zones.map(() => []);
    this.#codes = this.zones.map(() => new Map());
    this.#sums = new GroupedSums(this.zones.length, this.numerical.length);
  }

  /**
   * Number of trips added.
   *
   * @example
   * stats.rows; // 2,898,906 for a cleaned January 2024
   */
  get rows(): number {
    return this.#sums.rows;
  }

  /**
   * Number of distinct zone combinations (cells) met so far.
   *
   * @example
   * stats.cells; // about 30,000 zone pairs in a month
   */
  get cells(): number {
    return this.#sums.cells;
  }

  /**
   * Adds trips: the cleaned feature columns (zones as categories or raw IDs, the distance) and
   * their durations, optionally only rows `start` to `end − 1`; returns `this`.
   *
   * @throws Error (`statistics: ...`) when a needed column is missing, lengths differ, a zone
   *   code is outside its labels, or a duration or distance is not finite (naming the row).
   * @example
   * stats.add(clean.features, clean.duration);
   * stats.add(clean.features, clean.duration, { start: 0, end: 500_000 }); // a slice, no copy
   */
  add(trips: TripFeatureSource, y: ArrayLike<number>, range: TripRowRange = {}): this {
    if (trips === null || typeof trips !== 'object') throw new TypeError('statistics: expected trip columns (e.g. cleanTrips(...).features)');
    const zoneColumns = this.zones.map((name) => zoneColumn(trips, name, range));
    const distance = this.numerical.length > 0 ? trips.trip_distance : undefined;
    if (this.numerical.length > 0 && !(distance instanceof Float64Array)) {
      throw new Error('statistics: these trips have no trip_distance column; gather only the zones (columns: [PULocationID, DOLocationID])');
    }
    const length = zoneColumns[0]!.codes.length;
    zoneColumns.forEach((col, z) => {
      if (col.codes.length !== length) throw new Error(`statistics: ${this.zones[z]} has ${col.codes.length} rows but ${this.zones[0]} has ${length}`);
    });
    if (distance !== undefined && distance.length !== length) throw new Error(`statistics: trip_distance has ${distance.length} rows but ${this.zones[0]} has ${length}`);
    if (y.length !== length) throw new Error(`statistics: the trips have ${length} rows but y has ${y.length} values`);
    const start = range.start ?? 0;
    const end = range.end ?? length;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > length || start > end) {
      throw new RangeError(`statistics: row range ${start}..${end} is not within the ${length} rows`);
    }
    // Per zone column, code → this object's zone number (−1 until first met).
    const lookups = zoneColumns.map((col) => new Int32Array(col.labels.length).fill(-1));
    const width = this.zones.length;
    const sums = this.#sums;
    const block = Math.min(BLOCK_ROWS, Math.max(1, end - start));
    const key = new Int32Array(width);
    const slots = new Int32Array(block);
    const ys = new Float64Array(block);
    const ds = new Float64Array(distance !== undefined ? block : 0);
    const zoneKeys = this.zones.map(() => new Int32Array(block));
    for (let blockStart = start; blockStart < end; blockStart += block) {
      const blockEnd = Math.min(end, blockStart + block);
      // First the cells and checks, then the sums (tight loops of exact additions).
      for (let i = blockStart; i < blockEnd; i++) {
        const yi = y[i]!;
        if (!Number.isFinite(yi)) throw new Error(`statistics: y[${i}] is ${yi}; drop or fix non-finite targets first`);
        ys[i - blockStart] = yi;
      }
      if (distance !== undefined) {
        for (let i = blockStart; i < blockEnd; i++) {
          const d = distance[i]!;
          if (!Number.isFinite(d)) throw new Error(`statistics: trip_distance[${i}] is ${d}; drop or fix non-finite distances first`);
          ds[i - blockStart] = d;
        }
      }
      for (let z = 0; z < width; z++) {
        // Each zone column's codes → this object's zone numbers, into the key array.
        const { codes, labels } = zoneColumns[z]!;
        const lookup = lookups[z]!;
        const keyOut = zoneKeys[z]!;
        for (let i = blockStart; i < blockEnd; i++) {
          const code = codes[i]!;
          if (code >>> 0 >= lookup.length) throw new RangeError(`statistics: ${this.zones[z]} row ${i} has code ${code}, outside its ${lookup.length} labels`);
          let k = lookup[code]!;
          if (k < 0) k = lookup[code] = this.#zoneCode(z, labels[code]!);
          keyOut[i - blockStart] = k;
        }
      }
      const count = blockEnd - blockStart;
      if (width === 2) {
        const [a, b] = zoneKeys as [Int32Array, Int32Array];
        for (let i = 0; i < count; i++) slots[i] = sums.slotOf2(a[i]!, b[i]!);
      } else {
        for (let i = 0; i < count; i++) {
          for (let z = 0; z < width; z++) key[z] = zoneKeys[z]![i]!;
          slots[i] = sums.slotOf(key, 0);
        }
      }
      sums.reserve(blockEnd - blockStart);
      sums.addRows(blockEnd - blockStart, slots, ys, ds, block);
    }
    return this;
  }

  /**
   * Adds another object's statistics (same columns) to these, exactly; returns `this`. The
   * result is the same, bit for bit, in whatever order statistics are merged.
   *
   * @throws Error (`statistics: ...`) when the columns differ.
   * @example
   * const total = new TripStatistics();
   * for (const part of partsFromWorkers) total.merge(TripStatistics.fromData(part));
   */
  merge(other: TripStatistics): this {
    if (!(other instanceof TripStatistics)) throw new TypeError('statistics: merge takes TripStatistics');
    if (other.zones.join() !== this.zones.join() || other.numerical.join() !== this.numerical.join()) {
      throw new Error(
        `statistics: cannot merge statistics of ${[...other.zones, ...other.numerical].join(', ')} into ${[...this.zones, ...this.numerical].join(', ')}`,
      );
    }
    // Their zone number → ours, through the labels.
    const maps = other.#labels.map((labels, z) => Int32Array.from(labels, (label) => this.#zoneCode(z, label)));
    this.#sums.merge(other.#sums, (key, at, out) => {
      for (let z = 0; z < maps.length; z++) out[z] = maps[z]![key[at + z]!]!;
    });
    return this;
  }

  /**
   * The statistics as plain data (typed arrays, label lists), for `postMessage`: a copy, which
   * `TripStatistics.fromData` turns back into statistics (exactly).
   *
   * @example
   * const data = stats.toData();
   * // Move the buffers rather than copy them (they are this call's own copies):
   * parentPort.postMessage(data, [data.sums.keys.buffer, data.sums.counts.buffer, data.sums.sums.buffer, data.sums.products.buffer]);
   */
  toData(): TripStatisticsData {
    return {
      kind: 'taxi-duration/trip-statistics',
      zones: [...this.zones],
      numerical: [...this.numerical],
      labels: this.#labels.map((l) => [...l]),
      sums: this.#sums.toData(),
    };
  }

  /**
   * Statistics from {@link toData}'s output.
   *
   * @throws Error (`statistics: ...`) when the data is malformed (wrong kind, sizes that do not
   *   fit, a zone code outside its labels, repeated labels).
   * @example
   * worker.on('message', (data) => total.merge(TripStatistics.fromData(data)));
   */
  static fromData(data: TripStatisticsData): TripStatistics {
    if (data === null || typeof data !== 'object' || data.kind !== 'taxi-duration/trip-statistics') {
      throw new Error('statistics: not trip statistics data (expected kind "taxi-duration/trip-statistics")');
    }
    const stats = new TripStatistics({ columns: [...(data.zones ?? []), ...(data.numerical ?? [])] });
    if (!Array.isArray(data.labels) || data.labels.length !== stats.zones.length) throw new Error('statistics: labels must list the labels of each zone column');
    data.labels.forEach((labels, z) => {
      if (!Array.isArray(labels)) throw new Error('statistics: labels must be arrays of strings');
      labels.forEach((label) => {
        if (typeof label !== 'string') throw new Error('statistics: labels must be arrays of strings');
        if (stats.#codes[z]!.has(label)) throw new Error(`statistics: label ${JSON.stringify(label)} repeats`);
        stats.#zoneCode(z, label);
      });
    });
    const sums = GroupedSums.fromData(data.sums);
    if (sums.width !== stats.zones.length || sums.numeric !== stats.numerical.length) throw new Error('statistics: the sums do not match the columns');
    for (let at = 0; at < sums.cells * sums.width; at++) {
      const code = sums.keys[at]!;
      if (code >>> 0 >= data.labels[at % sums.width]!.length) throw new Error(`statistics: zone code ${code} is outside the labels`);
    }
    stats.#sums = sums;
    return stats;
  }

  /**
   * The feature names a DictVectorizer fitted on these trips' feature columns would learn for
   * `features`, in its (sorted) order.
   *
   * @throws Error (`statistics: ...`) when the feature set needs a column not gathered.
   * @example
   * stats.featureNames(PAIR_FEATURES); // ['PU_DO=1_1', …, 'trip_distance']
   */
  featureNames(features: FeatureSet): string[] {
    this.#check(features);
    const names = new Set<string>();
    const { cells, keys, width } = this.#sums;
    const label = (z: number, slot: number): string => this.#labels[z]![keys[slot * width + z]!]!;
    for (const name of features.categorical) {
      if (name === 'PU_DO') {
        for (let c = 0; c < cells; c++) names.add(`PU_DO=${label(0, c)}_${label(1, c)}`);
      } else {
        const z = this.zones.indexOf(name);
        for (let c = 0; c < cells; c++) names.add(`${name}=${label(z, c)}`);
      }
    }
    for (const name of features.numerical) names.add(name);
    return [...names].sort(compareCodePoints);
  }

  /**
   * A DictVectorizer fitted (by its feature names) as it would be on these trips' feature
   * columns for `features`.
   *
   * @example
   * const dv = stats.vectorizer(PAIR_FEATURES);
   * const Xval = dv.transform(featureColumns(validation.features, PAIR_FEATURES));
   */
  vectorizer(features: FeatureSet): DictVectorizer {
    return DictVectorizer.fromFeatureNames(this.featureNames(features));
  }

  /**
   * The normal equations of the design `features` gives (XᵀX, Xᵀy, … in its columns), for an
   * estimator's `fitStatistics`. The columns are `vectorizer`'s when given (categories it does
   * not know get no column, as its `transform` ignores them), else the sorted vocabulary of
   * {@link featureNames}; the result's `featureNames` names them.
   *
   * @throws Error (`statistics: ...`) when no trips were added or the feature set needs a column
   *   not gathered.
   * @example
   * const eq = stats.normalEquations(COURSE_FEATURES);
   * new LinearRegression().fitStatistics(eq).coef.length === eq.features; // true
   */
  normalEquations(features: FeatureSet, options: { vectorizer?: DictVectorizer } = {}): NormalEquations {
    this.#check(features);
    if (this.rows === 0) throw new Error('statistics: no trips were added; cannot fit a model to nothing');
    const vectorizer = options.vectorizer;
    const names = vectorizer ? vectorizer.getFeatureNamesOut() : this.featureNames(features);
    const separator = vectorizer ? vectorizer.separator : '=';
    const index = new Map(names.map((n, j) => [n, j]));
    const { keys, width } = this.#sums;
    // Per zone column and zone number: the column of that zone's one-hot feature (−1: none).
    const zoneColumnOf = this.zones.map((zone, z) => {
      const used = (features.categorical as readonly string[]).includes(zone);
      return Int32Array.from(this.#labels[z]!, (label) => (used ? (index.get(zone + separator + label) ?? -1) : -1));
    });
    const pairs = features.categorical.includes('PU_DO');
    const labels = this.#labels;
    const numericColumns = Int32Array.from(this.numerical, (name) =>
      (features.numerical as readonly string[]).includes(name) ? (index.get(name) ?? -1) : -1,
    );
    return normalEquationsFromSums(this.#sums, {
      features: names.length,
      featureNames: names,
      numericColumns,
      numericShifts: new Float64Array(this.numerical.length),
      yShift: 0,
      columnsOf(slot, out) {
        let k = 0;
        for (let z = 0; z < width; z++) {
          const j = zoneColumnOf[z]![keys[slot * width + z]!]!;
          if (j >= 0) out[k++] = j;
        }
        if (pairs) {
          const j = index.get(`PU_DO${separator}${labels[0]![keys[slot * width]!]!}_${labels[1]![keys[slot * width + 1]!]!}`) ?? -1;
          if (j >= 0) out[k++] = j;
        }
        return k;
      },
    });
  }

  /**
   * Bytes held by the sums (about 100 bytes a cell with trip_distance), for memory accounting.
   *
   * @example
   * stats.byteLength; // about 3 MB for a month
   */
  get byteLength(): number {
    const s = this.#sums;
    return s.keys.byteLength + s.counts.byteLength + s.sums.byteLength + s.products.byteLength;
  }

  #zoneCode(z: number, label: string): number {
    const codes = this.#codes[z]!;
    let code = codes.get(label);
    if (code === undefined) {
      code = this.#labels[z]!.length;
      codes.set(label, code);
      this.#labels[z]!.push(label);
    }
    return code;
  }

  #check(features: FeatureSet): void {
    const have: readonly string[] = [...this.zones, ...this.numerical];
    const missing = neededColumns(features).filter((c) => !have.includes(c));
    if (missing.length > 0) {
      throw new Error(`statistics: the feature set needs ${missing.join(', ')}, which these statistics did not gather (they have ${have.join(', ')})`);
    }
  }
}

/**
 * A zone column as a Categorical. Raw zone IDs are their own codes (as `categorical` makes
 * them), checked and labelled over the rows added only, so adding a month a slice at a time does
 * not rescan the whole column each time.
 */
function zoneColumn(trips: TripFeatureSource, name: ZoneColumn, range: TripRowRange): Categorical {
  const column = trips[name];
  if (column instanceof Int32Array) {
    const start = Math.max(0, Math.min(column.length, range.start ?? 0));
    const end = Math.max(start, Math.min(column.length, range.end ?? column.length));
    let max = -1;
    for (let i = start; i < end; i++) {
      const id = column[i]!;
      if (id < 0 || id >= 1 << 24) throw new RangeError(`statistics: ${name}[${i}] is ${id}; zone IDs are integers from 0 to 2^24 − 1`);
      if (id > max) max = id;
    }
    return { codes: column, labels: Array.from({ length: max + 1 }, (_, id) => String(id)) };
  }
  if (column && column.codes instanceof Int32Array && Array.isArray(column.labels)) return column;
  throw new Error(`statistics: the trips have no ${name} column (a Categorical or an Int32Array of zone IDs)`);
}
