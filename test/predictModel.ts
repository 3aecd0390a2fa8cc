/**
 * Test helper (not a suite): a small model fitted on generated trips and saved, as `train` would,
 * for the predict and serve suites.
 */
import { join } from 'node:path';

import {
  cleanTrips,
  COURSE_FEATURES,
  DictVectorizer,
  featureColumns,
  LinearRegression,
  loadModel,
  readTrips,
  saveModel,
  writeSyntheticTrips,
  type FeatureSet,
  type LoadedModel,
  type ModelMetadata,
} from '../lib/index.js';

/** Generates a month, fits the model on it with `features`, saves it to `dir/name` and loads it back. */
export async function fitModel(
  dir: string,
  name: string,
  options: { seed?: number; rows?: number; features?: FeatureSet; metadata?: ModelMetadata } = {},
): Promise<{ path: string; saved: LoadedModel; tripsPath: string }> {
  const seed = options.seed ?? 11;
  const tripsPath = join(dir, `train-${seed}-${options.rows ?? 4000}.parquet`);
  await writeSyntheticTrips(tripsPath, { month: '2024-01', rows: options.rows ?? 4000, seed, quirks: { neededNull: 0 } });
  const clean = cleanTrips(await readTrips(tripsPath));
  const features = options.features ?? COURSE_FEATURES;
  const vectorizer = new DictVectorizer();
  const model = new LinearRegression().fit(vectorizer.fitTransform(featureColumns(clean.features, features)), clean.duration);
  const path = join(dir, name);
  await saveModel(path, { vectorizer, model, features, metadata: { synthetic: true, ...options.metadata } });
  return { path, saved: await loadModel(path), tripsPath };
}
