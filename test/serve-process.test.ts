/**
 * `taxi-duration serve` as a process: what only a process shows (signals, exit codes, the log on
 * stderr). Everything else about the service is tested in-process in serve.test.ts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { fitModel } from './predictModel.js';

const root = resolve(import.meta.dirname, '..');
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

let dir: string;
let modelPath: string;
let otherPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-serve-process-'));
  ({ path: modelPath } = await fitModel(dir, 'lin_reg.json'));
  ({ path: otherPath } = await fitModel(dir, 'other.json', { seed: 12 }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Served {
  child: ChildProcessWithoutNullStreams;
  url: () => string;
  log: () => Record<string, unknown>[];
  stderr: () => string;
  exit: Promise<number | null>;
}

function serve(args: string[]): Served {
  const child = spawn(process.execPath, ['--import', tsxLoader, join(root, 'lib', 'cli.ts'), 'serve', '--port', '0', ...args], { cwd: dir });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  const log = () => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const url = () => String(log().find((e) => e.event === 'listening')?.url ?? '');
  return { child, url, log, stderr: () => stderr, exit };
}

describe('serve (child process)', () => {
  it('reloads on SIGHUP, and on SIGTERM finishes the request in flight and exits 0', async () => {
    const path = join(dir, 'served.json');
    await copyFile(modelPath, path);
    const s = serve(['--model', path, '--no-watch']);
    await vi.waitFor(() => expect(s.url()).not.toBe(''), { timeout: 20_000, interval: 50 });
    const first = s.log().find((e) => e.event === 'model loaded')!.model_version;

    await copyFile(otherPath, path);
    s.child.kill('SIGHUP');
    await vi.waitFor(() => expect(s.log().filter((e) => e.event === 'model loaded')).toHaveLength(2), { timeout: 5000, interval: 50 });
    expect(s.log().at(-1)).toMatchObject({ event: 'model loaded', previous: first });

    // A request whose body is still arriving when SIGTERM comes.
    const body = JSON.stringify({ PULocationID: '161', DOLocationID: '236', trip_distance: 2.1 });
    const { hostname, port } = new URL(s.url());
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    await new Promise<void>((done) => socket.once('connect', () => done()));
    socket.write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    await new Promise((r) => setTimeout(r, 200));
    s.child.kill('SIGTERM');
    await vi.waitFor(() => expect(s.log().some((e) => e.event === 'stopping')).toBe(true), { timeout: 5000, interval: 20 });
    socket.write(body.slice(5));
    expect(await s.exit).toBe(0);
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200 [\s\S]*"duration":/);
    const events = s.log().map((e) => e.event);
    // The request was answered before the service stopped.
    expect(events.lastIndexOf('request')).toBeGreaterThan(events.indexOf('stopping'));
    expect(events.at(-1)).toBe('stopped');
    expect(s.log().find((e) => e.event === 'request')).toMatchObject({ method: 'POST', url: '/predict', status: 200, records: 1 });
    expect(s.stderr()).not.toMatch(/^\s+at /m);
  });

  it('fails to start in one line, exit 1, on a bad model file', async () => {
    const s = serve(['--model', join(dir, 'missing.json')]);
    expect(await s.exit).toBe(1);
    expect(s.stderr()).toMatch(/^modelFile: cannot read .*missing\.json \(no such file; train and save a model first\).*\n$/);
  });

  it('refuses bad flags with exit 2', async () => {
    const s = serve(['--port', '1e3']);
    expect(await s.exit).toBe(2);
    expect(s.stderr()).toBe("taxi-duration: --port must be a whole number from 0 to 65,535, got '1e3'\n");
  });
});
