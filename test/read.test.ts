import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata, type FileMetaData } from 'hyparquet';
import { ByteWriter, parquetWriteFile } from 'hyparquet-writer';
// The writer's own footer encoder, to give a valid file a lying footer (test use only).
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MISSING, ReadBuffers, parquetCreatedBy, readTripGroups, readTripLayout, readTrips, writeSyntheticTrips } from '../lib/index.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
interface Expected {
  rows: number;
  rowGroups: number;
  nullCounts: Record<string, number>;
  rowsWithNulls: number;
  firstRows: { pickupMicros: number | null; dropoffMicros: number | null; PULocationID: number | null; DOLocationID: number | null; trip_distance: number | null }[];
}
const expected = JSON.parse(await readFile(join(fixtures, 'expected.json'), 'utf8')) as Record<string, Expected>;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'read-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readTrips on the committed fixtures (checked against pandas)', () => {
  it.each(Object.keys(expected))('%s', async (file) => {
    const e = expected[file]!;
    const trips = await readTrips(join(fixtures, file));
    expect(trips.length).toBe(e.rows);
    expect(trips.rowGroups).toBe(e.rowGroups);
    expect(trips.nullCounts).toEqual(e.nullCounts);
    expect(trips.missing.reduce((n, m) => n + (m === 0 ? 0 : 1), 0)).toBe(e.rowsWithNulls);
    for (const column of [trips.pickup, trips.dropoff, trips.PULocationID, trips.DOLocationID, trips.trip_distance, trips.missing]) {
      expect(column.length).toBe(e.rows);
    }
    e.firstRows.forEach((row, i) => {
      expect(trips.pickup[i]).toBe(row.pickupMicros ?? NaN);
      expect(trips.dropoff[i]).toBe(row.dropoffMicros ?? NaN);
      expect(trips.PULocationID[i]).toBe(row.PULocationID ?? -1);
      expect(trips.DOLocationID[i]).toBe(row.DOLocationID ?? -1);
      expect(trips.trip_distance[i]).toBe(row.trip_distance ?? NaN);
    });
    expect(trips.timestampColumns).toEqual(file.startsWith('green') ? ['lpep_pickup_datetime', 'lpep_dropoff_datetime'] : ['tpep_pickup_datetime', 'tpep_dropoff_datetime']);
  });

  it('reads the same values from the hyparquet-writer file and its pyarrow rewrite (page v2 vs v1, dictionaries)', async () => {
    const a = await readTrips(join(fixtures, 'yellow_tripdata_2024-01.parquet'));
    const b = await readTrips(join(fixtures, 'yellow_tripdata_2024-01.pyarrow.parquet'));
    for (const key of ['pickup', 'dropoff', 'PULocationID', 'DOLocationID', 'trip_distance', 'missing'] as const) {
      expect(b[key]).toEqual(a[key]);
    }
  });

  it('marks each null with its column bit and a sentinel value', async () => {
    const trips = await readTrips(join(fixtures, 'yellow_tripdata_2024-01.parquet'));
    for (let i = 0; i < trips.length; i++) {
      const m = trips.missing[i]!;
      expect(Number.isNaN(trips.pickup[i]!)).toBe((m & MISSING.pickup) !== 0);
      expect(Number.isNaN(trips.dropoff[i]!)).toBe((m & MISSING.dropoff) !== 0);
      expect(trips.PULocationID[i] === -1).toBe((m & MISSING.PULocationID) !== 0);
      expect(trips.DOLocationID[i] === -1).toBe((m & MISSING.DOLocationID) !== 0);
      expect(Number.isNaN(trips.trip_distance[i]!)).toBe((m & MISSING.trip_distance) !== 0);
    }
  });

  it('stops after `limit` rows', async () => {
    const all = await readTrips(join(fixtures, 'yellow_tripdata_2024-01.parquet'));
    const head = await readTrips(join(fixtures, 'yellow_tripdata_2024-01.parquet'), { limit: 2500 });
    expect(head.length).toBe(2500);
    expect(head.pickup).toEqual(all.pickup.slice(0, 2500));
    expect(head.nullCounts.pickup).toBe(Array.from(all.missing.slice(0, 2500)).filter((m) => m & MISSING.pickup).length);
  });
});

describe('readTrips progress and readTripGroups', () => {
  it('reports rows done after each row group, ending at the total', async () => {
    const path = join(dir, 'groups.parquet');
    await writeSyntheticTrips(path, { month: '2024-04', rows: 2500, seed: 7, rowGroupSize: 1000, quirks: { neededNull: 0.02 } });
    const calls: [number, number][] = [];
    const trips = await readTrips(path, { onProgress: (done, total) => calls.push([done, total]) });
    expect(trips.rowGroups).toBe(3);
    expect(calls).toEqual([[0, 2500], [1000, 2500], [2000, 2500], [2500, 2500]]);
    const cut: [number, number][] = [];
    await readTrips(path, { limit: 1500, onProgress: (done, total) => cut.push([done, total]) });
    expect(cut).toEqual([[0, 1500], [1000, 1500], [1500, 1500]]);
  });

  it.each([undefined, 1500])('yields row groups that concatenate to readTrips (limit %s)', async (limit) => {
    const path = join(dir, 'groups.parquet');
    const options = limit === undefined ? {} : { limit };
    const whole = await readTrips(path, options);
    const seen: Record<'pickup' | 'dropoff' | 'PULocationID' | 'DOLocationID' | 'trip_distance' | 'missing', number[]> = {
      pickup: [], dropoff: [], PULocationID: [], DOLocationID: [], trip_distance: [], missing: [],
    };
    let nulls = 0;
    for await (const group of readTripGroups(path, options)) {
      expect(group.rowStart).toBe(seen.pickup.length);
      expect(group.totalRows).toBe(whole.length);
      expect(group.timestampColumns).toEqual(whole.timestampColumns);
      // Copy now: the next group reuses the buffers.
      for (const key of Object.keys(seen) as (keyof typeof seen)[]) seen[key].push(...group[key]);
      nulls += group.nullCounts.trip_distance;
    }
    for (const key of Object.keys(seen) as (keyof typeof seen)[]) expect(seen[key], key).toEqual(Array.from(whole[key]));
    expect(nulls).toBe(whole.nullCounts.trip_distance);
    expect(whole.nullCounts.trip_distance).toBeGreaterThan(0); // the null path is exercised
  });

  it('fails on a bad file from the first group, with readTrips\' message', async () => {
    const path = join(dir, 'not-parquet.parquet');
    await writeFile(path, 'VendorID,tpep_pickup_datetime\n1,2024-01-01\n');
    await expect(readTripGroups(path).next()).rejects.toThrow(/^read: .*not-parquet\.parquet: not a parquet file/);
  });
});

describe('reading some row groups, and buffers reused from read to read', () => {
  let path: string;
  beforeAll(async () => {
    path = join(dir, 'three-groups.parquet');
    await writeSyntheticTrips(path, { month: '2024-04', rows: 2500, seed: 7, rowGroupSize: 1000, quirks: { neededNull: 0.02 } });
  });

  it('reads row groups start to end − 1, as the matching rows of the whole file, with limit counted from there', async () => {
    const whole = await readTrips(path);
    const middle = await readTrips(path, { rowGroups: [1, 3] });
    expect(middle.length).toBe(1500);
    expect(middle.rowGroups).toBe(2);
    for (const key of ['pickup', 'dropoff', 'PULocationID', 'DOLocationID', 'trip_distance', 'missing'] as const) {
      expect(Array.from(middle[key]), key).toEqual(Array.from(whole[key].subarray(1000)));
    }
    const cut = await readTrips(path, { rowGroups: [1, 3], limit: 1200 });
    expect(Array.from(cut.pickup)).toEqual(Array.from(whole.pickup.subarray(1000, 2200)));
    const calls: [number, number][] = [];
    const groups = [];
    for await (const group of readTripGroups(path, { rowGroups: [1, 3], onProgress: (done, total) => calls.push([done, total]) })) {
      groups.push([group.rowStart, group.length, group.totalRows, group.pickup[0]]);
    }
    expect(groups).toEqual([[1000, 1000, 1500, whole.pickup[1000]], [2000, 500, 1500, whole.pickup[2000]]]);
    expect(calls).toEqual([[0, 1500], [1000, 1500], [1500, 1500]]);
    expect((await readTrips(path, { rowGroups: [2, 2] })).length).toBe(0);
  });

  it.each([[[2, 1]], [[0, 4]], [[-1, 1]], [[0.5, 1]]])('refuses rowGroups %j, naming the file\'s row groups', async (range) => {
    await expect(readTrips(path, { rowGroups: range as [number, number] })).rejects.toThrow(
      /^read: .*three-groups\.parquet: rowGroups must be \[start, end\) with 0 ≤ start ≤ end ≤ 3 \(the file's row groups\), got /,
    );
  });

  it('reuses one set of buffers across reads (and a chunk buffer), with the same values as fresh reads', async () => {
    const other = join(dir, 'other-groups.parquet');
    await writeSyntheticTrips(other, { month: '2024-05', rows: 1800, seed: 8, rowGroupSize: 900, quirks: { neededNull: 0.05 } });
    const buffers = new ReadBuffers();
    const seen = new Set<ArrayBufferLike>();
    // The smaller groups first: a later read needs larger buffers than the kept set, which must not be reused.
    for (const file of [other, path, other, path]) {
      const layout = await readTripLayout(file);
      for (let g = 0; g < layout.rowGroups; g++) {
        const fresh = (await readTrips(file, { rowGroups: [g, g + 1] }));
        for await (const group of readTripGroups(file, { rowGroups: [g, g + 1], buffers })) {
          seen.add(group.pickup.buffer);
          for (const key of ['pickup', 'dropoff', 'PULocationID', 'DOLocationID', 'trip_distance', 'missing'] as const) {
            expect(Array.from(group[key]), `${file} ${g} ${key}`).toEqual(Array.from(fresh[key]));
          }
        }
      }
    }
    // Two sets in all: the small one, then a large one that served every later read of both files.
    expect(seen.size).toBe(2);
    expect(buffers.chunkBytes(10)).toBe(buffers.chunkBytes(100));
  });
});

describe('readTrips on generated variants', () => {
  // Each variant of the same seed holds the same trips, so every reading must equal the default one.
  const variants = [
    { compression: 'SNAPPY', rowGroupSize: 333 },
    { compression: 'GZIP', locationIdType: 'INT64' },
    { compression: 'UNCOMPRESSED', timestampUnit: 'NANOS' },
    { compression: 'ZSTD', rowGroupSize: 1 << 20 },
  ] as const;
  it.each(variants)('%o', async (variant) => {
    const base = join(dir, 'base.parquet');
    const other = join(dir, `variant-${variant.compression}.parquet`);
    await writeSyntheticTrips(base, { month: '2024-03', rows: 1200, seed: 42, quirks: { neededNull: 0.02 } });
    await writeSyntheticTrips(other, { month: '2024-03', rows: 1200, seed: 42, quirks: { neededNull: 0.02 }, ...variant });
    const a = await readTrips(base);
    const b = await readTrips(other);
    expect(b.length).toBe(1200);
    for (const key of ['pickup', 'dropoff', 'PULocationID', 'DOLocationID', 'trip_distance', 'missing'] as const) {
      expect(b[key]).toEqual(a[key]);
    }
  });

  it('floors nanosecond timestamps to microseconds exactly, before and after 1970', async () => {
    const path = join(dir, 'nanos.parquet');
    const ns = [1704067200123456789n, -1n, -1001n, 999n, 1704067200000000000n];
    parquetWriteFile({
      filename: path,
      columnData: [
        { name: 'tpep_pickup_datetime', data: ns },
        { name: 'tpep_dropoff_datetime', data: ns },
        { name: 'PULocationID', data: Int32Array.from([1, 2, 3, 4, 5]) },
        { name: 'DOLocationID', data: Int32Array.from([1, 2, 3, 4, 5]) },
        { name: 'trip_distance', data: Float64Array.from([1, 2, 3, 4, 5]) },
      ],
      schema: [
        { name: 'schema', num_children: 5 },
        { name: 'tpep_pickup_datetime', type: 'INT64', repetition_type: 'REQUIRED', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'NANOS' } },
        { name: 'tpep_dropoff_datetime', type: 'INT64', repetition_type: 'REQUIRED', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'NANOS' } },
        { name: 'PULocationID', type: 'INT32', repetition_type: 'REQUIRED' },
        { name: 'DOLocationID', type: 'INT32', repetition_type: 'REQUIRED' },
        { name: 'trip_distance', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      ],
    });
    const trips = await readTrips(path);
    expect(Array.from(trips.pickup)).toEqual([1704067200123456, -1, -2, 0, 1704067200000000]);
    expect(trips.nullCounts).toEqual({ pickup: 0, dropoff: 0, PULocationID: 0, DOLocationID: 0, trip_distance: 0 });
  });
});

describe('readTrips errors name the file, the problem and the fix', () => {
  const fiveColumns = (overrides: Record<string, { data: unknown[]; type: string }> = {}, drop: string[] = []) => {
    const columns: Record<string, { data: unknown[]; type: string }> = {
      tpep_pickup_datetime: { data: [new Date('2024-01-01T00:00:00Z')], type: 'TIMESTAMP' },
      tpep_dropoff_datetime: { data: [new Date('2024-01-01T00:10:00Z')], type: 'TIMESTAMP' },
      PULocationID: { data: [1], type: 'INT32' },
      DOLocationID: { data: [2], type: 'INT32' },
      trip_distance: { data: [1.5], type: 'DOUBLE' },
      ...overrides,
    };
    return Object.entries(columns)
      .filter(([name]) => !drop.includes(name))
      .map(([name, c]) => ({ name, data: c.data, type: c.type as 'INT32' }));
  };

  it('reads a minimal file with REQUIRED-less default columns and millisecond timestamps', async () => {
    const path = join(dir, 'minimal.parquet');
    parquetWriteFile({ filename: path, columnData: fiveColumns() });
    const trips = await readTrips(path);
    expect(Array.from(trips.pickup)).toEqual([Date.UTC(2024, 0, 1) * 1000]);
    expect((trips.dropoff[0]! - trips.pickup[0]!) / 60e6).toBe(10);
  });

  const cases: [string, () => Promise<string>, RegExp][] = [
    ['a missing file', async () => join(dir, 'nope.parquet'), /read: .*nope\.parquet: no such file; check the path/],
    ['an empty file', async () => { const p = join(dir, 'empty.parquet'); await writeFile(p, ''); return p; }, /read: .*empty\.parquet: the file is empty \(0 bytes\).*fetch again/],
    ['a CSV file', async () => { const p = join(dir, 'trips.csv'); await writeFile(p, 'VendorID,tpep_pickup_datetime\n1,2024-01-01\n'); return p; }, /read: .*trips\.csv: not a parquet file/],
    ['a file cut in half', async () => {
      const bytes = await readFile(join(fixtures, 'yellow_tripdata_2024-01.parquet'));
      const p = join(dir, 'half.parquet');
      await writeFile(p, bytes.subarray(0, bytes.length >> 1));
      return p;
    }, /read: .*half\.parquet: the file is truncated .*fetch yellow_tripdata_2024-01|half\.parquet: the file is truncated/],
    ['a file missing its last byte', async () => {
      const bytes = await readFile(join(fixtures, 'yellow_tripdata_2024-01.parquet'));
      const p = join(dir, 'short.parquet');
      await writeFile(p, bytes.subarray(0, bytes.length - 1));
      return p;
    }, /read: .*short\.parquet: the file is truncated/],
    ['a file without PULocationID', async () => {
      const p = join(dir, 'no-pu.parquet');
      parquetWriteFile({ filename: p, columnData: fiveColumns({}, ['PULocationID']) });
      return p;
    }, /read: .*no-pu\.parquet: missing column PULocationID \(pickup zone\) of a yellow taxi file; it has: tpep_pickup_datetime, tpep_dropoff_datetime, DOLocationID, trip_distance$/],
    ['a file without timestamps', async () => {
      const p = join(dir, 'fhv.parquet');
      parquetWriteFile({ filename: p, columnData: fiveColumns({}, ['tpep_pickup_datetime', 'tpep_dropoff_datetime']) });
      return p;
    }, /missing the pickup time: none of tpep_pickup_datetime \(yellow taxis\), lpep_pickup_datetime \(green taxis\) or pickup_datetime \(FHV, high-volume FHV\); it has: PULocationID, DOLocationID, trip_distance\. Is this a TLC trip file\?$/],
    ['string location IDs', async () => {
      const p = join(dir, 'string-ids.parquet');
      parquetWriteFile({ filename: p, columnData: fiveColumns({ PULocationID: { data: ['132'], type: 'STRING' } }) });
      return p;
    }, /read: .*string-ids\.parquet: column PULocationID is BYTE_ARRAY \(UTF8\); expected INT32 or INT64 taxi-zone IDs/],
    ['string timestamps', async () => {
      const p = join(dir, 'string-times.parquet');
      parquetWriteFile({ filename: p, columnData: fiveColumns({ tpep_pickup_datetime: { data: ['2024-01-01 00:00:00'], type: 'STRING' } }) });
      return p;
    }, /column tpep_pickup_datetime is BYTE_ARRAY \(UTF8\); expected an INT64 TIMESTAMP/],
    ['an integer trip_distance', async () => {
      const p = join(dir, 'int-distance.parquet');
      parquetWriteFile({ filename: p, columnData: fiveColumns({ trip_distance: { data: [2], type: 'INT32' } }) });
      return p;
    }, /column trip_distance is INT32; expected DOUBLE/],
    ['a directory', async () => dir, /is a directory, not a parquet file/],
  ];
  it.each(cases)('%s', async (_, make, message) => {
    const path = await make();
    await expect(readTrips(path)).rejects.toThrow(message);
  });

  it('a missing file gets a hint that fits both the library and the command line', async () => {
    const error = await readTrips(join(dir, 'nope.parquet')).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    const { message } = error as Error;
    expect(message).toMatch(/^read: .*nope\.parquet: no such file; check the path \(a month such as 2024-01 or a URL is downloaded first: by fetchTrips in code, by --train\/--val on the command line\)$/);
    expect(message).not.toContain("fetchTrips('");
  });

  it('a corrupted page names the column and says to fetch again', async () => {
    const bytes = new Uint8Array(await readFile(join(fixtures, 'yellow_tripdata_2022-06.parquet')));
    // Overwrite the middle of the data (column chunks), leaving the footer intact.
    bytes.fill(0xff, 4, bytes.length >> 1);
    const p = join(dir, 'corrupt.parquet');
    await writeFile(p, bytes);
    await expect(readTrips(p)).rejects.toThrow(/read: .*corrupt\.parquet: cannot decode column tpep_pickup_datetime .*fetch it again/);
  });
});

describe('parquetCreatedBy', () => {
  it('names the program that wrote the file, from the footer alone', async () => {
    expect(await parquetCreatedBy(join(fixtures, 'yellow_tripdata_2024-01.parquet'))).toBe('taxi-duration synthetic (TLC-shaped)');
    expect(await parquetCreatedBy(join(fixtures, 'yellow_tripdata_2024-01.pyarrow.parquet'))).toMatch(/^parquet-cpp-arrow version /);
  });

  it("fails as readTrips does on a file that is not parquet", async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'created-by-')), 'page.parquet');
    await writeFile(path, '<!DOCTYPE html><html></html>');
    await expect(parquetCreatedBy(path)).rejects.toThrow(/^read: .*page\.parquet: not a parquet file/);
  });
});

describe('limits are checked before anything is allocated', () => {
  /** A copy of `source` whose footer is `mutate`d (re-encoded by hyparquet-writer's own footer writer). */
  async function withFooter(source: string, name: string, mutate: (metadata: FileMetaData) => void): Promise<string> {
    const bytes = new Uint8Array(await readFile(source));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const footerLength = view.getUint32(bytes.length - 8, true);
    const metadata = parquetMetadata(bytes.slice(bytes.length - 8 - footerLength).buffer);
    mutate(metadata);
    const writer = new ByteWriter();
    writeMetadata(writer, metadata as Parameters<typeof writeMetadata>[1]);
    const footer = new Uint8Array(writer.getBuffer());
    const out = new Uint8Array(bytes.length - 8 - footerLength + footer.length + 8);
    out.set(bytes.subarray(0, bytes.length - 8 - footerLength));
    out.set(footer, bytes.length - 8 - footerLength);
    const tail = new DataView(out.buffer, out.length - 8, 8);
    tail.setUint32(0, footer.length, true);
    out.set([0x50, 0x41, 0x52, 0x31], out.length - 4);
    const path = join(dir, name);
    await writeFile(path, out);
    return path;
  }
  const small = join(fixtures, 'yellow_tripdata_2022-06.parquet');

  it('reads a footer rewritten unchanged (the helper itself is sound)', async () => {
    const path = await withFooter(small, 'same.parquet', () => {});
    expect((await readTrips(path)).length).toBe(800);
  });

  it.each([
    ['a negative row count', (m: FileMetaData) => (m.num_rows = -5n), /^read: .*: the footer claims -5 rows; the file is corrupt, delete it and fetch /],
    ['1.5 billion rows in a small file', (m: FileMetaData) => (m.num_rows = 1_500_000_000n), /^read: .*: the footer claims 1,500,000,000 rows in a file of [\d,]+ bytes, more than parquet can pack in it \(at most [\d,]+\); the file is corrupt/],
    ['row groups that do not add up', (m: FileMetaData) => (m.num_rows = 801n), /^read: .*: the footer announces 801 rows but its row groups hold 800; the file is corrupt/],
    ['a negative row group', (m: FileMetaData) => { m.row_groups[0]!.num_rows = -1n; }, /^read: .*: row group 0 claims -1 rows; the file is corrupt/],
  ])('refuses %s', async (_, mutate, message) => {
    const path = await withFooter(small, 'lying.parquet', mutate);
    const rss = process.memoryUsage().rss;
    await expect(readTrips(path)).rejects.toThrow(message);
    await expect(readTripLayout(path)).rejects.toThrow(message);
    expect(process.memoryUsage().rss - rss).toBeLessThan(200e6); // nothing the size of the claim was allocated
  });

  it('refuses a page header that claims more values than its row group holds, before decoding it', async () => {
    // A row group claiming fewer rows than its pages hold: the first page overflows it.
    const path = await withFooter(small, 'short-group.parquet', (m) => {
      m.num_rows = 10n;
      m.row_groups[0]!.num_rows = 10n;
    });
    await expect(readTrips(path)).rejects.toThrow(/^read: .*: cannot decode column tpep_pickup_datetime in row group 0 \(a page holds 800 values but only 10 rows remain in the column chunk\); the file may be corrupt/);
  });
});
