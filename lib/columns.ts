/**
 * Columns: the in-memory form of trip data between the course's steps.
 *
 * The pipeline keeps data as typed-array columns rather than row objects or a
 * dataframe: three million rows of five columns cost about 100 MB this way.
 * A categorical column stores one small integer code per row plus the list of
 * category labels, so the vectorizer can one-hot encode without allocating a
 * string per row (the course casts location IDs to strings; we keep the string
 * only once per distinct value).
 */

/**
 * A categorical column: row `i` has the category `labels[codes[i]]`.
 *
 * Codes index into `labels`; a label may be unused by any row.
 *
 * @example
 * const pu: Categorical = { codes: Int32Array.from([0, 1, 0]), labels: ['132', '161'] };
 * // rows: '132', '161', '132'
 */
export interface Categorical {
  /** One code per row, each an index into `labels`. */
  readonly codes: Int32Array;
  /** The category names, as the course's `astype(str)` would print them. */
  readonly labels: readonly string[];
}

/** A numeric column (one float64 per row) or a categorical one. */
export type Column = Float64Array | Categorical;

/**
 * Named columns of equal length: the fast input of `DictVectorizer`.
 *
 * @example
 * const features: Columns = {
 *   PULocationID: categorical(Int32Array.from([132, 161])),
 *   trip_distance: Float64Array.from([17.6, 1.2]),
 * };
 */
export type Columns = Readonly<Record<string, Column>>;

/**
 * Whether a column is categorical.
 *
 * @example
 * isCategorical(Float64Array.of(1)); // false
 */
export function isCategorical(column: Column): column is Categorical {
  return !(column instanceof Float64Array);
}

/**
 * The number of rows in a column.
 *
 * @example
 * columnLength(Float64Array.of(1, 2)); // 2
 */
export function columnLength(column: Column): number {
  return isCategorical(column) ? column.codes.length : column.length;
}

/**
 * Turns non-negative integer IDs (such as TLC location IDs) into a categorical
 * column whose labels are the decimal strings of the IDs, as pandas'
 * `astype(str)` gives.
 *
 * Codes are the IDs themselves, so this costs one pass to find the largest ID
 * and no per-row allocation; labels of IDs that never occur are still present
 * but unused.
 *
 * @throws RangeError when an ID is negative or not below 2^24 (IDs are small).
 * @example
 * const pu = categorical(Int32Array.from([132, 161, 132]));
 * pu.labels[pu.codes[1]!]; // '161'
 */
export function categorical(ids: Int32Array): Categorical {
  let max = -1;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= 1 << 24) {
      throw new RangeError(`columns: categorical IDs must be integers from 0 to 2^24 - 1, got ${id} at row ${i}`);
    }
    if (id > max) max = id;
  }
  const labels = Array.from({ length: max + 1 }, (_, id) => String(id));
  return { codes: ids, labels };
}
