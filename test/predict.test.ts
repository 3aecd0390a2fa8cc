/**
 * predict.ts and jsonRecords.ts: predictions for trip columns and JSON records from one model,
 * bit for bit the same by every path, with unseen zones flagged; JSON input read in batches
 * from any chunking, with the record and line of a fault named.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  categorical,
  cleanTrips,
  JsonRecordsError,
  PAIR_FEATURES,
  PredictBuffers,
  predictFeatureChunks,
  predictRecordBatches,
  predictRecords,
  predictTrips,
  readJsonRecords,
  readTrips,
  RecordError,
  unseenFeatures,
  writeSyntheticTrips,
  type LoadedModel,
  type Trips,
} from '../lib/index.js';
import { fitModel } from './predictModel.js';

let dir: string;
let saved: LoadedModel;
let pairs: LoadedModel;
let zonesOnly: LoadedModel;
let trips: Trips;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-predict-'));
  ({ saved } = await fitModel(dir, 'course.json'));
  ({ saved: pairs } = await fitModel(dir, 'pairs.json', { features: PAIR_FEATURES }));
  ({ saved: zonesOnly } = await fitModel(dir, 'zones.json', { features: { categorical: ['PULocationID'], numerical: [] } }));
  // Another month, with nulls in needed columns (about 1% of rows), as a parquet file has.
  const path = join(dir, 'predict.parquet');
  await writeSyntheticTrips(path, { month: '2024-03', rows: 3000, seed: 12, quirks: { neededNull: 0.01 } });
  trips = await readTrips(path);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The records of the complete rows of read trips, as a client would send them (IDs as numbers or strings). */
function recordsOf(t: Trips): { records: Record<string, unknown>[]; rows: number[] } {
  const records: Record<string, unknown>[] = [];
  const rows: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t.PULocationID[i]! < 0 || t.DOLocationID[i]! < 0 || Number.isNaN(t.trip_distance[i]!)) continue;
    records.push({ PULocationID: i % 2 ? t.PULocationID[i] : String(t.PULocationID[i]), DOLocationID: t.DOLocationID[i], trip_distance: t.trip_distance[i], fare_amount: 9 });
    rows.push(i);
  }
  return { records, rows };
}

/** By hand from the model file's parameters: intercept + one-hot coefficients + distance × its coefficient. */
function byHand(model: LoadedModel, record: { PULocationID: unknown; DOLocationID: unknown; trip_distance: number }): number {
  const names = model.vectorizer.getFeatureNamesOut();
  const coef = (name: string): number => {
    const i = names.indexOf(name);
    return i < 0 ? 0 : model.model.coef[i]!;
  };
  return model.model.intercept + coef(`PULocationID=${record.PULocationID}`) + coef(`DOLocationID=${record.DOLocationID}`) + record.trip_distance * coef('trip_distance');
}

describe('predictTrips and predictRecords', () => {
  it('give the same numbers bit for bit for a file’s rows and the same trips as records, NaN where a needed value is null', () => {
    const fromTrips = predictTrips(saved, trips);
    const { records, rows } = recordsOf(trips);
    const fromRecords = predictRecords(saved, records);
    expect(fromTrips.duration).toHaveLength(trips.length);
    expect(fromTrips.incomplete).toBe(trips.length - rows.length);
    expect(fromTrips.incomplete).toBeGreaterThan(5);
    rows.forEach((row, j) => {
      expect(Object.is(fromTrips.duration[row], fromRecords.duration[j]), `row ${row}`).toBe(true);
      expect(fromTrips.unseen[row]).toBe(fromRecords.unseen[j]);
    });
    let nan = 0;
    fromTrips.duration.forEach((d) => (nan += Number.isNaN(d) ? 1 : 0));
    expect(nan).toBe(fromTrips.incomplete);
    // And they are the model's numbers: close to the sum by hand (summation order aside).
    expect(fromRecords.duration[0]).toBeCloseTo(byHand(saved, records[0] as never), 9);
  });

  it('equal the model on cleaned columns exactly, across its 262,144-row chunks', () => {
    const clean = cleanTrips(trips);
    // Tile the cleaned columns past two chunks, to cross chunk boundaries.
    const times = Math.ceil(600_000 / clean.length);
    const n = clean.length * times;
    const tile = <T extends Int32Array | Float64Array>(a: T, make: new (n: number) => T): T => {
      const out = new make(n);
      for (let k = 0; k < times; k++) out.set(a, k * a.length);
      return out;
    };
    const features = {
      PULocationID: { codes: tile(clean.features.PULocationID.codes, Int32Array), labels: clean.features.PULocationID.labels },
      DOLocationID: { codes: tile(clean.features.DOLocationID.codes, Int32Array), labels: clean.features.DOLocationID.labels },
      trip_distance: tile(clean.features.trip_distance, Float64Array),
    };
    const got = predictTrips(saved, features);
    const expected = saved.model.predict(saved.vectorizer.transform(features));
    expect(got.duration).toHaveLength(n);
    expect(got.incomplete).toBe(0);
    expect(Buffer.from(got.duration.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });

  it('ignore unseen zones as scikit-learn does, and say which features were unseen', () => {
    const seen = saved.vectorizer.getFeatureNamesOut().find((n) => n.startsWith('DOLocationID='))!.split('=')[1]!;
    const records = [
      { PULocationID: '99999', DOLocationID: seen, trip_distance: 3 },
      { PULocationID: 99998, DOLocationID: '88888', trip_distance: 3 },
      { PULocationID: 99998, DOLocationID: seen, trip_distance: 3 },
    ];
    const p = predictRecords(saved, records);
    expect(unseenFeatures(saved.features, p.unseen[0]!)).toEqual(['PULocationID']);
    expect(unseenFeatures(saved.features, p.unseen[1]!)).toEqual(['PULocationID', 'DOLocationID']);
    expect(p.duration[0]).toBeCloseTo(byHand(saved, records[0]!), 9);
    // An unseen zone contributes nothing: the same number whichever unseen zone it is.
    expect(Object.is(p.duration[0], p.duration[2])).toBe(true);
    // Columns flag them the same way.
    const columns = predictTrips(saved, {
      PULocationID: categorical(Int32Array.of(99999, 99998)),
      DOLocationID: categorical(Int32Array.of(Number(seen), 88888)),
      trip_distance: Float64Array.of(3, 3),
    });
    expect(Array.from(columns.unseen)).toEqual([p.unseen[0], p.unseen[1]]);
    expect(Object.is(columns.duration[0], p.duration[0])).toBe(true);
  });

  it('follow the model’s own feature set: the PU_DO pair, or zones alone (no feature name is built in)', () => {
    const { records, rows } = recordsOf(trips);
    const fromTrips = predictTrips(pairs, trips);
    const fromRecords = predictRecords(pairs, records);
    rows.forEach((row, j) => expect(Object.is(fromTrips.duration[row], fromRecords.duration[j])).toBe(true));
    // Against the vectorizer fed the course's PU_DO records directly.
    const direct = pairs.model.predict(pairs.vectorizer.transform(records.slice(0, 50).map((r) => ({ PU_DO: `${r.PULocationID}_${r.DOLocationID}`, trip_distance: r.trip_distance as number }))));
    expect(Array.from(fromRecords.duration.slice(0, 50))).toEqual(Array.from(direct));
    expect(unseenFeatures(pairs.features, predictRecords(pairs, [{ PULocationID: 1, DOLocationID: 99999, trip_distance: 1 }]).unseen[0]!)).toEqual(['PU_DO']);
    // A zones-only model needs no distance and no dropoff: rows missing only those are predicted.
    const z = predictTrips(zonesOnly, trips);
    let predicted = 0;
    for (let i = 0; i < trips.length; i++) {
      if (trips.PULocationID[i]! >= 0) {
        expect(Number.isNaN(z.duration[i]!), `row ${i}`).toBe(false);
        predicted++;
      } else expect(Number.isNaN(z.duration[i]!)).toBe(true);
    }
    expect(predicted).toBeGreaterThan(rows.length);
    expect(predictRecords(zonesOnly, [{ PULocationID: 161 }]).duration).toHaveLength(1);
  });

  it.each([
    [[42], 0, undefined, /^predict: record 1 is a JSON number, not a JSON object$/],
    [[{ PULocationID: 1, DOLocationID: 2, trip_distance: 1 }, null], 1, undefined, /^predict: record 2 is null, not a JSON object$/],
    [[{ PULocationID: 1, DOLocationID: 2, trip_distance: 1 }, [1, 2]], 1, undefined, /^predict: record 2 is a JSON array/],
    [[{ PULocationID: 1, trip_distance: 1 }], 0, 'DOLocationID', /^predict: record 1: DOLocationID must be a zone ID \(a string or an integer\), got nothing \(the field is missing\)$/],
    [[{ PULocationID: 1.5, DOLocationID: 2, trip_distance: 1 }], 0, 'PULocationID', /PULocationID must be a zone ID .*got 1\.5$/],
    [[{ PULocationID: 1, DOLocationID: 2, trip_distance: '1' }], 0, 'trip_distance', /trip_distance must be a finite number, got "1"$/],
    [[{ PULocationID: 1, DOLocationID: 2, trip_distance: Infinity }], 0, 'trip_distance', /trip_distance must be a finite number, got Infinity$/],
    [[{ PULocationID: 1, DOLocationID: 2, trip_distance: NaN }], 0, 'trip_distance', /got NaN$/],
    [[{ PULocationID: true, DOLocationID: 2, trip_distance: 1 }], 0, 'PULocationID', /got true$/],
  ])('refuse %j naming record %i and field %s', (records, index, field, message) => {
    let error: unknown;
    try {
      predictRecords(saved, records);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RecordError);
    expect((error as RecordError).index).toBe(index);
    expect((error as RecordError).field).toBe(field);
    expect((error as Error).message).toMatch(message);
  });
});

/** Feeds text to readJsonRecords in pieces of `size` bytes. */
async function read(text: string | Buffer, size = Infinity, options = {}): Promise<{ records: unknown[]; lines: number[]; shape: string | undefined; batches: number }> {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  async function* pieces() {
    const step = Math.min(size, Math.max(1, bytes.length));
    for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, i + step);
  }
  const records: unknown[] = [];
  const lines: number[] = [];
  let shape: string | undefined;
  let batches = 0;
  for await (const batch of readJsonRecords(pieces(), options)) {
    expect(batch.first).toBe(records.length);
    records.push(...batch.records);
    if (batch.lines) lines.push(...batch.lines);
    shape = batch.shape;
    batches++;
  }
  return { records, lines, shape, batches };
}

describe('readJsonRecords', () => {
  const a = { PULocationID: 161, DOLocationID: '236', trip_distance: 2.1 };
  const b = { PULocationID: '43', DOLocationID: 238, trip_distance: 0.9, note: 'é ✓' };

  it.each([
    ['a JSON array', JSON.stringify([a, b]), 'array', []],
    ['a pretty-printed array', JSON.stringify([a, b], null, 2), 'array', []],
    ['JSON Lines', `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`, 'lines', [1, 2]],
    ['JSON Lines with CRLF, blank lines, a BOM and no final newline', `\uFEFF\r\n${JSON.stringify(a)}\r\n\r\n  ${JSON.stringify(b)}  `, 'lines', [2, 4]],
    ['a pretty-printed object and another', `${JSON.stringify(a, null, 2)}\n${JSON.stringify(b, null, 1)}`, 'documents', []],
  ])('reads %s, however the bytes are cut', async (_name, text, shape, lines) => {
    for (const size of [Infinity, 1, 2, 3, 7, 64]) {
      const r = await read(text, size);
      expect(r.records, `pieces of ${size}`).toEqual([a, b]);
      expect(r.shape).toBe(shape);
      expect(r.lines).toEqual(lines);
    }
  });

  it('one pretty-printed object is one record', async () => {
    expect((await read(JSON.stringify(a, null, 2), 5)).records).toEqual([a]);
  });

  it('yields nothing for blank input and one empty batch for an empty array', async () => {
    expect(await read('')).toMatchObject({ records: [], batches: 0 });
    expect(await read(' \n\r\n ')).toMatchObject({ records: [], batches: 0 });
    expect(await read(' [ ] ')).toMatchObject({ records: [], batches: 1, shape: 'array' });
  });

  it('hands out batches of batchSize, numbered from the input’s start', async () => {
    const text = Array.from({ length: 25 }, (_, i) => JSON.stringify({ i })).join('\n');
    const r = await read(text, 16, { batchSize: 10 });
    expect(r.records).toEqual(Array.from({ length: 25 }, (_, i) => ({ i })));
    expect(r.batches).toBeGreaterThanOrEqual(3);
    const arr = await read(JSON.stringify(r.records), 16, { batchSize: 10 });
    expect(arr.records).toEqual(r.records);
    expect(arr.batches).toBeGreaterThanOrEqual(3);
  });

  it.each(['lines', 'array'] as const)('streams (%s): the first batch comes before the input ends, and stopping stops reading', async (shape) => {
    let produced = 0;
    async function* endless() {
      if (shape === 'array') yield Buffer.from('[');
      for (;;) {
        produced++;
        const line = JSON.stringify(a) + (shape === 'array' ? ',' : '\n');
        yield Buffer.from(line.repeat(100));
      }
    }
    for await (const batch of readJsonRecords(endless(), { batchSize: 1000 })) {
      expect(batch.records.length).toBeGreaterThanOrEqual(1000);
      break;
    }
    // About 10 pieces of 100 records were read for the first 1,000, not the endless rest.
    expect(produced).toBeLessThan(20);
  });

  it.each([
    ['{"a":1}\n\n{"a":2}\n{"a":', 'syntax', /^records: line 4 is not JSON \(.+\)$/],
    ['{"a":1}\n{"a" 2}\n', 'syntax', /^records: line 2 is not JSON/],
    ['[{"a":1}, {"a" 2}]', 'syntax', /^records: the JSON array is broken on line 1 \(expected ':'\)$/],
    ['\n[\n{"a":1},\n', 'syntax', /^records: the JSON array is broken on line 4 \(expected a value\)$/],
    ['[{"a":1}] x', 'syntax', /^records: the JSON array is broken on line 1 \(unexpected characters\)$/],
    ['[\n{"a":1},\nNaN]', 'syntax', /^records: the JSON array is broken on line 3 /],
    ['{\n  "a": 1\n  "b": 2\n}', 'syntax', /^records: the JSON text is broken on line 3 \(expected ','\)$/],
  ])('names the fault in %j, however the bytes are cut', async (text, kind, message) => {
    for (const size of [Infinity, 1, 5]) {
      const error = await read(text, size).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JsonRecordsError);
      expect((error as JsonRecordsError).kind).toBe(kind);
      expect((error as Error).message, `pieces of ${size}`).toMatch(message);
    }
  });

  it('refuses input past its limits before reading the rest', async () => {
    const lines = Array.from({ length: 10 }, () => JSON.stringify(a)).join('\n');
    await expect(read(lines, 8, { maxRecords: 9 })).rejects.toMatchObject({ kind: 'tooMany', message: 'records: more than 9 records; the limit is 9' });
    await expect(read(JSON.stringify(Array(10).fill(a)), 8, { maxRecords: 9 })).rejects.toMatchObject({ kind: 'tooMany' });
    expect((await read(lines, 8, { maxRecords: 10 })).records).toHaveLength(10);
    await expect(read(lines, 8, { maxBytes: 100 })).rejects.toMatchObject({ kind: 'tooLarge', message: /larger than 100 bytes/ });
    await expect(read(`${JSON.stringify(a)}\n{"x":"${'y'.repeat(300)}"}\n`, 16, { maxLineBytes: 200 })).rejects.toMatchObject({
      kind: 'tooLarge',
      message: /line 2 is longer than 200 bytes/,
    });
  });

  it('reads a stream as JSON Lines when told (an NDJSON upload), even if it starts with [', async () => {
    const r = await read('[1]\n[2]\n', Infinity, { shape: 'lines' });
    expect(r.records).toEqual([[1], [2]]);
    expect(r.shape).toBe('lines');
  });

  it('predictRecordBatches names the line of a bad JSON Lines record', async () => {
    const text = `${JSON.stringify(a)}\n\n${JSON.stringify({ PULocationID: 1, trip_distance: 2 })}\n`;
    async function* pieces() {
      yield Buffer.from(text);
    }
    const error = await (async () => {
      for await (const _ of predictRecordBatches(saved, readJsonRecords(pieces()))) void _;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordError);
    expect((error as RecordError).line).toBe(3);
    expect((error as Error).message).toMatch(/^predict: record 2 \(line 3\): DOLocationID must be/);
  });
});

describe('predictFeatureChunks (predictTrips a chunk at a time)', () => {
  it('gives predictTrips\' numbers bit for bit, whatever the chunk size, with buffers reused across calls', () => {
    const clean = cleanTrips(trips);
    const buffers = new PredictBuffers();
    for (const model of [saved, pairs, zonesOnly]) {
      const whole = predictTrips(model, clean.features).duration;
      for (const chunkRows of [1, 7, 1000, 1_000_000]) {
        const got = new Float64Array(clean.length);
        let next = 0;
        for (const { start, end, predicted } of predictFeatureChunks(model, clean.features, { chunkRows, buffers })) {
          expect(start).toBe(next);
          expect(predicted).toHaveLength(end - start);
          got.set(predicted, start);
          next = end;
        }
        expect(next).toBe(clean.length);
        expect(Array.from(got)).toEqual(Array.from(whole));
      }
    }
    expect([...predictFeatureChunks(saved, { PULocationID: new Int32Array(0), DOLocationID: new Int32Array(0), trip_distance: new Float64Array(0) })]).toEqual([]);
  });
});
