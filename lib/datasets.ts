/**
 * Datasets: TLC's four trip datasets, their months, their file names, and the history of their columns.
 *
 * TLC publishes a parquet file a month for yellow taxis, green taxis, for-hire vehicles
 * (FHV) and high-volume for-hire vehicles (HVFHV: Uber, Lyft, …). Over the years the columns
 * changed names and meaning; the course's features need pickup and dropoff times and the
 * pickup and dropoff taxi zones (plus, for its first feature set, a trip distance). This
 * module knows which months of which dataset can give them, so a month that cannot is
 * refused before any download with the reason, and it maps a file's columns onto the
 * library's five trip columns (`tripLayoutOf`), so read.ts reads every layout the same way.
 *
 * What we know and how sure we are (sources: TLC's trip record pages and data dictionaries as
 * quoted by Microsoft's Open Datasets pages, and the column lists of a maintained loader of
 * TLC's current parquet files, toddwschneider/nyc-taxi-data, `clickhouse/` and
 * `import_*_trip_data.sh`; none of the files themselves can be fetched here):
 * - yellow, 2009–2010: old names and coordinates, not zones (2009: `Trip_Pickup_DateTime`,
 *   `Start_Lon`, `Trip_Distance`; 2010: `pickup_datetime`, `pickup_longitude`). Confirmed by
 *   both sources.
 * - yellow, 2011 on: TLC's parquet files carry `tpep_*` times and `PULocationID` /
 *   `DOLocationID` (the loader reads 2011-01 with the 2024 column list and skips only
 *   2009–2010, "pre-2011 yellow taxi files still have lat/lon"). TLC's original CSVs had
 *   coordinates until 2016-06 and zones from 2016-07; the republished parquet files have
 *   zones from 2011 on. We could not check a 2011–2016 file ourselves: should one hold
 *   coordinates after all, the reader refuses it with the same reason as 2009–2010.
 * - green, from 2013-08 (the first month TLC lists): `lpep_*` times and zone IDs in the
 *   parquet files of every month (the loader reads 2014-02 with the 2024 list).
 * - FHV, from 2015-01: `dispatching_base_num`, `pickup_datetime`, `dropOff_datetime`,
 *   `PUlocationID`, `DOlocationID` (DOUBLE in 2015 files, INT64 later), no distance. The
 *   2015–2016 records hold a pickup time and zone only (CSV header `Pickup_date,locationID`;
 *   a dropoff time appears in 2017), so those months are refused. Whether the 2017-01 to
 *   2017-05 files fill the dropoff is not confirmed; they are allowed, and a file whose
 *   dropoff column is missing is refused by the reader.
 * - HVFHV, from 2019-02: `pickup_datetime`, `dropoff_datetime`, `PULocationID`,
 *   `DOLocationID`, `trip_miles` (about 20 million rows a month).
 */
import type { TripColumn } from './readRowGroup.js';

/**
 * TLC's trip datasets: yellow taxis (`tpep_*` columns), green taxis (`lpep_*`), for-hire
 * vehicles (`fhv`) and high-volume for-hire vehicles (`fhvhv`).
 *
 * @example
 * const dataset: Dataset = 'fhvhv';
 */
export type Dataset = 'yellow' | 'green' | 'fhv' | 'fhvhv';

/**
 * The datasets, in TLC's order.
 *
 * @example
 * DATASETS.includes('green'); // true
 */
export const DATASETS: readonly Dataset[] = Object.freeze(['yellow', 'green', 'fhv', 'fhvhv'] as const);

/**
 * What each dataset is, in words for messages and tables.
 *
 * @example
 * DATASET_TITLES.fhvhv; // 'high-volume for-hire vehicle (Uber, Lyft, …)'
 */
export const DATASET_TITLES: Readonly<Record<Dataset, string>> = Object.freeze({
  yellow: 'yellow taxi',
  green: 'green taxi',
  fhv: 'for-hire vehicle (FHV)',
  fhvhv: 'high-volume for-hire vehicle (Uber, Lyft, …)',
});

/**
 * The first month TLC published for each dataset, and the first whose records can serve the
 * course's features (pickup and dropoff times, pickup and dropoff zones).
 *
 * @example
 * DATASET_MONTHS.yellow.usableFrom; // '2011-01'
 */
export const DATASET_MONTHS: Readonly<Record<Dataset, { readonly first: string; readonly usableFrom: string; readonly before: string }>> = Object.freeze({
  yellow: {
    first: '2009-01',
    usableFrom: '2011-01',
    before: 'TLC\'s yellow taxi files before 2011-01 record pickup and dropoff coordinates (longitude/latitude), not the taxi-zone IDs (PULocationID, DOLocationID) the course\'s features need',
  },
  green: { first: '2013-08', usableFrom: '2013-08', before: 'TLC\'s green taxi records start in 2013-08' },
  fhv: {
    first: '2015-01',
    usableFrom: '2017-01',
    before: 'TLC\'s for-hire vehicle records before 2017-01 hold a pickup time and zone but no dropoff time, so no trip duration',
  },
  fhvhv: { first: '2019-02', usableFrom: '2019-02', before: 'TLC\'s high-volume for-hire vehicle records start in 2019-02' },
});

const MONTH_RE = /^(\d{4})-(\d{2})$/;

/**
 * Whether a string has the shape of a month ('YYYY-MM'), valid or not: how a source is told
 * from a path or URL before {@link parseMonth} checks it.
 *
 * @example
 * looksLikeMonth('2024-13'); // true (parseMonth then refuses it)
 * looksLikeMonth('data/x.parquet'); // false
 */
export function looksLikeMonth(source: string): boolean {
  return MONTH_RE.test(source);
}

/**
 * Checks a month string and returns it, or throws before any I/O.
 *
 * The message says `source:`: it is about the source a user named, whichever step checks it.
 *
 * @throws Error (`source: ...`) unless `month` is 'YYYY-MM' with a month from 01 to 12 and a year from 2009 to 2099.
 * @example
 * parseMonth('2024-01'); // '2024-01'
 * parseMonth('2024-13'); // throws: source: month "2024-13" ...
 */
export function parseMonth(month: string): string {
  const match = MONTH_RE.exec(month);
  const year = match ? Number(match[1]) : NaN;
  const m = match ? Number(match[2]) : NaN;
  if (!match || m < 1 || m > 12 || year < 2009 || year > 2099) {
    throw new Error(`source: month ${JSON.stringify(month)} is not a month like 2024-01 (YYYY-MM, month 01-12, TLC data starts in 2009)`);
  }
  return month;
}

/**
 * Checks a dataset name (the command line's `--color`) and returns it.
 *
 * @throws Error (`source: ...`) naming the four datasets.
 * @example
 * checkDataset('fhvhv'); // 'fhvhv'
 * checkDataset('blue');  // throws: source: color must be 'yellow', 'green', 'fhv' or 'fhvhv', got "blue"
 */
export function checkDataset(dataset: string): Dataset {
  if (!(DATASETS as readonly string[]).includes(dataset)) {
    throw new Error(`source: color must be 'yellow', 'green', 'fhv' or 'fhvhv', got ${JSON.stringify(dataset)}`);
  }
  return dataset as Dataset;
}

/**
 * The dataset a model was trained on, as its metadata records it (`color`, written by `train`),
 * else yellow (the course's, and what older model files were trained on): the months a model
 * predicts or is monitored on are fetched as that dataset unless the caller says otherwise.
 *
 * @example
 * recordedDataset((await loadModel('models/lin_reg.json')).metadata); // 'yellow'
 */
export function recordedDataset(metadata: Readonly<Record<string, unknown>>): Dataset {
  const color = metadata.color;
  return typeof color === 'string' && (DATASETS as readonly string[]).includes(color) ? (color as Dataset) : 'yellow';
}

/**
 * Why a month of a dataset cannot serve the course's features, or undefined when it can.
 *
 * Months are compared as 'YYYY-MM' strings, which sort as dates.
 *
 * @example
 * tripMonthProblem('yellow', '2010-06'); // "TLC's yellow taxi files before 2011-01 record … coordinates …"
 * tripMonthProblem('yellow', '2024-01'); // undefined
 */
export function tripMonthProblem(dataset: Dataset, month: string): string | undefined {
  const months = DATASET_MONTHS[checkDataset(dataset)];
  parseMonth(month);
  if (month >= months.usableFrom) return undefined;
  if (month < months.first) return `${months.before}; there is no ${dataset} month ${month}`;
  return `${months.before}; choose a month from ${months.usableFrom} on`;
}

/**
 * Checks that a month of a dataset exists and can serve the course's features; returns the month.
 *
 * @throws Error (`source: ...`) for a malformed month, an unknown dataset, or a month whose
 *   records cannot give trip durations between taxi zones (with the reason and the first
 *   month that can).
 * @example
 * checkTripMonth('green', '2024-02'); // '2024-02'
 * checkTripMonth('yellow', '2009-01'); // throws: source: yellow 2009-01: TLC's yellow taxi files before 2011-01 record … coordinates …
 */
export function checkTripMonth(dataset: Dataset, month: string): string {
  const problem = tripMonthProblem(dataset, month);
  if (problem) throw new Error(`source: ${dataset} ${month}: ${problem}`);
  return month;
}

/**
 * The file name TLC gives a month: `yellow_tripdata_2024-01.parquet`, `fhvhv_tripdata_2023-02.parquet`.
 *
 * @throws Error (`source: ...`) for an unknown dataset, a malformed month, or a month that
 *   cannot serve the course's features ({@link checkTripMonth}).
 * @example
 * tripDataFileName('green', '2023-12'); // 'green_tripdata_2023-12.parquet'
 */
export function tripDataFileName(dataset: Dataset, month: string): string {
  return `${checkDataset(dataset)}_tripdata_${checkTripMonth(dataset, month)}.parquet`;
}

/**
 * TLC's public bucket of monthly trip files; `TLC_BASE_URL` or the `baseUrl` option replaces it.
 *
 * @example
 * tripDataUrl('yellow', '2024-01').startsWith(DEFAULT_TLC_BASE_URL); // true (TLC_BASE_URL unset)
 */
export const DEFAULT_TLC_BASE_URL = 'https://d37ci6vzurychx.cloudfront.net/trip-data';

/** Options of {@link tripDataUrl}. */
export interface TripDataUrlOptions {
  /** Base URL of the trip files. Default: env `TLC_BASE_URL`, else TLC's CloudFront bucket. */
  baseUrl?: string;
}

/**
 * The URL of one month of TLC trip data.
 *
 * @throws Error (`source: ...`) as {@link tripDataFileName}.
 * @example
 * tripDataUrl('yellow', '2024-01');
 * // 'https://d37ci6vzurychx.cloudfront.net/trip-data/yellow_tripdata_2024-01.parquet'
 * tripDataUrl('fhvhv', '2024-02', { baseUrl: 'http://127.0.0.1:8080/' });
 * // 'http://127.0.0.1:8080/fhvhv_tripdata_2024-02.parquet'
 */
export function tripDataUrl(dataset: Dataset, month: string, options: TripDataUrlOptions = {}): string {
  const base = (options.baseUrl ?? process.env.TLC_BASE_URL ?? DEFAULT_TLC_BASE_URL).replace(/\/+$/, '');
  return `${base}/${tripDataFileName(dataset, month)}`;
}

/**
 * Where a dataset keeps each trip column: the file's column name, or null when the dataset
 * has no such column (FHV records no distance).
 */
export type TripColumnNames = Readonly<Record<TripColumn, string | null>>;

/**
 * The column names of each dataset's zone-ID layout (the files the course can use), as TLC
 * spells them. Files are matched without regard to case: TLC's capitalisation varies
 * between years (`Airport_fee`/`airport_fee`, FHV's `dropOff_datetime`, `PUlocationID`).
 *
 * @example
 * TRIP_COLUMN_NAMES.fhvhv.trip_distance; // 'trip_miles'
 */
export const TRIP_COLUMN_NAMES: Readonly<Record<Dataset, TripColumnNames>> = Object.freeze({
  yellow: { pickup: 'tpep_pickup_datetime', dropoff: 'tpep_dropoff_datetime', PULocationID: 'PULocationID', DOLocationID: 'DOLocationID', trip_distance: 'trip_distance' },
  green: { pickup: 'lpep_pickup_datetime', dropoff: 'lpep_dropoff_datetime', PULocationID: 'PULocationID', DOLocationID: 'DOLocationID', trip_distance: 'trip_distance' },
  fhv: { pickup: 'pickup_datetime', dropoff: 'dropOff_datetime', PULocationID: 'PUlocationID', DOLocationID: 'DOlocationID', trip_distance: null },
  fhvhv: { pickup: 'pickup_datetime', dropoff: 'dropoff_datetime', PULocationID: 'PULocationID', DOLocationID: 'DOLocationID', trip_distance: 'trip_miles' },
});

/** How a file's columns map onto the trip columns (see {@link tripLayoutOf}). */
export interface TripLayout {
  /** The dataset whose layout the file has. */
  readonly dataset: Dataset;
  /** The file's own name for each trip column (its spelling), or null when the file has none. */
  readonly columns: TripColumnNames;
}

/** What the five trip columns are, in words for messages. */
const WHAT: Readonly<Record<TripColumn, string>> = {
  pickup: 'pickup time',
  dropoff: 'dropoff time',
  PULocationID: 'pickup zone',
  DOLocationID: 'dropoff zone',
  trip_distance: 'trip distance',
};

/**
 * Recognises a TLC file's layout from its top-level column names and maps the five trip
 * columns onto them; or says why the file cannot serve the course's features.
 *
 * Yellow files are told by `tpep_pickup_datetime`, green by `lpep_pickup_datetime`,
 * high-volume FHV by `pickup_datetime` with `trip_miles` or `hvfhs_license_num`, and FHV by
 * `pickup_datetime` otherwise. Files with coordinates instead of zones (yellow 2009–2010:
 * `Start_Lon`, `pickup_longitude`) and FHV files without a dropoff time (2015–2016) are
 * refused with the reason, never as a missing column. A column the dataset lacks by design
 * (FHV's distance) maps to null; a column the dataset should have but the file lacks is a
 * problem naming it and listing the file's columns.
 *
 * @returns `{ layout }`, or `{ problem }`: a sentence without the file's name.
 * @example
 * tripLayoutOf(['dispatching_base_num', 'pickup_datetime', 'dropOff_datetime', 'PUlocationID', 'DOlocationID']);
 * // { layout: { dataset: 'fhv', columns: { pickup: 'pickup_datetime', …, trip_distance: null } } }
 * tripLayoutOf(['vendor_name', 'Trip_Pickup_DateTime', 'Start_Lon']).problem;
 * // "this file records pickup and dropoff coordinates (Start_Lon), not the taxi-zone IDs …"
 */
export function tripLayoutOf(names: readonly string[]): { layout: TripLayout; problem?: undefined } | { layout?: undefined; problem: string } {
  const byLower = new Map<string, string>();
  for (const name of names) if (!byLower.has(name.toLowerCase())) byLower.set(name.toLowerCase(), name);
  const has = (name: string): boolean => byLower.has(name.toLowerCase());
  const listed = `it has: ${names.join(', ')}`;

  const coordinates = ['Start_Lon', 'pickup_longitude', 'Pickup_longitude'].find(has);
  if (coordinates && !has('PULocationID')) {
    const like = has('Trip_Pickup_DateTime')
      ? "TLC's yellow taxi files of 2009"
      : has('tpep_pickup_datetime')
        ? "TLC's yellow taxi records before 2016-07 as first published"
        : has('lpep_pickup_datetime')
          ? "TLC's green taxi records before 2016-07 as first published"
          : "TLC's yellow taxi files of 2010";
    return {
      problem:
        `this file records pickup and dropoff coordinates (${byLower.get(coordinates.toLowerCase())}), not the taxi-zone IDs (PULocationID, DOLocationID) the course's features need, ` +
        `like ${like}; use a month from ${DATASET_MONTHS.yellow.usableFrom} on (TLC's parquet files carry zone IDs from then)`,
    };
  }

  let dataset: Dataset;
  if (has('tpep_pickup_datetime')) dataset = 'yellow';
  else if (has('lpep_pickup_datetime')) dataset = 'green';
  else if (has('pickup_datetime') || has('Pickup_date') || has('Pickup_DateTime')) {
    dataset = has('trip_miles') || has('hvfhs_license_num') ? 'fhvhv' : 'fhv';
  } else {
    return {
      problem:
        'missing the pickup time: none of tpep_pickup_datetime (yellow taxis), lpep_pickup_datetime (green taxis) or pickup_datetime (FHV, high-volume FHV); ' +
        `${listed}. Is this a TLC trip file?`,
    };
  }

  const expected = TRIP_COLUMN_NAMES[dataset];
  if (dataset === 'fhv' && !has(expected.pickup!)) {
    // 2015–2016 records: `Pickup_date` and one `locationID`, nothing about the dropoff.
    return { problem: `this is a for-hire vehicle file without a dropoff time (${listed}): ${DATASET_MONTHS.fhv.before}. Use a month from ${DATASET_MONTHS.fhv.usableFrom} on` };
  }
  const columns = {} as Record<TripColumn, string | null>;
  for (const column of Object.keys(expected) as TripColumn[]) {
    const name = expected[column];
    if (name === null) {
      columns[column] = null;
      continue;
    }
    const actual = byLower.get(name.toLowerCase());
    if (actual === undefined) {
      if (dataset === 'fhv' && column === 'dropoff') {
        return { problem: `this for-hire vehicle file has no dropoff time (${name}; ${listed}): ${DATASET_MONTHS.fhv.before}. Use a month from ${DATASET_MONTHS.fhv.usableFrom} on` };
      }
      return { problem: `missing column ${name} (${WHAT[column]}) of a ${DATASET_TITLES[dataset]} file; ${listed}` };
    }
    columns[column] = actual;
  }
  return { layout: { dataset, columns } };
}
