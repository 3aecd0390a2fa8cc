/**
 * Writes a synthetic TLC-shaped month of taxi trips (see lib/synthetic.ts).
 *
 *   npx tsx scripts/generate-trips.ts --month 2024-01 --rows 3000000 --seed 1 --out data/yellow_tripdata_2024-01.parquet
 *
 * Options: --color yellow|green, --compression ZSTD|SNAPPY|GZIP|UNCOMPRESSED,
 * --row-group-size N, --id-type INT32|INT64, --timestamp-unit MICROS|NANOS,
 * --lowercase-airport-fee, --quirks '{"neededNull":0.01}' (JSON of SyntheticQuirks).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { writeSyntheticTrips } from '../lib/synthetic.js';
import type { SyntheticTripsOptions } from '../lib/synthetic.js';

const { values } = parseArgs({
  options: {
    month: { type: 'string' },
    rows: { type: 'string' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    color: { type: 'string', default: 'yellow' },
    compression: { type: 'string', default: 'ZSTD' },
    'row-group-size': { type: 'string' },
    'id-type': { type: 'string', default: 'INT32' },
    'timestamp-unit': { type: 'string', default: 'MICROS' },
    'lowercase-airport-fee': { type: 'boolean', default: false },
    quirks: { type: 'string' },
  },
});

function fail(message: string): never {
  console.error(`generate-trips: ${message}`);
  process.exit(2);
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) fail(`--${name} must be one of ${allowed.join(', ')}, got ${value}`);
  return value as T;
}

if (!values.month || !values.rows || !values.out) {
  fail('usage: --month YYYY-MM --rows N --out FILE [--seed N] [--color yellow|green] [--compression ZSTD|SNAPPY|GZIP|UNCOMPRESSED] [--row-group-size N] [--id-type INT32|INT64] [--timestamp-unit MICROS|NANOS]');
}
const rows = Number(values.rows.replaceAll('_', ''));
const options: SyntheticTripsOptions = {
  month: values.month,
  rows,
  seed: Number(values.seed),
  color: oneOf('color', values.color, ['yellow', 'green'] as const),
  compression: oneOf('compression', values.compression, ['ZSTD', 'SNAPPY', 'GZIP', 'UNCOMPRESSED'] as const),
  locationIdType: oneOf('id-type', values['id-type'], ['INT32', 'INT64'] as const),
  timestampUnit: oneOf('timestamp-unit', values['timestamp-unit'], ['MICROS', 'NANOS'] as const),
  lowercaseAirportFee: values['lowercase-airport-fee'],
};
if (values['row-group-size']) options.rowGroupSize = Number(values['row-group-size']);
if (values.quirks) options.quirks = JSON.parse(values.quirks) as SyntheticTripsOptions['quirks'];

const started = performance.now();
try {
  await mkdir(dirname(values.out), { recursive: true });
  await writeSyntheticTrips(values.out, options);
} catch (error) {
  fail((error as Error).message);
}
console.log(`wrote ${rows.toLocaleString('en-US')} rows to ${values.out} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
