/**
 * The two full-size months every benchmark runs on, generated once into the data cache.
 *
 * They have the real months' row counts (2024-01: 2,964,624; 2024-02: 3,007,526) and no
 * nulls in the five needed columns, like the real 2024 files (the course's pandas code as
 * written would choke on them otherwise). `npm run bench`, `bench:read` and `bench:model`
 * share them: `<cache>/synthetic/v<generator version>/yellow_tripdata_<month>_<rows>_nonull.parquet`.
 */
import { defaultCacheDir } from '../lib/source.js';
import { syntheticMonth } from '../lib/synthetic.js';

/** Row counts of the real TLC months the benchmarks stand in for. */
export const BENCH_MONTHS = [
  { month: '2024-01', rows: 2_964_624 },
  { month: '2024-02', rows: 3_007_526 },
] as const;

/**
 * Paths of the benchmark's train and validation months, generating any that are missing.
 *
 * @example
 * const [trainPath, valPath] = await benchMonths();
 */
export async function benchMonths(rowsOverride?: number): Promise<[string, string]> {
  const paths: string[] = [];
  for (const { month, rows: realRows } of BENCH_MONTHS) {
    const rows = rowsOverride ?? realRows;
    const started = performance.now();
    const { path, generated } = await syntheticMonth(defaultCacheDir(), { month, rows, quirks: { neededNull: 0 }, variant: 'nonull' });
    if (generated) {
      console.log(`bench: generated ${path} (${rows.toLocaleString('en-US')} rows) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    paths.push(path);
  }
  return paths as [string, string];
}
