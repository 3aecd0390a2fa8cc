/**
 * Training profiles: fixed-edge histograms and zone counts that merge exactly, and the drift
 * measures (PSI, Wasserstein) computed from them, checked against hand computations and an
 * independent sample-based Wasserstein distance.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  buildProfile,
  categorical,
  checkProfile,
  cleanTripGroups,
  cleanTrips,
  DISTANCE_EDGES,
  DURATION_EDGES,
  histogram,
  histogramMean,
  mergeHistograms,
  mergeProfiles,
  populationStabilityIndex,
  readTripGroups,
  readTrips,
  wassersteinDistance,
  writeSyntheticTrips,
  type TrainingProfile,
} from '../lib/index.js';

describe('histogram', () => {
  it('puts a value on an edge in the bin above it, the last edge in the last bin, and counts what falls outside', () => {
    const h = histogram([-1, 0, 0.5, 1, 1.999, 2, 3, 3.0000001, NaN, Infinity], [0, 1, 2, 3]);
    expect(h.counts).toEqual([2, 2, 2]); // [0,1): 0, 0.5; [1,2): 1, 1.999; [2,3]: 2, 3
    expect(h.below).toBe(1);
    expect(h.above).toBe(1);
    expect(h.missing).toBe(2);
    expect(h.count).toBe(8);
    expect(h.min).toBe(-1);
    expect(h.max).toBe(3.0000001);
    expect(histogramMean(h)).toBeCloseTo((-1 + 0 + 0.5 + 1 + 1.999 + 2 + 3 + 3.0000001) / 8, 12);
  });

  it('agrees with a linear scan on the fixed edges, for random values', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const values = Float64Array.from({ length: 5000 }, () => random() * 120 - 5);
    const h = histogram(values, DISTANCE_EDGES);
    const expected = new Array<number>(DISTANCE_EDGES.length - 1).fill(0);
    for (const v of values) {
      for (let b = 0; b < expected.length; b++) {
        const last = b === expected.length - 1;
        if (v >= DISTANCE_EDGES[b]! && (v < DISTANCE_EDGES[b + 1]! || (last && v === DISTANCE_EDGES[b + 1]!))) expected[b]!++;
      }
    }
    expect(h.counts).toEqual(expected);
    expect(h.below).toBe(values.filter((v) => v < 0).length);
    expect(h.above).toBe(values.filter((v) => v > 100).length);
  });

  it.each([
    ['the duration edges', DURATION_EDGES],
    ['the distance edges', DISTANCE_EDGES],
    ['uneven edges (the search, not the table)', [0, 1e-6, 1, 1e6]],
    // Widths that are not binary fractions: a value a few doubles below an edge can land in the next cell up.
    ['edges of a width with no exact binary form', Array.from({ length: 12 }, (_, i) => -4.619261963579239 + i * 0.7312997924005575)],
  ])('bins every edge, and the doubles just around it, as a linear scan does: %s', (_, edges) => {
    const values: number[] = [];
    const ulps = (x: number, n: number) => {
      const b = new Float64Array([x]);
      const u = new BigInt64Array(b.buffer);
      u[0]! += BigInt(n) * (x >= 0 ? 1n : -1n);
      return b[0]!;
    };
    for (const e of edges) values.push(e, ulps(e, -3), ulps(e, -2), ulps(e, -1), ulps(e, 1), e + 1e-9, e - 1e-9);
    const h = histogram(values, edges);
    const last = edges.length - 2;
    const expected = new Array<number>(last + 1).fill(0);
    for (const v of values) {
      for (let b = 0; b <= last; b++) if (v >= edges[b]! && (v < edges[b + 1]! || (b === last && v === edges[b + 1]!))) expected[b]!++;
    }
    expect(h.counts).toEqual(expected);
  });

  it('refuses edges that do not ascend', () => {
    expect(() => histogram([1], [0, 1, 1])).toThrow(/profile: edges must be strictly ascending \(1 then 1\)/);
    expect(() => histogram([1], [0])).toThrow(/at least two edges/);
  });
});

describe('buildProfile and mergeProfiles', () => {
  let dir: string;
  let path: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taxi-profile-'));
    path = join(dir, 'yellow_tripdata_2024-01.parquet');
    // Small row groups, so the month is read as several groups.
    await writeSyntheticTrips(path, { month: '2024-01', rows: 12_000, rowGroupSize: 2_500 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('profiles cleaned trips: histograms over the fixed edges, zone counts as a tally of the rows', async () => {
    const clean = cleanTrips(await readTrips(path));
    const profile = buildProfile({ duration: clean.duration, ...clean.features });
    expect(profile.rows).toBe(clean.length);
    expect(profile.duration.edges).toEqual([...DURATION_EDGES]);
    expect(profile.duration.count).toBe(clean.length);
    expect(profile.duration.below + profile.duration.above).toBe(0); // the 1–60 filter is inside the edges
    expect(profile.trip_distance!.count).toBe(clean.length);
    const pu = new Map<string, number>();
    for (let i = 0; i < clean.length; i++) {
      const label = clean.features.PULocationID.labels[clean.features.PULocationID.codes[i]!]!;
      pu.set(label, (pu.get(label) ?? 0) + 1);
    }
    expect(profile.zones.PULocationID).toEqual(Object.fromEntries(pu));
    expect(Object.values(profile.zones.DOLocationID).reduce((a, b) => a + b, 0)).toBe(clean.length);
    expect(checkProfile(JSON.parse(JSON.stringify(profile)))).toEqual(profile);
  });

  it('merging the profiles of row groups gives the counts of the whole month exactly', async () => {
    const whole = cleanTrips(await readTrips(path));
    const expected = buildProfile({ duration: whole.duration, ...whole.features });
    let merged: TrainingProfile | undefined;
    let groups = 0;
    for await (const group of readTripGroups(path)) {
      const clean = await cleanTripGroups([group]);
      const p = buildProfile({ duration: clean.duration, ...clean.features });
      merged = merged === undefined ? p : mergeProfiles(merged, p);
      groups++;
    }
    expect(groups).toBe(5);
    const { duration, trip_distance, zones, rows } = merged!;
    expect(rows).toBe(expected.rows);
    expect(duration.counts).toEqual(expected.duration.counts);
    expect(trip_distance!.counts).toEqual(expected.trip_distance!.counts);
    expect([trip_distance!.below, trip_distance!.above, trip_distance!.min, trip_distance!.max]).toEqual([
      expected.trip_distance!.below, expected.trip_distance!.above, expected.trip_distance!.min, expected.trip_distance!.max,
    ]);
    expect(zones).toEqual(expected.zones);
    expect(duration.sum).toBeCloseTo(expected.duration.sum, 6);
  });

  it('takes raw zone IDs as well as categories, and data without distances', () => {
    const p = buildProfile({ duration: [5, 10, 15], PULocationID: Int32Array.of(7, 7, 161), DOLocationID: categorical(Int32Array.of(1, 2, 2)) });
    expect(p.zones).toEqual({ PULocationID: { '7': 2, '161': 1 }, DOLocationID: { '1': 1, '2': 2 } });
    expect(p.trip_distance).toBeNull();
    expect(() => mergeProfiles(p, buildProfile({ duration: [1], trip_distance: [1], PULocationID: Int32Array.of(1), DOLocationID: Int32Array.of(1) }))).toThrow(
      /one profile has trip distances/,
    );
    expect(() => buildProfile({ duration: [1, 2], PULocationID: Int32Array.of(1), DOLocationID: Int32Array.of(1, 2) })).toThrow(/PULocationID has 1/);
  });

  it('refuses histograms with different edges', () => {
    expect(() => mergeHistograms(histogram([1], [0, 2]), histogram([1], [0, 3]))).toThrow(/different bin edges/);
    expect(() => populationStabilityIndex(histogram([1], [0, 2]), histogram([1], [0, 3]))).toThrow(/different bin edges/);
  });
});

describe('populationStabilityIndex', () => {
  it('is 0 for the same shares and Σ (a − e) ln(a / e) otherwise', () => {
    const e = histogram([0.5, 1.5, 1.5, 2.5], [0, 1, 2, 3]); // shares 0.25, 0.5, 0.25 (below/above 0)
    const a = histogram([0.5, 0.5, 1.5, 2.5], [0, 1, 2, 3]); // 0.5, 0.25, 0.25
    expect(populationStabilityIndex(e, e)).toBe(0);
    const eps = 1e-4; // below and above are empty in both: (eps - eps) · ln 1 = 0
    const expected = (0.5 - 0.25) * Math.log(0.5 / 0.25) + (0.25 - 0.5) * Math.log(0.25 / 0.5);
    expect(populationStabilityIndex(e, a)).toBeCloseTo(expected, 12);
    expect(populationStabilityIndex(e, a, eps)).toBeGreaterThan(0.3);
  });

  it('stays finite when a bin is empty in one histogram, counting below and above as bins', () => {
    const e = histogram([0.5, 1.5], [0, 1, 2]);
    const a = histogram([0.5, 5], [0, 1, 2]); // one value above the edges
    const psi = populationStabilityIndex(e, a);
    const share = (x: number) => Math.max(x, 1e-4);
    const expected =
      (share(0.5) - share(0.5)) * Math.log(1) + (share(0) - share(0.5)) * Math.log(share(0) / share(0.5)) + (share(0.5) - share(0)) * Math.log(share(0.5) / share(0));
    expect(psi).toBeCloseTo(expected, 10);
    expect(() => populationStabilityIndex(histogram([], [0, 1, 2]), e)).toThrow(/empty/);
  });
});

describe('wassersteinDistance', () => {
  it('is the shift between two distributions spread evenly over one bin each', () => {
    const edges = [0, 1, 2, 3, 4];
    const within = (lo: number) => Array.from({ length: 1000 }, (_, i) => lo + (i + 0.5) / 1000);
    expect(wassersteinDistance(histogram(within(0), edges), histogram(within(2), edges))).toBeCloseTo(2, 12);
    expect(wassersteinDistance(histogram(within(1), edges), histogram(within(1), edges))).toBe(0);
  });

  it('matches the exact sample Wasserstein distance of data spread evenly within bins', () => {
    // Two samples, each bin's values evenly spaced inside it: the histogram's assumption holds.
    const edges = [0, 2, 4, 6, 8, 10];
    const sample = (weights: number[]) =>
      weights.flatMap((w, b) => Array.from({ length: w * 200 }, (_, i) => edges[b]! + ((i + 0.5) / (w * 200)) * (edges[b + 1]! - edges[b]!)));
    const a = sample([1, 3, 4, 1, 1]);
    const b = sample([3, 3, 2, 1, 1]);
    expect(a.length).toBe(b.length);
    // Equal-size samples: W1 is the mean distance between the sorted values.
    const sa = [...a].sort((x, y) => x - y);
    const sb = [...b].sort((x, y) => x - y);
    const exact = sa.reduce((s, v, i) => s + Math.abs(v - sb[i]!), 0) / sa.length;
    expect(wassersteinDistance(histogram(a, edges), histogram(b, edges))).toBeCloseTo(exact, 2);
  });

  it('integrates the distance right where the two distributions cross', () => {
    // a spreads over [0, 4]; b sits in [1, 3]: their CDFs cross at 2, inside a bin.
    const edges = [0, 1, 3, 4];
    const a = Array.from({ length: 4000 }, (_, i) => (i + 0.5) / 1000);
    const b = Array.from({ length: 4000 }, (_, i) => 1 + (i + 0.5) / 2000);
    const sa = [...a].sort((x, y) => x - y);
    const sb = [...b].sort((x, y) => x - y);
    const exact = sa.reduce((sum, v, i) => sum + Math.abs(v - sb[i]!), 0) / sa.length; // 0.5
    expect(wassersteinDistance(histogram(a, edges), histogram(b, edges))).toBeCloseTo(exact, 3);
  });

  it('counts values outside the edges as lying on the nearest edge', () => {
    const edges = [0, 1];
    expect(wassersteinDistance(histogram([1000], edges), histogram([300_000], edges))).toBe(0);
    expect(wassersteinDistance(histogram([-3], edges), histogram([-100], edges))).toBe(0);
    // Spread over [0, 1] against all of it on 0: the area between x and 1.
    expect(wassersteinDistance(histogram([0.5], edges), histogram([-3], edges))).toBeCloseTo(0.5, 12);
    expect(wassersteinDistance(histogram([0.5], edges), histogram([1000], edges))).toBeCloseTo(0.5, 12);
  });
});

describe('checkProfile', () => {
  const good = () => JSON.parse(JSON.stringify(buildProfile({ duration: [5, 12], trip_distance: [1, 2], PULocationID: Int32Array.of(1, 2), DOLocationID: Int32Array.of(3, 3) }))) as Record<string, any>;
  it.each([
    ['version', (p: Record<string, any>) => (p.version = 2), /version is 2/],
    ['count', (p: Record<string, any>) => (p.duration.count = 3), /duration: count is 3 but the bins, below and above hold 2/],
    ['counts length', (p: Record<string, any>) => p.trip_distance.counts.pop(), /trip_distance: counts must be/],
    ['edges', (p: Record<string, any>) => (p.duration.edges[1] = -1), /duration: edges must be strictly ascending/],
    ['zones', (p: Record<string, any>) => (p.zones.PULocationID['1'] = -1), /zones.PULocationID must map zone IDs to counts/],
  ])('names a bad %s', (_name, spoil, message) => {
    const p = good();
    spoil(p);
    expect(() => checkProfile(p)).toThrow(message);
  });
});
