import { describe, expect, it } from 'vitest';
import { DictVectorizer, categorical, compareCodePoints, type CsrMatrix, type FeatureRecord } from '../lib/index.js';

/** Dense rows of a CSR matrix, for readable expectations. */
function dense(X: CsrMatrix): number[][] {
  const out = Array.from({ length: X.rows }, () => new Array<number>(X.cols).fill(0));
  for (let i = 0; i < X.rows; i++) {
    for (let k = X.indptr[i]!; k < X.indptr[i + 1]!; k++) out[i]![X.indices[k]!]! += X.data[k]!;
  }
  return out;
}

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

/** Trip-like columns and the same rows as the course's records. */
function trips(n: number, seed: number, zones = 40): { columns: Parameters<DictVectorizer['fit']>[0]; records: FeatureRecord[] } {
  const r = rng(seed);
  // Skewed zones, as real pickups: low IDs far more often.
  const pu = Int32Array.from({ length: n }, () => 1 + Math.floor(zones * r() * r()));
  const dof = Int32Array.from({ length: n }, () => 1 + Math.floor(zones * r()));
  const dist = Float64Array.from({ length: n }, (_, i) => (i % 17 === 0 ? 0 : Math.round(r() * 2000) / 100));
  const records = Array.from(pu, (p, i) => ({ PULocationID: String(p), DOLocationID: String(dof[i]), trip_distance: dist[i]! }));
  return { columns: { PULocationID: categorical(pu), DOLocationID: categorical(dof), trip_distance: dist }, records };
}

describe('DictVectorizer', () => {
  it("reproduces scikit-learn's docstring example", () => {
    // sklearn.feature_extraction.DictVectorizer docstring:
    // D = [{'foo': 1, 'bar': 2}, {'foo': 3, 'baz': 1}] → [[2, 0, 1], [0, 1, 3]];
    // transform({'foo': 4, 'unseen_feature': 3}) → [[0, 0, 4]].
    const v = new DictVectorizer();
    const X = v.fitTransform([
      { foo: 1, bar: 2 },
      { foo: 3, baz: 1 },
    ]);
    expect(v.getFeatureNamesOut()).toEqual(['bar', 'baz', 'foo']);
    expect(dense(X)).toEqual([
      [2, 0, 1],
      [0, 1, 3],
    ]);
    expect(dense(v.transform([{ foo: 4, unseen_feature: 3 }]))).toEqual([[0, 0, 4]]);
  });

  it('one-hot encodes strings as key=value and sorts names by code point', () => {
    const v = new DictVectorizer().fit([
      { PULocationID: '9', trip_distance: 1 },
      { PULocationID: '10', trip_distance: 2 },
      { PULocationID: '132', b: 'x' },
      { B: 'y' },
    ]);
    // Python's sorted(): '1' < '9' and 'B' < 'P' < 'b' < 't' (not numeric, not locale order).
    expect(v.getFeatureNamesOut()).toEqual(['B=y', 'PULocationID=10', 'PULocationID=132', 'PULocationID=9', 'b=x', 'trip_distance']);
    expect(v.vocabulary.get('PULocationID=9')).toBe(3);
  });

  it('orders characters above U+FFFF after U+E000–U+FFFF, as Python does', () => {
    // UTF-16 `<` puts '😀' (U+1F600, surrogates D83D…) before '～' (U+FF5E); code points do not.
    const names = ['x=😀', 'x=～', 'x=a', 'x=é'];
    const byCodePoint = (a: string, b: string): number => {
      const ca = Array.from(a, (c) => c.codePointAt(0)!);
      const cb = Array.from(b, (c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i]! - cb[i]!;
      return ca.length - cb.length;
    };
    expect([...names].sort(compareCodePoints)).toEqual([...names].sort(byCodePoint));
    expect([...names].sort(compareCodePoints)).toEqual(['x=a', 'x=é', 'x=～', 'x=😀']);
    const v = new DictVectorizer().fit(names.map((n) => ({ x: n.slice(2) })));
    expect(v.getFeatureNamesOut()).toEqual(['x=a', 'x=é', 'x=～', 'x=😀']);
  });

  it('gives identical CSR matrices from columns and from records', () => {
    const train = trips(3000, 1);
    const test = trips(1000, 2, 60); // zones 41..60 never seen in training
    const a = new DictVectorizer();
    const b = new DictVectorizer();
    const Xa = a.fitTransform(train.columns);
    const Xb = b.fitTransform(train.records);
    expect(a.getFeatureNamesOut()).toEqual(b.getFeatureNamesOut());
    expect(Xa).toEqual(Xb);
    const Ta = a.transform(test.columns);
    expect(Ta).toEqual(b.transform(test.records));
    // Unseen zones are ignored: some rows have fewer than three entries.
    expect(Ta.indices.length).toBeLessThan(3 * 1000);
    expect(Ta.cols).toBe(Xa.cols);
  });

  it('keeps first-seen order with sort: false, the same from columns and records', () => {
    const { columns, records } = trips(500, 3);
    const a = new DictVectorizer({ sort: false }).fit(columns);
    const b = new DictVectorizer({ sort: false }).fit(records);
    expect(a.getFeatureNamesOut()).toEqual(b.getFeatureNamesOut());
    expect(a.getFeatureNamesOut().slice(0, 3)).toEqual([`PULocationID=${records[0]!.PULocationID}`, `DOLocationID=${records[0]!.DOLocationID}`, 'trip_distance']);
    expect(a.transform(columns)).toEqual(b.transform(records));
  });

  it('emits canonical CSR: row indices ascending, explicit zeros of numeric features kept', () => {
    const { columns } = trips(400, 4);
    const v = new DictVectorizer();
    const X = v.fitTransform(columns);
    for (let i = 0; i < X.rows; i++) {
      for (let k = X.indptr[i]! + 1; k < X.indptr[i + 1]!; k++) expect(X.indices[k]!).toBeGreaterThan(X.indices[k - 1]!);
    }
    expect(X.indptr[X.rows]).toBe(3 * 400);
    // Row 0 has trip_distance 0 (every 17th row): stored, as scikit-learn stores it.
    const distance = v.vocabulary.get('trip_distance')!;
    const row0 = Array.from(X.indices.subarray(X.indptr[0]!, X.indptr[1]!));
    expect(row0).toContain(distance);
    expect(X.data[X.indptr[0]! + row0.indexOf(distance)]).toBe(0);
  });

  it('transforms a range of rows: chunks put together give the whole matrix', () => {
    const { columns, records } = trips(1000, 6);
    const v = new DictVectorizer().fit(columns);
    const whole = dense(v.transform(columns));
    const chunks = [0, 300, 650, 1000];
    const pieces = chunks.slice(1).flatMap((end, i) => dense(v.transform(columns, { start: chunks[i]!, end })));
    expect(pieces).toEqual(whole);
    expect(v.transform(records, { start: 300, end: 650 })).toEqual(v.transform(columns, { start: 300, end: 650 }));
    expect(() => v.transform(columns, { start: 10, end: 1001 })).toThrow(/vectorize: row range 10..1001 is not within the input's 1000 rows/);
    expect(() => v.transform(columns, { start: 5, end: 5 })).toThrow(/vectorize: row range 5..5 holds no rows/);
  });

  it('uses only the categories that occur, not every label of the column', () => {
    const v = new DictVectorizer().fit({ PULocationID: categorical(Int32Array.of(264, 7)) });
    expect(v.getFeatureNamesOut()).toEqual(['PULocationID=264', 'PULocationID=7']);
  });

  it('treats null and undefined as absent keys and booleans as 1 / 0', () => {
    const v = new DictVectorizer();
    const X = v.fitTransform([{ a: 'x', n: null }, { a: undefined, n: 2, flag: true }, { flag: false }]);
    expect(v.getFeatureNamesOut()).toEqual(['a=x', 'flag', 'n']);
    expect(dense(X)).toEqual([
      [1, 0, 0],
      [0, 1, 2],
      [0, 0, 0],
    ]);
  });

  it('honours the separator option', () => {
    const v = new DictVectorizer({ separator: '_' }).fit({ PU: categorical(Int32Array.of(3)) });
    expect(v.getFeatureNamesOut()).toEqual(['PU_3']);
  });

  it('adds up colliding names (column a value b=c meets column a=b value c), as scipy sums duplicates', () => {
    const records = [{ a: 'b=c', 'a=b': 'c' }, { a: 'z', 'a=b': 'c' }];
    const columns = {
      a: { codes: Int32Array.of(0, 1), labels: ['b=c', 'z'] },
      'a=b': { codes: Int32Array.of(0, 0), labels: ['c'] },
    };
    const fromRecords = new DictVectorizer().fitTransform(records);
    const fromColumns = new DictVectorizer().fitTransform(columns);
    expect(fromColumns).toEqual(fromRecords);
    expect(dense(fromRecords)).toEqual([
      [2, 0],
      [1, 1],
    ]);
  });

  it('restores a fitted vectorizer from its feature names', () => {
    const { columns } = trips(300, 5);
    const v = new DictVectorizer().fit(columns);
    const restored = DictVectorizer.fromFeatureNames(v.getFeatureNamesOut());
    expect(restored.transform(columns)).toEqual(v.transform(columns));
    expect(() => DictVectorizer.fromFeatureNames(['a', 'b', 'a'])).toThrow(/vectorize: feature name 'a' appears twice/);
  });

  it.each([
    ['an empty list of records', (v: DictVectorizer) => v.fit([]), /vectorize: the input has no rows/],
    ['columns of length 0', (v: DictVectorizer) => v.fit({ trip_distance: new Float64Array(0) }), /vectorize: the input has no rows/],
    ['no columns at all', (v: DictVectorizer) => v.fit({}), /vectorize: no columns given/],
    ['transform before fit', (v: DictVectorizer) => v.transform([{ a: 1 }]), /vectorize: this DictVectorizer is not fitted yet/],
    ['names before fit', (v: DictVectorizer) => v.getFeatureNamesOut(), /not fitted yet/],
    [
      'columns of different lengths',
      (v: DictVectorizer) => v.fit({ a: Float64Array.of(1, 2), b: Float64Array.of(1) }),
      /vectorize: column 'b' has 1 rows but 'a' has 2/,
    ],
    [
      'a code outside its labels',
      (v: DictVectorizer) => v.fit({ a: { codes: Int32Array.of(0, 2), labels: ['x', 'y'] } }),
      /vectorize: column 'a' row 1 has code 2, outside its 2 labels/,
    ],
    [
      'a bad code in transform',
      (v: DictVectorizer) => v.fit({ a: categorical(Int32Array.of(1)) }).transform({ a: { codes: Int32Array.of(1, -1), labels: ['0', '1'] } }),
      /vectorize: column 'a' row 1 has code -1, outside its 2 labels/,
    ],
    [
      'a bad code with sort: false',
      () => new DictVectorizer({ sort: false }).fit({ a: { codes: Int32Array.of(0, 1), labels: ['x'] } }),
      /vectorize: column 'a' row 1 has code 1, outside its 1 labels/,
    ],
    ['an object value', (v: DictVectorizer) => v.fit([{ a: {} as unknown as string }]), /vectorize: record 0 has an unsupported value for 'a' \(object\)/],
    ['a column of another type', (v: DictVectorizer) => v.fit({ a: [1, 2] as unknown as Float64Array }), /vectorize: column 'a' is neither/],
  ])('rejects %s with a clear error', (_, act, message) => {
    expect(() => act(new DictVectorizer())).toThrow(message);
  });

  it('rejects an empty input to transform too', () => {
    const v = new DictVectorizer().fit([{ a: 1 }]);
    expect(() => v.transform([])).toThrow(/vectorize: the input has no rows/);
  });
});

describe('DictVectorizer.transform into reused arrays', () => {
  const train = {
    PULocationID: categorical(Int32Array.of(132, 161, 7, 132, 48)),
    DOLocationID: categorical(Int32Array.of(236, 7, 161, 48, 236)),
    trip_distance: Float64Array.of(17.6, 1.2, 0, 3.3, 250000),
  };
  // Validation rows with locations never seen in training (fewer entries per row).
  const val = {
    PULocationID: categorical(Int32Array.of(132, 999, 7, 161)),
    DOLocationID: categorical(Int32Array.of(555, 236, 161, 48)),
    trip_distance: Float64Array.of(2, 4, 8, 16),
  };
  const plain = (X: CsrMatrix) => ({ ...X, indptr: Array.from(X.indptr), indices: Array.from(X.indices), data: Array.from(X.data) });

  it.each([
    ['the training shape', train],
    ['unseen categories', val],
  ])('gives the same matrix as fresh arrays, chunk after chunk (%s)', (_name, X) => {
    const dv = new DictVectorizer().fit(train);
    // Dirty buffers: stale values must not leak into the result.
    const into = { indptr: new Int32Array(4).fill(-9), indices: new Int32Array(9).fill(-9), data: new Float64Array(9).fill(-9) };
    const rows = X.trip_distance.length;
    for (let start = 0; start < rows; start += 3) {
      const end = Math.min(rows, start + 3);
      const fresh = dv.transform(X, { start, end });
      const reused = dv.transform(X, { start, end, into });
      expect(plain(reused)).toEqual(plain(fresh));
      expect(reused.data.buffer).toBe(into.data.buffer); // really written in place
    }
  });

  it('allocates when the arrays are too small', () => {
    const dv = new DictVectorizer().fit(train);
    const into = { indptr: new Int32Array(2), indices: new Int32Array(3), data: new Float64Array(3) };
    const X = dv.transform(train, { into });
    expect(X.data.buffer).not.toBe(into.data.buffer);
    expect(plain(X)).toEqual(plain(dv.transform(train)));
  });
});
