/**
 * Source: where a month of TLC trip data comes from, and the local cache it is kept in.
 *
 * The course downloads `yellow_tripdata_YYYY-MM.parquet` from TLC's CloudFront
 * bucket. Here a download goes once into a cache folder (default `data/` at the
 * project root, not the current directory: notebooks run with their own folder
 * as cwd), through a temporary file renamed only when complete and of the
 * announced size and framed as parquet (`PAR1` at both ends), so a half
 * download or an HTML page is never mistaken for data. A month is cached under
 * TLC's file name at the top of the cache; a URL under `urls/`, keyed on the
 * whole URL. The base URL can be pointed elsewhere (option or `TLC_BASE_URL`),
 * which is how the tests serve files from 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { looksLikeMonth, parseMonth, tripDataFileName, tripDataUrl, type Dataset, type TripDataUrlOptions } from './datasets.js';

/**
 * The taxi colours the training pipeline and the command line take today (`--color`): yellow
 * and green. {@link fetchTrips} takes every {@link Dataset} (also 'fhv' and 'fhvhv').
 *
 * @example
 * const color: Color = 'green';
 */
export type Color = Extract<Dataset, 'yellow' | 'green'>;

// The month and naming functions live in datasets.ts (with the history of TLC's layouts);
// re-exported here so `import { parseMonth } from './source.js'` keeps working.
export { DEFAULT_TLC_BASE_URL, parseMonth, tripDataFileName, tripDataUrl } from './datasets.js';
export type { TripDataUrlOptions } from './datasets.js';

/** Options of {@link fetchTrips}. */
export interface FetchTripsOptions extends TripDataUrlOptions {
  /** Dataset, when `source` is a month: 'yellow', 'green', 'fhv' or 'fhvhv'. Default 'yellow'. */
  color?: Dataset;
  /** Folder of cached downloads. Default {@link defaultCacheDir}(). */
  cacheDir?: string;
  /** Print nothing (no progress bar, no messages). Default false. */
  quiet?: boolean;
  /** Called as bytes arrive (total is NaN when the server does not say). */
  onProgress?: (received: number, total: number) => void;
  /** Give up when no byte arrives for this long, in milliseconds. Default 60,000. */
  idleTimeoutMs?: number;
}

/**
 * The cache folder: env `TAXI_DATA_DIR` if set, else `data/` at the project root.
 *
 * The project root is the nearest folder above this module whose package.json
 * declares workspaces (this repository's root); outside the repository (the
 * library installed elsewhere) it falls back to `data/` in the current directory.
 *
 * @example
 * defaultCacheDir(); // '/work/main/data'
 */
export function defaultCacheDir(): string {
  const fromEnv = process.env.TAXI_DATA_DIR;
  if (fromEnv) return resolve(fromEnv);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown }).workspaces) return join(dir, 'data');
      } catch {
        // an unreadable package.json is not the root; keep looking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return resolve('data');
}

/**
 * Returns a local parquet file for a month, a URL or a path, downloading into the cache when needed.
 *
 * - `'2024-01'`: the month of the given colour, from the cache or from
 *   {@link tripDataUrl}; cached as `<cacheDir>/yellow_tripdata_2024-01.parquet`.
 * - `'http://…'` / `'https://…'`: that file, cached as
 *   `<cacheDir>/urls/<12 hex of the URL's SHA-256>-<file name>`, so two URLs
 *   with the same file name (or a URL named like a month's file) never share
 *   an entry.
 * - a path ending in `.parquet`: returned (absolute) if it exists.
 *
 * A cached file is reused without touching the network, after a cheap check
 * that it starts and ends with the parquet magic `PAR1`. A download is written
 * to a temporary file and renamed only when complete, of the size the server
 * announced, and framed as parquet; otherwise the temporary file is deleted
 * and any earlier cached file is left as it was. On a terminal (stderr is a
 * TTY) a progress bar is drawn unless `quiet`.
 *
 * @throws Error (`source: ...`) for a malformed month or source (before any
 *   I/O), an HTTP error (names the status and the URL), a network failure (says
 *   how to use a local file instead), a short download, a body that is not
 *   parquet (an HTML login page, a cut-short file: says what it starts with),
 *   a cached file that is not parquet (names it; delete it to download again),
 *   or a missing local file.
 * @example
 * const path = await fetchTrips('2024-01');                 // downloads once, then reuses data/yellow_tripdata_2024-01.parquet
 * const green = await fetchTrips('2024-02', { color: 'green', quiet: true });
 * const byUrl = await fetchTrips('https://example.org/x/data.parquet'); // data/urls/<hash>-data.parquet
 * const local = await fetchTrips('test/fixtures/yellow_tripdata_2024-01.parquet');
 */
export async function fetchTrips(source: string, options: FetchTripsOptions = {}): Promise<string> {
  const { color = 'yellow', quiet = false } = options;
  let url: string;
  let fileName: string;
  let isMonth = false;
  if (looksLikeMonth(source)) {
    fileName = tripDataFileName(color, source);
    url = tripDataUrl(color, source, options);
    isMonth = true;
  } else if (/^https?:\/\//i.test(source)) {
    url = source;
    let pathname: string;
    try {
      pathname = new URL(source).pathname;
    } catch {
      throw new Error(`source: ${JSON.stringify(source)} is not a valid URL`);
    }
    fileName = decodeURIComponent(basename(pathname));
    if (!/^[\w.-]+\.parquet$/i.test(fileName)) {
      throw new Error(`source: the URL ${source} does not end in a .parquet file name; pass the URL of a parquet file (e.g. .../yellow_tripdata_2024-01.parquet)`);
    }
  } else if (/\.parquet$/i.test(source)) {
    const path = resolve(source);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) {
      throw new Error(`source: no such file ${path}; check the path, or pass a month like 2024-01 to download it`);
    }
    return path;
  } else {
    // Reject before any I/O: '2024-13', '2024-1', '../x' and friends.
    if (/^\d{4}-\d{1,2}$/.test(source)) parseMonth(source);
    throw new Error(`source: ${JSON.stringify(source)} is neither a month (YYYY-MM, e.g. 2024-01), an http(s) URL, nor a path to a .parquet file`);
  }

  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  // A month keeps TLC's name at the top of the cache (the doctor script and the docs look there);
  // a URL is keyed on the whole URL, so equal file names from different places never collide.
  const target = isMonth ? join(cacheDir, fileName) : join(cacheDir, 'urls', `${createHash('sha256').update(url).digest('hex').slice(0, 12)}-${fileName}`);
  const cached = await stat(target).catch(() => undefined);
  if (cached?.isFile() && cached.size > 0) {
    const problem = await parquetFramingProblem(target);
    if (problem) {
      throw new Error(`source: the cached file ${target} is not a parquet file (${problem}); delete it to download ${isMonth ? source : url} again`);
    }
    return target;
  }

  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.download-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await download(url, tmp, fileName, { quiet, onProgress: options.onProgress, idleTimeoutMs: options.idleTimeoutMs ?? 60_000, isMonth });
    const problem = await parquetFramingProblem(tmp);
    if (problem) {
      throw new Error(`source: ${url} did not return a parquet file (${problem}); check the URL${isMonth ? ' (the base comes from the baseUrl option or TLC_BASE_URL)' : ''}, or download the file yourself and pass its local path`);
    }
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return target;
}

interface DownloadOptions {
  quiet: boolean;
  onProgress: ((received: number, total: number) => void) | undefined;
  idleTimeoutMs: number;
  /** The URL was built from a month: a 404 then means the month or colour is wrong. */
  isMonth: boolean;
}

const MAGIC = 'PAR1';

/**
 * Why a file is not framed as parquet, or undefined when it is: `PAR1` at both
 * ends, at least 12 bytes, and a footer length (the 4 little-endian bytes
 * before the trailing magic) that fits in the file. Reads 12 bytes, never the
 * whole file.
 */
async function parquetFramingProblem(path: string): Promise<string | undefined> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(64, size));
    await handle.read(head, 0, head.length, 0);
    if (head.subarray(0, 4).toString('latin1') !== MAGIC) return `starts with ${describeBytes(head)}`;
    if (size < 12) return `only ${size} bytes`;
    const tail = Buffer.alloc(8);
    await handle.read(tail, 0, 8, size - 8);
    if (tail.subarray(4).toString('latin1') !== MAGIC) return `starts with PAR1 but does not end with it after ${size} bytes: cut short`;
    const footer = tail.readUInt32LE(0);
    if (footer === 0 || footer > size - 12) return `its footer length ${footer} does not fit in its ${size} bytes`;
    return undefined;
  } finally {
    await handle.close();
  }
}

/** The first line of a body, quoted and printable: `'<!DOCTYPE html>'`, or hex when it is binary. */
function describeBytes(bytes: Buffer): string {
  if (bytes.length === 0) return 'nothing (0 bytes)';
  const first = bytes.toString('latin1').split(/[\r\n]/)[0]!.trim();
  const line = first.slice(0, 40);
  const printable = line.replace(/[^\x20-\x7e]/g, '');
  if (printable.length >= Math.max(4, line.length * 0.8)) return `'${printable}${first.length > line.length ? '…' : ''}'`;
  return `bytes ${bytes.subarray(0, 8).toString('hex').replace(/(..)(?!$)/g, '$1 ')}`;
}

function request(url: string, options: DownloadOptions, redirects = 0): Promise<IncomingMessage> {
  const { idleTimeoutMs } = options;
  return new Promise((resolvePromise, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { headers: { 'user-agent': 'taxi-duration' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location && redirects < 5) {
        res.resume();
        resolvePromise(request(new URL(res.headers.location, url).toString(), options, redirects + 1));
        return;
      }
      if (status !== 200) {
        res.resume();
        const hint =
          status === 404
            ? options.isMonth
              ? '; check the month and colour (TLC publishes a month about two months after it ends)'
              : '; check the URL'
            : '; try again later, or download the file yourself and pass its local path';
        reject(new Error(`source: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''} for ${url}${hint}`));
        return;
      }
      resolvePromise(res);
    });
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no response for ${idleTimeoutMs / 1000} s`)));
    req.on('error', (error: NodeJS.ErrnoException) => reject(networkError(url, error)));
  });
}

function networkError(url: string, error: NodeJS.ErrnoException): Error {
  return new Error(
    `source: could not fetch ${url} (${error.code ?? error.message}); check the network, or download the file yourself and pass its local path`,
  );
}

async function download(url: string, tmp: string, name: string, options: DownloadOptions): Promise<void> {
  const res = await request(url, options);
  const header = res.headers['content-length'];
  const total = header === undefined ? NaN : Number(header);
  const bar = !options.quiet && process.stderr.isTTY ? progressBar(name, total) : undefined;
  if (!options.quiet && !bar) process.stderr.write(`source: downloading ${url}\n`);
  let received = 0;
  await new Promise<void>((resolvePromise, reject) => {
    const out = createWriteStream(tmp);
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      res.destroy();
      out.destroy();
      reject(error);
    };
    res.setTimeout(options.idleTimeoutMs, () => fail(new Error(`source: the download of ${url} stalled for ${options.idleTimeoutMs / 1000} s after ${received} bytes; try again`)));
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      options.onProgress?.(received, total);
      bar?.(received);
    });
    res.on('error', (error: NodeJS.ErrnoException) => fail(shortDownload(url, received, total, error.code ?? error.message)));
    res.on('aborted', () => fail(shortDownload(url, received, total, 'connection closed')));
    out.on('error', (error) => fail(new Error(`source: cannot write ${tmp} (${error.message}); check the cache folder (cacheDir or TAXI_DATA_DIR)`)));
    out.on('finish', () => {
      if (failed) return;
      if (!Number.isNaN(total) && received !== total) fail(shortDownload(url, received, total, 'size mismatch'));
      else resolvePromise();
    });
    res.pipe(out);
  });
  bar?.(received, true);
}

function shortDownload(url: string, received: number, total: number, why: string): Error {
  const of = Number.isNaN(total) ? '' : ` of ${total}`;
  return new Error(`source: the download of ${url} ended after ${received}${of} bytes (${why}); nothing was cached, try again`);
}

/** A one-line progress bar on stderr, redrawn at most ten times a second. */
function progressBar(name: string, total: number): (received: number, done?: boolean) => void {
  let last = 0;
  return (received, done = false) => {
    const now = Date.now();
    if (!done && now - last < 100) return;
    last = now;
    const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
    let line: string;
    if (Number.isNaN(total) || total <= 0) {
      line = `${name}  ${mb(received)} MB`;
    } else {
      const fraction = Math.min(1, received / total);
      const width = 30;
      const filled = Math.round(fraction * width);
      line = `${name}  [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${mb(received)}/${mb(total)} MB`;
    }
    process.stderr.write(`\r${line}${done ? '\n' : ''}`);
  };
}
