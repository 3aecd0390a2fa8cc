/**
 * TLC-shaped months served from 127.0.0.1, for the scripts that run the notebooks (run-notebooks.ts,
 * browser-test.ts): the notebooks' real download code then runs, offline.
 *
 * `writeServedMonths` generates what the notebooks' parameter sets read: yellow and green taxis,
 * January and February 2024. The green February carries trips of up to 300,000 miles whose
 * durations are ordinary, so cleaning keeps them, as real months have them: the month on which
 * a chart that follows the data would become unreadable. `serveTrips` serves a folder of parquet
 * files at a TLC-like path (`<base>/yellow_tripdata_2024-01.parquet`).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeSyntheticTrips, type SyntheticTripsOptions } from '../lib/synthetic.js';
import type { Dataset } from '../lib/datasets.js';

/** The months served; `share` is the size relative to a yellow month (green months are about 2 % in real life). */
export const SERVED_MONTHS: (Pick<SyntheticTripsOptions, 'month' | 'color' | 'seed' | 'quirks'> & { share: number })[] = [
  { color: 'yellow', month: '2024-01', seed: 1, share: 1 },
  { color: 'yellow', month: '2024-02', seed: 2, share: 1 },
  { color: 'green', month: '2023-12', seed: 5, share: 0.05 },
  { color: 'green', month: '2024-01', seed: 3, share: 0.05 },
  { color: 'green', month: '2024-02', seed: 4, share: 0.05, quirks: { hugeDistance: 0.0003, hugeDistanceKept: 1 } },
];

/**
 * Writes {@link SERVED_MONTHS} into `dir` under TLC's file names, `rows` rows a yellow month
 * (at least 1,000 a month), in small row groups so readers loop over several, as on real files.
 */
export async function writeServedMonths(dir: string, rows: number, colors: readonly Dataset[] = ['yellow', 'green']): Promise<void> {
  for (const { share, ...month } of SERVED_MONTHS.filter((m) => colors.includes(m.color ?? 'yellow'))) {
    const n = Math.max(1000, Math.round(rows * share));
    await writeSyntheticTrips(join(dir, `${month.color}_tripdata_${month.month}.parquet`), { ...month, rows: n, rowGroupSize: Math.ceil(n / 3) });
  }
}

/** A running file server: the base URL to give as `baseUrl` / TLC_BASE_URL, the requests seen, and a way to stop. */
export interface TripServer {
  base: string;
  /** One line per request: `GET /trip-data/<file> 200`. */
  requests: string[];
  close: () => Promise<void>;
}

/** Serves the parquet files of `dir` at `http://127.0.0.1:<port>/trip-data/<file>` (GET and HEAD; 404 otherwise). */
export async function serveTrips(dir: string): Promise<TripServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = /^\/trip-data\/([\w.-]+\.parquet)$/.exec(url.pathname);
    const file = match ? join(dir, match[1]!) : undefined;
    const found = file !== undefined && existsSync(file);
    requests.push(`${req.method} ${url.pathname} ${found ? 200 : 404}`);
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trip-data`;
  return { base, requests, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}
