/**
 * DictVectorizer: turns trip features into a sparse one-hot design matrix, with
 * scikit-learn's `DictVectorizer` semantics.
 *
 * Two inputs give identical output:
 * - the course's list of records (`df[categorical + numerical].to_dict(orient='records')`),
 *   handy for small data and notebooks;
 * - `Columns` from cleaning (the fast path): a categorical column is mapped code →
 *   feature index through one lookup table per column, so no string or object is
 *   allocated per row: fit + transform of three million rows take about 0.15 s here.
 */
import { columnLength, isCategorical, type Columns } from './columns.js';

/**
 * A sparse matrix in compressed sparse row (CSR) form, as scipy's `csr_matrix`.
 *
 * Row `i` holds the entries `indptr[i]` to `indptr[i + 1] - 1` of `indices` (column
 * numbers) and `data` (values). The vectorizer emits each row's column indices in
 * ascending order without duplicates (scipy's canonical form); explicit zeros (a
 * numeric feature whose value is 0) are kept, as scikit-learn keeps them.
 *
 * @example
 * // [[1, 0, 2], [0, 3, 0]]
 * const m: CsrMatrix = {
 *   rows: 2, cols: 3,
 *   indptr: Int32Array.of(0, 2, 3), indices: Int32Array.of(0, 2, 1), data: Float64Array.of(1, 2, 3),
 * };
 */
export interface CsrMatrix {
  /** Number of rows. */
  readonly rows: number;
  /** Number of columns (features). */
  readonly cols: number;
  /** `rows + 1` offsets into `indices` / `data`; `indptr[0]` is 0. */
  readonly indptr: Int32Array;
  /** Column index of each stored entry. */
  readonly indices: Int32Array;
  /** Value of each stored entry. */
  readonly data: Float64Array;
}

/**
 * A value in a feature record: a string is one-hot encoded as `key=value`, a number
 * (or boolean, as 1 / 0) is kept under `key`; `null` / `undefined` count as absent.
 */
export type FeatureValue = string | number | boolean | null | undefined;

/** One row of features, as the course's `to_dict(orient='records')` gives. */
export type FeatureRecord = Readonly<Record<string, FeatureValue>>;

/** What `DictVectorizer` accepts: typed-array columns (fast path) or records. */
export type VectorizerInput = Columns | readonly FeatureRecord[];

/**
 * Which rows `transform` encodes: rows `start` to `end - 1` of the input. Columns
 * are not copied, so a large month can be transformed and predicted in chunks with
 * bounded memory.
 */
export interface TransformOptions {
  /** First row. Default 0. */
  start?: number;
  /** One past the last row. Default: the number of rows. */
  end?: number;
  /**
   * Arrays to write the matrix into, for columns input, when they are large enough (`indptr`:
   * rows + 1; `indices` and `data`: rows × number of columns); the result then views them and
   * is valid only until they are written again. Vectorizing a month chunk by chunk into the
   * same arrays touches 10 MB of memory instead of allocating 120 MB of fresh pages.
   */
  into?: { indptr: Int32Array; indices: Int32Array; data: Float64Array };
}

/** Options of `DictVectorizer` (scikit-learn's names and defaults). */
export interface DictVectorizerOptions {
  /** Joins a key and a string value into a one-hot feature name. Default `'='`. */
  separator?: string;
  /**
   * Sort feature names by Unicode code point (Python's `sorted`). Default `true`.
   * With `false`, features keep the order in which `fit` first met them, scanning
   * rows in order and, within a row, keys in object order.
   */
  sort?: boolean;
}

/**
 * Orders strings by Unicode code point, as Python's `sorted` does for `str`.
 *
 * JavaScript's `<` compares UTF-16 code units, which differs from code point order
 * only when a surrogate (a character above U+FFFF) meets a character in
 * U+E000–U+FFFF; remapping those two ranges at the first differing unit fixes that.
 * `localeCompare` would be wrong: it ignores case and punctuation by locale rules.
 *
 * @example
 * ['b', 'B', 'a=10', 'a=9'].sort(compareCodePoints); // ['B', 'a=10', 'a=9', 'b']
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return remapUnit(x) - remapUnit(y);
  }
  return a.length - b.length;
}

function remapUnit(u: number): number {
  // Surrogates (D800–DFFF) encode code points ≥ 0x10000: move them above FFFF.
  if (u < 0xd800) return u;
  return u >= 0xe000 ? u - 0x800 : u + 0x2000;
}

/**
 * Learns a vocabulary of feature names from records or columns and turns them into
 * a CSR matrix, like scikit-learn's `DictVectorizer(separator='=', sort=True)`.
 *
 * Edge cases, as in scikit-learn: `transform` silently ignores features not seen by
 * `fit` (a location that first appears in the validation month gets no column);
 * an empty input (no rows) is an error; `transform` before `fit` is an error. A
 * numeric feature keeps explicit zeros. Differences: `null` / `undefined` values
 * count as absent keys (scikit-learn raises on `None`); list values are not
 * supported. A categorical column's unused labels do not become features, only the
 * codes that occur.
 *
 * @example
 * const dv = new DictVectorizer();
 * const X = dv.fitTransform([
 *   { PULocationID: '132', trip_distance: 17.6 },
 *   { PULocationID: '161', trip_distance: 1.2 },
 * ]);
 * dv.getFeatureNamesOut(); // ['PULocationID=132', 'PULocationID=161', 'trip_distance']
 * X.indices; // Int32Array [0, 2, 1, 2]
 * @example
 * // The fast path: columns from cleaning give the same matrix.
 * const X2 = new DictVectorizer().fitTransform({
 *   PULocationID: categorical(Int32Array.of(132, 161)),
 *   trip_distance: Float64Array.of(17.6, 1.2),
 * });
 */
export class DictVectorizer {
  /** Separator between key and string value in one-hot feature names. */
  readonly separator: string;
  /** Whether feature names are sorted by code point. */
  readonly sort: boolean;
  #featureNames: string[] | undefined;
  #vocabulary: Map<string, number> | undefined;

  /** Stores options only; `fit` does the work. */
  constructor(options: DictVectorizerOptions = {}) {
    this.separator = options.separator ?? '=';
    this.sort = options.sort ?? true;
    if (typeof this.separator !== 'string') {
      throw new TypeError(`vectorize: separator must be a string, got ${typeof this.separator}`);
    }
  }

  /**
   * A fitted vectorizer with the given feature names (in column order), as a model
   * file stores it.
   *
   * @throws Error when a name is repeated or not a string.
   * @example
   * const dv = DictVectorizer.fromFeatureNames(['PULocationID=132', 'trip_distance']);
   */
  static fromFeatureNames(featureNames: readonly string[], options: DictVectorizerOptions = {}): DictVectorizer {
    const dv = new DictVectorizer(options);
    const vocabulary = new Map<string, number>();
    featureNames.forEach((name, i) => {
      if (typeof name !== 'string') throw new TypeError(`vectorize: feature name ${i} is not a string: ${String(name)}`);
      if (vocabulary.has(name)) throw new Error(`vectorize: feature name '${name}' appears twice (at ${vocabulary.get(name)} and ${i})`);
      vocabulary.set(name, i);
    });
    dv.#featureNames = [...featureNames];
    dv.#vocabulary = vocabulary;
    return dv;
  }

  /**
   * Whether `fit` (or `fromFeatureNames`) has run.
   *
   * @example
   * const dv = new DictVectorizer();
   * dv.fitted; // false
   * dv.fit([{ PULocationID: '132', trip_distance: 17.6 }]).fitted; // true
   */
  get fitted(): boolean {
    return this.#featureNames !== undefined;
  }

  /**
   * Feature name → column index (scikit-learn's `vocabulary_`).
   *
   * @throws Error before `fit`.
   * @example
   * dv.vocabulary.get('trip_distance'); // 2
   */
  get vocabulary(): ReadonlyMap<string, number> {
    return this.#fitted().vocabulary;
  }

  /**
   * The feature names, in column order (scikit-learn's `get_feature_names_out()`).
   *
   * @throws Error before `fit`.
   * @example
   * dv.getFeatureNamesOut(); // ['DOLocationID=1', ..., 'trip_distance']
   */
  getFeatureNamesOut(): string[] {
    return [...this.#fitted().featureNames];
  }

  /**
   * Learns the feature names from records or columns; returns `this`.
   *
   * @throws Error when the input has no rows, columns differ in length, a code is
   *   outside its labels, or a record value has an unsupported type.
   * @example
   * new DictVectorizer().fit(trainColumns).getFeatureNamesOut().length; // ≈ 515
   */
  fit(X: VectorizerInput): this {
    const names: string[] = [];
    const seen = new Map<string, number>();
    const add = (name: string): void => {
      if (!seen.has(name)) {
        seen.set(name, names.length);
        names.push(name);
      }
    };
    if (isRecords(X)) {
      if (X.length === 0) throw emptyError();
      X.forEach((record, row) => {
        for (const key of Object.keys(record)) {
          const name = featureName(key, record[key], this.separator, row);
          if (name !== undefined) add(name);
        }
      });
    } else {
      const cols = describeColumns(X);
      if (this.sort) {
        // Order does not matter before sorting: mark the codes that occur, column by
        // column (a tight loop per column), and name each one once.
        for (const col of cols) {
          if (!col.codes) {
            add(col.key);
            continue;
          }
          const used = new Uint8Array(col.labels.length);
          const { codes } = col;
          const limit = used.length;
          for (let i = 0; i < codes.length; i++) {
            const code = codes[i]!;
            if (code >>> 0 >= limit) throw codeError(col, i, code);
            used[code] = 1;
          }
          for (let code = 0; code < limit; code++) if (used[code] === 1) add(col.key + this.separator + col.labels[code]!);
        }
        this.#setNames(names);
        return this;
      }
      for (const col of cols) checkCodes(col, 0, cols.rows);
      // Visit rows in order so that sort=false gives the records' first-seen order;
      // a name is built only the first time a code occurs.
      const firstSeen = cols.map((c) => (c.codes ? new Uint8Array(c.labels.length) : new Uint8Array(1)));
      for (let i = 0; i < cols.rows; i++) {
        for (let c = 0; c < cols.length; c++) {
          const col = cols[c]!;
          const flags = firstSeen[c]!;
          if (col.codes) {
            const code = col.codes[i]!;
            if (flags[code] === 0) {
              flags[code] = 1;
              add(col.key + this.separator + col.labels[code]!);
            }
          } else if (flags[0] === 0) {
            flags[0] = 1;
            add(col.key);
          }
        }
      }
    }
    this.#setNames(names);
    return this;
  }

  #setNames(names: string[]): void {
    if (this.sort) names.sort(compareCodePoints);
    this.#featureNames = names;
    this.#vocabulary = new Map(names.map((name, i) => [name, i]));
  }

  /**
   * Turns records or columns into a CSR matrix over the fitted features; features
   * not seen by `fit` are ignored (their rows simply have fewer entries).
   *
   * `options.start` / `options.end` select a range of rows (see `TransformOptions`).
   *
   * @throws Error before `fit`, on an empty or malformed input (see `fit`), or on a
   *   row range outside the input or holding no rows.
   * @example
   * const Xval = dv.transform(validation.features); // same columns as training
   * @example
   * // Predict a month in chunks of 500,000 rows (about 20 MB of CSR at a time).
   * for (let start = 0; start < validation.length; start += 500_000) {
   *   const end = Math.min(validation.length, start + 500_000);
   *   yPred.set(model.predict(dv.transform(validation.features, { start, end })), start);
   * }
   */
  transform(X: VectorizerInput, options: TransformOptions = {}): CsrMatrix {
    const { vocabulary, featureNames } = this.#fitted();
    if (isRecords(X)) {
      const [start, end] = rowRange(X.length, options);
      return this.#transformRecords(start === 0 && end === X.length ? X : X.slice(start, end), vocabulary, featureNames.length);
    }
    return this.#transformColumns(X, vocabulary, featureNames.length, options);
  }

  /**
   * `fit(X)` then `transform(X)`.
   *
   * @example
   * const Xtrain = new DictVectorizer().fitTransform(train.features);
   */
  fitTransform(X: VectorizerInput): CsrMatrix {
    return this.fit(X).transform(X);
  }

  #fitted(): { featureNames: string[]; vocabulary: Map<string, number> } {
    if (this.#featureNames === undefined || this.#vocabulary === undefined) {
      throw new Error('vectorize: this DictVectorizer is not fitted yet; call fit(X) or fitTransform(X) first');
    }
    return { featureNames: this.#featureNames, vocabulary: this.#vocabulary };
  }

  #transformRecords(X: readonly FeatureRecord[], vocabulary: Map<string, number>, cols: number): CsrMatrix {
    if (X.length === 0) throw emptyError();
    const indptr = new Int32Array(X.length + 1);
    const indices: number[] = [];
    const data: number[] = [];
    X.forEach((record, row) => {
      const start = indices.length;
      for (const key of Object.keys(record)) {
        const value = record[key];
        const name = featureName(key, value, this.separator, row);
        if (name === undefined) continue;
        const index = vocabulary.get(name);
        if (index === undefined) continue;
        insertSorted(indices, data, start, index, typeof value === 'string' ? 1 : Number(value));
      }
      indptr[row + 1] = checkedNnz(indices.length);
    });
    return { rows: X.length, cols, indptr, indices: Int32Array.from(indices), data: Float64Array.from(data) };
  }

  #transformColumns(X: Columns, vocabulary: Map<string, number>, cols: number, options: TransformOptions): CsrMatrix {
    const described = describeColumns(X, options);
    const { start, end } = described;
    const rows = end - start;
    // One lookup per column: code → feature index (-1 = unseen); a numeric column
    // unknown to the vocabulary is dropped altogether.
    const active: { codes?: Int32Array; lookup?: Int32Array; values?: Float64Array; index: number; min: number; max: number }[] = [];
    let unseen = 0;
    for (const col of described) {
      if (col.codes) {
        const lookup = new Int32Array(col.labels.length);
        let min = Infinity;
        let max = -Infinity;
        col.labels.forEach((label, code) => {
          const index = vocabulary.get(col.key + this.separator + label) ?? -1;
          lookup[code] = index;
          if (index >= 0) {
            min = Math.min(min, index);
            max = Math.max(max, index);
          }
        });
        if (max >= 0) {
          active.push({ codes: col.codes, lookup, index: -1, min, max });
          // One pass checks the codes and counts rows whose category is unseen.
          const { codes } = col;
          const limit = lookup.length;
          for (let i = start; i < end; i++) {
            const code = codes[i]!;
            if (code >>> 0 >= limit) throw codeError(col, i, code);
            if (lookup[code]! < 0) unseen++;
          }
        } else {
          unseen += rows;
        }
      } else {
        const index = vocabulary.get(col.key);
        if (index !== undefined) active.push({ values: col.values!, index, min: index, max: index });
      }
    }
    // When the columns' feature ranges do not overlap (always, unless a name like
    // 'a=b' collides with key 'a' value 'b' of another column), visiting columns by
    // range gives each row's indices already sorted: no per-row sort.
    active.sort((a, b) => a.min - b.min);
    const disjoint = active.every((c, i) => i === 0 || c.min > active[i - 1]!.max);
    const capacity = rows * active.length;
    if (capacity > 0x7fffffff) throw new RangeError(`vectorize: ${capacity} entries exceed the 2^31 - 1 a CSR matrix can index; vectorize in chunks`);
    const into = options.into;
    const reuse = into !== undefined && into.indptr.length >= rows + 1 && into.indices.length >= capacity && into.data.length >= capacity;
    const indptr = reuse ? into.indptr.subarray(0, rows + 1) : new Int32Array(rows + 1);
    let indices = reuse ? into.indices.subarray(0, capacity) : new Int32Array(capacity);
    let data = reuse ? into.data.subarray(0, capacity) : new Float64Array(capacity);
    indptr[0] = 0;
    let nnz = 0;
    const k = active.length;
    const [c0, c1, c2] = active;
    if (disjoint && unseen === 0 && k === 3 && c0!.codes && c1!.codes && c2!.values) {
      // The course's shape (two location columns, then trip_distance): one pass, row by row,
      // writing each row's three entries together (the same matrix as the general fill).
      const codes0 = c0!.codes;
      const lookup0 = c0!.lookup!;
      const codes1 = c1!.codes;
      const lookup1 = c1!.lookup!;
      const values = c2!.values;
      const index2 = c2!.index;
      for (let i = start, at = 0; i < end; i++, at += 3) {
        indices[at] = lookup0[codes0[i]!]!;
        indices[at + 1] = lookup1[codes1[i]!]!;
        indices[at + 2] = index2;
        data[at] = 1;
        data[at + 1] = 1;
        data[at + 2] = values[i]!;
      }
      for (let r = 1; r <= rows; r++) indptr[r] = r * 3;
      nnz = rows * 3;
    } else if (disjoint && unseen === 0) {
      // Every row has one entry per active column (always so when transforming the
      // training data): fill column by column, k entries per row.
      for (let c = 0; c < k; c++) {
        const col = active[c]!;
        if (col.codes) {
          const { codes, lookup } = col;
          for (let i = start, at = c; i < end; i++, at += k) {
            indices[at] = lookup![codes[i]!]!;
            data[at] = 1;
          }
        } else {
          const { values, index } = col;
          for (let i = start, at = c; i < end; i++, at += k) {
            indices[at] = index;
            data[at] = values![i]!;
          }
        }
      }
      for (let r = 1; r <= rows; r++) indptr[r] = r * k;
      nnz = rows * k;
    } else if (disjoint) {
      for (let i = start; i < end; i++) {
        for (let c = 0; c < active.length; c++) {
          const col = active[c]!;
          if (col.codes) {
            const index = col.lookup![col.codes[i]!]!;
            if (index >= 0) {
              indices[nnz] = index;
              data[nnz++] = 1;
            }
          } else {
            indices[nnz] = col.index;
            data[nnz++] = col.values![i]!;
          }
        }
        indptr[i - start + 1] = nnz;
      }
    } else {
      for (let i = start; i < end; i++) {
        const rowStart = nnz;
        for (let c = 0; c < active.length; c++) {
          const col = active[c]!;
          const index = col.codes ? col.lookup![col.codes[i]!]! : col.index;
          if (index < 0) continue;
          const value = col.codes ? 1 : col.values![i]!;
          // Insertion into the row's short sorted run; a collision adds up, as
          // scipy sums duplicate entries.
          let k = nnz;
          while (k > rowStart && indices[k - 1]! > index) k--;
          if (k > rowStart && indices[k - 1] === index) {
            data[k - 1]! += value;
            continue;
          }
          indices.copyWithin(k + 1, k, nnz);
          data.copyWithin(k + 1, k, nnz);
          indices[k] = index;
          data[k] = value;
          nnz++;
        }
        indptr[i - start + 1] = nnz;
      }
    }
    if (nnz < capacity) {
      // Unseen categories left gaps at the end: keep only what is used.
      indices = reuse ? indices.subarray(0, nnz) : indices.slice(0, nnz);
      data = reuse ? data.subarray(0, nnz) : data.slice(0, nnz);
    }
    return { rows, cols, indptr, indices, data };
  }
}

function isRecords(X: VectorizerInput): X is readonly FeatureRecord[] {
  return Array.isArray(X);
}

function emptyError(): Error {
  return new Error('vectorize: the input has no rows (scikit-learn: "Sample sequence X is empty"); check the filters that produced it');
}

function checkedNnz(n: number): number {
  if (n > 0x7fffffff) throw new RangeError(`vectorize: more than 2^31 - 1 entries; vectorize in chunks`);
  return n;
}

/** The feature name of one record value, or undefined when the value is absent. */
function featureName(key: string, value: FeatureValue, separator: string, row: number): string | undefined {
  if (typeof value === 'string') return key + separator + value;
  if (typeof value === 'number' || typeof value === 'boolean') return key;
  if (value === null || value === undefined) return undefined;
  throw new TypeError(
    `vectorize: record ${row} has an unsupported value for '${key}' (${Array.isArray(value) ? 'array' : typeof value}); ` +
      'use strings for categories and numbers for numeric features',
  );
}

/** Inserts (index, value) into the sorted run indices[start..]; a repeated index adds up. */
function insertSorted(indices: number[], data: number[], start: number, index: number, value: number): void {
  let k = indices.length;
  while (k > start && indices[k - 1]! > index) k--;
  if (k > start && indices[k - 1] === index) {
    data[k - 1]! += value;
    return;
  }
  indices.splice(k, 0, index);
  data.splice(k, 0, value);
}

interface DescribedColumn {
  key: string;
  codes?: Int32Array;
  labels: readonly string[];
  values?: Float64Array;
}

/** [start, end) of `options` within `rows`, validated. */
function rowRange(rows: number, options: TransformOptions): [number, number] {
  const start = options.start ?? 0;
  const end = options.end ?? rows;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > rows || start > end) {
    throw new RangeError(`vectorize: row range ${start}..${end} is not within the input's ${rows} rows`);
  }
  if (rows > 0 && start === end) throw new RangeError(`vectorize: row range ${start}..${end} holds no rows`);
  return [start, end];
}

/** Validates columns (equal lengths, codes within labels, in the row range) and flattens them. */
function describeColumns(X: Columns, options: TransformOptions = {}): DescribedColumn[] & { rows: number; start: number; end: number } {
  if (X === null || typeof X !== 'object') throw new TypeError('vectorize: expected Columns or an array of records');
  const keys = Object.keys(X);
  if (keys.length === 0) throw new Error('vectorize: no columns given; pass e.g. cleanTrips(...).features');
  let rows = -1;
  const described: DescribedColumn[] = keys.map((key) => {
    const column = X[key]!;
    if (!(column instanceof Float64Array) && !(column && column.codes instanceof Int32Array && Array.isArray(column.labels))) {
      throw new TypeError(`vectorize: column '${key}' is neither a Float64Array nor a Categorical ({codes: Int32Array, labels})`);
    }
    const length = columnLength(column);
    if (rows === -1) rows = length;
    else if (length !== rows) throw new Error(`vectorize: column '${key}' has ${length} rows but '${keys[0]}' has ${rows}`);
    if (isCategorical(column)) {
      // Codes are checked by the caller, in the loop that reads them anyway.
      return { key, codes: column.codes, labels: column.labels };
    }
    return { key, labels: [], values: column };
  });
  if (rows === 0) throw emptyError();
  const [start, end] = rowRange(rows, options);
  return Object.assign(described, { rows, start, end });
}

function codeError(col: DescribedColumn, row: number, code: number): RangeError {
  return new RangeError(`vectorize: column '${col.key}' row ${row} has code ${code}, outside its ${col.labels.length} labels`);
}

/** Throws when a categorical column has a code outside its labels in rows [start, end). */
function checkCodes(col: DescribedColumn, start: number, end: number): void {
  const { codes } = col;
  if (!codes) return;
  const limit = col.labels.length;
  for (let i = start; i < end; i++) {
    const code = codes[i]!;
    if (code >>> 0 >= limit) throw codeError(col, i, code);
  }
}
