/**
 * Fault injection: nothing lost, nothing hangs, no stack traces.
 *
 * A fault server on 127.0.0.1 plays every way a download goes wrong (status codes, redirects
 * to nowhere, resets, short and long bodies, trickling, silence, corrupt bodies with valid
 * framing, with and without an MD5 ETag); the command is run in-process (`main(argv, io)`) for
 * exit codes and messages, and as a child process only where a process is the point: signals,
 * kill -9 during a download and during a save, stdout closed early or full. Disk full uses a
 * small tmpfs mounted under a temporary folder (skipped, with the reason, where mounting is not
 * allowed); device nodes, FIFOs and symbolic links are made in temporary folders.
 *
 * Each case checks the exit code, the one-line message, and that nothing earlier was lost.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, openSync, statfsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parquetMetadata } from 'hyparquet';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { main } from '../lib/cli.js';
import { fetchTrips, loadModel, writeSyntheticTrips } from '../lib/index.js';

const root = resolve(import.meta.dirname, '..');
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

let dir: string;
let server: Server;
let origin: string;
let good: Buffer; // yellow 2024-01, 3,000 rows
let val: Buffer; // yellow 2024-02, 2,000 rows
let green: Buffer;
let corrupt: Buffer; // good with the middle of the trip_distance column chunk flipped: PAR1 at both ends, footer intact
const requests: string[] = [];
const flaky = new Map<string, number>();

/** Serves `good` (or val, green by name), and every fault by the path's first segment. */
function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '';
  requests.push(url);
  const [, kind = '', ...rest] = url.split('?')[0]!.split('/');
  const name = rest.at(-1) ?? '';
  const body = name.includes('2024-02') ? val : name.startsWith('green') ? green : good;
  const send = (bytes: Buffer, headers: Record<string, string | number> = {}) => {
    res.writeHead(200, { 'content-length': bytes.length, ...headers });
    res.end(bytes);
  };
  switch (kind) {
    case 'ok':
      return send(body);
    case 'status':
      res.writeHead(Number(rest[0]));
      res.end('no');
      return;
    case 'redirect-invalid':
      res.writeHead(302, { location: 'http://exa mple.org:99999/x.parquet' });
      res.end();
      return;
    case 'redirect-ftp':
      res.writeHead(301, { location: 'ftp://files.example.org/yellow_tripdata_2024-01.parquet' });
      res.end();
      return;
    case 'redirect-loop':
      res.writeHead(302, { location: url });
      res.end();
      return;
    case 'reset':
      // Half the body, then a TCP reset.
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.resetAndDestroy());
      return;
    case 'short':
      // Announces the whole file, sends a third, ends the connection cleanly.
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, Math.floor(body.length / 3)), () => res.socket?.end());
      return;
    case 'long':
      // No length announced, and bytes after the file's end.
      req.socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n'), body, Buffer.alloc(1000, 7)]));
      return;
    case 'trickle': {
      // A byte every 50 ms, for as long as the client listens.
      res.writeHead(200, { 'content-length': body.length });
      let at = 0;
      const timer: NodeJS.Timeout = setInterval(() => {
        if (res.destroyed || at >= body.length) return clearInterval(timer);
        res.write(body.subarray(at, ++at));
      }, 50);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case 'steady': {
      // 64 KiB every 100 ms (fast enough for the stall rule), forever: only a deadline ends it.
      res.writeHead(200, { 'content-length': 1e9 });
      const timer: NodeJS.Timeout = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(Buffer.alloc(65_536))), 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case 'silent':
      // Accepts the connection and never answers.
      return;
    case 'corrupt':
      return send(corrupt);
    case 'corrupt-etag':
      return send(corrupt, { etag: `"${md5(body)}"` });
    case 'etag':
      return send(body, { etag: `"${md5(body)}"` });
    case 'flaky': {
      // Corrupt the first time a name is asked for, good afterwards.
      const n = flaky.get(name) ?? 0;
      flaky.set(name, n + 1);
      return send(n === 0 ? corrupt : body);
    }
    default:
      res.writeHead(404);
      res.end();
  }
}

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-faults-'));
  const file = (name: string) => join(dir, name);
  await writeSyntheticTrips(file('good.parquet'), { month: '2024-01', rows: 3000, seed: 31, quirks: { neededNull: 0 } });
  await writeSyntheticTrips(file('val.parquet'), { month: '2024-02', rows: 2000, seed: 32, quirks: { neededNull: 0 } });
  await writeSyntheticTrips(file('green.parquet'), { month: '2024-01', rows: 2000, seed: 33, color: 'green' });
  [good, val, green] = (await Promise.all(['good', 'val', 'green'].map((n) => readFile(file(`${n}.parquet`))))) as [Buffer, Buffer, Buffer];
  corrupt = Buffer.from(good);
  const meta = parquetMetadata(good.buffer.slice(good.byteOffset, good.byteOffset + good.length) as ArrayBuffer);
  const chunk = meta.row_groups[0]!.columns.find((c) => c.meta_data!.path_in_schema[0] === 'trip_distance')!.meta_data!;
  const start = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset);
  const size = Number(chunk.total_compressed_size);
  for (let i = start + (size >> 2); i < start + size - (size >> 2); i++) corrupt[i]! ^= 0x5a;
  server = createServer(handle);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

let folders = 0;
const fresh = async (name: string): Promise<string> => {
  const path = join(dir, `${name}-${++folders}`);
  await mkdir(path, { recursive: true });
  return path;
};

/** A writable that keeps what it gets; `fail` makes every write fail with that error code. */
function sink(fail?: string) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (fail) return done(Object.assign(new Error(`write ${fail}`), { code: fail }));
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command in this process, with the fault server as TLC and a private cache unless given. */
async function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  vi.stubEnv('TLC_BASE_URL', `${origin}/ok`);
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
  const out = sink();
  const err = sink();
  const code = await main(args, { stdout: out.stream, stderr: err.stream, stdin: process.stdin });
  return { code, stdout: out.text(), stderr: err.text() };
}

/** Exit code, and stderr's last line matching `pattern` with no stack trace anywhere. */
function expectFailure(r: Run, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr.trimEnd().split('\n').at(-1), r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at |Caused by|^\w*Error:/m);
}

/** Every file under a folder, hidden ones included (temporary files, locks). */
async function tree(path: string): Promise<string[]> {
  if (!existsSync(path)) return [];
  return (await readdir(path, { recursive: true, withFileTypes: true })).filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name).slice(path.length + 1)).sort();
}

/** Byte equality without a deep comparison of millions of elements (toEqual on a 4 MB Buffer takes a minute). */
function expectSameBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected), 'the bytes differ').toBe(true);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('downloads under faults (fetchTrips)', () => {
  const fast = { idleTimeoutMs: 400, deadlineMs: 5_000 };
  it.each([
    ['HTTP 503', 'status/503', /^source: HTTP 503 .*\/status\/503\/x\.parquet; try again later/],
    ['HTTP 403', 'status/403', /^source: HTTP 403 .*; try again later, or download the file yourself/],
    ['a redirect to an invalid URL', 'redirect-invalid', /^source: .*\/redirect-invalid\/x\.parquet redirected to "http:\/\/exa mple\.org:99999\/x\.parquet", which is not a valid URL/],
    ['a redirect to ftp:', 'redirect-ftp', /^source: .*redirected to ftp:\/\/files\.example\.org\/yellow_tripdata_2024-01\.parquet, a ftp: URL that cannot be downloaded here \(only http and https\)/],
    ['a redirect loop', 'redirect-loop', /^source: .*\/redirect-loop\/x\.parquet redirected more than 5 times/],
    ['a connection reset mid-body', 'reset', /^source: the download of .*\/reset\/x\.parquet ended after \d+ of \d+ bytes .*nothing was cached/],
    ['a body shorter than announced', 'short', /^source: the download of .*\/short\/x\.parquet ended after \d+ of \d+ bytes/],
    ['a body longer than the file', 'long', /^source: .*\/long\/x\.parquet did not return a parquet file \(starts with PAR1 but does not end with it/],
    ['a trickle (a byte every 50 ms)', 'trickle', /^source: the download of .*\/trickle\/x\.parquet stalled: less than 64 KiB in 0\.4 s \(\d+ bytes so far\); nothing was cached; try again later, raise the limits \(--download-timeout/],
    ['a server that never answers', 'silent', /^source: no response from .*\/silent\/x\.parquet within 0\.4 s; try again later, raise the limits/],
    ['a steady stream past the deadline', 'steady', /^source: the download of .*\/steady\/x\.parquet did not finish within 1\.5 s \(\d+ of 1000000000 bytes arrived\); nothing was cached/],
    ['a corrupt body whose MD5 ETag does not match', 'corrupt-etag', /^source: the download of .*\/corrupt-etag\/x\.parquet is corrupt: its MD5 [\da-f]{32} differs from the server's ETag [\da-f]{32}; nothing was cached/],
  ])('%s: one clear error, nothing cached, the earlier cached file kept', async (_, path, message) => {
    const cacheDir = await fresh('cache');
    const earlier = await fetchTrips(`${origin}/ok/x.parquet`, { cacheDir });
    const before = await tree(cacheDir);
    const started = Date.now();
    const limits = path === 'steady' ? { ...fast, deadlineMs: 1_500 } : fast;
    await expect(fetchTrips(`${origin}/${path}/x.parquet`, { cacheDir, ...limits })).rejects.toThrow(message);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await tree(cacheDir)).toEqual(before);
    expectSameBytes(await readFile(earlier), good);
  });

  it('keeps credentials and signed query strings out of its messages', async () => {
    const port = new URL(origin).port;
    const secret = `http://user:hunter2@127.0.0.1:${port}/status/403/x.parquet?X-Amz-Signature=topsecret`;
    const error = (await fetchTrips(secret, { cacheDir: await fresh('cache') }).then(() => undefined, (e: unknown) => e)) as Error;
    expect(error.message).toBe(`source: HTTP 403 Forbidden for http://127.0.0.1:${port}/status/403/x.parquet?…; try again later, or download the file yourself and pass its local path`);
  });

  it('checks the MD5 ETag of a good body and takes it', async () => {
    const cacheDir = await fresh('cache');
    const path = await fetchTrips(`${origin}/etag/x.parquet`, { cacheDir });
    expectSameBytes(await readFile(path), good);
  });

  it('takes the time limits from TAXI_DOWNLOAD_TIMEOUT and TAXI_DOWNLOAD_DEADLINE (seconds) and refuses bad ones', async () => {
    const cacheDir = await fresh('cache');
    vi.stubEnv('TAXI_DOWNLOAD_TIMEOUT', '0.3');
    await expect(fetchTrips(`${origin}/trickle/x.parquet`, { cacheDir })).rejects.toThrow(/stalled: less than 64 KiB in 0\.3 s/);
    vi.stubEnv('TAXI_DOWNLOAD_TIMEOUT', '');
    vi.stubEnv('TAXI_DOWNLOAD_DEADLINE', '0.5');
    await expect(fetchTrips(`${origin}/steady/x.parquet`, { cacheDir })).rejects.toThrow(/did not finish within 0\.5 s/);
    vi.stubEnv('TAXI_DOWNLOAD_DEADLINE', 'soon');
    await expect(fetchTrips(`${origin}/ok/x.parquet`, { cacheDir })).rejects.toThrow(/^source: TAXI_DOWNLOAD_DEADLINE must be a positive number of seconds, got "soon"$/);
    expect(await tree(cacheDir)).toEqual([]);
  });

  it('names a cache entry that is a folder before downloading anything', async () => {
    const cacheDir = await fresh('cache');
    await mkdir(join(cacheDir, 'yellow_tripdata_2024-01.parquet'));
    const before = requests.length;
    await expect(fetchTrips('2024-01', { cacheDir, baseUrl: `${origin}/ok` })).rejects.toThrow(
      new RegExp(`^source: the cache entry ${escape(join(cacheDir, 'yellow_tripdata_2024-01.parquet'))} is a folder; remove it, or choose another cache folder`),
    );
    expect(requests.length).toBe(before);
  });

  it('cleans up downloads an older version left behind when killed (name.download-<pid>-<random>)', async () => {
    const cacheDir = await fresh('cache');
    const dead = await deadPid();
    const leftover = join(cacheDir, `yellow_tripdata_2024-01.parquet.download-${dead}-ab12cd`);
    const alive = join(cacheDir, `yellow_tripdata_2024-01.parquet.download-${process.pid}-ab12cd`);
    await writeFile(leftover, good);
    await writeFile(alive, 'in progress');
    await fetchTrips('2024-01', { cacheDir, baseUrl: `${origin}/ok` });
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(alive)).toBe(true);
  });
});

describe('the command under faults (exit code, one line, nothing lost)', () => {
  let earlier: { out: string; model: Buffer; plot: Buffer };

  beforeAll(async () => {
    const out = join(dir, 'earlier');
    const r = await run(['--out', out, '--cache-dir', join(dir, 'earlier-cache'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    earlier = { out, model: await readFile(join(out, 'lin_reg.json')), plot: await readFile(join(out, 'predicted_vs_actual.html')) };
  });

  /** A copy of the earlier run's outputs in a fresh folder. */
  async function withEarlierOutputs(): Promise<string> {
    const out = await fresh('out');
    await writeFile(join(out, 'lin_reg.json'), earlier.model);
    await writeFile(join(out, 'predicted_vs_actual.html'), earlier.plot);
    return out;
  }

  async function expectEarlierKept(out: string): Promise<void> {
    expectSameBytes(await readFile(join(out, 'lin_reg.json')), earlier.model);
    expectSameBytes(await readFile(join(out, 'predicted_vs_actual.html')), earlier.plot);
    expect(await tree(out)).toEqual(['lin_reg.json', 'predicted_vs_actual.html']);
  }

  it.each([
    ['min above max', ['--min-duration', '60', '--max-duration', '1'], /^pipeline: minDuration \(60\) must be below maxDuration \(1\)$/],
    ['a negative duration', ['--min-duration', '-5'], /^taxi-duration: --min-duration must be a number of minutes ≥ 0, got '-5'$/],
    ['a hexadecimal duration', ['--max-duration', '0x10'], /^taxi-duration: --max-duration must be a number of minutes, got '0x10'$/],
    ['a hexadecimal row count', ['--synthetic', '--synthetic-rows', '0x10'], /^taxi-duration: --synthetic-rows must be a positive whole number, got '0x10'$/],
    ['a trillion generated rows', ['--synthetic', '--synthetic-rows', '1e12'], /^pipeline: syntheticRows must be a whole number from 1 to 10,000,000 .*got 1000000000000$/],
    ['a malformed month', ['--train', '2024-13'], /^source: month "2024-13" is not a month like 2024-01/],
    ['an ftp: source', ['--train', 'ftp://files.example.org/yellow_tripdata_2024-01.parquet'], /^source: ftp:\/\/files\.example\.org\/yellow_tripdata_2024-01\.parquet is a ftp: URL, which cannot be downloaded here \(only http and https\); download the file yourself and pass its local path$/],
    ['a zero download timeout', ['--download-timeout', '0'], /^taxi-duration: --download-timeout must be a number of seconds above 0, got '0'$/],
  ])('%s: exit 2 before any work, earlier outputs kept', async (_, args, message) => {
    const out = await withEarlierOutputs();
    const cache = join(dir, `never-${++folders}`);
    const before = requests.length;
    const r = await run([...args, '--out', out, '--cache-dir', cache]);
    expectFailure(r, 2, message);
    expect(requests.length).toBe(before);
    expect(existsSync(cache)).toBe(false);
    await expectEarlierKept(out);
  });

  it('names a base URL that is not one (TLC_BASE_URL=garbage), exit 2', async () => {
    const r = await run(['--out', await fresh('out'), '--cache-dir', await fresh('cache')], { TLC_BASE_URL: 'garbage' });
    expectFailure(r, 2, /^source: the base URL "garbage" \(from TLC_BASE_URL\) is not an http\(s\) URL; set it to the folder of the trip files, e.g\. https:\/\/d37ci6vzurychx\.cloudfront\.net\/trip-data$/);
  });

  it('names a --cache-dir that is a file, exit 2', async () => {
    const file = join(await fresh('c'), 'a-file');
    await writeFile(file, 'x');
    const r = await run(['--out', await fresh('out'), '--cache-dir', file]);
    expectFailure(r, 2, new RegExp(`^output: the cache folder ${escape(file)} cannot be a folder: it is a regular file; choose another cache folder \\(the cacheDir option, --cache-dir or TAXI_DATA_DIR\\)$`));
    expect(await readFile(file, 'utf8')).toBe('x');
  });

  it.each([
    ['a redirect to an invalid URL', 'redirect-invalid', /^source: .* redirected to "http:\/\/exa mple\.org:99999\/x\.parquet", which is not a valid URL/],
    ['a redirect to ftp:', 'redirect-ftp', /^source: .* redirected to ftp:\/\/.*, a ftp: URL that cannot be downloaded here/],
    ['a trickle', 'trickle', /^source: the download of .* stalled/],
  ])('%s: exit 1, one line, earlier outputs kept', async (_, kind, message) => {
    const out = await withEarlierOutputs();
    const r = await run(['--train', `${origin}/${kind}/x.parquet`, '--out', out, '--cache-dir', await fresh('cache'), '--download-timeout', '0.4', '-q']);
    expectFailure(r, 1, message);
    await expectEarlierKept(out);
  });

  it('points at every way out when the server is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const cache = await fresh('cache');
    const r = await run(['--out', await fresh('out'), '--cache-dir', cache], { TLC_BASE_URL: `http://127.0.0.1:${port}` });
    expectFailure(r, 1, new RegExp(
      `^source: could not fetch http://127\\.0\\.0\\.1:${port}/yellow_tripdata_2024-01\\.parquet \\(ECONNREFUSED\\); check the network, ` +
        'or point the base URL at a reachable copy \\(the baseUrl option or TLC_BASE_URL\\), pass a local parquet path instead, ' +
        `or copy the file into the cache as ${escape(join(cache, 'yellow_tripdata_2024-01.parquet'))}, or train offline on generated data \\(--synthetic\\)$`,
    ));
  });

  it('sets a cached download that fails to decode aside, says so, and downloads it afresh on the next run', async () => {
    const cache = await fresh('cache');
    const url = `${origin}/flaky/yellow_tripdata_2024-01.parquet`;
    const args = ['--train', url, '--val', `${origin}/ok/yellow_tripdata_2024-02.parquet`, '--cache-dir', cache, '-q'];
    const out = await withEarlierOutputs();
    const first = await run([...args, '--out', out]);
    expectFailure(first, 1, /^read: .*yellow_tripdata_2024-01\.parquet: .*; it was set aside as .*yellow_tripdata_2024-01\.parquet\.corrupt; the next run downloads http:\/\/127\.0\.0\.1:\d+\/flaky\/yellow_tripdata_2024-01\.parquet again$/);
    await expectEarlierKept(out);
    const entries = await tree(cache);
    expect(entries.filter((e) => e.endsWith('.corrupt'))).toHaveLength(1);
    expect(entries.filter((e) => e.endsWith('yellow_tripdata_2024-01.parquet'))).toHaveLength(0);
    const second = await run([...args, '--out', out]);
    expect(second.code, second.stderr).toBe(0);
    expect(requests.filter((r) => r.startsWith('/flaky/'))).toHaveLength(2);
    expect((await loadModel(join(out, 'lin_reg.json'))).metadata.training?.rows).toBeGreaterThan(2000);
  });

  it('sets a generated month that fails to decode aside, and generates it again on the next run', async () => {
    const cache = await fresh('cache');
    const args = ['--synthetic', '--synthetic-rows', '3000', '--cache-dir', cache, '--no-plot', '-q'];
    const out = await fresh('out');
    expect((await run([...args, '--out', out])).code).toBe(0);
    const month = join(cache, 'synthetic', 'v2', 'yellow_tripdata_2024-01_3000.parquet');
    const bytes = await readFile(month);
    await writeFile(month, Buffer.concat([bytes.subarray(0, 4), Buffer.alloc(bytes.length - 12, 0x33), bytes.subarray(bytes.length - 8)]));
    const failed = await run([...args, '--out', out]);
    expectFailure(failed, 1, /^read: .*; it was set aside as .*yellow_tripdata_2024-01_3000\.parquet\.corrupt; the next run generates 2024-01 again$/);
    expect((await run([...args, '--out', out])).code).toBe(0);
    expectSameBytes(await readFile(month), bytes);
  });

  it('keeps credentials and signed query strings out of messages, metrics and the model', async () => {
    const secretUrl = (kind: string, name: string) => `http://user:hunter2@127.0.0.1:${new URL(origin).port}/${kind}/${name}?X-Amz-Signature=topsecret&X-Amz-Credential=AKIA`;
    const out = await fresh('out');
    const metrics = join(out, 'metrics.json');
    const ok = await run(['--train', secretUrl('ok', 'yellow_tripdata_2024-01.parquet'), '--val', secretUrl('ok', 'yellow_tripdata_2024-02.parquet'),
      '--out', out, '--metrics-json', metrics, '--cache-dir', await fresh('cache'), '--verbose']);
    expect(ok.code, ok.stderr).toBe(0);
    const written = [ok.stdout, ok.stderr, await readFile(metrics, 'utf8'), await readFile(join(out, 'lin_reg.json'), 'utf8'), await readFile(join(out, 'predicted_vs_actual.html'), 'utf8')];
    for (const text of written) expect(text).not.toMatch(/hunter2|topsecret|AKIA|X-Amz/);
    const m = JSON.parse(written[2]!) as { train: { source: string } };
    expect(m.train.source).toBe(`http://127.0.0.1:${new URL(origin).port}/ok/yellow_tripdata_2024-01.parquet?…`);
    const failed = await run(['--train', secretUrl('status/403', 'x.parquet'), '--out', out, '--cache-dir', await fresh('cache'), '--verbose']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/HTTP 403/);
    expect(failed.stderr).not.toMatch(/hunter2|topsecret|AKIA/);
  });

  it('refuses a green file under --color yellow, and follows the file without --color', async () => {
    const greenPath = join(await fresh('g'), 'green_tripdata_2024-01.parquet');
    await writeFile(greenPath, green);
    const out = await withEarlierOutputs();
    const refused = await run(['--train', greenPath, '--val', greenPath, '--color', 'yellow', '--out', out, '-q']);
    expectFailure(refused, 1, new RegExp(`^pipeline: train ${escape(greenPath)} holds green taxi trips \\(lpep_pickup_datetime, lpep_dropoff_datetime\\) but the run is for yellow taxis \\(--color yellow\\); pass --color green`));
    await expectEarlierKept(out);
    // A yellow month for validation cannot be mixed in either.
    const mixed = await run(['--train', greenPath, '--val', '2024-02', '--out', out, '--cache-dir', await fresh('cache'), '-q']);
    expectFailure(mixed, 1, /^pipeline: val 2024-02 holds yellow taxi trips \(tpep_pickup_datetime, tpep_dropoff_datetime\) but the training data are green taxi trips; pass --color green \(the color option\) so that months are fetched as green$/);
    // A month whose file holds the other colour than its name says.
    const cache = await fresh('cache');
    await writeFile(join(cache, 'yellow_tripdata_2024-01.parquet'), green);
    const misnamed = await run(['--train', '2024-01', '--out', out, '--cache-dir', cache, '-q']);
    expectFailure(misnamed, 1, /^pipeline: train 2024-01 holds green taxi trips \(lpep_pickup_datetime, lpep_dropoff_datetime\) but it was fetched as a yellow month; pass --color green/);
    const followed = await run(['--train', greenPath, '--val', greenPath, '--out', out, '--no-plot', '-q']);
    expect(followed.code, followed.stderr).toBe(0);
    const { metadata } = await loadModel(join(out, 'lin_reg.json'));
    expect((metadata as Record<string, unknown>).color).toBe('green');
  });

  it('says an empty file has no rows, without advising a wider filter', async () => {
    const empty = join(await fresh('e'), 'empty.parquet');
    await writeSyntheticTrips(empty, { month: '2024-01', rows: 0 });
    const r = await run(['--train', empty, '--val', empty, '--out', await fresh('out'), '-q']);
    expectFailure(r, 1, new RegExp(`^pipeline: the train file ${escape(empty)} holds no rows \\(0 trips\\); give a month or file with trips$`));
    expect(r.stderr).not.toMatch(/widen/);
  });
});

describe('output targets: devices, FIFOs, links, collisions', () => {
  const synthetic = async () => ['--synthetic', '--synthetic-rows', '2000', '--cache-dir', await fresh('cache'), '-q'];

  it.for([
    ['a character device (a null device made with mknod)', async (d: string) => { execFileSync('mknod', [join(d, 'null'), 'c', '1', '3']); return join(d, 'null'); }, /is a character device, not a regular file; refusing to replace it/],
    ['a FIFO', async (d: string) => { execFileSync('mkfifo', [join(d, 'fifo')]); return join(d, 'fifo'); }, /is a FIFO \(named pipe\), not a regular file; refusing to replace it/],
    ['a link to a device', async (d: string) => { execFileSync('mknod', [join(d, 'null'), 'c', '1', '3']); await symlink(join(d, 'null'), join(d, 'stdout')); return join(d, 'stdout'); }, /is a link to a character device, not a regular file; refusing to replace it/],
    ['a folder', async (d: string) => { await mkdir(join(d, 'sub')); return join(d, 'sub'); }, /is a folder, not a regular file/],
  ] as const)('--metrics-json on %s: exit 2 before any work, the node untouched', async ([name, make, message], ctx) => {
    if (process.getuid?.() !== 0 && /device/.test(name)) ctx.skip('mknod needs root');
    const d = await fresh('targets');
    const target = await make(d);
    const before = lstatSync(target);
    const args = await synthetic();
    const r = await run([...args, '--out', await fresh('out'), '--metrics-json', target]);
    expectFailure(r, 2, message);
    expect(await tree(args[4]!)).toEqual([]); // no month generated
    const after = lstatSync(target);
    expect([after.mode, after.rdev, after.ino]).toEqual([before.mode, before.rdev, before.ino]);
  });

  it('follows a link to a regular file: the file is replaced, the link stays', async () => {
    const d = await fresh('targets');
    const real = join(d, 'real-metrics.json');
    await writeFile(real, 'old');
    await symlink(real, join(d, 'metrics.json'));
    const r = await run([...(await synthetic()), '--out', await fresh('out'), '--metrics-json', join(d, 'metrics.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(join(d, 'metrics.json')).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(real, 'utf8'))).toMatchObject({ synthetic: true });
  });

  it.each([
    ['the model', (out: string) => join(out, 'lin_reg.json'), /^pipeline: the metrics and the model would both be written to .*lin_reg\.json; choose another --metrics-json/],
    ['the plot', (out: string) => join(out, 'predicted_vs_actual.html'), /^pipeline: the metrics and the plot would both be written to .*predicted_vs_actual\.html/],
    ['a link to the model', (out: string) => join(out, 'link.json'), /^pipeline: the metrics and the model would both be written to .*lin_reg\.json/],
  ])('refuses --metrics-json on %s (exit 2), earlier outputs kept', async (_, path, message) => {
    const out = await fresh('out');
    await writeFile(join(out, 'lin_reg.json'), 'earlier model');
    await symlink(join(out, 'lin_reg.json'), join(out, 'link.json'));
    const r = await run([...(await synthetic()), '--out', out, '--metrics-json', path(out)]);
    expectFailure(r, 2, message);
    expect(await readFile(join(out, 'lin_reg.json'), 'utf8')).toBe('earlier model');
  });

  it('refuses an output on an input file (exit 2), the input kept', async () => {
    const d = await fresh('inputs');
    const input = join(d, 'yellow_tripdata_2024-01.parquet');
    await writeFile(input, good);
    const r = await run(['--train', input, '--val', input, '--out', d, '--metrics-json', input, '-q']);
    expectFailure(r, 2, /^pipeline: the metrics would overwrite the input file .*yellow_tripdata_2024-01\.parquet; choose another --metrics-json/);
    expectSameBytes(await readFile(input), good);
  });

  it('lets one of two concurrent runs on one --out write, and the outputs come from that run', async () => {
    const out = await fresh('out');
    const cache = await fresh('cache');
    const common = ['--synthetic', '--synthetic-rows', '3000', '--cache-dir', cache, '--out', out, '--metrics-json', join(out, 'metrics.json'), '-q'];
    await run(common); // generate the months once
    const [a, b] = await Promise.all([run([...common, '--max-duration', '30']), run([...common, '--max-duration', '50'])]);
    const codes = [a.code, b.code].sort();
    expect(codes).toEqual([0, 1]);
    const loser = a.code === 1 ? a : b;
    expectFailure(loser, 1, new RegExp(`^output: the \\w+ .* is being written by another run \\(process ${process.pid}\\); wait for it to finish or choose another`));
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { maxDuration: number; val: { rmse: number } };
    const { metadata } = await loadModel(join(out, 'lin_reg.json'));
    expect((metadata as Record<string, unknown>).maxDuration).toBe(metrics.maxDuration);
    expect(metadata.metrics?.rmseValidation).toBe(metrics.val.rmse);
    expect((await tree(out)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('takes over a lock whose process is gone', async () => {
    const out = await fresh('out');
    const { hostname } = await import('node:os');
    await writeFile(join(out, '.lin_reg.json.lock'), `${hostname()} ${await deadPid()} 0123456789abcdef\n`);
    const r = await run([...(await synthetic()), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await tree(out)).toEqual(['lin_reg.json', 'predicted_vs_actual.html']);
  });
});

describe('/proc-like folders (a procfs mounted in a temporary folder)', () => {
  let proc: string | undefined;
  let skip = '';
  beforeAll(async () => {
    const at = join(await fresh('procfs'), 'proc');
    await mkdir(at);
    try {
      execFileSync('mount', ['-t', 'proc', 'proc', at], { stdio: 'ignore' });
      proc = at;
    } catch {
      skip = 'cannot mount a procfs here (needs root and mount rights)';
    }
  });
  afterAll(() => {
    if (proc) execFileSync('umount', [proc]);
  });

  // A hang (Node's recursive mkdir spins on /proc) must fail the test, not the suite.
  it.for([['--out'], ['--cache-dir']] as const)('%s under /proc fails at once instead of spinning forever', { timeout: 15_000 }, async ([option], ctx) => {
    if (!proc) return ctx.skip(skip);
    const started = Date.now();
    const args = option === '--out' ? ['--out', join(proc, 'x'), '--cache-dir', await fresh('cache')] : ['--out', await fresh('out'), '--cache-dir', join(proc, 'x')];
    const r = await run([...args, '--synthetic', '--synthetic-rows', '1000', '-q']);
    expectFailure(r, 1, new RegExp(`^output: cannot create the (output|cache) folder ${escape(join(proc, 'x'))} \\(ENOENT\\); choose another`));
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('disk full (a small tmpfs mounted in a temporary folder)', () => {
  let small: string | undefined;
  let skip = '';
  beforeAll(async () => {
    const at = await fresh('tmpfs');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=5m', 'tmpfs', at], { stdio: 'ignore' });
      small = at;
    } catch {
      skip = 'cannot mount a tmpfs here (needs root and mount rights)';
    }
  });
  afterAll(() => {
    if (small) execFileSync('umount', [small]);
  });

  it('a plot that does not fit: exit 1 naming the plot and ENOSPC; model and plot kept, no temporary left', async (ctx) => {
    if (!small) return ctx.skip(skip);
    const out = join(small, 'models');
    const cache = join(dir, 'full-cache');
    const first = await run(['--synthetic', '--synthetic-rows', '2000', '--cache-dir', cache, '--out', out, '--no-plot', '-q']);
    expect(first.code, first.stderr).toBe(0);
    const model = await readFile(join(out, 'lin_reg.json'));
    // An earlier plot smaller than the new one, and a disk with room for 1 MB: the new 3.7 MB plot does not fit.
    const plot = Buffer.from('<!doctype html><title>an earlier plot</title>\n');
    await writeFile(join(out, 'predicted_vs_actual.html'), plot);
    const { bavail, bsize } = statfsSync(small);
    await writeFile(join(small, 'filler'), Buffer.alloc(bavail * bsize - 2 ** 20));
    try {
      const second = await run(['--synthetic', '--synthetic-rows', '3000', '--cache-dir', cache, '--out', out, '-q']);
      expectFailure(second, 1, new RegExp(`^output: could not write the plot to ${escape(join(out, 'predicted_vs_actual.html'))} \\(ENOSPC: no space left on the device; free some space or choose another folder\\); nothing was replaced$`));
    } finally {
      await rm(join(small, 'filler'));
    }
    expectSameBytes(await readFile(join(out, 'lin_reg.json')), model);
    expectSameBytes(await readFile(join(out, 'predicted_vs_actual.html')), plot);
    expect(await tree(out)).toEqual(['lin_reg.json', 'predicted_vs_actual.html']);
  });

  it.for([
    // Full to the last byte: nothing fits, not even the lock the run takes before any work.
    ['full', 0, /^output: could not write the (lock of the )?metrics to .*metrics\.json(\.lock)? \(ENOSPC: no space left on the device/],
    // One page left: the lock fits, the metrics written at the end do not.
    ['all but one page', 1, /^output: could not write the metrics to .*metrics\.json \(ENOSPC: no space left on the device/],
  ] as const)('metrics on a disk %s: exit 1, the model of the earlier run kept', async ([, pagesLeft, message], ctx) => {
    if (!small) return ctx.skip(skip);
    const out = await fresh('out');
    const cache = join(dir, 'full-cache');
    expect((await run(['--synthetic', '--synthetic-rows', '2000', '--cache-dir', cache, '--out', out, '--no-plot', '-q'])).code).toBe(0);
    const model = await readFile(join(out, 'lin_reg.json'));
    const metricsDir = join(small, `metrics-${pagesLeft}`);
    await mkdir(metricsDir);
    const { bavail, bsize } = statfsSync(small);
    await writeFile(join(small, 'filler'), Buffer.alloc((bavail - pagesLeft) * bsize));
    try {
      const r = await run(['--synthetic', '--synthetic-rows', '3000', '--cache-dir', cache, '--out', out, '--no-plot', '--metrics-json', join(metricsDir, 'metrics.json'), '-q']);
      expectFailure(r, 1, message);
    } finally {
      await rm(join(small, 'filler'));
    }
    expectSameBytes(await readFile(join(out, 'lin_reg.json')), model);
    expect(await tree(metricsDir)).toEqual([]);
  });
});

/** The command as a child process (node + tsx on the sources), for signals and real stdout. */
function child(args: string[], options: { env?: Record<string, string>; stdout?: 'pipe' | number } = {}): { proc: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stderr: string; stdout: string }> } {
  const proc = spawn(process.execPath, ['--import', tsxLoader, join(root, 'lib', 'cli.ts'), ...args], {
    cwd: dir,
    env: { ...process.env, TLC_BASE_URL: `${origin}/ok`, ...options.env },
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string; stdout: string }>((resolveDone) =>
    proc.on('close', (code, signal) => resolveDone({ code, signal, stderr, stdout })),
  );
  return { proc, done };
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The id of a process that has ended. */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => p.on('close', r));
  return p.pid!;
}

const temporaries = async (folder: string) => (await tree(folder)).filter((f) => /\.tmp$|\.download-/.test(f));

describe('processes: signals, kill -9, stdout', () => {
  it.each([['SIGINT'], ['SIGTERM']])('%s during a download removes the temporary file and ends the process by the signal', async (signal) => {
    const cache = await fresh('cache');
    const { proc, done } = child(['--train', `${origin}/trickle/x.parquet`, '--cache-dir', cache, '--out', await fresh('out'), '-q']);
    await waitFor(async () => (await temporaries(cache)).length > 0, 'the download to start');
    proc.kill(signal as NodeJS.Signals);
    const end = await done;
    expect(end.signal).toBe(signal);
    expect(end.stderr).toBe('');
    expect(await temporaries(cache)).toEqual([]);
  });

  it('kill -9 during a download leaves a temporary that the next download sweeps away', async () => {
    const cache = await fresh('cache');
    const { proc, done } = child(['--train', `${origin}/trickle/yellow_tripdata_2024-01.parquet`, '--cache-dir', cache, '--out', await fresh('out'), '-q']);
    await waitFor(async () => (await temporaries(cache)).length > 0, 'the download to start');
    proc.kill('SIGKILL');
    await done;
    const left = await temporaries(cache);
    expect(left.length).toBeGreaterThan(0);
    // The next run downloads into the same folder: the dead process's temporary goes.
    const path = await fetchTrips(`${origin}/ok/yellow_tripdata_2024-01.parquet`, { cacheDir: cache });
    expectSameBytes(await readFile(path), good);
    expect(await temporaries(cache)).toEqual([]);
  });

  it('kill -9 during a save leaves the earlier model whole (old or new, never a part)', async () => {
    const out = await fresh('out');
    // A child that saves large models over and over; killed in the middle of one.
    const script = join(out, 'saver.mts');
    await writeFile(script, `
      import { DictVectorizer, LinearRegression, saveModel } from ${JSON.stringify(join(root, 'lib', 'index.ts'))};
      const n = 200_000;
      const names = Array.from({ length: n }, (_, i) => 'PULocationID=' + String(i).padStart(7, '0'));
      const dv = DictVectorizer.fromFeatureNames(names);
      for (let round = 1; ; round++) {
        const lr = LinearRegression.fromParameters({ coef: Array.from({ length: n }, (_, i) => i / round), intercept: round, fitIntercept: true });
        await saveModel(process.argv[2], { vectorizer: dv, model: lr, metadata: { note: 'round ' + round } });
        if (round === 1) process.stdout.write('saved\\n');
      }
    `);
    const target = join(out, 'lin_reg.json');
    // Killed while a temporary exists (a save in progress); a kill that lands between saves is tried again.
    for (let attempt = 0; attempt < 5 && (await temporaries(out)).length === 0; attempt++) {
      const p = spawn(process.execPath, ['--import', tsxLoader, script, target], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((r) => p.stdout.once('data', () => r()));
      await waitFor(async () => (await temporaries(out)).length > 0, 'a save in progress');
      p.kill('SIGKILL');
      await new Promise((r) => p.on('close', r));
      const { metadata, model } = await loadModel(target);
      expect(metadata.note).toMatch(/^round \d+$/);
      expect(model.coef.length).toBe(200_000);
    }
    expect((await temporaries(out)).length).toBeGreaterThan(0);
    // The next save into the folder removes what the killed one left.
    const again = await run(['--synthetic', '--synthetic-rows', '2000', '--cache-dir', await fresh('cache'), '--out', out, '--no-plot', '-q']);
    expect(again.code, again.stderr).toBe(0);
    expect(await temporaries(out)).toEqual([]);
  }, 60_000);

  it('ends quietly (exit 0, nothing on stderr) when stdout is closed early', async () => {
    const { proc, done } = child(['--synthetic', '--synthetic-rows', '2000', '--cache-dir', await fresh('cache'), '--out', await fresh('out'), '--metrics-json', '-']);
    proc.stdout!.destroy();
    const end = await done;
    expect(end.stderr).toBe('');
    expect(end.code).toBe(0);
  });

  it('writing the summary to a full device fails with one line (exit 1), after the outputs were saved', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('mknod needs root');
    const d = await fresh('dev');
    execFileSync('mknod', [join(d, 'full'), 'c', '1', '7']);
    const fd = openSync(join(d, 'full'), 'w');
    const out = await fresh('out');
    try {
      const { done } = child(['--synthetic', '--synthetic-rows', '2000', '--cache-dir', await fresh('cache'), '--out', out], { stdout: fd });
      const end = await done;
      expect(end.code, end.stderr).toBe(1);
      expect(end.stderr.trimEnd().split('\n').at(-1)).toBe('taxi-duration: cannot write to stdout (ENOSPC: no space left on the device)');
      expect(end.stderr).not.toMatch(/^\s+at /m);
    } finally {
      closeSync(fd);
    }
    await loadModel(join(out, 'lin_reg.json'));
  });
});
