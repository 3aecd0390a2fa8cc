/**
 * Predict: trip durations from a saved model, for trip columns (a parquet file, a cleaned month)
 * or for JSON records (the command's stdin, the HTTP service's requests, a notebook's list).
 *
 * One place turns inputs into predictions, so the `predict` command, the service and the
 * notebooks give the same numbers bit for bit. Features come from the model's own feature set
 * (`features` from `loadModel`) through `features.ts`; nothing here knows a feature's name.
 *
 * Zones the model never saw in training contribute nothing, as scikit-learn's `DictVectorizer`
 * ignores unseen features; every result says, per record, which categorical features were
 * unseen, so a caller can tell a confident prediction from a fallback.
 */
import { categorical, isCategorical, type Categorical, type Columns } from './columns.js';
import { FeatureError, featureColumns, neededColumns, tripRecord, type FeatureSet, type TripFeatureSource } from './features.js';
import type { JsonRecordBatch } from './jsonRecords.js';
import type { LoadedModel } from './modelFile.js';
import { MISSING, type Trips } from './read.js';
import type { FeatureRecord } from './vectorize.js';

/** What prediction needs of a model file: what `loadModel` returns. */
export type PredictionModel = Pick<LoadedModel, 'vectorizer' | 'model' | 'features'>;

/** Predictions for trip columns, one per row. */
export interface TripPredictions {
  /** Predicted duration in minutes; NaN for a row with a null in a column the model needs. */
  readonly duration: Float64Array;
  /** Rows not predicted (a null in a needed column). */
  readonly incomplete: number;
  /**
   * Per row, bit `i` set when the row's value of `features.categorical[i]` was never seen in
   * training (it contributed nothing); 0 when every zone was seen. See {@link unseenFeatures}.
   */
  readonly unseen: Uint8Array;
}

/** Predictions for JSON records, one per record. */
export interface RecordPredictions {
  /** Predicted duration in minutes. */
  readonly duration: Float64Array;
  /** Per record, the unseen-feature bits, as {@link TripPredictions.unseen}. */
  readonly unseen: Uint8Array;
}

/** Predictions for one batch of {@link predictRecordBatches}. */
export interface RecordBatchPredictions extends RecordPredictions {
  /** Index in the whole input of the batch's first record (from 0). */
  readonly first: number;
}

/**
 * A record that cannot be predicted: which one (`index`, from 0; `line` for JSON Lines), which
 * field, and what is wrong (`problem`, without the module prefix).
 *
 * @example
 * try {
 *   predictRecords(saved, [{ PULocationID: 161, trip_distance: 2 }]);
 * } catch (error) {
 *   if (error instanceof RecordError) console.log(error.index, error.field); // 0 'DOLocationID'
 * }
 */
export class RecordError extends Error {
  override name = 'RecordError';
  constructor(
    /** The record's index in the input (from 0). */
    readonly index: number,
    /** The field at fault; undefined when the record as a whole is wrong (not an object). */
    readonly field: string | undefined,
    /** What is wrong, e.g. `DOLocationID must be a zone ID (…), got nothing (the field is missing)`. */
    readonly problem: string,
    /** For JSON Lines, the line the record is on (from 1). */
    readonly line?: number,
  ) {
    // "record 2: DOLocationID must be …", but "record 2 is a JSON number, …".
    super(`predict: record ${index + 1}${line !== undefined ? ` (line ${line})` : ''}${field !== undefined ? ':' : ''} ${problem}`);
  }
}

/** Rows vectorized at a time: about 10 MB of CSR, reused from chunk to chunk. */
const CHUNK_ROWS = 262_144;

/**
 * Predicts the duration of every row of trip columns: trips as `readTrips`/`readTripGroups`
 * give them (rows with a null in a needed column get NaN), or cleaned features
 * (`cleanTrips(...).features`).
 *
 * Vectorizes a chunk of rows at a time, so memory stays about 10 MB above the input whatever
 * its length; predictions are row by row, so chunking changes no number.
 *
 * @throws Error (`features: …`) when the trips lack a column the model needs (no distance).
 * @example
 * const saved = await loadModel('models/lin_reg.json');
 * const { duration, incomplete } = predictTrips(saved, await readTrips('data/yellow_tripdata_2024-03.parquet'));
 */
export function predictTrips(saved: PredictionModel, trips: Trips | TripFeatureSource): TripPredictions {
  const { features } = saved;
  const source = isRead(trips) ? completeRows(trips, features) : { columns: trips, rows: null, length: categoricalLength(trips.PULocationID) };
  const columns = featureColumns(source.columns, features);
  const n = source.rows === null ? source.length : source.rows.length;
  const predicted = new Float64Array(n);
  for (const chunk of predictChunks(saved, columns, n)) predicted.set(chunk.predicted, chunk.start);
  const unseenCompact = unseenColumns(saved, columns, n);
  if (source.rows === null) return { duration: predicted, incomplete: 0, unseen: unseenCompact };
  // Spread back to the file's rows, NaN where a row could not be predicted.
  const length = (trips as Trips).length;
  const duration = new Float64Array(length).fill(NaN);
  const unseen = new Uint8Array(length);
  const rows = source.rows;
  for (let j = 0; j < rows.length; j++) {
    duration[rows[j]!] = predicted[j]!;
    unseen[rows[j]!] = unseenCompact[j]!;
  }
  return { duration, incomplete: length - rows.length, unseen };
}

/** One chunk of {@link predictFeatureChunks}: rows `start` to `end − 1` and their predictions. */
export interface PredictedChunk {
  readonly start: number;
  readonly end: number;
  readonly predicted: Float64Array;
}

/**
 * Buffers for the sparse rows of a chunk, kept from call to call of
 * {@link predictFeatureChunks} on one thread, so predicting many row groups allocates them once.
 *
 * @example
 * const buffers = new PredictBuffers();
 * for (const group of groups) for (const { predicted } of predictFeatureChunks(saved, group.features, { buffers })) use(predicted);
 */
export class PredictBuffers {
  #into: { indptr: Int32Array; indices: Int32Array; data: Float64Array } | null = null;

  /** CSR arrays for `rows` rows of `width` entries each, at least. */
  csr(rows: number, width: number): { indptr: Int32Array; indices: Int32Array; data: Float64Array } {
    const into = this.#into;
    if (into !== null && into.indptr.length >= rows + 1 && into.indices.length >= rows * width) return into;
    this.#into = { indptr: new Int32Array(rows + 1), indices: new Int32Array(rows * width), data: new Float64Array(rows * width) };
    return this.#into;
  }
}

/**
 * The predictions of cleaned trip columns a chunk at a time (the core of {@link predictTrips}):
 * for callers that reduce predictions as they come (a sum of squared errors, a histogram) and
 * never need one per row of a month. The same numbers as predictTrips, bit for bit.
 *
 * @throws Error (`features: …`) when the trips lack a column the model needs (no distance).
 * @example
 * let squares = 0;
 * for (const { start, end, predicted } of predictFeatureChunks(saved, clean.features)) {
 *   for (let i = start; i < end; i++) squares += (clean.duration[i] - predicted[i - start]) ** 2;
 * }
 */
export function predictFeatureChunks(
  saved: PredictionModel,
  trips: TripFeatureSource,
  options: { chunkRows?: number; buffers?: PredictBuffers } = {},
): Generator<PredictedChunk, void, undefined> {
  return predictChunks(saved, featureColumns(trips, saved.features), categoricalLength(trips.PULocationID), options);
}

function* predictChunks(saved: PredictionModel, columns: Columns, n: number, options: { chunkRows?: number; buffers?: PredictBuffers } = {}): Generator<PredictedChunk, void, undefined> {
  if (n === 0) return;
  const { vectorizer, model, features } = saved;
  const chunkRows = options.chunkRows ?? CHUNK_ROWS;
  const width = features.categorical.length + features.numerical.length;
  const size = Math.min(n, chunkRows);
  const into = (options.buffers ?? new PredictBuffers()).csr(size, width);
  for (let start = 0; start < n; start += chunkRows) {
    const end = Math.min(n, start + chunkRows);
    yield { start, end, predicted: model.predict(vectorizer.transform(columns, { start, end, into })) };
  }
}

/**
 * Predicts the duration of JSON records: objects with the model's fields (`PULocationID`,
 * `DOLocationID` as strings or integers, `trip_distance` a finite number, for the course's
 * features); other fields are ignored.
 *
 * @throws RecordError naming the first record (by index, counted from `options.first`) and
 *   field that cannot be predicted: not an object, a field missing or of the wrong type.
 * @example
 * const { duration, unseen } = predictRecords(saved, [{ PULocationID: '161', DOLocationID: '236', trip_distance: 2.1 }]);
 */
export function predictRecords(
  saved: PredictionModel,
  records: readonly unknown[],
  options: { first?: number; lines?: readonly number[] } = {},
): RecordPredictions {
  const { vectorizer, model, features } = saved;
  const first = options.first ?? 0;
  const featureRecords: FeatureRecord[] = new Array<FeatureRecord>(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new RecordError(first + i, undefined, `is ${describeJson(record)}, not a JSON object`, options.lines?.[i]);
    }
    try {
      featureRecords[i] = tripRecord(record as Record<string, unknown>, features);
    } catch (error) {
      if (error instanceof FeatureError) throw new RecordError(first + i, error.field, error.problem, options.lines?.[i]);
      throw error;
    }
  }
  if (records.length === 0) return { duration: new Float64Array(0), unseen: new Uint8Array(0) };
  const duration = model.predict(vectorizer.transform(featureRecords));
  return { duration, unseen: unseenRecords(saved, featureRecords) };
}

/**
 * Predicts record batches as they arrive (from {@link readJsonRecords}): memory holds one
 * batch, whatever the input's length.
 *
 * @throws RecordError as {@link predictRecords}, with the line for JSON Lines input; and the
 *   reader's errors as they come.
 * @example
 * for await (const { duration } of predictRecordBatches(saved, readJsonRecords(process.stdin))) {
 *   process.stdout.write(Array.from(duration).join('\n') + '\n');
 * }
 */
export async function* predictRecordBatches(
  saved: PredictionModel,
  batches: AsyncIterable<JsonRecordBatch> | Iterable<JsonRecordBatch>,
): AsyncGenerator<RecordBatchPredictions, void, undefined> {
  for await (const batch of batches) {
    const options = batch.lines !== undefined ? { first: batch.first, lines: batch.lines } : { first: batch.first };
    yield { first: batch.first, ...predictRecords(saved, batch.records, options) };
  }
}

/**
 * The names of the features whose values were unseen, from one entry of an `unseen` array.
 *
 * @example
 * const p = predictRecords(saved, [{ PULocationID: '999', DOLocationID: '236', trip_distance: 2 }]);
 * unseenFeatures(saved.features, p.unseen[0]!); // ['PULocationID']
 */
export function unseenFeatures(features: FeatureSet, bits: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < features.categorical.length; i++) if (bits & (1 << i)) names.push(features.categorical[i]!);
  return names;
}

function isRead(trips: Trips | TripFeatureSource): trips is Trips {
  return 'missing' in trips && trips.missing instanceof Uint8Array;
}

function categoricalLength(column: Categorical | Int32Array): number {
  return column instanceof Int32Array ? column.length : column.codes.length;
}

/**
 * The rows of read trips that have every column the model needs, and those columns' values
 * there (zones as categories); `rows` null when every row is complete (no copy).
 */
function completeRows(trips: Trips, features: FeatureSet): { columns: TripFeatureSource; rows: Int32Array | null; length: number } {
  let needed = 0;
  for (const column of neededColumns(features)) needed |= MISSING[column];
  let complete = 0;
  for (let i = 0; i < trips.length; i++) if ((trips.missing[i]! & needed) === 0) complete++;
  if (complete === trips.length) {
    const columns = { PULocationID: trips.PULocationID, DOLocationID: trips.DOLocationID, trip_distance: trips.trip_distance };
    return { columns: zonesOnlyIfNeeded(columns, needed), rows: null, length: trips.length };
  }
  const rows = new Int32Array(complete);
  for (let i = 0, j = 0; i < trips.length; i++) if ((trips.missing[i]! & needed) === 0) rows[j++] = i;
  const pu = new Int32Array(complete);
  const dropoff = new Int32Array(complete);
  const distance = new Float64Array(complete);
  for (let j = 0; j < complete; j++) {
    const i = rows[j]!;
    pu[j] = trips.PULocationID[i]!;
    dropoff[j] = trips.DOLocationID[i]!;
    distance[j] = trips.trip_distance[i]!;
  }
  return { columns: zonesOnlyIfNeeded({ PULocationID: pu, DOLocationID: dropoff, trip_distance: distance }, needed), rows, length: complete };
}

/**
 * A zone column the model does not use may hold nulls (-1) in rows that are otherwise complete:
 * give it a harmless placeholder so turning it into categories cannot fail on them.
 */
function zonesOnlyIfNeeded(columns: { PULocationID: Int32Array; DOLocationID: Int32Array; trip_distance: Float64Array }, needed: number): TripFeatureSource {
  const zone = (column: Int32Array, bit: number): Categorical => ((needed & bit) !== 0 ? categorical(column) : categorical(new Int32Array(column.length)));
  return {
    PULocationID: zone(columns.PULocationID, MISSING.PULocationID),
    DOLocationID: zone(columns.DOLocationID, MISSING.DOLocationID),
    trip_distance: columns.trip_distance,
  };
}

/** Unseen-feature bits per row for feature columns: one lookup per category, then one pass. */
function unseenColumns(saved: PredictionModel, columns: Columns, n: number): Uint8Array {
  const { vectorizer, features } = saved;
  const vocabulary = vectorizer.vocabulary;
  const unseen = new Uint8Array(n);
  features.categorical.forEach((name, bit) => {
    const column = columns[name];
    if (column === undefined || !isCategorical(column)) return;
    const flag = 1 << bit;
    const lookup = new Uint8Array(column.labels.length);
    column.labels.forEach((label, code) => {
      lookup[code] = vocabulary.has(name + vectorizer.separator + label) ? 0 : flag;
    });
    const codes = column.codes;
    for (let i = 0; i < n; i++) unseen[i]! |= lookup[codes[i]!]!;
  });
  return unseen;
}

/** Unseen-feature bits per record, as DictVectorizer names a string value: `key=value`. */
function unseenRecords(saved: PredictionModel, records: readonly FeatureRecord[]): Uint8Array {
  const { vectorizer, features } = saved;
  const vocabulary = vectorizer.vocabulary;
  const unseen = new Uint8Array(records.length);
  for (let i = 0; i < records.length; i++) {
    let bits = 0;
    for (let bit = 0; bit < features.categorical.length; bit++) {
      const name = features.categorical[bit]!;
      if (!vocabulary.has(name + vectorizer.separator + String(records[i]![name]))) bits |= 1 << bit;
    }
    unseen[i] = bits;
  }
  return unseen;
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a JSON array';
  return `a JSON ${typeof value === 'object' ? 'object' : typeof value}`;
}
