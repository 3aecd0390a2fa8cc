/**
 * The reader's decode workers (`threads`), through the built library: a worker thread cannot
 * load the TypeScript sources, so these tests import lib/dist (npm test builds it first) and
 * check that the worker path gives exactly what the calling thread gives.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as built from '../lib/dist/index.js';
import { chunkCounts } from '../lib/dist/readRowGroup.js';
import { workersAvailable } from '../lib/dist/readPool.js';
import { readTripGroups, readTrips, writeSyntheticTrips } from '../lib/index.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
const required = ['pickup', 'dropoff', 'PULocationID', 'DOLocationID'] as const;
const files = [
  join(fixtures, 'yellow_tripdata_2024-01.pyarrow.parquet'),
  join(fixtures, 'green_tripdata_2024-02.parquet'),
  join(fixtures, 'pyarrow', 'fhv.parquet'),
  join(fixtures, 'pyarrow', 'int96-brotli.parquet'), // timestamps through hyparquet, in the worker
  join(fixtures, 'pyarrow', 'delta-int64-ids.parquet'),
];
const columns = ['pickup', 'dropoff', 'PULocationID', 'DOLocationID', 'trip_distance', 'missing'] as const;

describe('decode workers (built library)', () => {
  it('are available from lib/dist', () => {
    expect(workersAvailable()).toBe(true);
  });

  it.each(files.map((f) => [f.slice(fixtures.length), f]))('readTrips with threads 2 equals the calling thread on %s', async (_, path) => {
    const here = await readTrips(path, { required });
    const before = { ...chunkCounts };
    const there = await built.readTrips(path, { required, threads: 2 });
    // Nothing was decoded on this thread: the workers did it.
    expect(chunkCounts).toEqual(before);
    for (const key of columns) expect(Array.from(there[key]), key).toEqual(Array.from(here[key]));
    expect(there.nullCounts).toEqual(here.nullCounts);
    expect(there.absent).toEqual(here.absent);
  });

  it('readTripGroups with threads yields the groups in order, each buffer intact until the next', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'read-workers-'));
    const path = join(dir, 'groups.parquet');
    await writeSyntheticTrips(path, { month: '2024-05', rows: 9000, seed: 3, rowGroupSize: 1000, quirks: { neededNull: 0.01 } });
    const expected: number[][] = [];
    for await (const group of readTripGroups(path)) expected.push(Array.from(group.trip_distance), Array.from(group.missing));
    for (const threads of [2, 3]) {
      const seen: number[][] = [];
      const progress: number[] = [];
      for await (const group of built.readTripGroups(path, { threads, onProgress: (done) => progress.push(done) })) {
        seen.push(Array.from(group.trip_distance), Array.from(group.missing));
        await new Promise((resolve) => setTimeout(resolve, 5)); // the workers run ahead meanwhile
      }
      expect(seen, `threads ${threads}`).toEqual(expected);
      expect(progress).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
    }
  });

  it('a caller that stops early leaves the pool ready for the next read', async () => {
    for await (const group of built.readTripGroups(files[0]!, { threads: 2 })) {
      expect(group.rowStart).toBe(0);
      break;
    }
    const again = await built.readTrips(files[0]!, { threads: 2 });
    expect(again.length).toBe(5000);
  });

  it("passes a worker's read: message through unchanged", async () => {
    await expect(built.readTrips(join(fixtures, 'pyarrow', 'int64-id-out-of-range-plain.parquet'), { threads: 2 })).rejects.toThrow(
      /^read: .*int64-id-out-of-range-plain\.parquet: column PULocationID holds the zone ID 4294967301 in row group 1/,
    );
  });

  it('lets the process exit when the reading is done (idle workers hold nothing open)', () => {
    const script = `const { readTrips } = await import(${JSON.stringify(new URL('../lib/dist/index.js', import.meta.url).href)});
      const trips = await readTrips(${JSON.stringify(files[0])}, { threads: 2 });
      console.log(trips.length);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('5000');
  });

  it('refuses a bad thread count', async () => {
    await expect(built.readTrips(files[0]!, { threads: 0 })).rejects.toThrow(/^read: threads must be a positive integer or 'auto', got 0$/);
  });
});
