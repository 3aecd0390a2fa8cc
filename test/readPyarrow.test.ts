/**
 * The reader against files written by pyarrow (an independent writer, TLC's own) with values
 * computed by pyarrow: test/fixtures/pyarrow/make.py writes each file and expected.json. Each
 * file exercises one decode path; its recorded encodings are checked first, so a regenerated
 * fixture that stopped exercising its path fails here instead of passing quietly.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTripGroups, readTripLayout, readTrips, type TripColumn, type Trips } from '../lib/index.js';
import { chunkCounts } from '../lib/readRowGroup.js';

const dir = new URL('./fixtures/pyarrow/', import.meta.url).pathname;

interface ColumnStats {
  nulls: number;
  sum: string | number;
  weighted: string | number;
  first: (number | null)[];
  last: number | null;
}
interface Expected {
  rows: number;
  rowGroups: number;
  codecs: string[];
  encodings: Record<string, string[]>;
  pageVersion: string;
  dataset?: string;
  columns?: Record<TripColumn, string | null>;
  absent?: TripColumn[];
  values?: Partial<Record<TripColumn, ColumnStats>> & { rowsWithNulls: number };
  error?: string;
}
const expected = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as Record<string, Expected>;
const readable = Object.keys(expected).filter((f) => expected[f]!.error === undefined);
const refused = Object.keys(expected).filter((f) => expected[f]!.error !== undefined);

/** The decode path each fixture exists for: encodings its file must still use (from pyarrow's metadata). */
const paths: Record<string, [column: string, encoding: string][]> = {
  'v2-dictionary.parquet': [['tpep_pickup_datetime', 'RLE_DICTIONARY']],
  'delta-int32-ids.parquet': [['PULocationID', 'DELTA_BINARY_PACKED'], ['tpep_pickup_datetime', 'DELTA_BINARY_PACKED']],
  'delta-int64-ids.parquet': [['PULocationID', 'DELTA_BINARY_PACKED']],
  'byte-stream-split.parquet': [['trip_distance', 'BYTE_STREAM_SPLIT'], ['PULocationID', 'BYTE_STREAM_SPLIT'], ['tpep_pickup_datetime', 'BYTE_STREAM_SPLIT']],
  'float-distance-bss.parquet': [['trip_distance', 'BYTE_STREAM_SPLIT']],
  'nanos-gzip-fallback.parquet': [['tpep_pickup_datetime', 'RLE_DICTIONARY'], ['tpep_pickup_datetime', 'PLAIN']],
};

function exactSum(values: ArrayLike<number>, missingBit: number, missing: Uint8Array, weighted: boolean): bigint {
  let total = 0n;
  for (let i = 0; i < values.length; i++) {
    if (missing[i]! & missingBit) continue;
    total += BigInt(values[i]!) * (weighted ? BigInt((i % 97) + 1) : 1n);
  }
  return total;
}

function floatSum(values: Float64Array, missingBit: number, missing: Uint8Array, weighted: boolean): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) if (!(missing[i]! & missingBit)) total += values[i]! * (weighted ? (i % 97) + 1 : 1);
  return total;
}

const BITS: Record<TripColumn, number> = { pickup: 1, dropoff: 2, PULocationID: 4, DOLocationID: 8, trip_distance: 16 };

function checkValues(file: string, trips: Trips): void {
  const e = expected[file]!;
  for (const [column, stats] of Object.entries(e.values!) as [TripColumn | 'rowsWithNulls', ColumnStats | number][]) {
    if (column === 'rowsWithNulls') continue;
    const s = stats as ColumnStats;
    const bit = BITS[column];
    const values = trips[column];
    expect(trips.nullCounts[column], `${column} nulls`).toBe(s.nulls);
    if (column === 'trip_distance') {
      const v = values as Float64Array;
      expect(floatSum(v, bit, trips.missing, false) / (s.sum as number), `${column} sum`).toBeCloseTo(1, 12);
      expect(floatSum(v, bit, trips.missing, true) / (s.weighted as number), `${column} weighted sum`).toBeCloseTo(1, 12);
    } else {
      expect(String(exactSum(values, bit, trips.missing, false)), `${column} sum`).toBe(s.sum);
      expect(String(exactSum(values, bit, trips.missing, true)), `${column} weighted sum`).toBe(s.weighted);
    }
    const missingValue = column === 'PULocationID' || column === 'DOLocationID' ? -1 : NaN;
    expect(Array.from(values.subarray(0, 3)), `${column} first rows`).toEqual(s.first.map((v) => v ?? missingValue));
    expect(values[values.length - 1], `${column} last row`).toBe(s.last ?? missingValue);
  }
  expect(trips.missing.reduce((n, m) => n + (m === 0 ? 0 : 1), 0)).toBe(e.values!.rowsWithNulls);
}

describe('readTrips on pyarrow-written files (values from pyarrow)', () => {
  it.each(readable)('%s', async (file) => {
    const e = expected[file]!;
    for (const [column, encoding] of paths[file] ?? []) expect(e.encodings[column], `${file} still uses ${encoding} for ${column}`).toContain(encoding);
    const required = e.absent ? (['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] as const) : undefined;
    const trips = await readTrips(join(dir, file), required ? { required } : {});
    expect(trips.length).toBe(e.rows);
    expect(trips.rowGroups).toBe(e.rowGroups);
    expect(trips.dataset).toBe(e.dataset);
    expect(trips.columns).toEqual(e.columns);
    expect(trips.absent).toEqual(e.absent ?? []);
    expect(trips.timestampColumns).toEqual([e.columns!.pickup, e.columns!.dropoff]);
    checkValues(file, trips);
  });

  it('decodes every chunk of the files it knows on the fast path, and hands INT96 to hyparquet', async () => {
    for (const file of readable) {
      const before = { ...chunkCounts };
      await readTrips(join(dir, file), { required: ['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] });
      const fallback = chunkCounts.hyparquet - before.hyparquet;
      const fast = chunkCounts.fast - before.fast;
      const columns = expected[file]!.absent ? 4 : 5;
      if (file.startsWith('int96')) {
        // The two timestamp chunks of each of the 3 row groups.
        expect([fast, fallback], file).toEqual([3 * (columns - 2), 3 * 2]);
      } else {
        expect([fast, fallback], file).toEqual([3 * columns, 0]);
      }
    }
  });

  it('reads the same by row group, with every limit and progress call', async () => {
    for (const file of readable) {
      const required = ['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] as const;
      const whole = await readTrips(join(dir, file), { required });
      const pickup: number[] = [];
      for await (const group of readTripGroups(join(dir, file), { required })) pickup.push(...group.pickup);
      expect(pickup, file).toEqual(Array.from(whole.pickup));
      const head = await readTrips(join(dir, file), { required, limit: 801 });
      expect(head.length).toBe(801);
      expect(head.DOLocationID).toEqual(whole.DOLocationID.slice(0, 801));
    }
  });
});

describe('refused files say why, with the file and the fix', () => {
  it.each(refused)('%s', async (file) => {
    const e = expected[file]!;
    // Not requiring the distance, so FHV files reach their own refusal.
    const error = await readTrips(join(dir, file), { required: ['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] }).catch((err: unknown) => err as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`read: ${join(dir, file)}: `);
    expect((error as Error).message).toContain(e.error);
    expect((error as Error).message).not.toMatch(/missing column|fetch it again/);
    expect((error as Error).message.split('\n')).toHaveLength(1);
  });

  it('a FHV file without `required` trip_distance is refused with the way to read it', async () => {
    await expect(readTrips(join(dir, 'fhv.parquet'))).rejects.toThrow(
      /^read: .*fhv\.parquet: this for-hire vehicle \(FHV\) file has no trip_distance \(TLC's fhv records have none\); choose features without it/,
    );
  });

  it('an int64 ID out of range is refused by the hyparquet decoder too', async () => {
    await expect(readTrips(join(dir, 'int64-id-out-of-range-plain.parquet'), { decoder: 'hyparquet' })).rejects.toThrow(/holds the zone ID 4294967301 in row group 1/);
  });
});

describe('readTripLayout', () => {
  it.each([
    ['fhv.parquet', 'fhv', ['trip_distance'], ['pickup_datetime', 'dropOff_datetime']],
    ['fhvhv.parquet', 'fhvhv', [], ['pickup_datetime', 'dropoff_datetime']],
    ['green.parquet', 'green', [], ['lpep_pickup_datetime', 'lpep_dropoff_datetime']],
    ['v2-dictionary.parquet', 'yellow', [], ['tpep_pickup_datetime', 'tpep_dropoff_datetime']],
  ])('%s is %s, from the footer alone', async (file, dataset, absent, timestampColumns) => {
    const layout = await readTripLayout(join(dir, file), { required: ['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] });
    expect(layout).toMatchObject({ dataset, absent, timestampColumns, rows: 2000, rowGroups: 3 });
    expect(layout.createdBy).toMatch(/^parquet-cpp-arrow version /);
  });
});
