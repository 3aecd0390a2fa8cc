/**
 * The model file: the fitted DictVectorizer and linear model saved together, as the course
 * pickles `(dv, lr)` to `models/lin_reg.bin`.
 *
 * A pickle runs code when loaded; this file is plain, versioned JSON that loading validates
 * field by field, and nothing in it is ever executed. Numbers are written by `JSON.stringify`,
 * which prints the shortest decimal that reads back as the same double, so predictions after a
 * round trip are bit-identical.
 *
 * Format `taxi-duration/linear-model`, version 2 (what `saveModel` writes):
 * ```json
 * {
 *   "format": "taxi-duration/linear-model",
 *   "version": 2,
 *   "features": { "categorical": ["PU_DO"], "numerical": ["trip_distance"] },
 *   "vectorizer": { "featureNames": ["PU_DO=1_1", "…", "trip_distance"], "separator": "=", "sort": true },
 *   "model": {
 *     "estimator": "Lasso",
 *     "params": { "alpha": 0.01, "fitIntercept": true, "maxIter": 1000, "tol": 0.0001 },
 *     "coef": [0, "…", 0.62],
 *     "intercept": 12.1
 *   },
 *   "metadata": {
 *     "createdAt": "2026-11-29T23:00:00.000Z", "libraryVersion": "0.1.0",
 *     "training": { "sources": ["…/yellow_tripdata_2024-01.parquet"], "rows": 2898906 },
 *     "validation": { "sources": ["…"], "rows": 2938060 },
 *     "metrics": { "rmseTrain": 7.9, "rmseValidation": 8.0 }
 *   }
 * }
 * ```
 * - `features` is the feature set (the course's `categorical` and `numerical` lists) that turns
 *   trips into the vectorizer's input (see features.ts); every feature name must come from it.
 * - `model.estimator` is `LinearRegression`, `Ridge` or `Lasso`; `model.params` are its options
 *   with scikit-learn's meaning (`get_params()`, camelCase): `fitIntercept` for all,
 *   `alpha` for Ridge and Lasso, `maxIter` and `tol` for Lasso. `coef[i]` belongs to
 *   `featureNames[i]`.
 * - Unknown extra metadata fields are kept.
 *
 * Version 1 (`taxi-duration/linear-regression`, still read): no `features` (the metadata's
 * `categorical` / `numerical` lists, else the course's), and `model` is
 * `{ "coef": […], "intercept": …, "fitIntercept": true }`, a LinearRegression.
 */
import { readFile, stat } from 'node:fs/promises';
import { checkFeatureSet, featureSetOf, formatFeatureSet, type FeatureSet } from './features.js';
import { checkEstimatorOptions, ESTIMATOR_OPTIONS, restoreEstimator } from './estimators.js';
import { LinearModel, type EstimatorName } from './linearModel.js';
import { writeFileAtomic } from './output.js';
import { libraryVersion } from './project.js';
import { compareCodePoints, DictVectorizer } from './vectorize.js';

/**
 * The `format` field of a model file.
 *
 * @example
 * JSON.parse(readFileSync('models/lin_reg.json', 'utf8')).format === MODEL_FORMAT; // true
 */
export const MODEL_FORMAT = 'taxi-duration/linear-model';
/** The format name of version 1 files (a LinearRegression only), which `loadModel` still reads. */
const MODEL_FORMAT_V1 = 'taxi-duration/linear-regression';
/**
 * The newest model file version this library writes and reads; `loadModel` refuses newer ones.
 *
 * @example
 * JSON.parse(readFileSync('models/lin_reg.json', 'utf8')).version <= MODEL_FORMAT_VERSION; // true
 */
export const MODEL_FORMAT_VERSION = 2;
/**
 * Where the CLI and notebooks keep the model by default (relative to the project root).
 *
 * @example
 * const { model } = await loadModel(DEFAULT_MODEL_PATH);
 */
export const DEFAULT_MODEL_PATH = 'models/lin_reg.json';

/** Files larger than this are refused before parsing (a real one is ~30 kB). */
const MAX_MODEL_BYTES = 64 * 1024 * 1024;

/** Where data came from and how many rows were used. */
export interface DataDescription {
  /** Files or URLs read (e.g. the parquet paths). */
  sources: string[];
  /** Rows used after cleaning. */
  rows: number;
  /** Per source, in order: rows used and, for validation, the model's RMSE on it (`train()` writes it). */
  perSource?: { source: string; rows: number; rmse?: number }[];
}

/** What a model file says about how the model was made. */
export interface ModelMetadata {
  /** ISO 8601 creation time; `saveModel` fills it in when absent. */
  createdAt?: string;
  /** Version of this library that wrote the file; `saveModel` fills it in when absent. */
  libraryVersion?: string;
  /** The training data. */
  training?: DataDescription;
  /** The validation data. */
  validation?: DataDescription;
  /** Scores, e.g. `{ rmseTrain, rmseValidation }` (finite numbers). */
  metrics?: Record<string, number>;
  /** Anything else JSON-serialisable is kept as is. */
  [extra: string]: unknown;
}

/** The contents of a model file, in memory. */
export interface SavedModel {
  /** The fitted vectorizer (its feature names are the model's columns). */
  vectorizer: DictVectorizer;
  /** The fitted model: a LinearRegression, Ridge or Lasso. */
  model: LinearModel;
  /** How it was made. */
  metadata: ModelMetadata;
  /**
   * Which trip columns the model's features come from (the course's `categorical` and
   * `numerical` lists). `saveModel` records it (default: the metadata's lists, else the
   * course's) and checks that every feature name comes from it; `loadModel` always returns it.
   */
  features?: FeatureSet;
}

/** A model file as {@link loadModel} returns it: the feature set is always known. */
export type LoadedModel = SavedModel & { features: FeatureSet };

/**
 * Writes the vectorizer, model and metadata to `path` atomically, through lib/output.ts: a
 * temporary file in the same directory is written, flushed to disk and renamed over `path`, so a
 * failed or interrupted save never leaves a half-written or missing model where a good one was.
 * Creates the parent directory. A `path` that is a symbolic link has its target replaced; one
 * that is a folder, a device or a FIFO is refused. Returns the metadata as written.
 *
 * @throws Error when the vectorizer or model is not fitted, their sizes differ, a
 *   number is not finite, or the file system refuses.
 * @example
 * await saveModel('models/lin_reg.json', {
 *   vectorizer: dv, model: lr,
 *   metadata: { training: { sources: [trainPath], rows: train.length }, metrics: { rmseValidation: rmse } },
 * });
 */
export async function saveModel(path: string, saved: SavedModel): Promise<ModelMetadata> {
  const { text, metadata } = modelFileText(saved, path);
  try {
    await writeFileAtomic(path, text, { what: 'the model' });
  } catch (error) {
    throw new Error(`modelFile: could not save the model to ${path}: ${(error as Error).message}`, { cause: error });
  }
  return metadata;
}

/**
 * The text of a model file and the metadata in it, validated as loading would, without writing
 * anything: for callers that write it themselves (the pipeline stages all its outputs, then
 * renames them together). `path` only names the file in error messages.
 *
 * @throws Error as {@link saveModel} does for a model that cannot be saved.
 * @example
 * const { text } = modelFileText({ vectorizer: dv, model: lr }, 'models/lin_reg.json');
 */
export function modelFileText(saved: SavedModel, path = 'the model'): { text: string; metadata: ModelMetadata } {
  const document = toDocument(saved);
  // Validate what we are about to write with the same checks as loading.
  fromDocument(JSON.parse(JSON.stringify(document)), path);
  return { text: `${JSON.stringify(document, null, 1)}\n`, metadata: document.metadata };
}

/**
 * Reads and validates a model file written by `saveModel`; returns fitted objects.
 *
 * @throws Error naming the problem when the file is missing, not JSON (corrupt or
 *   truncated), of another format, of an unknown or newer version, or inconsistent
 *   (coefficient count ≠ feature count, repeated feature names, feature names out of
 *   code point order while `sort` is true, non-finite numbers).
 * @example
 * const { vectorizer, model, metadata } = await loadModel('models/lin_reg.json');
 * const yPred = model.predict(vectorizer.transform(features));
 */
export async function loadModel(path: string): Promise<LoadedModel> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_MODEL_BYTES) {
      throw new Error(`it is ${info.size} bytes, more than a model file can be (${MAX_MODEL_BYTES})`);
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ' (no such file; train and save a model first)' : '';
    throw new Error(`modelFile: cannot read ${path}${hint}: ${(error as Error).message}`, { cause: error });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`modelFile: ${path} is not valid JSON (corrupt or truncated?): ${(error as Error).message}`, { cause: error });
  }
  return fromDocument(document, path);
}


interface ModelDocument {
  format: string;
  version: number;
  features: { categorical: string[]; numerical: string[] };
  vectorizer: { featureNames: string[]; separator: string; sort: boolean };
  model: { estimator: EstimatorName; params: Record<string, number | boolean>; coef: number[]; intercept: number };
  metadata: ModelMetadata;
}

function toDocument({ vectorizer, model, metadata, features }: SavedModel): ModelDocument {
  if (!(vectorizer instanceof DictVectorizer) || !vectorizer.fitted) {
    throw new Error('modelFile: the vectorizer is not a fitted DictVectorizer; fit it before saving');
  }
  if (!(model instanceof LinearModel) || !model.fitted) {
    throw new Error('modelFile: the model is not a fitted LinearRegression, Ridge or Lasso; fit it before saving');
  }
  const set = features ?? featureSetOf(metadata);
  const { coef, intercept } = model.parameters;
  return {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    features: { categorical: [...set.categorical], numerical: [...set.numerical] },
    vectorizer: { featureNames: vectorizer.getFeatureNamesOut(), separator: vectorizer.separator, sort: vectorizer.sort },
    model: { estimator: model.estimator, params: model.getParams(), coef: Array.from(coef), intercept },
    metadata: {
      ...metadata,
      createdAt: metadata.createdAt ?? new Date().toISOString(),
      libraryVersion: metadata.libraryVersion ?? libraryVersion(),
    },
  };
}

/** A value for an error message: numbers as JS prints them (Infinity, not null). */
function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fromDocument(document: unknown, path: string): LoadedModel {
  const fail = (problem: string): never => {
    throw new Error(`modelFile: ${path}: ${problem}`);
  };
  if (!isObject(document)) return fail('expected a JSON object at the top level');
  const version = document.version;
  if (document.format !== MODEL_FORMAT && document.format !== MODEL_FORMAT_V1) {
    return fail(`format is ${JSON.stringify(document.format)}, expected "${MODEL_FORMAT}"; this is not a taxi-duration model file`);
  }
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return fail(`version is ${JSON.stringify(version)}, expected a positive integer`);
  }
  if (version > MODEL_FORMAT_VERSION) {
    return fail(`version ${version} is newer than this library reads (${MODEL_FORMAT_VERSION}); upgrade taxi-duration (${libraryVersion()})`);
  }
  const v1 = document.format === MODEL_FORMAT_V1;
  if (v1 !== (version === 1)) {
    return fail(`format "${String(document.format)}" has no version ${version} (version 1 is "${MODEL_FORMAT_V1}", version 2 "${MODEL_FORMAT}"); the file was edited or corrupted`);
  }
  const vec = document.vectorizer;
  if (!isObject(vec)) return fail('"vectorizer" is missing or not an object');
  const names = vec.featureNames;
  if (!Array.isArray(names) || names.length === 0) return fail('vectorizer.featureNames must be a non-empty array');
  names.forEach((name, i) => {
    if (typeof name !== 'string') fail(`vectorizer.featureNames[${i}] is ${JSON.stringify(name)}, expected a string`);
  });
  if (typeof vec.separator !== 'string') return fail('vectorizer.separator must be a string');
  if (typeof vec.sort !== 'boolean') return fail('vectorizer.sort must be true or false');
  if (vec.sort) {
    // A sorting vectorizer relies on its names being in code point order; out of order, its
    // columns would no longer line up with the coefficients. (Repeats are reported below.)
    for (let i = 1; i < names.length; i++) {
      if (compareCodePoints(names[i - 1] as string, names[i] as string) > 0) {
        return fail(
          `vectorizer.sort is true but the feature names are not sorted (${JSON.stringify(names[i - 1])} comes before ${JSON.stringify(names[i])} at index ${i}); the file was edited or corrupted: save the model again from the fitted vectorizer`,
        );
      }
    }
  }
  const mod = document.model;
  if (!isObject(mod)) return fail('"model" is missing or not an object');
  const coef = mod.coef;
  if (!Array.isArray(coef)) return fail('model.coef must be an array of numbers');
  if (coef.length !== names.length) {
    return fail(`model.coef has ${coef.length} values but vectorizer.featureNames has ${names.length}; the file is inconsistent`);
  }
  coef.forEach((c, i) => {
    if (typeof c !== 'number' || !Number.isFinite(c)) fail(`model.coef[${i}] is ${show(c)}, expected a finite number`);
  });
  if (typeof mod.intercept !== 'number' || !Number.isFinite(mod.intercept)) {
    return fail(`model.intercept is ${show(mod.intercept)}, expected a finite number`);
  }
  // Version 1 held a LinearRegression with fitIntercept beside coef; version 2 names the
  // estimator and keeps its options in params.
  const estimator = v1 ? 'LinearRegression' : mod.estimator;
  if (typeof estimator !== 'string' || !Object.hasOwn(ESTIMATOR_OPTIONS, estimator)) {
    return fail(`model.estimator is ${JSON.stringify(estimator)}, expected one of ${Object.keys(ESTIMATOR_OPTIONS).join(', ')}`);
  }
  const params = v1 ? { fitIntercept: mod.fitIntercept } : mod.params;
  if (!isObject(params)) return fail('model.params must be an object of the estimator\'s options');
  try {
    checkEstimatorOptions(estimator as EstimatorName, params);
  } catch (error) {
    return fail(`${v1 ? 'model' : 'model.params'}: ${(error as Error).message}`);
  }
  const where = v1 ? 'model.fitIntercept' : 'model.params.fitIntercept';
  if (typeof params.fitIntercept !== 'boolean') return fail(`${where} must be true or false`);
  const metadata = document.metadata ?? {};
  if (!isObject(metadata)) return fail('"metadata" must be an object');
  for (const key of ['training', 'validation'] as const) {
    const data = metadata[key];
    if (data === undefined) continue;
    if (!isObject(data) || !Array.isArray(data.sources) || !data.sources.every((s) => typeof s === 'string')) {
      fail(`metadata.${key}.sources must be an array of strings`);
    }
    const rows = (data as Record<string, unknown>).rows;
    if (typeof rows !== 'number' || !Number.isInteger(rows) || rows < 0) fail(`metadata.${key}.rows must be a non-negative integer`);
  }
  if (metadata.metrics !== undefined) {
    if (!isObject(metadata.metrics)) fail('metadata.metrics must be an object of numbers');
    for (const [name, value] of Object.entries(metadata.metrics as Record<string, unknown>)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(`metadata.metrics.${name} is ${show(value)}, expected a finite number`);
    }
  }
  const features = v1 ? featuresOfMetadata(metadata, fail) : featuresOfDocument(document.features, metadata, fail);
  checkNamesMatchFeatures(names as string[], vec.separator, features, fail);
  let vectorizer: DictVectorizer;
  let model: LinearModel;
  try {
    vectorizer = DictVectorizer.fromFeatureNames(names as string[], { separator: vec.separator, sort: vec.sort });
  } catch (error) {
    return fail((error as Error).message);
  }
  try {
    model = restoreEstimator(estimator, params, { coef: coef as number[], intercept: mod.intercept, fitIntercept: params.fitIntercept });
  } catch (error) {
    return fail(`${v1 ? 'model' : 'model.params'}: ${(error as Error).message}`);
  }
  return { vectorizer, model, metadata: metadata as ModelMetadata, features };
}

/** Version 1: the metadata's lists, else the course's. */
function featuresOfMetadata(metadata: Record<string, unknown>, fail: (problem: string) => never): FeatureSet {
  try {
    return featureSetOf(metadata);
  } catch (error) {
    return fail(`metadata.categorical / metadata.numerical: ${(error as Error).message}`);
  }
}

/** Version 2: the document's `features`, which metadata lists (if any) must agree with. */
function featuresOfDocument(value: unknown, metadata: Record<string, unknown>, fail: (problem: string) => never): FeatureSet {
  if (!isObject(value) || !Array.isArray(value.categorical) || !Array.isArray(value.numerical)) {
    return fail('"features" must be { "categorical": [...], "numerical": [...] }');
  }
  if (![...value.categorical, ...value.numerical].every((n) => typeof n === 'string')) return fail('features lists must hold strings');
  let features: FeatureSet;
  try {
    features = checkFeatureSet({ categorical: value.categorical as string[], numerical: value.numerical as string[] });
  } catch (error) {
    return fail(`features: ${(error as Error).message}`);
  }
  if (metadata.categorical !== undefined || metadata.numerical !== undefined) {
    const recorded = featuresOfMetadata(metadata, fail);
    if (formatFeatureSet(recorded) !== formatFeatureSet(features)) {
      return fail(`metadata.categorical / metadata.numerical say ${formatFeatureSet(recorded)} but features say ${formatFeatureSet(features)}; save with one feature set`);
    }
  }
  return features;
}

/**
 * Every feature name must come from the feature set (`PU_DO=…` needs `PU_DO`, `trip_distance`
 * needs `trip_distance`): otherwise `predict` would build records the vectorizer ignores and
 * silently predict the intercept.
 */
function checkNamesMatchFeatures(names: string[], separator: string, features: FeatureSet, fail: (problem: string) => never): void {
  const numerical = new Set<string>(features.numerical);
  const prefixes = features.categorical.map((c) => c + separator);
  names.forEach((name, i) => {
    if (numerical.has(name) || prefixes.some((prefix) => name.startsWith(prefix))) return;
    fail(
      `vectorizer.featureNames[${i}] is ${JSON.stringify(name)}, which the feature set ${formatFeatureSet(features)} does not give; save the model with the feature set it was trained on`,
    );
  });
}
