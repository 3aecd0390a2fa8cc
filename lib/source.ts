/**
 * Source: where a month of TLC trip data comes from, and the local cache it is kept in.
 *
 * The course downloads `yellow_tripdata_YYYY-MM.parquet` from TLC's CloudFront
 * bucket. Here a download goes once into a cache folder (default `data/` at the
 * project root, not the current directory: notebooks run with their own folder
 * as cwd), through lib/output.ts's temporary file, renamed only when complete,
 * of the announced size and checksum, and framed as parquet (`PAR1` at both
 * ends), so a half download or an HTML page is never mistaken for data. A month
 * is cached under TLC's file name at the top of the cache; a URL under `urls/`,
 * keyed on the whole URL. The base URL can be pointed elsewhere (option or
 * `TLC_BASE_URL`), which is how the tests serve files from 127.0.0.1.
 *
 * The library prints nothing: downloads report through `onProgress`, and the
 * command line (lib/terminal.ts) draws the one progress bar.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from './project.js';

import { DEFAULT_TLC_BASE_URL, looksLikeMonth, parseMonth, tripDataFileName, tripDataUrl, type Dataset, type TripDataUrlOptions } from './datasets.js';
import { parseMonths } from './months.js';
import { OptionError, redactUrl } from './errors.js';
import { isAlive, makeDir, stageFile } from './output.js';

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
  /** Accepted for compatibility and ignored: the library prints nothing; pass `onProgress` to show progress. */
  quiet?: boolean;
  /** Called as bytes arrive (total is NaN when the server does not say). */
  onProgress?: (received: number, total: number) => void;
  /**
   * Connecting, and then every this many milliseconds of the body, must bring at least 64 KiB;
   * a server that stalls or trickles fails. Default: env `TAXI_DOWNLOAD_TIMEOUT` (seconds), else 60 s.
   */
  idleTimeoutMs?: number;
  /** The whole download must end within this many milliseconds. Default: env `TAXI_DOWNLOAD_DEADLINE` (seconds), else 30 minutes. */
  deadlineMs?: number;
}

/**
 * How long a download may go without bringing 64 KiB, by default (see {@link FetchTripsOptions.idleTimeoutMs}).
 *
 * @example
 * DEFAULT_IDLE_TIMEOUT_MS / 1000; // 60 (seconds)
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/**
 * How long a whole download may take, by default: a 50 MB month at 30 kB/s.
 *
 * @example
 * DEFAULT_DEADLINE_MS / 60_000; // 30 (minutes)
 */
export const DEFAULT_DEADLINE_MS = 30 * 60_000;

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
  const root = projectRoot();
  return root === undefined ? resolve('data') : join(root, 'data');
}

/**
 * {@link fetchTrips} for several sources, one after the other: a list, or text as `parseMonths`
 * reads it (`2023-01..2023-03`, a comma list); returns the local paths in the same order.
 *
 * @throws as parseMonths (a malformed month or range) and fetchTrips.
 * @example
 * const paths = await fetchAllTrips('2023-01..2023-03', { color: 'green' });
 */
export async function fetchAllTrips(sources: string | readonly string[], options: FetchTripsOptions = {}): Promise<string[]> {
  const list = asOptionError(() => parseMonths(sources));
  const paths: string[] = [];
  for (const source of list) paths.push(await fetchTrips(source, options));
  return paths;
}

/**
 * Returns a local parquet file for a month, a URL or a path, downloading into the cache when needed.
 *
 * - `'2024-01'`: the month of the given colour, from the cache or from
 *   {@link tripDataUrl}; cached as `<cacheDir>/yellow_tripdata_2024-01.parquet`.
 * - `'http://…'` / `'https://…'`: that file, cached as
 *   `<cacheDir>/urls/<12 hex of the URL's SHA-256>-<file name>`, so two URLs
 *   with the same file name (or a URL named like a month's file) never share
 *   an entry. `file://` URLs are local paths.
 * - a path ending in `.parquet`: returned (absolute) if it exists.
 *
 * A cached file is reused without touching the network, after a cheap check
 * that it starts and ends with the parquet magic `PAR1`; one that fails it is
 * set aside as `<file>.corrupt` (see {@link setAsideCorrupt}) and the error
 * says so: the next call downloads it afresh. A download goes through
 * lib/output.ts: a temporary file beside the cache entry, renamed only when
 * complete, of the size the server announced, of the MD5 the server announced
 * (an ETag that is a plain MD5, as S3 and CloudFront give for files uploaded
 * whole), and framed as parquet; otherwise the temporary file is deleted and
 * an earlier cached file is left as it was. Ctrl-C removes the temporary file;
 * one left by kill -9 is removed by the next download into the same folder.
 *
 * Time limits: connecting, and then every `idleTimeoutMs` of the body, must
 * bring at least 64 KiB (so a server that stalls or trickles a byte at a time
 * fails), and the whole download must end within `deadlineMs`.
 *
 * The library prints nothing: `onProgress` reports the bytes; the command
 * line draws its progress bar from it. Messages never show the credentials
 * or the query string of a URL (signed URLs carry secrets there).
 *
 * @throws OptionError (`source: ...`) before any I/O for a malformed month,
 *   source or URL, an unsupported scheme (ftp:, s3:), a base URL that is not
 *   http(s), or bad time limits; Error (`source: ...`) for an HTTP error (names
 *   the status and the URL), a network failure (names the fixes: the base URL,
 *   a local path, the cache folder, generated data), a redirect to an invalid
 *   or non-http(s) URL, a timeout, a short download or checksum mismatch, a
 *   body that is not parquet (says what it starts with), a cached file that is
 *   not parquet (set aside), a cache entry that is a folder, or a missing
 *   local file.
 * @example
 * const path = await fetchTrips('2024-01');                 // downloads once, then reuses data/yellow_tripdata_2024-01.parquet
 * const green = await fetchTrips('2024-02', { color: 'green', onProgress: (got, total) => bar(got / total) });
 * const byUrl = await fetchTrips('https://example.org/x/data.parquet'); // data/urls/<hash>-data.parquet
 * const local = await fetchTrips('test/fixtures/yellow_tripdata_2024-01.parquet');
 */
export async function fetchTrips(source: string, options: FetchTripsOptions = {}): Promise<string> {
  const { color = 'yellow' } = options;
  let url: string;
  let fileName: string;
  let isMonth = false;
  const scheme = /^([a-z][a-z\d+.-]+):\/\//i.exec(source)?.[1]?.toLowerCase();
  if (looksLikeMonth(source)) {
    // A malformed month, or one TLC published without zone IDs, is a bad command line: exit 2.
    fileName = asOptionError(() => tripDataFileName(color, source));
    url = tripDataUrl(color, source, options);
    isMonth = true;
    checkBaseUrl(url, options);
  } else if (scheme === 'http' || scheme === 'https') {
    url = source;
    let pathname: string;
    try {
      pathname = new URL(source).pathname;
    } catch {
      throw new OptionError(`source: ${JSON.stringify(redactUrl(source))} is not a valid URL; check it, or download the file yourself and pass its local path`);
    }
    fileName = decodeURIComponent(basename(pathname));
    if (!/^[\w.-]+\.parquet$/i.test(fileName)) {
      throw new OptionError(`source: the URL ${redactUrl(source)} does not end in a .parquet file name; pass the URL of a parquet file (e.g. .../yellow_tripdata_2024-01.parquet)`);
    }
  } else if (scheme === 'file') {
    let path: string;
    try {
      path = fileURLToPath(source);
    } catch (error) {
      throw new OptionError(`source: ${JSON.stringify(source)} is not a valid file: URL (${(error as Error).message}); pass the path itself`);
    }
    return localFile(path);
  } else if (scheme !== undefined) {
    throw new OptionError(
      `source: ${redactUrl(source)} is a ${scheme}: URL, which cannot be downloaded here (only http and https); download the file yourself and pass its local path`,
    );
  } else if (/\.parquet$/i.test(source)) {
    return localFile(source);
  } else {
    // Reject before any I/O: '2024-13', '2024-1', '../x' and friends.
    if (/^\d{4}-\d{1,2}$/.test(source)) asOptionError(() => parseMonth(source));
    throw new OptionError(`source: ${JSON.stringify(source)} is neither a month (YYYY-MM, e.g. 2024-01), an http(s) URL, nor a path to a .parquet file`);
  }
  const limits = downloadLimits(options);

  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  // A month keeps TLC's name at the top of the cache (the doctor script and the docs look there);
  // a URL is keyed on the whole URL, so equal file names from different places never collide.
  const target = isMonth ? join(cacheDir, fileName) : join(cacheDir, 'urls', `${createHash('sha256').update(url).digest('hex').slice(0, 12)}-${fileName}`);
  const asked = isMonth ? source : redactUrl(url);
  await makeCacheDir(dirname(target));
  const cached = await stat(target).catch(() => undefined);
  if (cached !== undefined && !cached.isFile()) {
    // Found now, not after a 50 MB download that could not be renamed over it.
    throw new Error(`source: the cache entry ${target} is ${cached.isDirectory() ? 'a folder' : 'not a regular file'}; remove it, or ${CACHE_FIX}`);
  }
  if (cached !== undefined && cached.size > 0) {
    const problem = await parquetFramingProblem(target);
    if (problem) {
      const aside = await setAsideCorrupt(target);
      throw new Error(`source: the cached file ${target} is not a parquet file (${problem}); ${asideNote(aside, asked)}`);
    }
    return target;
  }

  await sweepLegacyDownloads(dirname(target));
  const context: DownloadContext = { ...limits, onProgress: options.onProgress, isMonth, target, deadline: Date.now() + limits.deadlineMs };
  const staged = await stageFile(target, (tmp) => download(url, tmp, context), { what: `the download of ${asked}`, fix: CACHE_FIX });
  try {
    const problem = await parquetFramingProblem(staged.temporary);
    if (problem) {
      throw new Error(`source: ${redactUrl(url)} did not return a parquet file (${problem}); check the URL${isMonth ? ' (the base comes from the baseUrl option or TLC_BASE_URL)' : ''}, or download the file yourself and pass its local path`);
    }
    await staged.commit();
  } finally {
    await staged.discard();
  }
  return target;
}

const CACHE_FIX = 'choose another cache folder (the cacheDir option, --cache-dir or TAXI_DATA_DIR)';

/**
 * Creates the cache folder (or a folder in it), or says why it cannot be one and how to choose another.
 *
 * @throws OptionError (`output: ...`) when the path or a parent is a file; Error (`output: ...`)
 *   when the folder cannot be created (a read-only disk, a path under /proc).
 * @example
 * await makeCacheDir(defaultCacheDir());
 */
export async function makeCacheDir(dir: string): Promise<void> {
  await makeDir(dir, { what: 'the cache folder', fix: CACHE_FIX });
}

/**
 * Moves a cached file that turned out to be unreadable to `<file>.corrupt` (replacing an earlier
 * one), so the next run downloads (or generates) it afresh instead of failing on it again; the
 * bytes stay there for a look. Returns the new path, or undefined when the file could not be
 * moved (then the caller's message says to delete it).
 *
 * Only for files in the cache: a user's own file is never moved.
 *
 * @example
 * try { await readTrips(path); } catch (e) { const aside = await setAsideCorrupt(path); throw ...; }
 */
export async function setAsideCorrupt(path: string): Promise<string | undefined> {
  const aside = `${path}.corrupt`;
  try {
    await rename(path, aside);
    return aside;
  } catch {
    return undefined;
  }
}

/**
 * The end of a message about a cached file found unreadable: where it went and what happens next.
 *
 * @example
 * asideNote('data/x.parquet.corrupt', '2024-01'); // 'it was set aside as data/x.parquet.corrupt; the next run downloads 2024-01 again'
 */
export function asideNote(aside: string | undefined, what: string, again = 'downloads'): string {
  return aside === undefined
    ? `delete it so that the next run ${again} ${what} again`
    : `it was set aside as ${aside}; the next run ${again} ${what} again`;
}

async function localFile(source: string): Promise<string> {
  const path = resolve(source);
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) {
    throw new Error(`source: no such file ${path}; check the path, or pass a month like 2024-01 to download it`);
  }
  return path;
}

function asOptionError<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw new OptionError((error as Error).message, { cause: error });
  }
}

/** Refuses a month URL whose base is not an http(s) URL, naming where the base came from. */
function checkBaseUrl(url: string, options: TripDataUrlOptions): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol === 'http:' || protocol === 'https:') return;
  const from = options.baseUrl !== undefined ? 'the baseUrl option' : process.env.TLC_BASE_URL ? 'TLC_BASE_URL' : 'the default';
  const base = redactUrl(url.slice(0, url.lastIndexOf('/')) || url);
  throw new OptionError(
    `source: the base URL ${JSON.stringify(base)} (from ${from}) is not an http(s) URL; set it to the folder of the trip files, e.g. ${DEFAULT_TLC_BASE_URL}`,
  );
}

/** Time limits of a download, from the options, else the environment, else the defaults. */
function downloadLimits(options: FetchTripsOptions): { idleTimeoutMs: number; deadlineMs: number } {
  const pick = (value: number | undefined, env: string, fallback: number, option: string): number => {
    if (value !== undefined) {
      if (!(value > 0)) throw new OptionError(`source: ${option} must be a positive number of milliseconds, got ${value}`);
      return value;
    }
    const text = process.env[env];
    if (text === undefined || text === '') return fallback;
    const seconds = Number(text);
    if (!/^\s*\d*\.?\d+\s*$/.test(text) || !(seconds > 0)) {
      throw new OptionError(`source: ${env} must be a positive number of seconds, got ${JSON.stringify(text)}`);
    }
    return seconds * 1000;
  };
  return {
    idleTimeoutMs: pick(options.idleTimeoutMs, 'TAXI_DOWNLOAD_TIMEOUT', DEFAULT_IDLE_TIMEOUT_MS, 'idleTimeoutMs'),
    deadlineMs: pick(options.deadlineMs, 'TAXI_DOWNLOAD_DEADLINE', DEFAULT_DEADLINE_MS, 'deadlineMs'),
  };
}

/**
 * Deletes downloads that an earlier version of this module left behind when killed
 * (`<name>.download-<pid>-<random>`, as big as the file), when their process is gone.
 */
async function sweepLegacyDownloads(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = /\.parquet\.download-(\d+)-[a-z\d]{1,8}$/.exec(name)?.[1];
    if (pid !== undefined && !isAlive(Number(pid))) await rm(join(dir, name), { force: true });
  }
}

interface DownloadContext {
  idleTimeoutMs: number;
  deadlineMs: number;
  /** Date.now() by which the whole download, redirects included, must be done. */
  deadline: number;
  onProgress: ((received: number, total: number) => void) | undefined;
  /** The URL was built from a month: a 404 then means the month or colour is wrong. */
  isMonth: boolean;
  /** The cache entry, for the network failure's hint. */
  target: string;
}

/** The least a download must bring in every `idleTimeoutMs`: a server trickling less has stalled. */
const MIN_PROGRESS_BYTES = 64 * 1024;
const MAX_REDIRECTS = 5;

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

/** Resolves with a 200 response, following up to five redirects to http(s) URLs. */
function request(url: string, context: DownloadContext, redirects = 0): Promise<IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    const shown = redactUrl(url);
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { headers: { 'user-agent': 'taxi-duration' } }, (res) => {
      clearTimeout(deadline);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location !== undefined) {
        res.resume();
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          reject(new Error(`source: ${shown} redirected to ${JSON.stringify(redactUrl(location))}, which is not a valid URL; check the URL, or download the file yourself and pass its local path`));
          return;
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          reject(new Error(`source: ${shown} redirected to ${redactUrl(next.href)}, a ${next.protocol} URL that cannot be downloaded here (only http and https); download the file yourself and pass its local path`));
          return;
        }
        if (redirects >= MAX_REDIRECTS) {
          reject(new Error(`source: ${shown} redirected more than ${MAX_REDIRECTS} times (a redirect loop?); check the URL, or download the file yourself and pass its local path`));
          return;
        }
        resolvePromise(request(next.href, context, redirects + 1));
        return;
      }
      if (status !== 200) {
        res.resume();
        const hint =
          status === 404
            ? context.isMonth
              ? '; check the month and colour (TLC publishes a month about two months after it ends)'
              : '; check the URL'
            : '; try again later, or download the file yourself and pass its local path';
        reject(new Error(`source: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''} for ${shown}${hint}`));
        return;
      }
      resolvePromise(res);
    });
    const left = context.deadline - Date.now();
    const deadline = setTimeout(() => req.destroy(deadlineError(url, 0, NaN, context)), Math.max(0, left));
    req.setTimeout(context.idleTimeoutMs, () =>
      req.destroy(new Error(`source: no response from ${shown} within ${seconds(context.idleTimeoutMs)}; ${TIME_HINT}`)),
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(deadline);
      reject(error.message.startsWith('source: ') ? error : networkError(url, error, context));
    });
  });
}

const TIME_HINT = 'try again later, raise the limits (--download-timeout / TAXI_DOWNLOAD_TIMEOUT, --download-deadline / TAXI_DOWNLOAD_DEADLINE, in seconds), or download the file yourself and pass its local path';

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function networkError(url: string, error: NodeJS.ErrnoException, context: DownloadContext): Error {
  const base = context.isMonth ? 'point the base URL at a reachable copy (the baseUrl option or TLC_BASE_URL), ' : '';
  return new Error(
    `source: could not fetch ${redactUrl(url)} (${error.code ?? error.message}); check the network, or ${base}` +
      `pass a local parquet path instead, or copy the file into the cache as ${context.target}, ` +
      `or train offline on generated data (--synthetic)`,
    { cause: error },
  );
}

function deadlineError(url: string, received: number, total: number, context: DownloadContext): Error {
  const of = Number.isNaN(total) ? '' : ` of ${total}`;
  return new Error(`source: the download of ${redactUrl(url)} did not finish within ${seconds(context.deadlineMs)} (${received}${of} bytes arrived); nothing was cached; ${TIME_HINT}`);
}

async function download(url: string, tmp: string, context: DownloadContext): Promise<void> {
  const res = await request(url, context);
  const header = res.headers['content-length'];
  const total = header === undefined ? NaN : Number(header);
  // S3 and CloudFront give a file uploaded in one part an ETag that is its MD5 (multipart ones end in -N).
  const etag = /^"([\da-f]{32})"$/i.exec(res.headers.etag ?? '')?.[1]?.toLowerCase();
  const md5 = etag !== undefined && res.headers['content-encoding'] === undefined ? createHash('md5') : undefined;
  let received = 0;
  await new Promise<void>((resolvePromise, reject) => {
    const out = createWriteStream(tmp, { flags: 'wx' });
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      clearTimeout(deadline);
      clearTimeout(stall);
      res.destroy();
      out.destroy();
      reject(error);
    };
    const deadline = setTimeout(() => fail(deadlineError(url, received, total, context)), Math.max(0, context.deadline - Date.now()));
    // Stalled unless MIN_PROGRESS_BYTES arrive within every idleTimeoutMs.
    let mark = 0;
    const onStall = (): void => fail(new Error(
      `source: the download of ${redactUrl(url)} stalled: less than ${MIN_PROGRESS_BYTES / 1024} KiB in ${seconds(context.idleTimeoutMs)} (${received} bytes so far); nothing was cached; ${TIME_HINT}`,
    ));
    let stall = setTimeout(onStall, context.idleTimeoutMs);
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      md5?.update(chunk);
      if (received - mark >= MIN_PROGRESS_BYTES) {
        mark = received;
        clearTimeout(stall);
        stall = setTimeout(onStall, context.idleTimeoutMs);
      }
      context.onProgress?.(received, total);
    });
    res.on('error', (error: NodeJS.ErrnoException) => fail(shortDownload(url, received, total, error.code ?? error.message)));
    res.on('aborted', () => fail(shortDownload(url, received, total, 'connection closed')));
    // A write error (a full disk) keeps its code: lib/output.ts names the file and the cause.
    out.on('error', (error) => fail(error));
    out.on('finish', () => {
      if (failed) return;
      clearTimeout(deadline);
      clearTimeout(stall);
      if (!Number.isNaN(total) && received !== total) return fail(shortDownload(url, received, total, 'size mismatch'));
      const got = md5?.digest('hex');
      if (got !== undefined && got !== etag) {
        return fail(new Error(`source: the download of ${redactUrl(url)} is corrupt: its MD5 ${got} differs from the server's ETag ${etag}; nothing was cached, try again`));
      }
      resolvePromise();
    });
    res.pipe(out);
  });
}

function shortDownload(url: string, received: number, total: number, why: string): Error {
  const of = Number.isNaN(total) ? '' : ` of ${total}`;
  return new Error(`source: the download of ${redactUrl(url)} ended after ${received}${of} bytes (${why}); nothing was cached, try again`);
}
