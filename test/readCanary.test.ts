/**
 * The canary: the reader's fast path against hyparquet's public API, value for value, on every
 * fixture. The fast path (lib/parquetPages.ts) decodes parquet itself; hyparquet is what it
 * falls back to and what it is checked against. An upgrade of hyparquet that changes how a
 * file decodes, or a change of the fast path that drifts from it, fails here loudly.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as hyparquet from 'hyparquet';
import * as metadataModule from 'hyparquet/src/metadata.js';
import { describe, expect, it } from 'vitest';
import { readTrips, type TripColumn, type Trips } from '../lib/index.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
const pyarrow = join(fixtures, 'pyarrow');
const files = [
  ...(await readdir(fixtures)).filter((f) => f.endsWith('.parquet')).map((f) => join(fixtures, f)),
  ...(await readdir(pyarrow)).filter((f) => f.endsWith('.parquet')).map((f) => join(pyarrow, f)),
];
const required = ['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] as const;

/** The five trip columns as hyparquet's parquetReadObjects gives them, converted as plainly as possible. */
async function readWithHyparquet(path: string, trips: Trips): Promise<Record<string, number[]>> {
  const names = Object.entries(trips.columns!).filter(([, name]) => name !== null) as [string, string][];
  const rows = await hyparquet.parquetReadObjects({
    file: await hyparquet.asyncBufferFromFile(path),
    columns: names.map(([, name]) => name),
    compressors: (await import('hyparquet-compressors')).compressors,
    parsers: {
      timestampFromMilliseconds: (v: bigint) => v * 1000n,
      timestampFromMicroseconds: (v: bigint) => v,
      timestampFromNanoseconds: (v: bigint) => (v >= 0n ? v / 1000n : -((-v + 999n) / 1000n)),
    },
  });
  const out: Record<string, number[]> = {};
  for (const [column, name] of names) {
    const missing = column === 'PULocationID' || column === 'DOLocationID' ? -1 : NaN;
    out[column] = rows.map((row) => {
      const v = row[name] as number | bigint | null;
      return v === null || v === undefined ? missing : Number(v);
    });
  }
  return out;
}

describe('hyparquet canary', () => {
  it('the footer parser imported by path is the public API function', () => {
    expect(metadataModule.parquetMetadata).toBe(hyparquet.parquetMetadata);
    expect(metadataModule.parquetSchema).toBe(hyparquet.parquetSchema);
  });

  it.each(files.map((f) => [f.slice(fixtures.length), f]))('the fast path reads %s as hyparquet does', async (_, path) => {
    const fast = await readTrips(path, { required }).catch((error: Error) => error);
    if (fast instanceof Error) {
      // Files that are refused (coordinates, out-of-range IDs) are refused by both decoders alike.
      await expect(readTrips(path, { required, decoder: 'hyparquet' })).rejects.toThrow(fast.message.replace(/ \(.*$/, ''));
      return;
    }
    const reference = await readWithHyparquet(path, fast);
    for (const [column, values] of Object.entries(reference)) {
      expect(Array.from(fast[column as TripColumn]), column).toEqual(values);
    }
    const viaFallback = await readTrips(path, { required, decoder: 'hyparquet' });
    for (const key of ['pickup', 'dropoff', 'PULocationID', 'DOLocationID', 'trip_distance', 'missing'] as const) {
      expect(viaFallback[key], key).toEqual(fast[key]);
    }
  });
});
