/**
 * The `taxi-duration` command, run as a child process (node + tsx on lib/cli.ts) as a user runs it.
 *
 * Data: TLC-shaped months generated with lib/synthetic.ts into a temporary folder and served
 * by a node:http server on 127.0.0.1 (TLC_BASE_URL), so the month → URL → cache → read path
 * is exercised for real. Where .venv exists, the RMSEs are checked against scikit-learn.
 */
import { execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../lib/cli.js';
import { loadModel, writeSyntheticTrips } from '../lib/index.js';

const root = resolve(import.meta.dirname, '..');
const cliPath = join(root, 'lib', 'cli.ts');
const python = join(root, '.venv', 'bin', 'python');
// tsx's loader by absolute URL: the children run in a temporary folder, where 'tsx' would not resolve.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let served: string;
let server: Server;
let baseUrl: string;
const requests: string[] = [];

/** Runs the CLI in a child process with a private cache and the local TLC server. */
function cli(args: string[], options: { env?: Record<string, string>; stdin?: string; built?: boolean } = {}): Promise<Run> {
  // built: the compiled command (lib/dist/cli.js, as `npx taxi-duration` runs it), the only
  // form that can start its validation worker thread.
  const command = options.built ? [join(root, 'lib', 'dist', 'cli.js')] : ['--import', tsxLoader, cliPath];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...command, ...args], {
      cwd: dir,
      env: { ...process.env, TLC_BASE_URL: baseUrl, TAXI_DATA_DIR: join(dir, 'cache'), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/**
 * The error contract: the run fails and stderr ends with one line matching `pattern`, with no
 * stack trace anywhere (progress lines may come before it: they go to stderr too).
 */
function expectOneLineError(run: Run, pattern: RegExp): void {
  expect(run.code, run.stderr).not.toBe(0);
  const lines = run.stderr.trim().split('\n');
  expect(lines.at(-1), run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/^\s+at |Caused by|Error:/m);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-cli-'));
  served = join(dir, 'served');
  await mkdir(served, { recursive: true });
  // No nulls in the needed columns, so scikit-learn can fit the same rows (real 2024 files have none).
  await writeSyntheticTrips(join(served, 'yellow_tripdata_2024-01.parquet'), {
    month: '2024-01', rows: 30_000, seed: 101, quirks: { neededNull: 0 },
  });
  await writeSyntheticTrips(join(served, 'yellow_tripdata_2024-02.parquet'), {
    month: '2024-02', rows: 20_000, seed: 102, quirks: { neededNull: 0 },
  });
  // The default quirks include a few nulls in needed columns: predict must print null for those rows.
  await writeSyntheticTrips(join(served, 'yellow_tripdata_2024-03.parquet'), {
    month: '2024-03', rows: 5_000, seed: 103, quirks: { neededNull: 0.01 },
  });
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const file = join(served, basename(req.url ?? ''));
    if (!existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    stat(file).then((s) => {
      res.writeHead(200, { 'content-length': s.size, 'content-type': 'application/octet-stream' });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    }, () => res.writeHead(500).end());
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trip-data`;
});

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
  await rm(dir, { recursive: true, force: true });
});

describe('taxi-duration: command line', () => {
  it('prints help and exits 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: taxi-duration/);
    for (const option of ['--train', '--val', '--color', '--min-duration', '--max-duration', '--out', '--metrics-json', '--quiet', '--verbose', '--synthetic']) {
      expect(run.stdout).toContain(option);
    }
    const predict = await cli(['predict', '--help']);
    expect(predict.code).toBe(0);
    expect(predict.stdout).toMatch(/^Usage: taxi-duration predict/);
  });

  // Each bad command line: one line naming the problem, exit code 2 (usage), no stack.
  it.each([
    [['--frobnicate'], /^taxi-duration: unknown option --frobnicate \(see --help\)$/],
    [['--color', 'purple'], /^taxi-duration: --color must be one of yellow, green, fhv, fhvhv \(the dataset\), got 'purple'$/],
    [['--min-duration', 'abc'], /^taxi-duration: --min-duration must be a number of minutes, got 'abc'$/],
    [['--train'], /--train.*argument missing/],
    [['2024-01'], /^taxi-duration: unexpected argument '2024-01'/],
    [['predict', 'a.parquet', 'b.parquet'], /predict takes one input file/],
  ])('rejects %j with a one-line usage error', async (args, pattern) => {
    const run = await cli(args);
    expectOneLineError(run, pattern);
    expect(run.code).toBe(2);
  });

  it('adds the stack with --verbose', async () => {
    const run = await cli(['--frobnicate', '--verbose']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown option --frobnicate/);
    expect(run.stderr).toMatch(/\n\s+at /);
  });

  it.each([['-qv'], ['-vq'], ['-q', '-v']])('adds the stack with %j (combined short flags), and prints nothing else', async (...flags) => {
    const run = await cli([...flags, '--train', '2024-13', '--out', join(dir, 'm-qv')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const [first, ...rest] = run.stderr.trimEnd().split('\n');
    expect(first).toMatch(/^OptionError: source: month "2024-13" is not a month/);
    expect(rest.length).toBeGreaterThan(0);
    for (const line of rest) expect(line).toMatch(/^\s+at |^Caused by: /);
  });

  it('does not read an option value as --verbose (--out=-v is a folder)', async () => {
    const run = await cli(['--out=-v', '--train', '2024-13']);
    expectOneLineError(run, /^source: month "2024-13"/);
    const ambiguous = await cli(['--out', '-v']);
    expectOneLineError(ambiguous, /^taxi-duration: Option '--out' argument is ambiguous/);
  });
});

describe('taxi-duration: bad input fails cleanly', () => {
  it('rejects a bad month', async () => {
    const run = await cli(['--train', '2024-13', '--out', join(dir, 'm-bad-month')]);
    expectOneLineError(run, /2024-13/);
  });

  it('rejects an unreadable file', async () => {
    const missing = await cli(['--train', join(dir, 'nope.parquet'), '--out', join(dir, 'm-missing')]);
    expectOneLineError(missing, /nope\.parquet/);
    const notParquet = join(dir, 'not-parquet.parquet');
    await writeFile(notParquet, 'this is not a parquet file\n');
    const garbage = await cli(['--train', notParquet, '--out', join(dir, 'm-garbage')]);
    expectOneLineError(garbage, /^read: .*not-parquet\.parquet/);
  });

  it('rejects a month the server does not have', async () => {
    const run = await cli(['--train', '2019-05', '--out', join(dir, 'm-404')]);
    expectOneLineError(run, /404|not found/i);
  });

  it('points at the offline mode when the TLC site cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const run = await cli(['--out', join(dir, 'm-offline')], { env: { TLC_BASE_URL: `http://127.0.0.1:${port}` } });
    expectOneLineError(run, /^source: could not fetch .*ECONNREFUSED.*TLC_BASE_URL.*local parquet path.*cache as .*yellow_tripdata_2024-01\.parquet.*train offline on generated data \(--synthetic\)$/);
    expect(run.code).toBe(1);
  });

  it('fails when no rows are left after filtering, naming the filter', async () => {
    const run = await cli(['--min-duration', '5000', '--max-duration', '6000', '--out', join(dir, 'm-empty')]);
    expectOneLineError(run, /^pipeline: no train rows left after filtering 2024-01 .* durations of 5000\.\.6000 minutes/);
  });

  it('rejects min ≥ max duration', async () => {
    const run = await cli(['--min-duration', '60', '--max-duration', '1', '--out', join(dir, 'm-minmax')]);
    expectOneLineError(run, /^pipeline: minDuration \(60\) must be below maxDuration \(1\)$/);
    expect(run.code).toBe(2);
  });

  it('fails on an output folder that cannot be written, before reading any data', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const run = await cli(['--out', join(file, 'models'), '--train', '2031-01']);
    // 2031-01 is not served: the error must be about the folder, found before any download.
    expectOneLineError(run, /^output: the output folder .*a-file\/models cannot be a folder \(.*a-file is a regular file\); choose another --out \(outDir\)$/);
    expect(run.code).toBe(2);
    expect(requests.some((r) => r.includes('2031-01'))).toBe(false);
  });

  it.skipIf(process.getuid?.() === 0)('fails on a read-only output folder (non-root only)', async () => {
    const ro = join(dir, 'read-only');
    await mkdir(ro);
    await chmod(ro, 0o555);
    const run = await cli(['--out', ro]);
    expectOneLineError(run, /not writable \(EACCES\)/);
  });

  it('keeps an earlier model file when a run fails', async () => {
    const out = join(dir, 'm-keep');
    const first = await cli(['--out', out, '--quiet']);
    expect(first.code, first.stderr).toBe(0);
    const modelPath = join(out, 'lin_reg.json');
    const before = await readFile(modelPath);
    // Fails after both months were read and cleaned (no rows left), i.e. late in the run.
    const failed = await cli(['--out', out, '--min-duration', '5000', '--max-duration', '6000']);
    expect(failed.code).toBe(1);
    expect(await readFile(modelPath)).toEqual(before);
    // A failure while reading leaves it too.
    const failedRead = await cli(['--out', out, '--val', join(dir, 'nope.parquet')]);
    expect(failedRead.code).toBe(1);
    expect(await readFile(modelPath)).toEqual(before);
    await loadModel(modelPath);
  });
});

describe('taxi-duration: end to end against a local TLC server', () => {
  let out: string;
  let metrics: Record<string, any>;
  let run: Run;

  beforeAll(async () => {
    out = join(dir, 'models');
    run = await cli(['--train', '2024-01', '--val', '2024-02', '--out', out, '--metrics-json', join(dir, 'metrics.json')]);
    metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')) as Record<string, any>;
  });

  it('downloads through the cache and writes model, plot and metrics', async () => {
    expect(run.code, run.stderr).toBe(0);
    expect(requests.filter((r) => r.endsWith('yellow_tripdata_2024-01.parquet')).length).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(dir, 'cache', 'yellow_tripdata_2024-01.parquet')) || metrics.train.path.startsWith(join(dir, 'cache'))).toBe(true);
    const html = await readFile(join(out, 'predicted_vs_actual.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('prediction');
    const { vectorizer, model, metadata } = await loadModel(join(out, 'lin_reg.json'));
    expect(vectorizer.getFeatureNamesOut()).toHaveLength(metrics.features);
    expect(model.coef.length).toBe(metrics.features);
    // The served files were written by our generator: the model says so, whatever their names.
    expect((metadata as Record<string, unknown>).synthetic).toBe(true);
  });

  it('reports rows, RMSE, features, stage seconds, peak RSS and sources', () => {
    expect(metrics.version).toBe(1);
    // Generated files are never presented as real data, even fetched by month from a "TLC" URL.
    expect(metrics.synthetic).toBe(true);
    expect(metrics.train.generated).toBe(true);
    expect(metrics.note).toMatch(/^SYNTHETIC DATA/);
    expect(run.stdout).toMatch(/^SYNTHETIC DATA/);
    expect(run.stdout).toMatch(/^source +2024-01 \(synthetic\) +2024-02 \(synthetic\)$/m);
    expect(metrics.train.source).toBe('2024-01');
    expect(metrics.val.source).toBe('2024-02');
    expect(metrics.train.rowsRead).toBe(30_000);
    expect(metrics.val.rowsRead).toBe(20_000);
    // The generator puts about 2-3% of trips outside 1..60 minutes.
    expect(metrics.train.rowsKept).toBeGreaterThan(0.9 * 30_000);
    expect(metrics.train.rowsKept).toBeLessThan(30_000);
    expect(metrics.val.rmse).toBeGreaterThan(1);
    expect(metrics.val.rmse).toBeLessThan(20);
    expect(Object.keys(metrics.seconds).sort()).toEqual(['accumulate', 'plot', 'prepare', 'save', 'score', 'solve', 'total']);
    expect(metrics.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(metrics.outputs.model).toBe(join(out, 'lin_reg.json'));
    // The summary table on stdout carries the same numbers.
    expect(run.stdout).toContain(metrics.val.rmse.toFixed(3));
    expect(run.stdout).toContain(metrics.train.rowsRead.toLocaleString('en-US'));
  });

  it.skipIf(!existsSync(python))('agrees with scikit-learn (exact least squares) on the same files', async () => {
    const { stdout } = await promisify(execFile)(python, [
      join(root, 'scripts', 'python', 'course_tuned.py'),
      join(served, 'yellow_tripdata_2024-01.parquet'),
      join(served, 'yellow_tripdata_2024-02.parquet'),
      // The exact least-squares fit: sparse LSQR's default tolerance stops early on distance outliers.
      '--exact',
    ]);
    const py = JSON.parse(stdout) as Record<string, any>;
    expect(metrics.train.rowsKept).toBe(py.train.rowsKept);
    expect(metrics.val.rowsKept).toBe(py.val.rowsKept);
    expect(metrics.features).toBe(py.features);
    expect(metrics.train.rmse).toBeCloseTo(py.train.rmse, 8);
    expect(metrics.val.rmse).toBeCloseTo(py.val.rmse, 8);
  });

  it('writes only the metrics JSON to stdout with --metrics-json -', async () => {
    const r = await cli(['--out', join(dir, 'm-stdout'), '--metrics-json', '-', '--no-plot']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as Record<string, any>;
    expect(m.val.rmse).toBeCloseTo(metrics.val.rmse, 10);
    expect(m.outputs.plot).toBeNull();
    expect(existsSync(join(dir, 'm-stdout', 'predicted_vs_actual.html'))).toBe(false);
  });

  it('gives the same numbers from the built command, on two threads and with --one-thread', async () => {
    const common = ['--no-plot', '--metrics-json', '-'];
    const twoThreads = await cli([...common, '--out', join(dir, 'm-built-2')], { built: true });
    const oneThread = await cli([...common, '--out', join(dir, 'm-built-1'), '--one-thread'], { built: true });
    expect(twoThreads.code, twoThreads.stderr).toBe(0);
    expect(oneThread.code, oneThread.stderr).toBe(0);
    const [a, b] = [twoThreads, oneThread].map((r) => JSON.parse(r.stdout) as Record<string, any>);
    for (const m of [a!, b!]) {
      expect(m.train.rmse).toBe(metrics.train.rmse);
      expect(m.val.rmse).toBe(metrics.val.rmse);
      expect(m.val.rowsKept).toBe(metrics.val.rowsKept);
    }
    // Only the default run used worker threads (one per core, when there is a second core).
    expect(b!.threads).toBe(0);
    expect(a!.threads).toBe(availableParallelism() >= 2 ? availableParallelism() : 0);
  });

  it('is quiet with --quiet', async () => {
    const r = await cli(['--out', join(dir, 'm-quiet'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
  });

  // JSON input, parquet rows, errors and closed outputs: test/predict-cli.test.ts (in-process).
  describe('predict', () => {
    it('takes a month, a URL or a path, like --train/--val, through the cache', async () => {
      const model = ['--model', join(out, 'lin_reg.json')];
      const byPath = await cli(['predict', join(served, 'yellow_tripdata_2024-03.parquet'), ...model]);
      expect(byPath.code, byPath.stderr).toBe(0);
      // By month: downloaded from TLC_BASE_URL into TAXI_DATA_DIR, then the same numbers.
      const cache = join(dir, 'cache-predict');
      const before = requests.length;
      const byMonth = await cli(['predict', '2024-03', ...model], { env: { TAXI_DATA_DIR: cache } });
      expect(byMonth.code, byMonth.stderr).toBe(0);
      expect(requests.slice(before)).toContain('/trip-data/yellow_tripdata_2024-03.parquet');
      expect(existsSync(join(cache, 'yellow_tripdata_2024-03.parquet'))).toBe(true);
      expect(byMonth.stdout).toBe(byPath.stdout);
      const byCachedPath = await cli(['predict', join(cache, 'yellow_tripdata_2024-03.parquet'), ...model]);
      expect(byCachedPath.stdout).toBe(byMonth.stdout);
      // Again by month: from the cache, no new request; --quiet drops the synthetic-model note.
      const again = requests.length;
      const cached = await cli(['predict', '2024-03', '-q', ...model], { env: { TAXI_DATA_DIR: cache } });
      expect(cached.code, cached.stderr).toBe(0);
      expect(cached.stderr).toBe('');
      expect(cached.stdout).toBe(byPath.stdout);
      expect(requests.length).toBe(again);
      // By URL, into --cache-dir.
      const urlCache = join(dir, 'cache-predict-url');
      const byUrl = await cli(['predict', `${baseUrl}/yellow_tripdata_2024-03.parquet`, '--cache-dir', urlCache, ...model]);
      expect(byUrl.code, byUrl.stderr).toBe(0);
      expect(byUrl.stdout).toBe(byPath.stdout);
      // Somewhere in that cache (its layout for URLs is fetchTrips' business).
      const entries = await readdir(urlCache, { recursive: true });
      expect(entries.some((e) => e.endsWith('yellow_tripdata_2024-03.parquet')), entries.join(', ')).toBe(true);
      // --color picks the dataset of a month: the server has no green files.
      const green = await cli(['predict', '2024-03', '--color', 'green', ...model], { env: { TAXI_DATA_DIR: cache } });
      expectOneLineError(green, /^source: HTTP 404 .*green_tripdata_2024-03\.parquet/);
      expect(green.code).toBe(1);
      const badColor = await cli(['predict', '2024-03', '--color', 'red', ...model]);
      expectOneLineError(badColor, /^taxi-duration: --color must be one of yellow, green, fhv, fhvhv \(the dataset\), got 'red'$/);
      expect(badColor.code).toBe(2);
    });
  });
});

describe('taxi-duration: progress output (in-process)', () => {
  /** A writable that records what it gets, posing as a terminal or not. */
  function sink(isTTY: boolean) {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    }) as Writable & { isTTY?: boolean };
    stream.isTTY = isTTY;
    return { stream, text: () => chunks.join('') };
  }

  it.each([true, false])('draws bars on a terminal, plain lines otherwise (TTY: %s)', async (isTTY) => {
    const out = sink(false);
    const err = sink(isTTY);
    const code = await main(
      ['--synthetic', '--synthetic-rows', '3000', '--cache-dir', join(dir, 'cache-progress'), '--out', join(dir, `m-progress-${isTTY}`)],
      { stdout: out.stream, stderr: err.stream, stdin: Readable.from([]) },
    );
    expect(code, err.text()).toBe(0);
    expect(out.text()).toMatch(/^SYNTHETIC DATA/);
    expect(out.text()).toMatch(/RMSE \(min\)/);
    if (isTTY) {
      expect(err.text()).toContain('\r\x1b[K');
      expect(err.text()).toMatch(/read train: 3,000 rows \[#{24}\] 100%/);
    } else {
      expect(err.text()).not.toContain('\r');
      expect(err.text().split('\n')).toContain('read train: 3,000 rows');
    }
  });
});
