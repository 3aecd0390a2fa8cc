import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DictVectorizer, LinearRegression, SYNTHETIC_GENERATOR_VERSION, cleanTrips, maxSyntheticRows, readTrips, rootMeanSquaredError,
  syntheticMonth, syntheticMonthPath, tripColumnNames, writeSyntheticTrips,
} from '../lib/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthetic-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const metadataOf = async (path: string) => {
  const bytes = await readFile(path);
  return parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
};

const YELLOW_2024 = [
  ['VendorID', 'INT32'],
  ['tpep_pickup_datetime', 'INT64'],
  ['tpep_dropoff_datetime', 'INT64'],
  ['passenger_count', 'INT64'],
  ['trip_distance', 'DOUBLE'],
  ['RatecodeID', 'INT64'],
  ['store_and_fwd_flag', 'BYTE_ARRAY'],
  ['PULocationID', 'INT32'],
  ['DOLocationID', 'INT32'],
  ['payment_type', 'INT64'],
  ['fare_amount', 'DOUBLE'],
  ['extra', 'DOUBLE'],
  ['mta_tax', 'DOUBLE'],
  ['tip_amount', 'DOUBLE'],
  ['tolls_amount', 'DOUBLE'],
  ['improvement_surcharge', 'DOUBLE'],
  ['total_amount', 'DOUBLE'],
  ['congestion_surcharge', 'DOUBLE'],
  ['Airport_fee', 'DOUBLE'],
];

describe('writeSyntheticTrips', () => {
  it('writes the 2024 yellow schema: 19 OPTIONAL columns, TLC types, ZSTD, ~1M-row groups', async () => {
    const path = join(dir, 'yellow.parquet');
    await writeSyntheticTrips(path, { month: '2024-01', rows: 2500, seed: 1, rowGroupSize: 1000 });
    const meta = await metadataOf(path);
    const leaves = meta.schema.slice(1);
    expect(leaves.map((e) => [e.name, e.type])).toEqual(YELLOW_2024);
    expect(tripColumnNames('yellow')).toEqual(YELLOW_2024.map(([name]) => name));
    expect(leaves.every((e) => e.repetition_type === 'OPTIONAL')).toBe(true);
    expect(leaves[1]!.logical_type).toEqual({ type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' });
    expect(leaves[6]!.converted_type).toBe('UTF8');
    expect(meta.num_rows).toBe(2500n);
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([1000, 1000, 500]);
    expect(new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)))).toEqual(new Set(['ZSTD']));
  });

  it('writes the green layout and the older variants as options', async () => {
    const path = join(dir, 'green.parquet');
    await writeSyntheticTrips(path, { month: '2023-02', rows: 100, color: 'green', locationIdType: 'INT64', timestampUnit: 'NANOS', compression: 'SNAPPY' });
    const meta = await metadataOf(path);
    const byName = Object.fromEntries(meta.schema.slice(1).map((e) => [e.name, e]));
    expect(meta.schema.length - 1).toBe(20);
    expect(byName.lpep_pickup_datetime?.logical_type).toEqual({ type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'NANOS' });
    expect(byName.PULocationID?.type).toBe('INT64');
    expect(byName.ehail_fee?.type).toBe('DOUBLE');
    expect(meta.row_groups[0]!.columns[0]!.meta_data?.codec).toBe('SNAPPY');

    const lower = join(dir, 'lower.parquet');
    await writeSyntheticTrips(lower, { month: '2023-01', rows: 10, lowercaseAirportFee: true, compression: 'GZIP' });
    const lowerMeta = await metadataOf(lower);
    expect(lowerMeta.schema.at(-1)?.name).toBe('airport_fee');
    expect(lowerMeta.row_groups[0]!.columns[0]!.meta_data?.codec).toBe('GZIP');
  });

  it('is deterministic: the committed fixture is reproduced byte for byte, and another seed differs', async () => {
    const path = join(dir, 'again.parquet');
    const quirks = { outOfMonth: 0.002, negativeDuration: 0.004, hugeDistance: 0.002, neededNull: 0.01 };
    await writeSyntheticTrips(path, { month: '2024-01', rows: 5000, seed: 7, rowGroupSize: 2000, quirks });
    const committed = await readFile(new URL('./fixtures/yellow_tripdata_2024-01.parquet', import.meta.url));
    expect(Buffer.compare(await readFile(path), committed)).toBe(0);
    const other = join(dir, 'other.parquet');
    await writeSyntheticTrips(other, { month: '2024-01', rows: 5000, seed: 8, rowGroupSize: 2000, quirks });
    expect(Buffer.compare(await readFile(other), committed)).not.toBe(0);
  });

  it('has realistic distributions and the real quirks at default rates', async () => {
    const path = join(dir, 'month.parquet');
    const rows = 40_000;
    await writeSyntheticTrips(path, { month: '2024-02', rows, seed: 3 });
    const trips = await readTrips(path);
    const start = Date.UTC(2024, 1, 1) * 1000;
    const end = Date.UTC(2024, 2, 1) * 1000;
    let outOfMonth = 0;
    let negative = 0;
    let huge = 0;
    for (let i = 0; i < rows; i++) {
      if (trips.pickup[i]! < start || trips.pickup[i]! >= end) outOfMonth++;
      if (trips.dropoff[i]! < trips.pickup[i]!) negative++;
      if (trips.trip_distance[i]! > 1000) huge++;
    }
    expect(outOfMonth).toBeGreaterThan(0);
    expect(outOfMonth).toBeLessThan(20);
    expect(negative).toBeGreaterThan(5);
    expect(huge).toBeGreaterThan(0);
    const clean = cleanTrips(trips);
    // Real January 2024: about 98% kept, mean duration about 15.7 minutes before filtering.
    expect(clean.stats.fractionKept).toBeGreaterThan(0.96);
    expect(clean.stats.fractionKept).toBeLessThan(0.99);
    expect(clean.stats.durationMean).toBeGreaterThan(10);
    expect(clean.stats.durationMean).toBeLessThan(25);
    const zones = new Set(clean.features.PULocationID.codes);
    expect(zones.size).toBeGreaterThan(150);
    expect(zones.size).toBeLessThanOrEqual(265);
    // Skewed popularity: the busiest zone has far more than an even share.
    const counts = new Map<number, number>();
    for (const z of clean.features.PULocationID.codes) counts.set(z, (counts.get(z) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeGreaterThan((5 * clean.length) / zones.size);
    // Distance grows with duration.
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const short: number[] = [];
    const long: number[] = [];
    clean.duration.forEach((d, i) => (d < 8 ? short : d > 25 ? long : []).push(clean.features.trip_distance[i]!));
    expect(mean(long)).toBeGreaterThan(2 * mean(short));
    // Real 2023-01 after the 1-60 filter: mean about 14.2 minutes, standard deviation about 9.9.
    const kept = Array.from(clean.duration);
    const keptMean = mean(kept);
    const keptStd = Math.sqrt(kept.reduce((s, d) => s + (d - keptMean) ** 2, 0) / (kept.length - 1));
    expect(keptMean).toBeGreaterThan(12);
    expect(keptMean).toBeLessThan(17);
    expect(keptStd).toBeGreaterThan(8.5);
    expect(keptStd).toBeLessThan(11.5);
    // At the default rates the huge distances come with a garbled clock, so the filter drops them all.
    expect(Math.max(...clean.features.trip_distance)).toBeLessThan(1000);

    const passengers = await parquetReadObjects({ file: (await readFile(path)).buffer as ArrayBuffer, columns: ['passenger_count', 'RatecodeID', 'payment_type'], compressors });
    const nulls = passengers.filter((r) => r.passenger_count === null);
    expect(nulls.length / rows).toBeGreaterThan(0.03);
    expect(nulls.length / rows).toBeLessThan(0.07);
    expect(nulls.every((r) => r.RatecodeID === null && r.payment_type === 0n)).toBe(true);
  });

  it("lets the course's regression explain part of the duration, as on the real months", async () => {
    // Real 2023-01 -> 2023-02: RMSE about 7.65 (train) and 7.81 (validation) against a
    // standard deviation of about 9.9: well below predicting the mean, far from zero.
    const train = join(dir, 'fit-train.parquet');
    const val = join(dir, 'fit-val.parquet');
    await writeSyntheticTrips(train, { month: '2024-01', rows: 30_000, seed: 21 });
    await writeSyntheticTrips(val, { month: '2024-02', rows: 30_000, seed: 22 });
    const a = cleanTrips(await readTrips(train));
    const b = cleanTrips(await readTrips(val));
    const dv = new DictVectorizer();
    const model = new LinearRegression().fit(dv.fitTransform(a.features), a.duration);
    const meanA = a.duration.reduce((s, d) => s + d, 0) / a.length;
    const baseline = (y: Float64Array) => rootMeanSquaredError(y, new Float64Array(y.length).fill(meanA));
    for (const split of [a, b]) {
      const ratio = rootMeanSquaredError(split.duration, model.predict(dv.transform(split.features))) / baseline(split.duration);
      expect(ratio).toBeGreaterThan(0.6);
      expect(ratio).toBeLessThan(0.85);
    }
  });

  it('keeps huge distances on ordinary trips only when asked (hugeDistanceKept)', async () => {
    const path = join(dir, 'outliers.parquet');
    await writeSyntheticTrips(path, { month: '2024-03', rows: 2000, seed: 4, quirks: { hugeDistance: 0.05, hugeDistanceKept: 1 } });
    const trips = await readTrips(path);
    const huge = trips.trip_distance.filter((d) => d > 1000).length;
    const keptHuge = cleanTrips(trips).features.trip_distance.filter((d) => d > 1000).length;
    expect(huge).toBeGreaterThan(50);
    // Only the independent duration tails (about 2%) can still drop one.
    expect(keptHuge).toBeGreaterThan(0.9 * huge);
  });

  it('writes a valid empty file for 0 rows', async () => {
    const path = join(dir, 'empty.parquet');
    await writeSyntheticTrips(path, { month: '2024-01', rows: 0 });
    const trips = await readTrips(path);
    expect(trips.length).toBe(0);
  });

  it.each([
    [{ month: '2024-13', rows: 1 }, /^synthetic: month must look like 2024-01, got "2024-13"/],
    [{ month: '2024-01', rows: -1 }, /^synthetic: rows must be a non-negative integer, got -1/],
    [{ month: '2024-01', rows: 10, rowGroupSize: 0 }, /^synthetic: rowGroupSize must be a positive integer, got 0/],
    // Checked before a single row is generated: 1e12 rows would otherwise run for days.
    [{ month: '2024-01', rows: 1e12 }, /^synthetic: rows must be at most 10,000,000 \(a real yellow month has about 3,000,000\), got 1,000,000,000,000$/],
  ])('rejects %o and leaves no file', async (options, message) => {
    const sub = await mkdtemp(join(dir, 'bad-'));
    await expect(writeSyntheticTrips(join(sub, 'x.parquet'), options)).rejects.toThrow(message);
    expect(await readdir(sub)).toEqual([]);
  });
});

describe('syntheticMonth', () => {
  it('generates a month once into a versioned cache path, then reuses it', async () => {
    const cache = join(dir, 'cache');
    const first = await syntheticMonth(cache, { month: '2024-03', rows: 2_000 });
    expect(first.generated).toBe(true);
    expect(first.path).toBe(syntheticMonthPath(cache, 'yellow', '2024-03', 2_000));
    expect(first.path).toBe(join(cache, 'synthetic', `v${SYNTHETIC_GENERATOR_VERSION}`, 'yellow_tripdata_2024-03_2000.parquet'));
    const bytes = await readFile(first.path);

    const again = await syntheticMonth(cache, { month: '2024-03', rows: 2_000 });
    expect(again).toEqual({ path: first.path, generated: false });

    // The default seed is the month as a number, so the cached file is what a direct call writes.
    const direct = join(dir, 'direct-2024-03.parquet');
    await writeSyntheticTrips(direct, { month: '2024-03', rows: 2_000, seed: 202403 });
    expect(await readFile(direct)).toEqual(bytes);

    // Other options get their own file through the variant name.
    const variant = await syntheticMonth(cache, { month: '2024-03', rows: 2_000, quirks: { neededNull: 0 }, variant: 'nonull' });
    expect(variant.generated).toBe(true);
    expect(variant.path.endsWith('yellow_tripdata_2024-03_2000_nonull.parquet')).toBe(true);
  });
});

describe('writeSyntheticTrips: drift', () => {
  const write = async (name: string, month: string, drift?: Parameters<typeof writeSyntheticTrips>[1]['drift']) => {
    const path = join(dir, `drift-${name}.parquet`);
    await writeSyntheticTrips(path, { month, rows: 20_000, seed: 5, ...(drift ? { drift } : {}) });
    return path;
  };
  const NEW_ZONES = [2, 103, 104, 110, 199];

  it('leaves months outside the drift the same bytes as without it', async () => {
    // Compared by hash: a failing toEqual on two 600 kB buffers would spend minutes drawing the diff.
    const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
    const plain = await sha(await write('plain', '2024-04'));
    expect(await sha(await write('before', '2024-04', { from: '2024-05', durationFactor: 2, newZoneShare: 0.5 }))).toBe(plain);
    expect(await sha(await write('after', '2024-04', { from: '2024-01', until: '2024-03', distanceFactor: 2 }))).toBe(plain);
  });

  it('makes trips slower by the duration factor, on the same routes', async () => {
    const plain = await readTrips(await write('p5', '2024-05'));
    const slow = await readTrips(await write('slow', '2024-05', { from: '2024-05', durationFactor: 1.3 }));
    // No extra random draws: the same zones and distances, row for row.
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]));
    expect(same(slow.PULocationID, plain.PULocationID)).toBe(true);
    expect(same(slow.trip_distance, plain.trip_distance)).toBe(true);
    const ratios: number[] = [];
    for (let i = 0; i < plain.length; i++) {
      const before = (plain.dropoff[i]! - plain.pickup[i]!) / 60e6;
      const after = (slow.dropoff[i]! - slow.pickup[i]!) / 60e6;
      if (before > 3 && before < 40) ratios.push(after / before);
    }
    ratios.sort((a, b) => a - b);
    expect(ratios.length).toBeGreaterThan(10_000);
    expect(ratios[Math.floor(ratios.length / 2)]).toBeCloseTo(1.3, 2); // whole seconds round each trip a little
  });

  it('makes trips longer by the distance factor', async () => {
    const plain = await readTrips(await write('p6', '2024-06'));
    const far = await readTrips(await write('far', '2024-06', { from: '2024-06', distanceFactor: 1.5 }));
    const ratios: number[] = [];
    for (let i = 0; i < plain.length; i++) if (plain.trip_distance[i]! > 1 && plain.trip_distance[i]! < 50) ratios.push(far.trip_distance[i]! / plain.trip_distance[i]!);
    ratios.sort((a, b) => a - b);
    expect(ratios[Math.floor(ratios.length / 2)]).toBeCloseTo(1.5, 2);
    const minutes = (t: typeof plain) => cleanTrips(t).stats.durationMean;
    expect(minutes(far)).toBeGreaterThan(minutes(plain));
  });

  it('opens new pickup zones to the given share of trips, and only in drifted months', async () => {
    const count = (ids: Int32Array) => ids.reduce((n, id) => n + (NEW_ZONES.includes(id) ? 1 : 0), 0);
    const plain = await readTrips(await write('p7', '2024-07'));
    expect(count(plain.PULocationID) + count(plain.DOLocationID)).toBe(0);
    const opened = await readTrips(await write('zones', '2024-07', { from: '2024-07', newZoneShare: 0.1 }));
    expect(count(opened.PULocationID) / opened.length).toBeGreaterThan(0.09);
    expect(count(opened.PULocationID) / opened.length).toBeLessThan(0.11);
    // Their trips go to the city's zones (5 % stay within the new zone).
    let fromNew = 0;
    let toOld = 0;
    for (let i = 0; i < opened.length; i++) {
      if (!NEW_ZONES.includes(opened.PULocationID[i]!)) continue;
      fromNew++;
      if (!NEW_ZONES.includes(opened.DOLocationID[i]!)) toOld++;
    }
    expect(toOld / fromNew).toBeGreaterThan(0.9);
  });

  it.each([
    [{ from: '2024-5' }, /drift.from must look like 2024-05, got "2024-5"/],
    [{ from: '2024-05', until: 'soon' }, /drift.until must look like 2024-05, got "soon"/],
    [{ from: '2024-05', durationFactor: 0 }, /drift.durationFactor must be a factor above 0 and at most 10, got 0/],
    [{ from: '2024-05', distanceFactor: NaN }, /drift.distanceFactor must be a factor/],
    [{ from: '2024-05', newZoneShare: 1.5 }, /drift.newZoneShare must be a share from 0 to 1, got 1.5/],
  ])('refuses a bad drift %j', async (drift, message) => {
    await expect(writeSyntheticTrips(join(dir, 'bad.parquet'), { month: '2024-05', rows: 10, drift })).rejects.toThrow(message);
  });
});

describe('writeSyntheticTrips: the for-hire vehicle layouts', () => {
  it('writes FHV and high-volume FHV files as TLC lays them out, with the same trips as the taxi layouts', async () => {
    const paths = { yellow: join(dir, 'same-yellow.parquet'), fhv: join(dir, 'same-fhv.parquet'), fhvhv: join(dir, 'same-fhvhv.parquet') };
    for (const [color, path] of Object.entries(paths)) {
      await writeSyntheticTrips(path, { month: '2024-02', rows: 3000, seed: 9, color: color as 'fhv', rowGroupSize: 1000, quirks: { neededNull: 0.02 } });
    }
    const fhvMeta = await metadataOf(paths.fhv);
    expect(fhvMeta.schema.slice(1).map((e) => [e.name, e.type])).toEqual([
      ['dispatching_base_num', 'BYTE_ARRAY'], ['pickup_datetime', 'INT64'], ['dropOff_datetime', 'INT64'], ['PUlocationID', 'INT64'],
      ['DOlocationID', 'INT64'], ['SR_Flag', 'INT64'], ['Affiliated_base_number', 'BYTE_ARRAY'],
    ]);
    expect(tripColumnNames('fhvhv')).toHaveLength(24);
    expect(tripColumnNames('fhvhv').slice(5, 10)).toEqual(['pickup_datetime', 'dropoff_datetime', 'PULocationID', 'DOLocationID', 'trip_miles']);
    const yellow = await readTrips(paths.yellow);
    const fhvhv = await readTrips(paths.fhvhv);
    const fhv = await readTrips(paths.fhv, { required: ['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] });
    expect([fhv.dataset, fhv.absent, fhvhv.dataset, fhvhv.absent]).toEqual(['fhv', ['trip_distance'], 'fhvhv', []]);
    for (const key of ['pickup', 'dropoff', 'PULocationID', 'DOLocationID', 'trip_distance', 'missing'] as const) {
      expect(Array.from(fhvhv[key]), key).toEqual(Array.from(yellow[key]));
      if (key !== 'trip_distance' && key !== 'missing') expect(Array.from(fhv[key]), key).toEqual(Array.from(yellow[key]));
    }
    // A for-hire row's extra columns agree with its trip: the request before the pickup, trip seconds from the clock.
    const rows = (await parquetReadObjects({ file: await asArrayBuffer(paths.fhvhv), compressors, rowEnd: 200 })) as Record<string, unknown>[];
    for (const row of rows) {
      const pickup = row.pickup_datetime as Date | null;
      const dropoff = row.dropoff_datetime as Date | null;
      if (pickup === null || dropoff === null) continue;
      expect((row.request_datetime as Date).getTime()).toBeLessThan(pickup.getTime());
      expect(Number(row.trip_time)).toBe(Math.trunc((dropoff.getTime() - pickup.getTime()) / 1000));
      expect(['HV0003', 'HV0005']).toContain(row.hvfhs_license_num);
    }
  });

  it('allows high-volume FHV months of their real size, and no more', async () => {
    expect(maxSyntheticRows('fhvhv')).toBe(30_000_000);
    expect(maxSyntheticRows('yellow')).toBe(10_000_000);
    await expect(writeSyntheticTrips(join(dir, 'x.parquet'), { month: '2024-01', rows: 30_000_001, color: 'fhvhv' })).rejects.toThrow(
      /^synthetic: rows must be at most 30,000,000 \(a real fhvhv month has about 20,000,000\), got 30,000,001$/,
    );
    await expect(writeSyntheticTrips(join(dir, 'x.parquet'), { month: '2024-01', rows: 1, color: 'blue' as 'fhv' })).rejects.toThrow(/^synthetic: color must be one of yellow, green, fhv, fhvhv, got "blue"$/);
  });
});

async function asArrayBuffer(path: string): Promise<ArrayBuffer> {
  const bytes = await readFile(path);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
}
