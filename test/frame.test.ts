import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanTrips, peekTrips, readTrips, toDataFrame, tripColumnNames } from '../lib/index.js';

const fixture = join(new URL('./fixtures/', import.meta.url).pathname, 'yellow_tripdata_2024-01.parquet');
const trips = await readTrips(fixture);
const clean = cleanTrips(trips);

describe('toDataFrame', () => {
  it('shows the first rows of read trips with readable columns', () => {
    const df = toDataFrame(trips, { head: 5 });
    expect(df.shape).toEqual([5, 6]);
    expect(df.columns).toEqual(['pickup', 'dropoff', 'PULocationID', 'DOLocationID', 'trip_distance', 'duration']);
    const first = df.iloc({ rows: [0] }).values[0] as unknown[];
    const pickup = new Date(trips.pickup[0]! / 1000).toISOString().slice(0, 19).replace('T', ' ');
    expect(first[0]).toBe(pickup);
    expect(first[2]).toBe(String(trips.PULocationID[0]));
    expect(first[4]).toBe(trips.trip_distance[0]);
    expect(first[5]).toBeCloseTo((trips.dropoff[0]! - trips.pickup[0]!) / 60e6, 12);
    expect(df.index).toEqual([0, 1, 2, 3, 4]);
  });

  it('defaults to 10 rows and shows missing values as null', () => {
    expect(toDataFrame(trips).shape).toEqual([10, 6]);
    const row = trips.missing.findIndex((m) => m !== 0);
    const df = toDataFrame(trips, { head: row + 1 });
    const values = df.iloc({ rows: [row] }).values[0] as unknown[];
    expect(values).toContain(null);
  });

  it('draws a reproducible sample in file order from cleaned trips', () => {
    const a = toDataFrame(clean, { sample: 50, seed: 3 });
    const b = toDataFrame(clean, { sample: 50, seed: 3 });
    const c = toDataFrame(clean, { sample: 50, seed: 4 });
    expect(a.columns).toEqual(['pickup', 'PULocationID', 'DOLocationID', 'trip_distance', 'duration']);
    expect(a.index).toEqual(b.index);
    expect(a.index).not.toEqual(c.index);
    const index = a.index as number[];
    expect(new Set(index).size).toBe(50);
    expect([...index].sort((x, y) => x - y)).toEqual(index);
    const i = index[7]!;
    const row = a.iloc({ rows: [7] }).values[0] as unknown[];
    expect(row[1]).toBe(clean.features.PULocationID.labels[clean.features.PULocationID.codes[i]!]);
    expect(row[4]).toBe(clean.duration[i]);
  });

  it('returns every row when the sample is larger than the data', () => {
    const small = cleanTrips(trips, { minDuration: 59, maxDuration: 60 });
    expect(toDataFrame(small, { sample: 10_000 }).shape[0]).toBe(small.length);
  });

  it.each([
    [{ head: -1 }, /^frame: head must be a non-negative integer, got -1/],
    [{ sample: 1.5 }, /^frame: sample must be a non-negative integer, got 1.5/],
    [{ head: 1, sample: 1 }, /^frame: give head or sample, not both/],
  ])('rejects %o', (options, message) => {
    expect(() => toDataFrame(trips, options)).toThrow(message);
  });
});

describe('peekTrips', () => {
  const fixtures = new URL('./fixtures/', import.meta.url).pathname;
  const wallClock = (micros: number) => new Date(micros / 1000).toISOString().slice(0, 19).replace('T', ' ');

  it.each([
    ['yellow_tripdata_2024-01.parquet', 'yellow', 'tpep'],
    ['yellow_tripdata_2024-01.pyarrow.parquet', 'yellow', 'tpep'],
    ['green_tripdata_2024-02.parquet', 'green', 'lpep'],
  ] as const)('shows every column of the first rows of %s, agreeing with readTrips', async (file, color, prefix) => {
    const path = join(fixtures, file);
    const head = await peekTrips(path);
    // The file's own columns, in file order: 19 for a 2024 yellow month, 20 for green.
    expect(head.columns).toEqual(tripColumnNames(color));
    expect(head.shape).toEqual([5, color === 'yellow' ? 19 : 20]);
    const read = await readTrips(path, { limit: 5 });
    const column = (name: string) => head.column(name).values as unknown[];
    expect(column(`${prefix}_pickup_datetime`)).toEqual(Array.from(read.pickup, (t) => (Number.isNaN(t) ? null : wallClock(t))));
    expect(column('PULocationID')).toEqual(Array.from(read.PULocationID, (id) => (id < 0 ? null : id)));
    expect(column('trip_distance')).toEqual(Array.from(read.trip_distance, (d) => (Number.isNaN(d) ? null : d)));
    for (const value of column('VendorID')) expect(typeof value === 'number' || value === null).toBe(true);
  });

  it('takes a row count, down to none', async () => {
    const path = join(fixtures, 'yellow_tripdata_2023-01.parquet');
    expect((await peekTrips(path, { rows: 12 })).shape).toEqual([12, 19]);
    const none = await peekTrips(path, { rows: 0 });
    expect(none.columns).toContain('airport_fee');
  });

  it('names the file and the fix when it cannot read it', async () => {
    await expect(peekTrips(join(fixtures, 'README.md'))).rejects.toThrow(/^frame: .*README\.md: cannot read its first rows \(.*\); check that it is a parquet file$/);
    await expect(peekTrips(join(fixtures, 'missing.parquet'))).rejects.toThrow(/missing\.parquet: cannot read its first rows \(no such file\)/);
    await expect(peekTrips(join(fixtures, 'yellow_tripdata_2024-01.parquet'), { rows: -1 })).rejects.toThrow('frame: rows must be a non-negative integer, got -1');
  });
});
