/**
 * The months every benchmark runs on: generated once by this project's writer
 * (lib/synthetic.ts), rewritten by pyarrow as TLC's files are, and kept in the data cache.
 *
 * Why the rewrite: TLC writes its files with pyarrow, which dictionary-encodes every column
 * (timestamps and location IDs included) in data page v1; our writer does not, so the reader
 * would take another path through our own files than through the real ones. The rewrite
 * (scripts/python/rewrite_with_pyarrow.py) keeps pyarrow's defaults and sets ZSTD and about
 * three row groups, as in the real files; every column stays OPTIONAL.
 *
 * The cache name records both steps:
 * `<cache>/synthetic/v<generator version>/yellow_tripdata_<month>_<rows>_nonull_pyarrow.parquet`.
 * `nonull`: no nulls in the five needed columns, like the real 2024 files (the course's pandas
 * code as written would fail on a null trip_distance). The writer's own file is an
 * intermediate and is deleted after the rewrite. Use TAXI_DATA_DIR=/work/cache (or any shared
 * folder) so every worktree reuses the same months.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Dataset } from '../lib/datasets.js';
import { defaultCacheDir } from '../lib/source.js';
import { syntheticMonth, syntheticMonthPath } from '../lib/synthetic.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Row counts of the real TLC months `npm run bench` stands in for (train, validation). */
export const BENCH_MONTHS = [
  { month: '2024-01', rows: 2_964_624 },
  { month: '2024-02', rows: 3_007_526 },
] as const;

/** `npm run bench:scale`: up to twelve training months, and the month after them to validate on. */
export const SCALE_TRAIN_MONTHS = Array.from({ length: 12 }, (_, i) => `2023-${String(i + 1).padStart(2, '0')}`);
export const SCALE_VAL_MONTH = '2024-01';
/** About a real 2023 yellow month (2.9 to 3.4 million rows). */
export const SCALE_ROWS = 3_000_000;
/** About a real high-volume FHV month (19 to 21 million rows in 2023 and 2024). */
export const FHVHV_ROWS = 20_000_000;
/** `npm run bench:scale`'s high-volume FHV point: train on one month, validate on the next. */
export const FHVHV_MONTHS = ['2024-01', '2024-02'] as const;

const VARIANT = 'nonull_pyarrow';

/**
 * The Python the benchmarks run: $PYTHON, else the project's .venv (environment/setup.sh makes it).
 *
 * @example
 * spawnSync(benchPython(), ['--version']);
 */
export function benchPython(): string {
  return process.env.PYTHON ?? join(root, '.venv', 'bin', 'python');
}

/**
 * The path of one pyarrow-written benchmark month of `rows` rows of a dataset (yellow by
 * default; `fhvhv` for the high-volume FHV layout), generating it when missing.
 *
 * @example
 * const path = await pyarrowMonth('2024-01', 100_000);
 * const hv = await pyarrowMonth('2024-01', FHVHV_ROWS, console.log, 'fhvhv');
 */
export async function pyarrowMonth(month: string, rows: number, log: (line: string) => void = console.log, dataset: Dataset = 'yellow'): Promise<string> {
  const cacheDir = defaultCacheDir();
  const target = syntheticMonthPath(cacheDir, dataset, month, rows, VARIANT);
  if (existsSync(target)) return target;
  const python = benchPython();
  if (!existsSync(python)) {
    throw new Error(`bench: ${python} not found; the benchmark months are rewritten by pyarrow: run \`bash environment/setup.sh\` (or set PYTHON)`);
  }
  const started = performance.now();
  const written = await syntheticMonth(cacheDir, { month, rows, color: dataset, quirks: { neededNull: 0 }, variant: 'nonull' });
  await mkdir(dirname(target), { recursive: true });
  const rewrite = spawnSync(python, [join(root, 'scripts', 'python', 'rewrite_with_pyarrow.py'), written.path, target], { encoding: 'utf8' });
  if (written.generated) await rm(written.path, { force: true });
  if (rewrite.status !== 0) {
    throw new Error(`bench: rewriting ${written.path} with pyarrow failed (exit ${rewrite.status}): ${rewrite.stderr.trim().split('\n').at(-1)}`);
  }
  const { rowGroups } = JSON.parse(rewrite.stdout) as { rowGroups: number };
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(`bench: generated ${target} (${rows.toLocaleString('en-US')} rows, ${rowGroups} row groups, pyarrow-written) in ${seconds} s`);
  return target;
}

/**
 * Paths of the benchmark's train and validation months (pyarrow-written), generating any that
 * are missing; `rowsOverride` replaces the real months' row counts for a quick run.
 *
 * @example
 * const [trainPath, valPath] = await benchMonths();
 */
export async function benchMonths(rowsOverride?: number): Promise<[string, string]> {
  const [train, val] = BENCH_MONTHS;
  return [await pyarrowMonth(train.month, rowsOverride ?? train.rows), await pyarrowMonth(val.month, rowsOverride ?? val.rows)];
}
