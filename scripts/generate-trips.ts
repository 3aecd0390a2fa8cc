/**
 * Writes a synthetic TLC-shaped month of taxi trips (see lib/synthetic.ts).
 *
 *   npx tsx scripts/generate-trips.ts --month 2024-01 --rows 3000000 --seed 1 --out data/yellow_tripdata_2024-01.parquet
 *
 * `--help` lists every option. A bad command line prints one line (`generate-trips: …`)
 * and exits 2; a failure while writing prints one line and exits 1 (no stack traces).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { writeSyntheticTrips } from '../lib/synthetic.js';
import type { SyntheticQuirks, SyntheticTripsOptions } from '../lib/synthetic.js';

const NAME = 'generate-trips';

const HELP = `Usage: npx tsx scripts/generate-trips.ts --month YYYY-MM --rows N --out FILE [options]

Writes a synthetic month of TLC-shaped taxi trips (lib/synthetic.ts) as parquet.

Required:
  --month YYYY-MM              month the trips belong to
  --rows N                     number of rows (0 writes a valid empty file; 3_000_000 is allowed)
  --out FILE                   parquet file to write (its folder is created)

Options:
  --seed N                     generator seed; same seed, same file (default 1)
  --color yellow|green         dataset shape: tpep_* or lpep_* columns (default yellow)
  --compression C              ZSTD, SNAPPY, GZIP or UNCOMPRESSED (default ZSTD)
  --row-group-size N           rows per row group (default 1048576)
  --id-type INT32|INT64        physical type of the location IDs (default INT32)
  --timestamp-unit UNIT        MICROS or NANOS: unit of the timestamps (default MICROS)
  --lowercase-airport-fee      name the last column airport_fee (as in 2023-01)
  --quirks JSON                override quirk frequencies (fractions of rows, 0..1), e.g.
                               '{"neededNull":0.01}'; keys: ${[
  'outOfMonth', 'negativeDuration', 'underOneMinute', 'overOneHour',
  'hugeDistance', 'hugeDistanceKept', 'nullPassengers', 'neededNull',
].join(', ')}
  -h, --help                   this help

Example:
  npx tsx scripts/generate-trips.ts --month 2024-01 --rows 3000000 --seed 1 --out data/yellow_tripdata_2024-01.parquet
`;

const QUIRK_KEYS: readonly (keyof SyntheticQuirks)[] = [
  'outOfMonth', 'negativeDuration', 'underOneMinute', 'overOneHour',
  'hugeDistance', 'hugeDistanceKept', 'nullPassengers', 'neededNull',
];

/** A mistake in the command line: exit code 2 (a failure while writing exits 1). */
class UsageError extends Error {}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

function integer(name: string, value: string, min: number): number {
  const n = Number(value.replaceAll('_', ''));
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be a whole number ${min === 0 ? '≥ 0' : `≥ ${min}`}, got '${value}'`);
  }
  return n;
}

function quirks(text: string): Partial<SyntheticQuirks> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--quirks is not JSON (${(error as Error).message}); pass an object like '{"neededNull":0.01}'`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--quirks must be a JSON object like '{"neededNull":0.01}', got ${text}`);
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (!(QUIRK_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(`--quirks has an unknown key '${key}'; known: ${QUIRK_KEYS.join(', ')}`);
    }
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new UsageError(`--quirks.${key} must be a fraction from 0 to 1, got ${JSON.stringify(value)}`);
    }
  }
  return parsed as Partial<SyntheticQuirks>;
}

const OPTIONS = {
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
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS }).values;
  } catch (error) {
    const first = (error as Error).message.split('\n')[0]!.replace(/\.$/, '');
    const ambiguous = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(first);
    throw new UsageError(
      ambiguous
        ? `${ambiguous[1]} got a value starting with '-' (or none); write ${ambiguous[1]}=VALUE if you mean it (see --help)`
        : `${first} (see --help)`,
    );
  }
}

async function run(argv: string[]): Promise<void> {
  const values = parse(argv);
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const missing = (['month', 'rows', 'out'] as const).filter((k) => !values[k]).map((k) => `--${k}`);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(', ')} (see --help)`);
  const month = values.month!;
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw new UsageError(`--month must look like 2024-01, got '${month}'`);
  const rows = integer('rows', values.rows!, 0);
  const options: SyntheticTripsOptions = {
    month,
    rows,
    seed: integer('seed', values.seed, 0),
    color: oneOf('color', values.color, ['yellow', 'green'] as const),
    compression: oneOf('compression', values.compression, ['ZSTD', 'SNAPPY', 'GZIP', 'UNCOMPRESSED'] as const),
    locationIdType: oneOf('id-type', values['id-type'], ['INT32', 'INT64'] as const),
    timestampUnit: oneOf('timestamp-unit', values['timestamp-unit'], ['MICROS', 'NANOS'] as const),
    lowercaseAirportFee: values['lowercase-airport-fee'],
  };
  if (values['row-group-size'] !== undefined) options.rowGroupSize = integer('row-group-size', values['row-group-size'], 1);
  if (values.quirks !== undefined) options.quirks = quirks(values.quirks);

  const out = values.out!;
  const started = performance.now();
  try {
    await mkdir(dirname(out), { recursive: true });
    await writeSyntheticTrips(out, options);
  } catch (error) {
    const message = (error as Error).message.replace(/^synthetic: /, '');
    throw new Error(`could not write ${out} (${message}); check --out`, { cause: error });
  }
  console.log(`wrote ${rows.toLocaleString('en-US')} rows to ${out} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

try {
  await run(process.argv.slice(2));
} catch (error) {
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
