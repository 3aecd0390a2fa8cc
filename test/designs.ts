/**
 * Shared test data for the regression suites: a seeded random generator and a trip-like
 * one-hot design (zones, distance with optional outliers, y from known effects plus noise).
 */
import { Matrix } from 'ml-matrix';
import { DictVectorizer, PAIR_FEATURES, categorical, featureColumns, type CsrMatrix } from '../lib/index.js';

/** A seeded uniform generator on (0, 1) (Park–Miller), so test data is the same on every run. */
export function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

/**
 * Trip-like one-hot design: PU, DO zones (or their PU_DO pair) and a distance (every
 * `outliers`-th between 1,000 and 300,000 miles), with y from known effects plus noise.
 */
export function tripDesign(n: number, seed: number, options: { outliers?: number; zones?: number; pairs?: boolean } = {}) {
  const r = rng(seed);
  const zones = options.zones ?? 25;
  const pu = Int32Array.from({ length: n }, () => 1 + Math.floor(zones * r() * r()));
  const dof = Int32Array.from({ length: n }, () => 1 + Math.floor(zones * r()));
  const every = options.outliers ?? 0;
  const dist = Float64Array.from({ length: n }, (_, i) => (every && i % every === 0 ? 1000 + r() * 299000 : r() * 15));
  const y = Float64Array.from({ length: n }, (_, i) => 4 + 3 * Math.min(dist[i]!, 20) + 0.3 * pu[i]! - 0.2 * dof[i]! + 4 * r());
  const features = { PULocationID: categorical(pu), DOLocationID: categorical(dof), trip_distance: dist };
  const dv = new DictVectorizer();
  const X = dv.fitTransform(options.pairs ? featureColumns(features, PAIR_FEATURES) : features);
  return { X, y, dv };
}

/** A CSR matrix as a dense ml-matrix Matrix. */
export function toDense(X: CsrMatrix): Matrix {
  const m = new Matrix(X.rows, X.cols);
  for (let i = 0; i < X.rows; i++) for (let k = X.indptr[i]!; k < X.indptr[i + 1]!; k++) m.set(i, X.indices[k]!, X.data[k]!);
  return m;
}
