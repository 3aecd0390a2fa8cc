/**
 * Features: which trip columns the model sees, as the course's `categorical` and `numerical` lists.
 *
 * The course starts with `categorical = ['PULocationID', 'DOLocationID']` and
 * `numerical = ['trip_distance']`, then engineers a pickup–dropoff pair,
 * `df['PU_DO'] = df['PULocationID'] + '_' + df['DOLocationID']`, and trains on
 * `categorical = ['PU_DO']`. A {@link FeatureSet} names such a choice; this module turns
 * cleaned trip columns, or one JSON record, into exactly what the course's
 * `df[categorical + numerical].to_dict(orient='records')` would hand `DictVectorizer`.
 *
 * Every caller that builds features (training, `predict`, a service, monitoring) goes through
 * here, so a model file's feature set always means the same columns.
 */
import { categorical, type Categorical, type Column, type Columns } from './columns.js';
import type { FeatureRecord } from './vectorize.js';

/**
 * Categorical features a model can use: the two zones, and the course's pickup–dropoff pair
 * (`PU_DO`, the label `'<PU>_<DO>'`).
 *
 * @example
 * CATEGORICAL_FEATURES.includes('PU_DO'); // true
 */
export const CATEGORICAL_FEATURES = ['PULocationID', 'DOLocationID', 'PU_DO'] as const;
/** A categorical feature's name. */
export type CategoricalFeature = (typeof CATEGORICAL_FEATURES)[number];

/**
 * Numeric features a model can use (FHV files have no distance: train them on zones alone).
 *
 * @example
 * NUMERICAL_FEATURES; // ['trip_distance']
 */
export const NUMERICAL_FEATURES = ['trip_distance'] as const;
/** A numeric feature's name. */
export type NumericalFeature = (typeof NUMERICAL_FEATURES)[number];

/**
 * The course's two lists: which columns are one-hot encoded and which are kept as numbers.
 *
 * @example
 * const pairs: FeatureSet = { categorical: ['PU_DO'], numerical: ['trip_distance'] };
 */
export interface FeatureSet {
  /** One-hot encoded (`PULocationID=161`, `PU_DO=161_236`). */
  readonly categorical: readonly CategoricalFeature[];
  /** Kept as numbers (`trip_distance`). */
  readonly numerical: readonly NumericalFeature[];
}

/**
 * The course's first feature set: both zones one-hot, plus the distance.
 *
 * @example
 * featureColumns(clean.features, COURSE_FEATURES); // PULocationID, DOLocationID, trip_distance
 */
export const COURSE_FEATURES: FeatureSet = Object.freeze({
  categorical: Object.freeze(['PULocationID', 'DOLocationID'] as const),
  numerical: Object.freeze(['trip_distance'] as const),
});

/**
 * The course's engineered feature set: the pickup–dropoff pair one-hot, plus the distance.
 *
 * @example
 * featureColumns(clean.features, PAIR_FEATURES); // PU_DO, trip_distance
 */
export const PAIR_FEATURES: FeatureSet = Object.freeze({
  categorical: Object.freeze(['PU_DO'] as const),
  numerical: Object.freeze(['trip_distance'] as const),
});

/** Zone columns a feature set reads: the raw columns behind its features. */
export type TripFeatureColumn = 'PULocationID' | 'DOLocationID' | 'trip_distance';

/**
 * Checks a feature set and returns it with each list free of repeats.
 *
 * @throws Error (`features: ...`) for an unknown name (listing the known ones), a name in the
 *   wrong list, or no features at all.
 * @example
 * checkFeatureSet({ categorical: ['PU_DO'], numerical: ['trip_distance'] });
 */
export function checkFeatureSet(set: { categorical: readonly string[]; numerical: readonly string[] }): FeatureSet {
  if (set === null || typeof set !== 'object' || !Array.isArray(set.categorical) || !Array.isArray(set.numerical)) {
    throw new Error('features: a feature set is { categorical: string[], numerical: string[] }');
  }
  for (const name of set.categorical) {
    if (!(CATEGORICAL_FEATURES as readonly string[]).includes(name)) {
      const hint = (NUMERICAL_FEATURES as readonly string[]).includes(name) ? ` (${name} is numerical)` : '';
      throw new Error(`features: unknown categorical feature ${JSON.stringify(name)}${hint}; known: ${CATEGORICAL_FEATURES.join(', ')}`);
    }
  }
  for (const name of set.numerical) {
    if (!(NUMERICAL_FEATURES as readonly string[]).includes(name)) {
      const hint = (CATEGORICAL_FEATURES as readonly string[]).includes(name) ? ` (${name} is categorical)` : '';
      throw new Error(`features: unknown numerical feature ${JSON.stringify(name)}${hint}; known: ${NUMERICAL_FEATURES.join(', ')}`);
    }
  }
  const categoricalList = [...new Set(set.categorical)] as CategoricalFeature[];
  const numericalList = [...new Set(set.numerical)] as NumericalFeature[];
  if (categoricalList.length + numericalList.length === 0) throw new Error('features: the feature set is empty; name at least one feature');
  return { categorical: categoricalList, numerical: numericalList };
}

/**
 * Reads a feature list as the command line gives it: names separated by commas, each sorted
 * into the categorical or numerical list by what it is.
 *
 * @throws Error (`features: ...`) for an unknown name or an empty list.
 * @example
 * parseFeatureList('PU_DO,trip_distance'); // PAIR_FEATURES
 * parseFeatureList('PULocationID, DOLocationID'); // zones only (for FHV files)
 */
export function parseFeatureList(list: string): FeatureSet {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const known = [...CATEGORICAL_FEATURES, ...NUMERICAL_FEATURES] as readonly string[];
  const unknown = names.find((n) => !known.includes(n));
  if (unknown !== undefined) {
    throw new Error(`features: unknown feature ${JSON.stringify(unknown)}; known: ${known.join(', ')}`);
  }
  return checkFeatureSet({
    categorical: names.filter((n) => (CATEGORICAL_FEATURES as readonly string[]).includes(n)),
    numerical: names.filter((n) => (NUMERICAL_FEATURES as readonly string[]).includes(n)),
  });
}

/**
 * The feature set as a comma list (the inverse of {@link parseFeatureList}).
 *
 * @example
 * formatFeatureSet(PAIR_FEATURES); // 'PU_DO,trip_distance'
 */
export function formatFeatureSet(set: FeatureSet): string {
  return [...set.categorical, ...set.numerical].join(',');
}

/**
 * The raw trip columns a feature set needs (`PU_DO` needs both zones): rows with a null in one
 * of these cannot be used; the others may be null.
 *
 * @example
 * neededColumns(PAIR_FEATURES); // ['PULocationID', 'DOLocationID', 'trip_distance']
 * neededColumns({ categorical: ['PULocationID'], numerical: [] }); // ['PULocationID']
 */
export function neededColumns(set: FeatureSet): TripFeatureColumn[] {
  const need = new Set<TripFeatureColumn>();
  for (const name of set.categorical) {
    if (name === 'PU_DO') {
      need.add('PULocationID');
      need.add('DOLocationID');
    } else need.add(name);
  }
  for (const name of set.numerical) need.add(name);
  return (['PULocationID', 'DOLocationID', 'trip_distance'] as const).filter((c) => need.has(c));
}

/** Trip columns as cleaning gives them (zones as categories or raw IDs, the distance as floats). */
export interface TripFeatureSource {
  readonly PULocationID: Categorical | Int32Array;
  readonly DOLocationID: Categorical | Int32Array;
  readonly trip_distance?: Float64Array;
}

/**
 * The feature columns of a feature set, from cleaned trip columns: the input `DictVectorizer`
 * takes, in the set's order (categorical, then numerical).
 *
 * `PU_DO` becomes a categorical column whose labels are `'<PU>_<DO>'`, as the course's string
 * concatenation gives, without a string per row: its codes combine the two zones' codes, and
 * one label exists per possible pair (unused ones cost a short string each, never a feature).
 *
 * @throws Error (`features: ...`) for a feature the columns cannot give (no `trip_distance`).
 * @example
 * const dv = new DictVectorizer();
 * const X = dv.fitTransform(featureColumns(clean.features, PAIR_FEATURES));
 * dv.getFeatureNamesOut()[0]; // 'PU_DO=100_100' (or whichever pair sorts first)
 */
export function featureColumns(trips: TripFeatureSource, set: FeatureSet = COURSE_FEATURES): Columns {
  const out: Record<string, Column> = {};
  const zone = (column: Categorical | Int32Array): Categorical => (column instanceof Int32Array ? categorical(column) : column);
  for (const name of set.categorical) {
    if (name === 'PU_DO') out.PU_DO = pairColumn(zone(trips.PULocationID), zone(trips.DOLocationID));
    else out[name] = zone(trips[name]);
  }
  for (const name of set.numerical) {
    const values = trips[name];
    if (!(values instanceof Float64Array)) {
      throw new Error(`features: these trips have no ${name} column (FHV files record no distance); choose features without it, e.g. PULocationID,DOLocationID`);
    }
    out[name] = values;
  }
  return out;
}

/**
 * The pair column `PU_DO` from two zone columns: label `'<pu>_<do>'`, as
 * `df['PULocationID'] + '_' + df['DOLocationID']` on the string IDs.
 */
function pairColumn(pu: Categorical, dropoff: Categorical): Categorical {
  const width = dropoff.labels.length;
  const size = pu.labels.length * width;
  if (size > 0x7fffffff) throw new RangeError(`features: ${pu.labels.length} × ${width} zone pairs are too many to encode`);
  const n = pu.codes.length;
  if (dropoff.codes.length !== n) throw new Error(`features: PULocationID has ${n} rows but DOLocationID has ${dropoff.codes.length}`);
  const codes = new Int32Array(n);
  const a = pu.codes;
  const b = dropoff.codes;
  for (let i = 0; i < n; i++) codes[i] = a[i]! * width + b[i]!;
  const labels = new Array<string>(size);
  for (let p = 0; p < pu.labels.length; p++) {
    const prefix = `${pu.labels[p]!}_`;
    for (let d = 0; d < width; d++) labels[p * width + d] = prefix + dropoff.labels[d]!;
  }
  return { codes, labels };
}

/**
 * A record that cannot become features: names the offending field, so a caller (the `predict`
 * command, the HTTP service) can say which field of which record to fix.
 *
 * @example
 * try {
 *   tripRecord({ PULocationID: 161 });
 * } catch (error) {
 *   if (error instanceof FeatureError) error.field; // 'DOLocationID'
 * }
 */
export class FeatureError extends Error {
  override name = 'FeatureError';
  /**
   * @param field - the record's field at fault
   * @param problem - what is wrong with it, without the module prefix (`DOLocationID must be …`)
   */
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`features: ${problem}`);
  }
}

/**
 * One trip as the course's vectorizer saw it: zones as strings (`astype(str)`: 161 and "161"
 * are the same zone), the distance as a number, `PU_DO` joined from the zones. Only the
 * features of `set` are in the result, so a record can carry other fields.
 *
 * @throws FeatureError (`features: ...`, with `field`) when a needed field is missing or of the
 *   wrong type (a zone must be a string or an integer; a distance a finite number).
 * @example
 * tripRecord({ PULocationID: 161, DOLocationID: '236', trip_distance: 2.1 }, PAIR_FEATURES);
 * // { PU_DO: '161_236', trip_distance: 2.1 }
 */
export function tripRecord(record: Readonly<Record<string, unknown>>, set: FeatureSet = COURSE_FEATURES): FeatureRecord {
  const out: Record<string, string | number> = {};
  const zone = (name: 'PULocationID' | 'DOLocationID'): string => {
    const v = record[name];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    if (typeof v === 'number' && Number.isInteger(v)) return String(v);
    throw new FeatureError(name, `${name} must be a zone ID (a string or an integer), got ${describe(v)}`);
  };
  for (const name of set.categorical) out[name] = name === 'PU_DO' ? `${zone('PULocationID')}_${zone('DOLocationID')}` : zone(name);
  for (const name of set.numerical) {
    const v = record[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new FeatureError(name, `${name} must be a finite number, got ${describe(v)}`);
    out[name] = v;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * The feature set a model file's metadata records (`categorical` and `numerical`, as the
 * pipeline writes them), or the course's when it records none (older files).
 *
 * @throws Error (`features: ...`) when the recorded lists name unknown features.
 * @example
 * featureSetOf((await loadModel('models/lin_reg.json')).metadata); // COURSE_FEATURES
 */
export function featureSetOf(metadata: Readonly<Record<string, unknown>>): FeatureSet {
  const c = metadata.categorical;
  const n = metadata.numerical;
  if (c === undefined && n === undefined) return COURSE_FEATURES;
  const strings = (v: unknown): string[] => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : []);
  return checkFeatureSet({ categorical: strings(c), numerical: strings(n) });
}
