import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkDataset,
  checkTripMonth,
  DATASET_MONTHS,
  DATASETS,
  fetchTrips,
  parseMonth,
  readTrips,
  tripDataFileName,
  tripDataUrl,
  tripLayoutOf,
  tripMonthProblem,
  TRIP_COLUMN_NAMES,
} from '../lib/index.js';

describe('months and file names of the four datasets', () => {
  it.each([
    ['yellow', '2024-01', 'yellow_tripdata_2024-01.parquet'],
    ['green', '2013-08', 'green_tripdata_2013-08.parquet'],
    ['fhv', '2017-01', 'fhv_tripdata_2017-01.parquet'],
    ['fhvhv', '2019-02', 'fhvhv_tripdata_2019-02.parquet'],
    ['yellow', '2011-01', 'yellow_tripdata_2011-01.parquet'],
  ] as const)('%s %s is %s', (dataset, month, name) => {
    expect(tripDataFileName(dataset, month)).toBe(name);
    expect(tripDataUrl(dataset, month, { baseUrl: 'http://127.0.0.1:9/x/' })).toBe(`http://127.0.0.1:9/x/${name}`);
    expect(tripMonthProblem(dataset, month)).toBeUndefined();
  });

  // Each dataset's first usable month is accepted and the month before it refused with the reason.
  it.each(DATASETS.map((d) => [d]))('%s: the first usable month and the one before', (dataset) => {
    const { usableFrom } = DATASET_MONTHS[dataset];
    expect(checkTripMonth(dataset, usableFrom)).toBe(usableFrom);
    const [y, m] = usableFrom.split('-').map(Number) as [number, number];
    const before = m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
    expect(() => checkTripMonth(dataset, before)).toThrow(new RegExp(`^source: ${dataset} ${before}: `));
  });

  it.each([
    ['yellow', '2009-01', /^source: yellow 2009-01: TLC's yellow taxi files before 2011-01 record pickup and dropoff coordinates \(longitude\/latitude\), not the taxi-zone IDs \(PULocationID, DOLocationID\) the course's features need; choose a month from 2011-01 on$/],
    ['yellow', '2010-12', /coordinates .*choose a month from 2011-01 on$/],
    ['green', '2013-07', /^source: green 2013-07: TLC's green taxi records start in 2013-08; there is no green month 2013-07$/],
    ['fhv', '2016-06', /^source: fhv 2016-06: TLC's for-hire vehicle records before 2017-01 hold a pickup time and zone but no dropoff time, so no trip duration; choose a month from 2017-01 on$/],
    ['fhv', '2014-12', /there is no fhv month 2014-12$/],
    ['fhvhv', '2019-01', /^source: fhvhv 2019-01: TLC's high-volume for-hire vehicle records start in 2019-02/],
  ] as const)('refuses %s %s with the reason', (dataset, month, message) => {
    expect(() => tripDataFileName(dataset, month)).toThrow(message);
  });

  it('keeps the month format check and names the four datasets', () => {
    expect(parseMonth('2099-12')).toBe('2099-12');
    for (const bad of ['2024-13', '2024-1', '2008-12', '24-01', '']) expect(() => parseMonth(bad)).toThrow(/^source: month ".*" is not a month like 2024-01/);
    expect(checkDataset('fhvhv')).toBe('fhvhv');
    expect(() => checkDataset('blue')).toThrow(/^source: color must be 'yellow', 'green', 'fhv' or 'fhvhv', got "blue"$/);
  });
});

describe('tripLayoutOf: TLC column history', () => {
  const tlc2024 = ['VendorID', 'tpep_pickup_datetime', 'tpep_dropoff_datetime', 'passenger_count', 'trip_distance', 'RatecodeID', 'store_and_fwd_flag', 'PULocationID', 'DOLocationID', 'payment_type', 'Airport_fee'];
  it.each([
    ['yellow 2024', tlc2024, 'yellow', TRIP_COLUMN_NAMES.yellow],
    ['green', ['VendorID', 'lpep_pickup_datetime', 'lpep_dropoff_datetime', 'PULocationID', 'DOLocationID', 'trip_distance', 'trip_type'], 'green', TRIP_COLUMN_NAMES.green],
    ['fhv', ['dispatching_base_num', 'pickup_datetime', 'dropOff_datetime', 'PUlocationID', 'DOlocationID', 'SR_Flag', 'Affiliated_base_number'], 'fhv', TRIP_COLUMN_NAMES.fhv],
    ['fhv, lower-case names', ['dispatching_base_num', 'pickup_datetime', 'dropoff_datetime', 'pulocationid', 'dolocationid'], 'fhv', { pickup: 'pickup_datetime', dropoff: 'dropoff_datetime', PULocationID: 'pulocationid', DOLocationID: 'dolocationid', trip_distance: null }],
    ['fhvhv', ['hvfhs_license_num', 'dispatching_base_num', 'request_datetime', 'pickup_datetime', 'dropoff_datetime', 'PULocationID', 'DOLocationID', 'trip_miles', 'trip_time'], 'fhvhv', TRIP_COLUMN_NAMES.fhvhv],
  ])('%s', (_, names, dataset, columns) => {
    expect(tripLayoutOf(names)).toEqual({ layout: { dataset, columns } });
  });

  it.each([
    ['yellow 2009', ['vendor_name', 'Trip_Pickup_DateTime', 'Trip_Dropoff_DateTime', 'Trip_Distance', 'Start_Lon', 'Start_Lat'], /coordinates \(Start_Lon\).*like TLC's yellow taxi files of 2009; use a month from 2011-01 on/],
    ['yellow 2010', ['vendor_id', 'pickup_datetime', 'dropoff_datetime', 'trip_distance', 'pickup_longitude'], /coordinates \(pickup_longitude\).*like TLC's yellow taxi files of 2010/],
    ['yellow 2015 as first published', ['VendorID', 'tpep_pickup_datetime', 'tpep_dropoff_datetime', 'pickup_longitude', 'pickup_latitude'], /like TLC's yellow taxi records before 2016-07 as first published/],
    ['green 2014 as first published', ['VendorID', 'lpep_pickup_datetime', 'Lpep_dropoff_datetime', 'Pickup_longitude'], /coordinates \(Pickup_longitude\).*green taxi records before 2016-07/],
    ['FHV 2015', ['Dispatching_base_num', 'Pickup_date', 'locationID'], /^this is a for-hire vehicle file without a dropoff time .*before 2017-01 .*Use a month from 2017-01 on$/],
    ['FHV without dropOff_datetime', ['dispatching_base_num', 'pickup_datetime', 'PUlocationID', 'DOlocationID'], /^this for-hire vehicle file has no dropoff time \(dropOff_datetime; it has: /],
    ['no pickup time at all', ['a', 'b'], /^missing the pickup time: none of tpep_pickup_datetime \(yellow taxis\), lpep_pickup_datetime \(green taxis\) or pickup_datetime \(FHV, high-volume FHV\); it has: a, b\. Is this a TLC trip file\?$/],
    ['yellow without DOLocationID', tlc2024.filter((n) => n !== 'DOLocationID'), /^missing column DOLocationID \(dropoff zone\) of a yellow taxi file; it has: VendorID, /],
  ])('refuses %s with the reason', (_, names, problem) => {
    expect(tripLayoutOf(names).problem).toMatch(problem);
  });
});

describe('fetchTrips for every dataset', () => {
  let server: Server;
  let base: string;
  let dir: string;
  const requested: string[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'datasets-test-'));
    const body = await readFile(new URL('./fixtures/pyarrow/fhvhv.parquet', import.meta.url));
    server = createServer((req, res) => {
      requested.push(req.url ?? '');
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trip-data`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads a high-volume FHV month under TLC\'s name and reads it with trip_miles as the distance', async () => {
    const path = await fetchTrips('2023-02', { color: 'fhvhv', baseUrl: base, cacheDir: dir, quiet: true });
    expect(path).toBe(join(dir, 'fhvhv_tripdata_2023-02.parquet'));
    expect(requested).toContain('/trip-data/fhvhv_tripdata_2023-02.parquet');
    const trips = await readTrips(path);
    expect(trips.dataset).toBe('fhvhv');
    expect(trips.columns?.trip_distance).toBe('trip_miles');
  });

  it.each([
    ['yellow', '2009-06', /coordinates/],
    ['fhv', '2015-01', /no dropoff time/],
  ] as const)('refuses %s %s before any I/O', async (color, month, message) => {
    const before = requested.length;
    await expect(fetchTrips(month, { color, baseUrl: base, cacheDir: join(dir, 'never-created'), quiet: true })).rejects.toThrow(message);
    expect(requested.length).toBe(before);
  });
});
