/**
 * Training profile: what the training data looked like, kept small enough to live in the model
 * file (`metadata.profile`), so that monitoring can tell how far a new month has moved from it.
 *
 * A profile holds histograms of `trip_distance` and `duration` over FIXED bin edges, and how
 * many trips each zone had as pickup and as drop-off. Fixed edges are what make profiles add
 * up: a month read row group by row group, or many months, give the same profile as all the
 * rows at once (`mergeProfiles` is exact), and a new month's histogram lines up bin for bin
 * with the training one, which is what the drift measures need.
 *
 * Format (version 1), plain JSON:
 * ```json
 * {
 *   "version": 1,
 *   "rows": 2898906,
 *   "duration": { "edges": [0, 2, …, 60, 90, 120, 180], "counts": [...], "below": 0, "above": 0,
 *                 "missing": 0, "count": 2898906, "sum": 41234567.8, "min": 1, "max": 60 },
 *   "trip_distance": { "edges": [0, 0.25, …, 100], … },
 *   "zones": { "PULocationID": { "161": 141234, … }, "DOLocationID": { … } }
 * }
 * ```
 * Bin `i` holds values in `[edges[i], edges[i+1])`, the last bin also its upper edge; `below`
 * and `above` count finite values outside the edges, `missing` the non-finite ones (which no
 * other field counts). `trip_distance` is null for data without distances (FHV).
 *
 * Pure functions over arrays: no I/O.
 */
import type { Categorical } from './columns.js';

/**
 * The profile format's version; {@link checkProfile} refuses others.
 *
 * @example
 * buildProfile(columns).version === PROFILE_VERSION; // true
 */
export const PROFILE_VERSION = 1;

/**
 * Bin edges of the duration histogram, minutes: two-minute bins over the course's 1–60 filter,
 * then wider ones for models trained with a longer filter.
 *
 * @example
 * DURATION_EDGES.at(-1); // 180
 */
export const DURATION_EDGES: readonly number[] = Object.freeze([...Array.from({ length: 31 }, (_, i) => 2 * i), 90, 120, 180]);

/**
 * Bin edges of the trip distance histogram, miles: fine where most trips are (under 5 miles),
 * coarser up to the airports and beyond; meter glitches (thousands of miles) land in `above`.
 *
 * @example
 * DISTANCE_EDGES[1]; // 0.25
 */
export const DISTANCE_EDGES: readonly number[] = Object.freeze([
  0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 25, 30, 40, 50, 100,
]);

/** A histogram over fixed edges, with what fell outside them. */
export interface Histogram {
  /** Bin edges, strictly ascending. */
  edges: number[];
  /** `edges.length - 1` counts: bin i is `[edges[i], edges[i+1])`, the last bin closed. */
  counts: number[];
  /** Finite values below `edges[0]`. */
  below: number;
  /** Finite values above the last edge. */
  above: number;
  /** Non-finite values (NaN, ±Infinity), counted nowhere else. */
  missing: number;
  /** Finite values: `below + above + sum(counts)`. */
  count: number;
  /** Sum of the finite values (for the mean). */
  sum: number;
  /** Smallest and largest finite value; null when there is none. */
  min: number | null;
  max: number | null;
}

/** Trips per zone ID (as the course's string labels), as pickup and as drop-off. */
export interface ZoneCounts {
  PULocationID: Record<string, number>;
  DOLocationID: Record<string, number>;
}

/** What the training data looked like: see the module's documentation for the JSON. */
export interface TrainingProfile {
  version: typeof PROFILE_VERSION;
  /** Trips profiled (the cleaned rows the model was fitted on). */
  rows: number;
  duration: Histogram;
  /** Null for data without distances (FHV). */
  trip_distance: Histogram | null;
  zones: ZoneCounts;
}

/** The columns a profile is built from: cleaned trips' target and features (any length, all equal). */
export interface ProfileColumns {
  /** Trip durations, minutes. */
  duration: ArrayLike<number>;
  /** Miles; absent for data without distances. */
  trip_distance?: ArrayLike<number>;
  /** Zones as cleaning gives them (categories) or as raw IDs. */
  PULocationID: Categorical | Int32Array;
  DOLocationID: Categorical | Int32Array;
}

/**
 * The profile of some trips (a month, or one row group of it).
 *
 * @throws Error (`profile: ...`) when the columns differ in length.
 * @example
 * const clean = cleanTrips(await readTrips(path));
 * const profile = buildProfile({ duration: clean.duration, ...clean.features });
 */
export function buildProfile(columns: ProfileColumns): TrainingProfile {
  const n = columns.duration.length;
  const lengths = {
    trip_distance: columns.trip_distance?.length ?? n,
    PULocationID: zoneLength(columns.PULocationID),
    DOLocationID: zoneLength(columns.DOLocationID),
  };
  for (const [name, length] of Object.entries(lengths)) {
    if (length !== n) throw new Error(`profile: duration has ${n} rows but ${name} has ${length}; give columns of the same trips`);
  }
  return {
    version: PROFILE_VERSION,
    rows: n,
    duration: histogram(columns.duration, DURATION_EDGES),
    trip_distance: columns.trip_distance === undefined ? null : histogram(columns.trip_distance, DISTANCE_EDGES),
    zones: { PULocationID: zoneCounts(columns.PULocationID), DOLocationID: zoneCounts(columns.DOLocationID) },
  };
}

/**
 * Counts values into a histogram with the given edges.
 *
 * @throws Error (`profile: ...`) for fewer than two edges or edges not strictly ascending.
 * @example
 * histogram([0.5, 1.5, 7], [0, 1, 2]); // counts [1, 1], above 1
 */
export function histogram(values: ArrayLike<number>, edges: readonly number[]): Histogram {
  checkEdges(edges);
  const m = edges.length - 1;
  const counts = new Float64Array(m);
  const first = edges[0]!;
  const last = edges[m]!;
  let below = 0;
  let above = 0;
  let missing = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  const find = binFinder(edges);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      missing++;
      continue;
    }
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v < first) below++;
    else if (v > last) above++;
    else counts[find(v)]!++;
  }
  const count = values.length - missing;
  return { edges: [...edges], counts: Array.from(counts), below, above, missing, count, sum, min: count > 0 ? min : null, max: count > 0 ? max : null };
}

/**
 * The profile of two sets of trips together: counts add, so merging the profiles of row
 * groups (or months) gives exactly the counts of all their rows (the sums, floating point,
 * agree to rounding).
 *
 * @throws Error (`profile: ...`) when the histograms' edges differ (profiles of different versions).
 * @example
 * let total = buildProfile(firstRowGroup);
 * total = mergeProfiles(total, buildProfile(nextRowGroup));
 */
export function mergeProfiles(a: TrainingProfile, b: TrainingProfile): TrainingProfile {
  const distance = a.trip_distance === null || b.trip_distance === null ? null : mergeHistograms(a.trip_distance, b.trip_distance);
  if ((a.trip_distance === null) !== (b.trip_distance === null)) {
    throw new Error('profile: one profile has trip distances and the other has none; merge profiles of the same kind of data');
  }
  return {
    version: PROFILE_VERSION,
    rows: a.rows + b.rows,
    duration: mergeHistograms(a.duration, b.duration),
    trip_distance: distance,
    zones: { PULocationID: addCounts(a.zones.PULocationID, b.zones.PULocationID), DOLocationID: addCounts(a.zones.DOLocationID, b.zones.DOLocationID) },
  };
}

/**
 * Two histograms over the same edges, added.
 *
 * @throws Error (`profile: ...`) when the edges differ.
 * @example
 * mergeHistograms(histogram([1], [0, 2]), histogram([3], [0, 2])).count; // 2
 */
export function mergeHistograms(a: Histogram, b: Histogram): Histogram {
  sameEdges(a, b);
  const minOf = (x: number | null, y: number | null) => (x === null ? y : y === null ? x : Math.min(x, y));
  const maxOf = (x: number | null, y: number | null) => (x === null ? y : y === null ? x : Math.max(x, y));
  return {
    edges: [...a.edges],
    counts: a.counts.map((c, i) => c + b.counts[i]!),
    below: a.below + b.below,
    above: a.above + b.above,
    missing: a.missing + b.missing,
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: minOf(a.min, b.min),
    max: maxOf(a.max, b.max),
  };
}

/**
 * Population stability index of `actual` against `expected`:
 * `Σ (a_i − e_i) · ln(a_i / e_i)` over the bins' shares (with `below` and `above` as bins of
 * their own). Shares under `epsilon` are raised to it, so an empty bin costs a large but finite
 * term instead of infinity. Common reading: below 0.1 no real change, 0.1 to 0.25 a moderate
 * shift, above 0.25 a major one.
 *
 * @throws Error (`profile: ...`) when the edges differ or either histogram is empty.
 * @example
 * populationStabilityIndex(training.duration, month.duration); // 0.03
 */
export function populationStabilityIndex(expected: Histogram, actual: Histogram, epsilon = 1e-4): number {
  sameEdges(expected, actual);
  if (expected.count === 0 || actual.count === 0) throw new Error('profile: PSI needs values in both histograms; one is empty');
  const e = [expected.below, ...expected.counts, expected.above];
  const a = [actual.below, ...actual.counts, actual.above];
  let psi = 0;
  for (let i = 0; i < e.length; i++) {
    const pe = Math.max(e[i]! / expected.count, epsilon);
    const pa = Math.max(a[i]! / actual.count, epsilon);
    psi += (pa - pe) * Math.log(pa / pe);
  }
  return psi;
}

/**
 * The Wasserstein-1 (earth mover's) distance between the distributions two histograms
 * describe, in the values' units (minutes, miles): the area between their cumulative
 * distributions. Values are taken as spread evenly within each bin; values outside the edges
 * count as lying on the nearest edge (so a handful of 100,000-mile glitches cannot dominate it).
 * With data spread evenly within bins it equals scipy's `wasserstein_distance` on the values.
 *
 * @throws Error (`profile: ...`) when the edges differ or either histogram is empty.
 * @example
 * wassersteinDistance(training.duration, month.duration); // 1.8 (minutes)
 */
export function wassersteinDistance(a: Histogram, b: Histogram): number {
  sameEdges(a, b);
  if (a.count === 0 || b.count === 0) throw new Error('profile: the Wasserstein distance needs values in both histograms; one is empty');
  // Cumulative shares at each edge; the mass below the first edge sits on it (a jump at edges[0]).
  let fa = a.below / a.count;
  let fb = b.below / b.count;
  let total = 0;
  for (let i = 0; i < a.counts.length; i++) {
    const width = a.edges[i + 1]! - a.edges[i]!;
    const ga = fa + a.counts[i]! / a.count;
    const gb = fb + b.counts[i]! / b.count;
    // Over the bin, the difference of the CDFs is linear from d0 to d1: integrate its absolute value.
    const d0 = fa - fb;
    const d1 = ga - gb;
    if (d0 * d1 >= 0) total += (width * (Math.abs(d0) + Math.abs(d1))) / 2;
    else total += (width * (d0 * d0 + d1 * d1)) / (2 * (Math.abs(d0) + Math.abs(d1)));
    fa = ga;
    fb = gb;
  }
  return total;
}

/**
 * The mean of a histogram's finite values, or NaN when it has none.
 *
 * @example
 * histogramMean(profile.duration); // 13.8
 */
export function histogramMean(h: Histogram): number {
  return h.count > 0 ? h.sum / h.count : NaN;
}

/**
 * Checks that a value (parsed JSON, e.g. a model file's `metadata.profile`) is a profile of a
 * version this library reads, and returns it typed.
 *
 * @throws Error (`profile: ...`) naming the first field that is wrong.
 * @example
 * const profile = checkProfile(loaded.metadata.profile);
 */
export function checkProfile(value: unknown): TrainingProfile {
  const fail = (problem: string): never => {
    throw new Error(`profile: ${problem}`);
  };
  if (!isObject(value)) return fail('expected an object');
  if (value.version !== PROFILE_VERSION) return fail(`version is ${JSON.stringify(value.version)}; this library reads version ${PROFILE_VERSION}`);
  if (!isCount(value.rows)) return fail('rows must be a non-negative integer');
  checkHistogram(value.duration, 'duration');
  if (value.trip_distance !== null) checkHistogram(value.trip_distance, 'trip_distance');
  const zones = value.zones;
  if (!isObject(zones)) return fail('zones must be an object');
  for (const key of ['PULocationID', 'DOLocationID'] as const) {
    const counts = zones[key];
    if (!isObject(counts) || !Object.values(counts).every(isCount)) fail(`zones.${key} must map zone IDs to counts`);
  }
  return value as unknown as TrainingProfile;
}

function checkHistogram(value: unknown, name: string): void {
  const fail = (problem: string): never => {
    throw new Error(`profile: ${name}: ${problem}`);
  };
  if (!isObject(value)) return fail('expected a histogram object');
  const { edges, counts } = value;
  if (!Array.isArray(edges) || !edges.every((e) => typeof e === 'number' && Number.isFinite(e))) return fail('edges must be finite numbers');
  try {
    checkEdges(edges as number[]);
  } catch (error) {
    fail((error as Error).message.replace(/^profile: /, ''));
  }
  if (!Array.isArray(counts) || counts.length !== edges.length - 1 || !counts.every(isCount)) {
    return fail(`counts must be ${edges.length - 1} non-negative integers (one per bin)`);
  }
  for (const key of ['below', 'above', 'missing', 'count'] as const) if (!isCount(value[key])) fail(`${key} must be a non-negative integer`);
  const inBins = (counts as number[]).reduce((s, c) => s + c, 0) + (value.below as number) + (value.above as number);
  if (inBins !== value.count) fail(`count is ${String(value.count)} but the bins, below and above hold ${inBins}`);
  if (typeof value.sum !== 'number' || !Number.isFinite(value.sum)) fail('sum must be a finite number');
}

function checkEdges(edges: readonly number[]): void {
  if (edges.length < 2) throw new Error(`profile: a histogram needs at least two edges, got ${edges.length}`);
  for (let i = 1; i < edges.length; i++) {
    if (!(edges[i]! > edges[i - 1]!)) throw new Error(`profile: edges must be strictly ascending (${edges[i - 1]} then ${edges[i]})`);
  }
}

function sameEdges(a: Histogram, b: Histogram): void {
  if (a.edges.length !== b.edges.length || a.edges.some((e, i) => e !== b.edges[i])) {
    throw new Error('profile: the histograms have different bin edges; compare and merge only profiles of the same version');
  }
}

/** Index of the bin holding `v` (edges[0] <= v <= last edge): binary search for the last edge <= v. */
/**
 * The bin of a value within the edges, by a table over equal cells no wider than the narrowest
 * bin (so a cell holds at most one edge: one look-up and at most one step) instead of a binary
 * search per value: profiling three million trips takes a third of the time. Edges too uneven
 * for a small table fall back to the search.
 */
function binFinder(edges: readonly number[]): (v: number) => number {
  const first = edges[0]!;
  const m = edges.length - 1;
  let narrowest = Infinity;
  for (let i = 0; i < m; i++) narrowest = Math.min(narrowest, edges[i + 1]! - edges[i]!);
  const cells = Math.ceil((edges[m]! - first) / narrowest) + 1;
  if (!(cells <= 1 << 16)) return (v) => binOf(v, edges);
  const scale = 1 / narrowest;
  // start[c]: the bin of the cell's lower end.
  const start = new Int32Array(cells);
  for (let c = 0; c < cells; c++) start[c] = binOf(Math.min(edges[m]!, first + c * narrowest), edges);
  const lower = Float64Array.from(edges);
  return (v) => {
    let b = start[Math.floor((v - first) * scale)]!;
    // Rounding in the cell's index can land a step off either way: walk to the bin.
    while (b < m - 1 && v >= lower[b + 1]!) b++;
    while (b > 0 && v < lower[b]!) b--;
    return b;
  };
}

function binOf(v: number, edges: readonly number[]): number {
  let lo = 0;
  let hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (edges[mid]! <= v) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function zoneLength(column: Categorical | Int32Array): number {
  return column instanceof Int32Array ? column.length : column.codes.length;
}

function zoneCounts(column: Categorical | Int32Array): Record<string, number> {
  const ids = column instanceof Int32Array;
  const codes = ids ? column : column.codes;
  let size = ids ? 0 : column.labels.length;
  if (ids) for (let i = 0; i < codes.length; i++) size = Math.max(size, codes[i]! + 1);
  // One counter per code (zone IDs are small), not a map lookup per row: three million rows in a few ms.
  const tally = new Float64Array(size);
  for (let i = 0; i < codes.length; i++) tally[codes[i]!]!++;
  const out: Record<string, number> = {};
  for (let code = 0; code < size; code++) if (tally[code]! > 0) out[ids ? String(code) : column.labels[code]!] = tally[code]!;
  return out;
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
