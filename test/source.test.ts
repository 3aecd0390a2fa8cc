import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TLC_BASE_URL, defaultCacheDir, fetchTrips, readTrips, tripDataUrl, writeSyntheticTrips } from '../lib/index.js';

let dir: string;
let server: Server;
let base: string;
let parquet: Buffer;
let other: Buffer;
let origin: string;
const requests: string[] = [];
const html = '<!DOCTYPE html>\n<html><body>Log in to the hotel Wi-Fi</body></html>\n';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'source-test-'));
  const file = join(dir, 'served.parquet');
  await writeSyntheticTrips(file, { month: '2024-01', rows: 3000, seed: 9 });
  parquet = await readFile(file);
  const otherFile = join(dir, 'other.parquet');
  await writeSyntheticTrips(otherFile, { month: '2024-02', rows: 500, seed: 10 });
  other = await readFile(otherFile);
  // A stand-in for TLC's bucket: each path behaves as one case.
  server = createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(url);
    if (url.startsWith('/y/')) {
      // Same file names as /x/ and as the months, different contents.
      res.writeHead(200, { 'content-length': other.length });
      res.end(other);
    } else if (url.startsWith('/x/')) {
      res.writeHead(200, { 'content-length': parquet.length });
      res.end(parquet);
    } else if (url.startsWith('/portal/') || url.endsWith('_2024-08.parquet')) {
      // A captive portal: 200 with a login page.
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) });
      res.end(html);
    } else if (url.startsWith('/cut/') || url.endsWith('_2024-09.parquet')) {
      // No Content-Length, the end of the body marked by closing the connection, closed early.
      req.socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n'), parquet.subarray(0, parquet.length >> 1)]));
    } else if (url.endsWith('_tripdata_2024-01.parquet') || url === '/any/name.parquet') {
      res.writeHead(200, { 'content-length': parquet.length, 'content-type': 'application/octet-stream' });
      res.end(parquet);
    } else if (url.endsWith('_2024-05.parquet')) {
      res.writeHead(500, 'Internal Server Error');
      res.end('oops');
    } else if (url.endsWith('_2024-06.parquet')) {
      // Announces the whole file, sends a third, then drops the connection.
      res.writeHead(200, { 'content-length': parquet.length });
      res.write(parquet.subarray(0, Math.floor(parquet.length / 3)), () => res.socket?.destroy());
    } else if (url.endsWith('_2024-07.parquet')) {
      res.writeHead(302, { location: '/moved/yellow_tripdata_2024-01.parquet' });
      res.end();
    } else {
      res.writeHead(404, 'Not Found');
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  base = `${origin}/trip-data`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

const freshCache = async (): Promise<string> => mkdtemp(join(dir, 'cache-'));

describe('tripDataUrl and defaultCacheDir', () => {
  it('builds TLC URLs, with the base from the option, then TLC_BASE_URL, then TLC', () => {
    vi.stubEnv('TLC_BASE_URL', '');
    delete process.env.TLC_BASE_URL;
    expect(tripDataUrl('yellow', '2024-01')).toBe(`${DEFAULT_TLC_BASE_URL}/yellow_tripdata_2024-01.parquet`);
    expect(DEFAULT_TLC_BASE_URL).toBe('https://d37ci6vzurychx.cloudfront.net/trip-data');
    vi.stubEnv('TLC_BASE_URL', 'http://127.0.0.1:9/env/');
    expect(tripDataUrl('green', '2023-12')).toBe('http://127.0.0.1:9/env/green_tripdata_2023-12.parquet');
    expect(tripDataUrl('green', '2023-12', { baseUrl: 'http://x.test/b' })).toBe('http://x.test/b/green_tripdata_2023-12.parquet');
  });

  it('puts the cache in data/ at the project root, or TAXI_DATA_DIR', () => {
    vi.stubEnv('TAXI_DATA_DIR', '');
    delete process.env.TAXI_DATA_DIR;
    expect(defaultCacheDir()).toBe(new URL('../data', import.meta.url).pathname);
    vi.stubEnv('TAXI_DATA_DIR', join(dir, 'elsewhere'));
    expect(defaultCacheDir()).toBe(join(dir, 'elsewhere'));
  });
});

describe('fetchTrips', () => {
  it('downloads a month once, then reuses the cache without the network', async () => {
    const cacheDir = await freshCache();
    const before = requests.length;
    const progress: [number, number][] = [];
    const path = await fetchTrips('2024-01', { baseUrl: base, cacheDir, quiet: true, onProgress: (r, t) => progress.push([r, t]) });
    expect(path).toBe(join(cacheDir, 'yellow_tripdata_2024-01.parquet'));
    expect(requests.slice(before)).toEqual(['/trip-data/yellow_tripdata_2024-01.parquet']);
    expect(Buffer.compare(await readFile(path), parquet)).toBe(0);
    expect(progress.at(-1)).toEqual([parquet.length, parquet.length]);
    expect((await readTrips(path)).length).toBe(3000);
    // The cached file is used even when the server is unreachable.
    const again = await fetchTrips('2024-01', { baseUrl: 'http://127.0.0.1:1', cacheDir, quiet: true });
    expect(again).toBe(path);
    expect(requests.length).toBe(before + 1);
    expect(await readdir(cacheDir)).toEqual(['yellow_tripdata_2024-01.parquet']);
  });

  it('downloads green months under their own name and follows redirects', async () => {
    const cacheDir = await freshCache();
    const green = await fetchTrips('2024-01', { color: 'green', baseUrl: base, cacheDir, quiet: true });
    expect(green).toBe(join(cacheDir, 'green_tripdata_2024-01.parquet'));
    const moved = await fetchTrips('2024-07', { baseUrl: base, cacheDir, quiet: true });
    expect(Buffer.compare(await readFile(moved), parquet)).toBe(0);
  });

  it('accepts any URL (cached under urls/, keyed on the whole URL) and a local path', async () => {
    const cacheDir = await freshCache();
    const url = `${origin}/any/name.parquet`;
    const fromUrl = await fetchTrips(url, { cacheDir, quiet: true });
    expect(fromUrl).toBe(join(cacheDir, 'urls', `${createHash('sha256').update(url).digest('hex').slice(0, 12)}-name.parquet`));
    expect(await fetchTrips(fromUrl)).toBe(fromUrl);
    await expect(fetchTrips(join(dir, 'absent.parquet'))).rejects.toThrow(/^source: no such file .*absent\.parquet; check the path/);
  });

  it('caches two URLs with the same file name apart, each with its own contents', async () => {
    const cacheDir = await freshCache();
    const x = await fetchTrips(`${origin}/x/data.parquet`, { cacheDir, quiet: true });
    const y = await fetchTrips(`${origin}/y/data.parquet`, { cacheDir, quiet: true });
    expect(y).not.toBe(x);
    expect(Buffer.compare(await readFile(x), parquet)).toBe(0);
    expect(Buffer.compare(await readFile(y), other)).toBe(0);
    expect((await readTrips(y)).length).toBe(500);
    // Each is then reused from the cache, without the network.
    const before = requests.length;
    expect(await fetchTrips(`${origin}/x/data.parquet`, { cacheDir, quiet: true })).toBe(x);
    expect(await fetchTrips(`${origin}/y/data.parquet`, { cacheDir, quiet: true })).toBe(y);
    expect(requests.length).toBe(before);
  });

  it('does not mix up a month and a URL whose file name is the month\'s', async () => {
    const cacheDir = await freshCache();
    const month = await fetchTrips('2024-01', { baseUrl: base, cacheDir, quiet: true });
    const url = await fetchTrips(`${origin}/y/yellow_tripdata_2024-01.parquet`, { cacheDir, quiet: true });
    expect(url).not.toBe(month);
    expect(Buffer.compare(await readFile(month), parquet)).toBe(0);
    expect(Buffer.compare(await readFile(url), other)).toBe(0);
    // The month keeps TLC's name at the top of the cache; the URL lives under urls/.
    expect((await readdir(cacheDir)).sort()).toEqual(['urls', 'yellow_tripdata_2024-01.parquet']);
  });

  it.each([
    ['an HTML page (URL)', () => `${origin}/portal/yellow_tripdata_2024-01.parquet`, /^source: http:\/\/127\.0\.0\.1:\d+\/portal\/yellow_tripdata_2024-01\.parquet did not return a parquet file \(starts with '<!DOCTYPE html>'\); check the URL/],
    ['an HTML page (month)', () => '2024-08', /^source: http:\/\/127\.0\.0\.1:\d+\/trip-data\/yellow_tripdata_2024-08\.parquet did not return a parquet file \(starts with '<!DOCTYPE html>'\); check the URL/],
    ['a body cut short without Content-Length (URL)', () => `${origin}/cut/data.parquet`, /^source: .*\/cut\/data\.parquet did not return a parquet file \(starts with PAR1 but does not end with it after \d+ bytes: cut short\); check the URL/],
    ['a body cut short without Content-Length (month)', () => '2024-09', /^source: .*yellow_tripdata_2024-09\.parquet did not return a parquet file \(starts with PAR1 but does not end with it/],
  ])('refuses %s, caching nothing and leaving a good cached file alone', async (_, source, message) => {
    const cacheDir = await freshCache();
    const good = await fetchTrips('2024-01', { baseUrl: base, cacheDir, quiet: true });
    await expect(fetchTrips(source(), { baseUrl: base, cacheDir, quiet: true })).rejects.toThrow(message);
    expect(Buffer.compare(await readFile(good), parquet)).toBe(0);
    const left = [...(await readdir(cacheDir)), ...(existsSync(join(cacheDir, 'urls')) ? await readdir(join(cacheDir, 'urls')) : [])];
    expect(left.filter((name) => name !== 'urls')).toEqual(['yellow_tripdata_2024-01.parquet']);
  });

  it.each([
    ['an HTML page', () => Buffer.from(html), /is not a parquet file \(starts with '<!DOCTYPE html>'\)/],
    ['a file cut short', () => parquet.subarray(0, 1000), /is not a parquet file \(starts with PAR1 but does not end with it after 1000 bytes: cut short\)/],
    ['a bad footer length', () => Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(8), Buffer.from([0xff, 0xff, 0, 0]), Buffer.from('PAR1')]), /is not a parquet file \(its footer length 65535 does not fit in its 20 bytes\)/],
  ])('names a cached file that is not parquet (%s), sets it aside without the network, and downloads afresh next time', async (_, bytes, message) => {
    const cacheDir = await freshCache();
    const path = join(cacheDir, 'yellow_tripdata_2024-01.parquet');
    const content = bytes();
    await writeFile(path, content);
    const before = requests.length;
    const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    await expect(fetchTrips('2024-01', { baseUrl: base, cacheDir })).rejects.toThrow(
      new RegExp(`^source: the cached file ${escaped(path)} ${message.source}; it was set aside as ${escaped(path)}\\.corrupt; the next run downloads 2024-01 again$`),
    );
    expect(requests.length).toBe(before);
    expect(Buffer.compare(await readFile(`${path}.corrupt`), content)).toBe(0);
    expect(existsSync(path)).toBe(false);
    // The next call downloads a good copy.
    expect(await fetchTrips('2024-01', { baseUrl: base, cacheDir })).toBe(path);
    expect(Buffer.compare(await readFile(path), parquet)).toBe(0);
  });

  it('prints nothing, quiet or not (quiet is still accepted): progress goes to onProgress', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const log = vi.spyOn(console, 'log');
    const progress: number[] = [];
    await fetchTrips('2024-01', { baseUrl: base, cacheDir: await freshCache(), quiet: true });
    await fetchTrips('2024-01', { baseUrl: base, cacheDir: await freshCache(), quiet: false, onProgress: (got) => progress.push(got) });
    await fetchTrips('2024-01', { baseUrl: base, cacheDir: await freshCache() });
    expect(stderr).not.toHaveBeenCalled();
    expect(stdout).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
    expect(progress.at(-1)).toBe(parquet.length);
  });

  it.each([
    ['2024-13', /^source: month "2024-13" is not a month like 2024-01/],
    ['2024-00', /^source: month "2024-00"/],
    ['2024-1', /^source: month "2024-1"/],
    ['../x', /^source: "\.\.\/x" is neither a month \(YYYY-MM, e\.g\. 2024-01\), an http\(s\) URL, nor a path to a \.parquet file/],
    ['yellow', /^source: "yellow" is neither a month/],
    ['', /^source: "" is neither a month/],
  ])('rejects %j before any I/O', async (source, message) => {
    const cacheDir = join(dir, 'never-created');
    const before = requests.length;
    await expect(fetchTrips(source, { baseUrl: base, cacheDir })).rejects.toThrow(message);
    expect(requests.length).toBe(before);
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('rejects an unknown colour', async () => {
    await expect(fetchTrips('2024-01', { color: 'purple' as 'green', baseUrl: base, cacheDir: join(dir, 'never-created') })).rejects.toThrow(/^source: color must be 'yellow', 'green', 'fhv' or 'fhvhv', got "purple"/);
  });

  it.each([
    ['2024-04', /^source: HTTP 404 Not Found for http:\/\/127\.0\.0\.1:\d+\/trip-data\/yellow_tripdata_2024-04\.parquet; check the month/],
    ['2024-05', /^source: HTTP 500 Internal Server Error for http:\/\/127\.0\.0\.1:\d+\/trip-data\/yellow_tripdata_2024-05\.parquet; try again later/],
    ['2024-06', /^source: the download of http:\/\/127\.0\.0\.1:\d+\/trip-data\/yellow_tripdata_2024-06\.parquet ended after \d+ of \d+ bytes .*nothing was cached/],
  ])('fails on month %s with a clear error and caches nothing', async (month, message) => {
    const cacheDir = await freshCache();
    await expect(fetchTrips(month, { baseUrl: base, cacheDir, quiet: true })).rejects.toThrow(message);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('says to check the URL, not the month, on a 404 for a URL', async () => {
    const cacheDir = await freshCache();
    const error = await fetchTrips(`${origin}/missing/data.parquet`, { cacheDir, quiet: true }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^source: HTTP 404 Not Found for http:\/\/127\.0\.0\.1:\d+\/missing\/data\.parquet; check the URL$/);
    expect((error as Error).message).not.toMatch(/month|colou?r/);
  });

  it('says how to use a local file when the server cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const cacheDir = await freshCache();
    await expect(fetchTrips('2024-01', { baseUrl: `http://127.0.0.1:${port}`, cacheDir, quiet: true })).rejects.toThrow(
      new RegExp(
        '^source: could not fetch http://127\\.0\\.0\\.1:\\d+/yellow_tripdata_2024-01\\.parquet \\(ECONNREFUSED\\); check the network, ' +
          'or point the base URL at a reachable copy \\(the baseUrl option or TLC_BASE_URL\\), pass a local parquet path instead, ' +
          `or copy the file into the cache as ${join(cacheDir, 'yellow_tripdata_2024-01.parquet').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, ` +
          'or train offline on generated data \\(--synthetic\\)$',
      ),
    );
    expect(await readdir(cacheDir)).toEqual([]);
  });
});
