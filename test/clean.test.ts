import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COURSE_FEATURES, GroupCleaner, MISSING, PAIR_FEATURES, cleanTripFiles, cleanTripGroups, cleanTrips, parseFeatureList, readTripGroups, readTrips } from '../lib/index.js';
import type { Trips } from '../lib/index.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
interface ExpectedClean {
  rowsKept: number;
  fractionKept: number;
  durationSum: number;
  tripDistanceSum: number;
  puSum: number;
  doSum: number;
  puDistinct: number;
  doDistinct: number;
  kept132: number;
}
interface Expected {
  rows: number;
  rowsWithNulls: number;
  durationCount: number;
  durationMean: number;
  durationStd: number;
  clean: Record<string, ExpectedClean>;
}
const expected = JSON.parse(await readFile(join(fixtures, 'expected.json'), 'utf8')) as Record<string, Expected>;

const sum = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
};

describe('cleanTrips matches pandas on the fixtures', () => {
  const cases = Object.keys(expected).flatMap((file) => Object.keys(expected[file]!.clean).map((bounds) => [file, bounds] as const));
  it.each(cases)('%s with durations %s', async (file, bounds) => {
    const e = expected[file]!;
    const c = e.clean[bounds]!;
    const [minDuration, maxDuration] = bounds.split('-').map(Number) as [number, number];
    const clean = cleanTrips(await readTrips(join(fixtures, file)), { minDuration, maxDuration });
    expect(clean.stats).toMatchObject({ rowsRead: e.rows, rowsWithNulls: e.rowsWithNulls, rowsKept: c.rowsKept, durationCount: e.durationCount, minDuration, maxDuration });
    expect(clean.stats.fractionKept).toBeCloseTo(c.fractionKept, 12);
    expect(clean.stats.durationMean).toBeCloseTo(e.durationMean, 9);
    expect(clean.stats.durationStd / e.durationStd).toBeCloseTo(1, 12);
    expect(clean.length).toBe(c.rowsKept);
    expect(sum(clean.duration) / c.durationSum).toBeCloseTo(1, 12);
    expect(sum(clean.features.trip_distance) / c.tripDistanceSum).toBeCloseTo(1, 12);
    const pu = clean.features.PULocationID;
    const dof = clean.features.DOLocationID;
    expect(sum(pu.codes)).toBe(c.puSum);
    expect(sum(dof.codes)).toBe(c.doSum);
    expect(new Set(pu.codes).size).toBe(c.puDistinct);
    expect(new Set(dof.codes).size).toBe(c.doDistinct);
    expect(Array.from(pu.codes).filter((code) => pu.labels[code] === '132')).toHaveLength(c.kept132);
    for (const d of clean.duration) {
      expect(d >= minDuration && d <= maxDuration).toBe(true);
    }
    expect(clean.pickup).toHaveLength(c.rowsKept);
  });
});

function trips(rows: { pickup: number; minutes: number; pu?: number; missing?: number }[]): Trips {
  const n = rows.length;
  const t0 = Date.UTC(2024, 0, 1) * 1000;
  return {
    source: 'table',
    length: n,
    pickup: Float64Array.from(rows, (r) => t0 + r.pickup * 60e6),
    dropoff: Float64Array.from(rows, (r) => t0 + (r.pickup + r.minutes) * 60e6),
    PULocationID: Int32Array.from(rows, (r) => r.pu ?? 1),
    DOLocationID: Int32Array.from(rows, () => 2),
    trip_distance: Float64Array.from(rows, () => 1),
    missing: Uint8Array.from(rows, (r) => r.missing ?? 0),
    nullCounts: { pickup: 0, dropoff: 0, PULocationID: 0, DOLocationID: 0, trip_distance: 0 },
    timestampColumns: ['tpep_pickup_datetime', 'tpep_dropoff_datetime'],
    rowGroups: 1,
  };
}

describe('cleanTripGroups (row group by row group)', () => {
  it.each(Object.keys(expected))('gives bit for bit what cleanTrips gives: %s', async (file) => {
    const path = join(fixtures, file);
    for (const options of [{}, { minDuration: 0, maxDuration: 1e9 }, { minDuration: 5, maxDuration: 10, pickup: false }]) {
      const whole = cleanTrips(await readTrips(path), options);
      const grouped = await cleanTripGroups(readTripGroups(path), options);
      expect(grouped.stats).toEqual(whole.stats);
      expect(Object.is(grouped.stats.durationStd, whole.stats.durationStd)).toBe(true);
      expect(grouped.length).toBe(whole.length);
      expect(grouped.duration).toEqual(whole.duration);
      expect(grouped.pickup).toEqual(whole.pickup);
      expect(grouped.features.trip_distance).toEqual(whole.features.trip_distance);
      for (const key of ['PULocationID', 'DOLocationID'] as const) {
        expect(grouped.features[key].codes).toEqual(whole.features[key].codes);
        expect(grouped.features[key].labels).toEqual(whole.features[key].labels);
      }
      expect(grouped.source).toBe(path);
    }
  });

  it('leaves pickup empty with pickup: false, in cleanTrips too', async () => {
    const trips = await readTrips(join(fixtures, Object.keys(expected)[0]!));
    const clean = cleanTrips(trips, { pickup: false });
    expect(clean.length).toBeGreaterThan(0);
    expect(clean.pickup.length).toBe(0);
    expect(clean.duration).toEqual(cleanTrips(trips).duration);
  });

  it('names a bad ID as cleanTrips does', async () => {
    const trips = await readTrips(join(fixtures, Object.keys(expected)[0]!));
    const bad = { ...trips, PULocationID: trips.PULocationID.map((id, i) => (i === 0 ? -7 : id)), missing: new Uint8Array(trips.length) };
    const group = { ...bad, rowStart: 0, totalRows: bad.length };
    expect(() => cleanTrips(bad, { minDuration: -1e12, maxDuration: 1e12 })).toThrow(/got -7 at row 0/);
    await expect(cleanTripGroups([group], { minDuration: -1e12, maxDuration: 1e12 })).rejects.toThrow(/got -7 at row 0/);
  });
});

describe('cleanTrips edge cases', () => {
  it('keeps the inclusive bounds and drops what is outside, negative or null', () => {
    const clean = cleanTrips(
      trips([
        { pickup: 0, minutes: 1 }, // kept: lower bound
        { pickup: 0, minutes: 60 }, // kept: upper bound
        { pickup: 0, minutes: 0.99 },
        { pickup: 0, minutes: 60.01 },
        { pickup: 0, minutes: -5 }, // dropoff before pickup
        { pickup: 0, minutes: 10, pu: -1, missing: 4 }, // null PULocationID
        { pickup: 0, minutes: 30, pu: 132 },
      ]),
    );
    expect(Array.from(clean.duration)).toEqual([1, 60, 30]);
    expect(clean.stats).toMatchObject({ rowsRead: 7, rowsWithNulls: 1, rowsKept: 3, durationCount: 7 });
    expect(clean.stats.fractionKept).toBeCloseTo(3 / 7, 15);
    expect(Array.from(clean.features.PULocationID.codes)).toEqual([1, 1, 132]);
  });

  it('computes mean and ddof=1 std over rows whose times are present, before filtering', () => {
    const input = trips([
      { pickup: 0, minutes: 2 },
      { pickup: 0, minutes: 4 },
      { pickup: 0, minutes: 9 },
    ]);
    input.pickup[2] = NaN; // a null pickup: not part of the duration statistics
    const { stats } = cleanTrips(input);
    expect(stats.durationCount).toBe(2);
    expect(stats.durationMean).toBe(3);
    expect(stats.durationStd).toBeCloseTo(Math.SQRT2, 15);
  });

  it('handles no rows', () => {
    const { stats, length } = cleanTrips(trips([]));
    expect(length).toBe(0);
    expect(stats.rowsKept).toBe(0);
    expect(stats.fractionKept).toBeNaN();
    expect(stats.durationMean).toBeNaN();
  });

  it.each([
    [{ minDuration: 10, maxDuration: 5 }],
    [{ minDuration: Number.NaN }],
    [{ maxDuration: Infinity }],
  ])('rejects bad bounds %o', (options) => {
    expect(() => cleanTrips(trips([]), options)).toThrow(/^clean: minDuration and maxDuration must be finite minutes with min <= max/);
  });
});

describe('nulls drop a row only in the columns the features need', () => {
  const rows = () =>
    trips([
      { pickup: 0, minutes: 10 },
      { pickup: 0, minutes: 11, missing: MISSING.trip_distance }, // distance null: kept by zones-only features
      { pickup: 0, minutes: 12, pu: -1, missing: MISSING.PULocationID }, // pickup zone null: kept by DOLocationID alone, as zone 0
      { pickup: 0, minutes: 13, missing: MISSING.dropoff }, // no duration: never kept
    ]);

  it.each([
    [COURSE_FEATURES, [10], 3],
    [PAIR_FEATURES, [10], 3],
    [parseFeatureList('PULocationID,DOLocationID'), [10, 11], 2],
    [parseFeatureList('DOLocationID'), [10, 11, 12], 1],
  ] as const)('%j keeps %j', (features, kept, withNulls) => {
    const clean = cleanTrips(rows(), { features });
    expect(Array.from(clean.duration)).toEqual(kept);
    expect(clean.stats.rowsWithNulls).toBe(withNulls);
    // A zone the features do not need may be null in a kept row: zone 0, no TLC zone, never a feature.
    expect(Array.from(clean.features.PULocationID.codes)).toEqual(kept.map((m) => (m === 12 ? 0 : 1)));
  });
});

describe('GroupCleaner (in place, for streaming passes)', () => {
  it.each(Object.keys(expected))('keeps, group by group, exactly what cleanTrips keeps: %s', async (file) => {
    const path = join(fixtures, file);
    for (const options of [{}, { minDuration: 5, maxDuration: 10 }, { features: parseFeatureList('PULocationID,DOLocationID') }]) {
      const whole = cleanTrips(await readTrips(path), options);
      const cleaner = new GroupCleaner(options);
      const kept = { duration: [] as number[], pu: [] as number[], dropoff: [] as number[], distance: [] as number[] };
      let counts = { rowsRead: 0, rowsWithNulls: 0, rowsKept: 0, durationSum: 0, durationCount: 0 };
      for await (const group of readTripGroups(path)) {
        const before = group.length;
        const clean = cleaner.cleanInPlace(group);
        // The kept rows were moved to the front of the group's own columns.
        expect(clean.duration.buffer).toBe(group.dropoff.buffer);
        expect(clean.rowsRead).toBe(before);
        kept.duration.push(...clean.duration);
        kept.pu.push(...clean.features.PULocationID);
        kept.dropoff.push(...clean.features.DOLocationID);
        kept.distance.push(...clean.features.trip_distance);
        counts = {
          rowsRead: counts.rowsRead + clean.rowsRead,
          rowsWithNulls: counts.rowsWithNulls + clean.rowsWithNulls,
          rowsKept: counts.rowsKept + clean.rowsKept,
          durationSum: counts.durationSum + clean.durationSum,
          durationCount: counts.durationCount + clean.durationCount,
        };
      }
      expect(kept.duration).toEqual(Array.from(whole.duration));
      expect(kept.pu).toEqual(Array.from(whole.features.PULocationID.codes, (c) => Number(whole.features.PULocationID.labels[c])));
      expect(kept.dropoff).toEqual(Array.from(whole.features.DOLocationID.codes, (c) => Number(whole.features.DOLocationID.labels[c])));
      expect(kept.distance).toEqual(Array.from(whole.features.trip_distance));
      expect(counts).toMatchObject({ rowsRead: whole.stats.rowsRead, rowsWithNulls: whole.stats.rowsWithNulls, rowsKept: whole.stats.rowsKept, durationCount: whole.stats.durationCount });
      expect(counts.durationSum / counts.durationCount).toBeCloseTo(whole.stats.durationMean, 9);
    }
  });
});

describe('cleanTripFiles (several files as one)', () => {
  it('gives the files\' trips one after the other, as cleanTrips of each', async () => {
    const files = Object.keys(expected).map((f) => join(fixtures, f)).slice(0, 3);
    const all = await cleanTripFiles(files, { pickup: false });
    const each = await Promise.all(files.map(async (f) => cleanTrips(await readTrips(f), { pickup: false })));
    expect(all.length).toBe(each.reduce((n, c) => n + c.length, 0));
    expect(Array.from(all.duration)).toEqual(each.flatMap((c) => Array.from(c.duration)));
    expect(Array.from(all.features.trip_distance)).toEqual(each.flatMap((c) => Array.from(c.features.trip_distance)));
    expect(all.features.PULocationID.codes.map((c) => Number(all.features.PULocationID.labels[c]))).toEqual(
      Int32Array.from(each.flatMap((c) => Array.from(c.features.PULocationID.codes, (k) => Number(c.features.PULocationID.labels[k])))),
    );
    expect(all.stats.rowsRead).toBe(each.reduce((n, c) => n + c.stats.rowsRead, 0));
    expect(all.source).toBe(files.join(', '));
  });
});
