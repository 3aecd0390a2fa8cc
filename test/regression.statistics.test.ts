/**
 * Training statistics: exact sums, TripStatistics (one pass, merge, transfer) and the normal
 * equations built from them.
 */
import { describe, expect, it } from 'vitest';
import { addExact, exactValue, LIMBS, normalizeExact } from '../lib/exactSum.js';
import {
  COURSE_FEATURES, DictVectorizer, Lasso, LinearRegression, NormalEquations, PAIR_FEATURES, Ridge, TripStatistics,
  categorical, featureColumns, rootMeanSquaredError, type Categorical, type FeatureSet, type LinearModel,
} from '../lib/index.js';
import { rng } from './designs.js';

/** Trips with zone pairs, distances (some huge) and durations, as cleaning gives them. */
function trips(n: number, seed: number, zones = 40) {
  const r = rng(seed);
  const pu = Int32Array.from({ length: n }, () => 1 + Math.floor(zones * r() * r()));
  const dof = Int32Array.from({ length: n }, () => 1 + Math.floor(zones * r()));
  const dist = Float64Array.from({ length: n }, (_, i) => (i % 301 === 0 ? 1000 + r() * 200000 : r() * 12));
  const duration = Float64Array.from({ length: n }, (_, i) => 3 + 2.5 * Math.min(dist[i]!, 20) + ((pu[i]! * 7 + dof[i]! * 3) % 11) + 4 * r());
  return { features: { PULocationID: categorical(pu), DOLocationID: categorical(dof), trip_distance: dist }, duration, pu, dof };
}

const SETS: [string, FeatureSet][] = [
  ['the course zones', COURSE_FEATURES],
  ['the PU_DO pair', PAIR_FEATURES],
  ['zones and pair together', { categorical: ['PULocationID', 'DOLocationID', 'PU_DO'], numerical: ['trip_distance'] }],
  ['zones without distance', { categorical: ['PULocationID', 'DOLocationID'], numerical: [] }],
];

/** Every array of the equations, as bytes: equal means bit for bit the same statistics. */
function bytesOf(eq: NormalEquations): Buffer[] {
  return [eq.diagonal, eq.denseRows, eq.indptr, eq.indices, eq.values, eq.columnSums, eq.xty, Float64Array.of(eq.ySum, eq.yy, eq.rows)].map((a) =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
  );
}

function models(): LinearModel[] {
  return [new LinearRegression(), new Ridge({ alpha: 3 }), new Lasso({ alpha: 0.02, tol: 1e-10 })];
}

describe('exact sums', () => {
  /** The exact sum of doubles whose lowest bit is at least 2^-84, as a BigInt count of 2^-84. */
  const exactBig = (values: number[]): bigint => values.reduce((s, v) => s + BigInt(v * 2 ** 84), 0n);

  const values = (() => {
    const r = rng(3);
    return Array.from({ length: 20000 }, (_, i) => {
      const magnitude = 2 ** Math.floor(-30 + r() * 90); // 1e-9 … 1e18
      const v = (r() - (i % 3 === 0 ? 0.5 : 0)) * magnitude;
      // On the 2^-80 grid, so that the sum below is exact (and the library drops nothing).
      return Math.round((i % 997 === 0 ? -v * 1e6 : v) * 2 ** 80) / 2 ** 80;
    });
  })();

  it('gives the same limbs and the same double whatever the order and split', () => {
    const sumOf = (order: number[][]): Float64Array => {
      const total = new Float64Array(LIMBS);
      for (const part of order) {
        const acc = new Float64Array(LIMBS);
        for (const v of part) addExact(acc, 0, v);
        normalizeExact(acc, 0);
        for (let k = 0; k < LIMBS; k++) total[k]! += acc[k]!;
        normalizeExact(total, 0);
      }
      return total;
    };
    const forward = sumOf([values]);
    const backward = sumOf([[...values].reverse()]);
    const r = rng(9);
    const shuffled = [...values].sort(() => r() - 0.5);
    const parts = sumOf([shuffled.slice(0, 7000), shuffled.slice(7000, 7001), shuffled.slice(7001)]);
    expect(Array.from(backward)).toEqual(Array.from(forward));
    expect(Array.from(parts)).toEqual(Array.from(forward));
    // Plain summation does depend on the order here.
    const plain = (xs: number[]): number => xs.reduce((s, v) => s + v, 0);
    expect(plain(values)).not.toBe(plain([...values].reverse()));
  });

  it('rounds the exact sum once (within one unit in the last place of the true sum)', () => {
    const acc = new Float64Array(LIMBS);
    for (const v of values) addExact(acc, 0, v);
    normalizeExact(acc, 0);
    const exact = Number(exactBig(values)) / 2 ** 84;
    const ulp = 2 ** (Math.floor(Math.log2(Math.abs(exact))) - 52);
    expect(Math.abs(exactValue(acc, 0) - exact)).toBeLessThanOrEqual(ulp);
    // Cancellation: the sum of x and −x plus a small value is the small value exactly.
    const cancel = new Float64Array(LIMBS);
    for (const v of [1e18, 3.25e-7, -1e18, 12345.678, -12345.678]) addExact(cancel, 0, v);
    normalizeExact(cancel, 0);
    expect(exactValue(cancel, 0)).toBe(3.25e-7);
  });

  it('carries between limbs, so millions of values stay exact (normalizing every 2^20)', () => {
    // Each value puts up to 2^31 units on the 2^-52 limb: without carries that limb would pass
    // 2^53 units, and lose bits, after 2^22 values.
    const acc = new Float64Array(LIMBS);
    const count = 2 ** 23;
    let exact = 0n;
    for (let i = 1; i <= count; i++) {
      const units = 2 ** 31 - 1 - (i % 4093) * 977; // varied low bits
      addExact(acc, 0, units * 2 ** -52);
      exact += BigInt(units);
      if (i % 2 ** 20 === 0) normalizeExact(acc, 0);
    }
    normalizeExact(acc, 0);
    expect(exactValue(acc, 0)).toBe(Number(exact) * 2 ** -52);
  });

  it('drops what lies below 2^-84 and refuses values of 2^95 and sums of 2^96', () => {
    const acc = new Float64Array(LIMBS);
    addExact(acc, 0, 1);
    addExact(acc, 0, 2 ** -90);
    normalizeExact(acc, 0);
    expect(exactValue(acc, 0)).toBe(1);
    expect(() => addExact(acc, 0, 2 ** 95)).toThrow(/exactSum: .* is too large to add exactly/);
    const big = new Float64Array(LIMBS);
    for (let i = 0; i < 3; i++) addExact(big, 0, 2 ** 94.9);
    expect(() => normalizeExact(big, 0)).toThrow(/exactSum: a sum reached 2\^96/);
  });
});

describe('TripStatistics', () => {
  const month = trips(12000, 11);

  it.each(SETS)('learns the vocabulary DictVectorizer.fit learns (%s)', (_, set) => {
    const stats = new TripStatistics({ columns: set.numerical.length ? undefined : ['PULocationID', 'DOLocationID'] }).add(month.features, month.duration);
    const dv = new DictVectorizer().fit(featureColumns(month.features, set));
    expect(stats.featureNames(set)).toEqual(dv.getFeatureNamesOut());
    expect(stats.vectorizer(set).getFeatureNamesOut()).toEqual(dv.getFeatureNamesOut());
    expect(stats.rows).toBe(12000);
  });

  it.each(SETS)('fits the same models as fit(X, y) on the vectorized trips (%s)', (_, set) => {
    const stats = new TripStatistics().add(month.features, month.duration);
    const eq = stats.normalEquations(set);
    const X = eq.vectorizer().transform(featureColumns(month.features, set));
    const fromMatrix = models().map((m) => m.fit(X, month.duration));
    const fromStats = models().map((m) => m.fitStatistics(eq));
    fromStats.forEach((m, i) => {
      const other = fromMatrix[i]!;
      const scale = Math.max(...Array.from(other.coef, Math.abs));
      m.coef.forEach((c, j) => expect(Math.abs(c - other.coef[j]!)).toBeLessThan(1e-10 * scale));
      expect(Math.abs(m.intercept - other.intercept)).toBeLessThan(1e-10 * Math.max(1, Math.abs(other.intercept)));
      // The training RMSE from the statistics alone.
      const direct = rootMeanSquaredError(month.duration, m.predict(X));
      expect(Math.abs(eq.rootMeanSquaredError(m) - direct) / direct).toBeLessThan(1e-12);
    });
  });

  it('is bit for bit the same however the rows were split, merged or sent between threads', () => {
    const whole = new TripStatistics().add(month.features, month.duration);
    // Row groups of uneven size, added one after another.
    const grouped = new TripStatistics();
    for (const [start, end] of [[0, 1], [1, 6000], [6000, 6000], [6000, 9333], [9333, 12000]] as const) grouped.add(month.features, month.duration, { start, end });
    // Parts gathered separately (as worker threads would), sent as plain data, merged in two orders.
    const parts = [[0, 5000], [5000, 9000], [9000, 12000]].map(([start, end]) => new TripStatistics().add(month.features, month.duration, { start, end }));
    const sent = parts.map((p) => structuredClone(p.toData()));
    const merged = new TripStatistics();
    for (const data of sent) merged.merge(TripStatistics.fromData(data));
    const reversed = new TripStatistics();
    for (const data of [...sent].reverse()) reversed.merge(TripStatistics.fromData(data));
    for (const [, set] of SETS.slice(0, 3)) {
      const reference = bytesOf(whole.normalEquations(set));
      for (const other of [grouped, merged, reversed]) expect(bytesOf(other.normalEquations(set))).toEqual(reference);
      const [a, b] = [whole, reversed].map((s) => models().map((m) => m.fitStatistics(s.normalEquations(set))));
      a!.forEach((m, i) => {
        expect(Buffer.from(b![i]!.coef.buffer)).toEqual(Buffer.from(m.coef.buffer));
        expect(Object.is(b![i]!.intercept, m.intercept)).toBe(true);
      });
    }
    expect(merged.cells).toBe(whole.cells);
  });

  it('gives the residual sum of squares of any coefficients and intercept from the statistics', () => {
    const eq = new TripStatistics().add(month.features, month.duration).normalEquations(COURSE_FEATURES);
    const X = eq.vectorizer().transform(month.features);
    const r = rng(21);
    for (let trial = 0; trial < 3; trial++) {
      const coef = Float64Array.from({ length: eq.features }, () => r() * 4 - 2);
      const intercept = 10 * r() - 5;
      let direct = 0;
      for (let i = 0; i < X.rows; i++) {
        let p = intercept;
        for (let k = X.indptr[i]!; k < X.indptr[i + 1]!; k++) p += X.data[k]! * coef[X.indices[k]!]!;
        direct += (month.duration[i]! - p) ** 2;
      }
      expect(Math.abs(eq.residualSumOfSquares(coef, intercept) - direct) / direct).toBeLessThan(1e-11);
    }
    expect(() => eq.residualSumOfSquares([1, 2], 0)).toThrow(/statistics: 2 coefficients for \d+ features/);
  });

  it('gives a distance that is the same on every trip coefficient 0, as scikit-learn\'s centring does', () => {
    const constant = { ...month.features, trip_distance: new Float64Array(month.duration.length).fill(2.7) };
    const eq = new TripStatistics().add(constant, month.duration).normalEquations(COURSE_FEATURES);
    const column = eq.featureNames!.indexOf('trip_distance');
    for (const model of models()) expect(model.fitStatistics(eq).coef[column]).toBe(0);
  });

  it('takes zones as raw IDs or as categories with any label order (code space)', () => {
    const asIds = new TripStatistics().add({ PULocationID: month.pu, DOLocationID: month.dof, trip_distance: month.features.trip_distance }, month.duration);
    // The same zones with labels in another order and other codes.
    const relabel = (c: Categorical): Categorical => {
      const labels = [...c.labels].reverse();
      return { labels, codes: Int32Array.from(c.codes, (code) => c.labels.length - 1 - code) };
    };
    const shuffled = new TripStatistics().add(
      { PULocationID: relabel(month.features.PULocationID), DOLocationID: relabel(month.features.DOLocationID), trip_distance: month.features.trip_distance },
      month.duration,
    );
    const reference = bytesOf(new TripStatistics().add(month.features, month.duration).normalEquations(PAIR_FEATURES));
    expect(bytesOf(asIds.normalEquations(PAIR_FEATURES))).toEqual(reference);
    // Raw IDs a slice at a time (each slice checked and labelled on its own).
    const ids = { PULocationID: month.pu, DOLocationID: month.dof, trip_distance: month.features.trip_distance };
    const sliced = new TripStatistics();
    for (let start = 0; start < 12000; start += 5000) sliced.add(ids, month.duration, { start, end: Math.min(12000, start + 5000) });
    expect(bytesOf(sliced.normalEquations(PAIR_FEATURES))).toEqual(reference);
    const bad = Int32Array.from(month.dof);
    bad[7001] = -3;
    expect(() => new TripStatistics().add({ ...ids, DOLocationID: bad }, month.duration, { start: 7000, end: 8000 })).toThrow(
      /statistics: DOLocationID\[7001\] is -3; zone IDs are integers from 0 to 2\^24 − 1/,
    );
    expect(bytesOf(shuffled.normalEquations(PAIR_FEATURES))).toEqual(reference);
  });

  it('solves in the columns of a given vectorizer: categories it does not know are left out, as transform does', () => {
    const other = trips(3000, 12, 25); // fewer zones: many of this month's zones and pairs are unknown to it
    const dv = new DictVectorizer().fit(featureColumns(other.features, PAIR_FEATURES));
    const eq = new TripStatistics().add(month.features, month.duration).normalEquations(PAIR_FEATURES, { vectorizer: dv });
    expect(eq.featureNames).toEqual(dv.getFeatureNamesOut());
    const X = dv.transform(featureColumns(month.features, PAIR_FEATURES));
    const a = new Ridge().fitStatistics(eq);
    const b = new Ridge().fit(X, month.duration);
    const scale = Math.max(...Array.from(b.coef, Math.abs));
    a.coef.forEach((c, j) => expect(Math.abs(c - b.coef[j]!)).toBeLessThan(1e-10 * scale));
  });

  it.each([
    ['a non-finite duration', (s: TripStatistics) => s.add(month.features, Float64Array.from(month.duration, (v, i) => (i === 77 ? NaN : v))), /statistics: y\[77\] is NaN/],
    [
      'a non-finite distance',
      (s: TripStatistics) => s.add({ ...month.features, trip_distance: Float64Array.from(month.features.trip_distance, (v, i) => (i === 5 ? Infinity : v)) }, month.duration),
      /statistics: trip_distance\[5\] is Infinity/,
    ],
    ['a zone code outside its labels', (s: TripStatistics) => s.add({ ...month.features, DOLocationID: { codes: Int32Array.of(0, 9), labels: ['1', '2'] } }, [1, 2], {}), /has 2 rows but PULocationID has 12000|outside its 2 labels/],
    ['columns of different lengths', (s: TripStatistics) => s.add({ ...month.features, trip_distance: new Float64Array(3) }, month.duration), /statistics: trip_distance has 3 rows but PULocationID has 12000/],
    ['y of another length', (s: TripStatistics) => s.add(month.features, month.duration.subarray(1)), /statistics: the trips have 12000 rows but y has 11999 values/],
    ['trips without a distance', (s: TripStatistics) => s.add({ PULocationID: month.pu, DOLocationID: month.dof }, month.duration), /statistics: these trips have no trip_distance column/],
    ['a row range outside the rows', (s: TripStatistics) => s.add(month.features, month.duration, { start: 5, end: 12001 }), /statistics: row range 5..12001 is not within the 12000 rows/],
    ['a feature set needing what was not gathered', () => new TripStatistics({ columns: ['PULocationID', 'DOLocationID'] }).add(month.features, month.duration).normalEquations(COURSE_FEATURES), /statistics: the feature set needs trip_distance, which these statistics did not gather/],
    ['solving with no trips', () => new TripStatistics().normalEquations(COURSE_FEATURES), /statistics: no trips were added/],
    ['merging statistics of other columns', (s: TripStatistics) => s.merge(new TripStatistics({ columns: ['PULocationID', 'DOLocationID'] })), /statistics: cannot merge statistics of PULocationID, DOLocationID into PULocationID, DOLocationID, trip_distance/],
    ['an unknown column', () => new TripStatistics({ columns: ['payment_type' as never] }), /statistics: unknown column "payment_type"/],
  ])('rejects %s with a clear error', (_, act, message) => {
    expect(() => act(new TripStatistics())).toThrow(message);
  });

  it('rejects malformed statistics data', () => {
    const data = new TripStatistics().add(month.features, month.duration, { start: 0, end: 500 }).toData();
    const broken = (change: (d: ReturnType<typeof structuredClone<typeof data>>) => void) => {
      const d = structuredClone(data);
      change(d);
      return () => TripStatistics.fromData(d);
    };
    expect(broken((d) => ((d as { kind: string }).kind = 'other'))).toThrow(/statistics: not trip statistics data/);
    expect(broken((d) => (d.sums.counts[0] = 0.5))).toThrow(/statistics: the statistics data is malformed: cell 0 has count 0.5/);
    expect(broken((d) => (d.sums.rows += 1))).toThrow(/rows is \d+ but the cells hold \d+/);
    expect(broken((d) => (d.sums.keys[0] = 9999))).toThrow(/statistics: zone code 9999 is outside the labels/);
    expect(broken((d) => (d.sums.sums = d.sums.sums.subarray(1)))).toThrow(/array lengths do not match/);
    expect(broken((d) => d.labels[0]!.push(d.labels[0]![0]!))).toThrow(/statistics: label ".*" repeats/);
  });
});

describe('fitting in batches whose one-hot columns disagree', () => {
  it('moves a column from the keys to the numeric columns exactly when a later batch has other values', () => {
    const r = rng(5);
    const n = 3000;
    // Column 2 is 0 or 1 in the first batch (taken as one-hot), then takes other values;
    // column 3 first appears in the last batch.
    const rows = Array.from({ length: n }, (_, i) => [r() < 0.5 ? 1 : 0, r() < 0.3 ? 1 : 0, i < 1000 ? (r() < 0.4 ? 1 : 0) : 1 + r(), i >= 2500 ? r() : 0]);
    const y = rows.map((x) => 2 + 3 * x[0]! - x[1]! + 5 * x[2]! + 2 * x[3]! + r());
    const toCsr = (dense: number[][]) => {
      const indptr = [0];
      const indices: number[] = [];
      const data: number[] = [];
      for (const row of dense) {
        row.forEach((v, j) => {
          if (v !== 0) {
            indices.push(j);
            data.push(v);
          }
        });
        indptr.push(indices.length);
      }
      return { rows: dense.length, cols: 4, indptr: Int32Array.from(indptr), indices: Int32Array.from(indices), data: Float64Array.from(data) };
    };
    for (const make of [() => new LinearRegression(), () => new Ridge({ alpha: 0.5 }), () => new Lasso({ alpha: 0.01, tol: 1e-12 })]) {
      const whole = make().fit(toCsr(rows), y);
      const batched = make().fitBatches([0, 1000, 2500, n].slice(1).map((end, i, ends) => {
        const start = i === 0 ? 0 : ends[i - 1]!;
        return { X: toCsr(rows.slice(start, end)), y: y.slice(start, end) };
      }));
      whole.coef.forEach((c, j) => expect(batched.coef[j]).toBeCloseTo(c, 9));
      expect(batched.intercept).toBeCloseTo(whole.intercept, 9);
    }
  });
});
