/**
 * The HTTP service, in-process: requests through fastify's `inject` for answers and bad input,
 * and over real sockets on 127.0.0.1 for what needs them (reload under load, shutdown with a
 * request in flight, request timeouts).
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { main } from '../lib/cli.js';
import { LinearRegression, predictRecords, promote, readTrips, train, type LoadedModel } from '../lib/index.js';
import { publicSource, startService, type ModelInfo, type PredictionService, type ServiceLogEntry, type ServiceOptions } from '../lib/serve.js';
import { fitModel } from './predictModel.js';

let dir: string;
let modelPath: string;
let saved: LoadedModel;
let otherPath: string;
let tripsPath: string;
const running: PredictionService[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-serve-'));
  ({ path: modelPath, saved, tripsPath } = await fitModel(dir, 'lin_reg.json', {
    metadata: {
      training: { sources: ['https://user:secret@example.org/trip-data/yellow_tripdata_2024-01.parquet?X-Amz-Signature=abc#frag', '/home/alice/data/yellow_tripdata_2024-02.parquet'], rows: 3900 },
      metrics: { rmseTrain: 7.5, rmseValidation: 7.7 },
    },
  }));
  ({ path: otherPath } = await fitModel(dir, 'other.json', { seed: 12 }));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(running.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function start(options: Partial<ServiceOptions> = {}): Promise<{ service: PredictionService; logs: ServiceLogEntry[] }> {
  const logs: ServiceLogEntry[] = [];
  const service = await startService({ modelPath, port: 0, watch: false, onLog: (e) => logs.push(e), ...options });
  running.push(service);
  return { service, logs };
}

const trip = { PULocationID: '161', DOLocationID: '236', trip_distance: 2.1 };

function post(service: PredictionService, payload: string, contentType = 'application/json') {
  return service.app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': contentType }, payload });
}

describe('serve: answers', () => {
  it('predicts one trip, a JSON array and JSON Lines with the library’s numbers, bit for bit', async () => {
    const { service } = await start();
    const version = service.model().model_version;
    expect(version).toMatch(/^[0-9a-f]{12}$/);
    const trips = await readTrips(tripsPath);
    const records = Array.from({ length: 200 }, (_, i) => ({
      PULocationID: i % 3 === 0 ? String(trips.PULocationID[i]) : trips.PULocationID[i],
      DOLocationID: trips.DOLocationID[i],
      trip_distance: trips.trip_distance[i],
    }));
    records.push({ PULocationID: '99999', DOLocationID: trips.DOLocationID[0]!, trip_distance: 1.5 });
    const expected = predictRecords(saved, records);

    const one = await post(service, JSON.stringify(trip));
    expect(one.statusCode).toBe(200);
    expect(one.headers['content-type']).toMatch(/^application\/json/);
    expect(one.json()).toEqual({ duration: predictRecords(saved, [trip]).duration[0], unseen: [], model_version: version });

    const batch = await post(service, JSON.stringify(records));
    const lines = await post(service, records.map((r) => JSON.stringify(r)).join('\n'), 'application/x-ndjson');
    for (const r of [batch, lines]) {
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json() as { durations: number[]; unseen: unknown[]; model_version: string };
      expect(body.durations).toHaveLength(records.length);
      body.durations.forEach((d, i) => expect(Object.is(d, expected.duration[i]), `record ${i}`).toBe(true));
      expect(body.unseen).toEqual([{ record: 200, features: ['PULocationID'] }]);
      expect(body.model_version).toBe(version);
    }
    const unseen = await post(service, JSON.stringify({ ...trip, DOLocationID: 88888 }));
    expect(unseen.json()).toMatchObject({ unseen: ['DOLocationID'] });
  });

  it('answers the same numbers as the `predict` command', async () => {
    const { service } = await start();
    const records = [trip, { PULocationID: 43, DOLocationID: 238, trip_distance: 0.9 }, { PULocationID: 7, DOLocationID: 7, trip_distance: 17.25 }];
    const chunks: string[] = [];
    const stdout = new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c.toString()), done()) });
    const code = await main(['predict', '--model', modelPath, '-q'], { stdout, stderr: new Writable({ write: (_c, _e, d) => d() }), stdin: Readable.from([JSON.stringify(records)]) });
    expect(code).toBe(0);
    const fromCli = chunks.join('').trimEnd().split('\n').map(Number);
    const fromService = (await post(service, JSON.stringify(records))).json().durations as number[];
    fromService.forEach((d, i) => expect(Object.is(d, fromCli[i])).toBe(true));
  });

  it('reports health and the model (features, sources without secrets, metrics, creation time)', async () => {
    const { service } = await start();
    const health = await service.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok', ready: true, model_version: service.model().model_version });
    const model = await service.app.inject({ method: 'GET', url: '/model' });
    expect(model.statusCode).toBe(200);
    const info = model.json();
    expect(info).toMatchObject({
      model_version: service.model().model_version,
      file: 'lin_reg.json',
      features: { categorical: ['PULocationID', 'DOLocationID'], numerical: ['trip_distance'] },
      feature_count: saved.vectorizer.getFeatureNamesOut().length,
      training: { sources: ['https://example.org/trip-data/yellow_tripdata_2024-01.parquet?…', 'yellow_tripdata_2024-02.parquet'], rows: 3900 },
      metrics: { rmseTrain: 7.5, rmseValidation: 7.7 },
      synthetic: true,
      created_at: saved.metadata.createdAt,
    });
    expect(model.body).not.toMatch(/secret|Signature|alice|frag/);
  });

  it('publicSource strips credentials, queries (marked ?…, as errors.ts redactUrl does everywhere) and folders', () => {
    expect(publicSource('https://u:p@h.example/a/b.parquet?sig=1#x')).toBe('https://h.example/a/b.parquet?…');
    expect(publicSource('s3://bucket/key.parquet?versionId=3')).toBe('s3://bucket/key.parquet?…');
    expect(publicSource('https://h.example/a/b.parquet?…')).toBe('https://h.example/a/b.parquet?…'); // already redacted by train()
    expect(publicSource('/srv/data/yellow_tripdata_2024-01.parquet')).toBe('yellow_tripdata_2024-01.parquet');
    expect(publicSource('2024-01')).toBe('2024-01');
  });
});

describe('serve: bad input gets a 4xx JSON error naming the record and field', () => {
  const many = JSON.stringify(Array(6).fill(trip));
  it.each([
    ['malformed JSON', '{"PULocationID": "161",', 'application/json', 400, { code: 'invalid_json', error: /^serve: the body is not valid JSON \(.*position.*\)$/ }],
    ['an empty body', '', 'application/json', 400, { code: 'empty_body' }],
    ['a JSON number', '42', 'application/json', 400, { code: 'not_a_trip', error: /the body is a JSON number; send one trip as a JSON object/ }],
    ['null', 'null', 'application/json', 400, { code: 'not_a_trip' }],
    ['a missing field', '{"PULocationID": "161", "trip_distance": 2}', 'application/json', 400, { code: 'bad_record', field: 'DOLocationID', error: /^serve: DOLocationID must be a zone ID \(a string or an integer\), got nothing \(the field is missing\)$/ }],
    ['a wrong type', '{"PULocationID": "161", "DOLocationID": 236, "trip_distance": "2.1"}', 'application/json', 400, { code: 'bad_record', field: 'trip_distance', error: /got "2\.1"/ }],
    ['a fractional zone', '{"PULocationID": 1.5, "DOLocationID": 236, "trip_distance": 2}', 'application/json', 400, { field: 'PULocationID' }],
    ['an infinite distance (1e999)', '{"PULocationID": 1, "DOLocationID": 236, "trip_distance": 1e999}', 'application/json', 400, { field: 'trip_distance', error: /got Infinity/ }],
    ['NaN', '{"PULocationID": 1, "DOLocationID": 236, "trip_distance": NaN}', 'application/json', 400, { code: 'invalid_json' }],
    ['a bad record in a batch', JSON.stringify([trip, trip, { ...trip, DOLocationID: null }]), 'application/json', 400, { code: 'bad_record', record: 2, field: 'DOLocationID', error: /^serve: record 2 \(from 0\): DOLocationID must be .* got null$/ }],
    ['a non-object in a batch', JSON.stringify([trip, [1]]), 'application/json', 400, { code: 'bad_record', record: 1, error: /^serve: record 1 \(from 0\) is a JSON array, not a JSON object$/ }],
    ['an empty batch', '[]', 'application/json', 400, { code: 'no_records' }],
    ['a bad JSON line', `${JSON.stringify(trip)}\n{"PULocationID":`, 'application/x-ndjson', 400, { code: 'invalid_json', line: 2, error: /^serve: line 2 is not JSON/ }],
    ['a bad record on a JSON line', `${JSON.stringify(trip)}\n\n${JSON.stringify({ ...trip, PULocationID: false })}`, 'application/x-ndjson', 400, { code: 'bad_record', record: 1, line: 3, field: 'PULocationID' }],
    ['no JSON lines', '\n\n', 'application/x-ndjson', 400, { code: 'no_records' }],
    ['too many records (array)', many, 'application/json', 413, { code: 'too_many_records', error: /6 records are more than the 5 allowed/ }],
    ['too many records (JSON Lines)', Array(6).fill(JSON.stringify(trip)).join('\n'), 'application/x-ndjson', 413, { code: 'too_many_records' }],
    ['a body over the limit (JSON)', JSON.stringify([{ ...trip, pad: 'x'.repeat(2000) }]), 'application/json', 413, { code: 'body_too_large', error: /larger than 1,024 bytes/ }],
    ['a body over the limit (JSON Lines)', `${JSON.stringify({ ...trip, pad: 'x'.repeat(2000) })}\n`, 'application/x-ndjson', 413, { code: 'body_too_large' }],
    ['another media type', 'PULocationID=161', 'application/x-www-form-urlencoded', 415, { code: 'unsupported_media_type', error: /application\/json .* application\/x-ndjson/ }],
  ])('%s', async (_name, payload, contentType, status, expected) => {
    const { service, logs } = await start({ maxRecords: 5, maxBodyBytes: 1024 });
    const r = await post(service, payload, contentType);
    expect(r.statusCode, r.body).toBe(status);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = r.json() as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) {
      if (value instanceof RegExp) expect(body[key]).toMatch(value);
      else expect(body[key]).toEqual(value);
    }
    expect(body.error).toMatch(/^serve: /);
    expect(r.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d/);
    // The access log has the request as a warning.
    expect(logs.find((e) => e.event === 'request')).toMatchObject({ level: 'warn', status, method: 'POST', url: '/predict' });
  });

  it('unknown routes get 404 and known routes other methods 405 with Allow', async () => {
    const { service } = await start();
    const notFound = await service.app.inject({ method: 'GET', url: '/predictions' });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json()).toEqual({ code: 'not_found', error: 'serve: there is no GET /predictions; the routes are POST /predict, GET /health and GET /model' });
    for (const [method, url, allow] of [['GET', '/predict', 'POST'], ['DELETE', '/predict', 'POST'], ['POST', '/health', 'GET, HEAD'], ['PUT', '/model?x=1', 'GET, HEAD']] as const) {
      const r = await service.app.inject({ method, url });
      expect(r.statusCode, `${method} ${url}`).toBe(405);
      expect(r.headers.allow).toBe(allow);
      expect(r.json()).toMatchObject({ code: 'method_not_allowed' });
    }
  });

  it('a fault of its own is a 500 with a request id; the stack goes to the log only', async () => {
    const { service, logs } = await start();
    vi.spyOn(LinearRegression.prototype, 'predict').mockImplementation(() => {
      throw new Error('boom in /secret/place');
    });
    const r = await post(service, JSON.stringify(trip));
    expect(r.statusCode).toBe(500);
    expect(r.json()).toEqual({ error: 'serve: internal error; the service log has the details', code: 'internal', request_id: expect.any(String) });
    const entry = logs.find((e) => e.event === 'internal error')!;
    expect(entry).toMatchObject({ level: 'error', id: r.json().request_id });
    expect(entry.error).toMatch(/boom in \/secret\/place\n\s+at /);
  });
});

describe('serve: reload', () => {
  it('reloads a new file, refuses a bad one (the old model keeps serving), and takes a good one again', async () => {
    const path = join(dir, 'reload.json');
    await copyFile(modelPath, path);
    const { service, logs } = await start({ modelPath: path });
    const first = service.model().model_version;
    await copyFile(otherPath, `${path}.tmp`);
    await rename(`${path}.tmp`, path);
    const second = await service.reload();
    expect(second.ok).toBe(true);
    expect(second.model_version).not.toBe(first);
    expect((await post(service, JSON.stringify(trip))).json().model_version).toBe(second.model_version);

    for (const bad of ['{"format": "taxi-duration/linear-regression", "version": 1', '{"format": "something-else", "version": 1}', '']) {
      await writeFile(path, bad);
      const refused = await service.reload();
      expect(refused.ok).toBe(false);
      expect(refused.error).toMatch(/^modelFile: /);
      expect(refused.model_version).toBe(second.model_version);
      const r = await post(service, JSON.stringify(trip));
      expect(r.statusCode).toBe(200);
      expect(r.json().model_version).toBe(second.model_version);
    }
    expect(logs.filter((e) => e.event === 'reload refused')).toHaveLength(3);
    expect(logs.find((e) => e.event === 'reload refused')).toMatchObject({ level: 'warn', model_version: second.model_version, error: expect.stringMatching(/not valid JSON/) });
    await copyFile(modelPath, path);
    expect(await service.reload()).toEqual({ ok: true, model_version: first });
  });

  it('reloads by itself when the file is replaced (watching its folder)', async () => {
    const folder = await mkdtemp(join(dir, 'watched-'));
    const path = join(folder, 'lin_reg.json');
    await copyFile(modelPath, path);
    const { service, logs } = await start({ modelPath: path, watch: true });
    const first = service.model().model_version;
    // As saveModel writes: a temporary file renamed over the model.
    await copyFile(otherPath, join(folder, '.lin_reg.json.tmp'));
    await rename(join(folder, '.lin_reg.json.tmp'), path);
    await vi.waitFor(() => expect(service.model().model_version).not.toBe(first), { timeout: 5000, interval: 50 });
    expect(logs.find((e) => e.event === 'model loaded' && e.previous === first)).toBeDefined();
  });

  it('serves every request during reloads under load: no errors, no dropped requests', async () => {
    const path = join(dir, 'load.json');
    await copyFile(modelPath, path);
    const { service } = await start({ modelPath: path, accessLog: false });
    const versions = new Set<string>();
    const statuses = new Map<number, number>();
    let failures = 0;
    let done = 0;
    let stop = false;
    const body = JSON.stringify(Array(20).fill(trip));
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const r = await fetch(`${service.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          const json = (await r.json()) as { model_version: string; durations: number[] };
          versions.add(json.model_version);
          if (json.durations.length !== 20) failures++;
        } catch {
          failures++;
        }
        done++;
      }
    };
    const workers = Array.from({ length: 16 }, () => worker());
    // Swap the file back and forth (atomic renames, with the watcher off) and reload each time.
    for (let i = 0; i < 12; i++) {
      await copyFile(i % 2 === 0 ? otherPath : modelPath, `${path}.tmp`);
      await rename(`${path}.tmp`, path);
      expect((await service.reload()).ok).toBe(true);
      await new Promise((r) => setTimeout(r, 60));
    }
    stop = true;
    await Promise.all(workers);
    expect(failures).toBe(0);
    expect([...statuses.keys()]).toEqual([200]);
    expect(done).toBeGreaterThan(100);
    expect(versions.size).toBe(2);
  });
});

describe('serve: a model named by alias or run (the runs store)', () => {
  let runsDir: string;
  const runIds: string[] = [];
  beforeAll(async () => {
    runsDir = join(dir, 'runs');
    // Two training runs on different months: two models with different coefficients.
    for (const month of ['2024-01', '2024-02']) {
      const result = await train({ synthetic: true, syntheticRows: 5000, train: month, val: '2024-03', cacheDir: join(dir, 'cache'), outDir: join(dir, 'store-models'), plotName: false, runs: runsDir });
      runIds.push(result.run!.id);
    }
  });
  beforeEach(async () => {
    await promote(runIds[0]!, 'production', { runsDir });
  });

  const version = async (runId: string) => createHash('sha256').update(await readFile(join(runsDir, runId, 'artifacts', 'model.json'))).digest('hex').slice(0, 12);

  it('serves the run an alias points at, and moves with the alias on reload', async () => {
    const { service, logs } = await start({ modelPath: undefined, model: 'production', runsDir });
    expect(service.model()).toMatchObject({ run_id: runIds[0], alias: 'production', model_version: await version(runIds[0]!), file: 'model.json' });
    expect(logs.find((e) => e.event === 'model loaded')).toMatchObject({ run_id: runIds[0], alias: 'production', previous: null });
    await promote(runIds[1]!, 'production', { runsDir });
    expect(service.model().run_id).toBe(runIds[0]); // nothing moves until a reload
    expect(await service.reload()).toEqual({ ok: true, model_version: await version(runIds[1]!) });
    const r = await post(service, JSON.stringify(trip));
    expect(r.json().model_version).toBe(await version(runIds[1]!));
    expect((await service.app.inject({ method: 'GET', url: '/model' })).json()).toMatchObject({ run_id: runIds[1], alias: 'production' });
    expect(logs.filter((e) => e.event === 'model loaded').at(-1)).toMatchObject({ run_id: runIds[1], alias: 'production', previous: await version(runIds[0]!) });
  });

  it('refuses to switch to a promoted model that no longer is what its run recorded (the old one keeps serving)', async () => {
    const { service, logs } = await start({ modelPath: undefined, model: 'production', runsDir });
    await promote(runIds[1]!, 'production', { runsDir });
    const artifact = join(runsDir, runIds[1]!, 'artifacts', 'model.json');
    const good = await readFile(artifact);
    try {
      await writeFile(artifact, good.toString().replace('"intercept":', '"intercept": 1e3, "was":'));
      const refused = await service.reload();
      expect(refused).toMatchObject({ ok: false, model_version: await version(runIds[0]!) });
      expect(refused.error).toMatch(/^registry: .*model\.json is not the model run \S+ recorded \(its SHA-256 differs\)/);
      expect(logs.at(-1)).toMatchObject({ event: 'reload refused', level: 'warn' });
      expect((await post(service, JSON.stringify(trip))).json().model_version).toBe(await version(runIds[0]!));
    } finally {
      await writeFile(artifact, good);
    }
    expect((await service.reload()).ok).toBe(true);
    expect(service.model().run_id).toBe(runIds[1]);
  });

  it('follows a promotion by itself, watching the registry', async () => {
    const { service } = await start({ modelPath: undefined, model: 'production', runsDir, watch: true });
    expect(service.model().run_id).toBe(runIds[0]);
    await promote(runIds[1]!, 'production', { runsDir, reason: 'a better model' });
    await vi.waitFor(() => expect(service.model().run_id).toBe(runIds[1]), { timeout: 5000, interval: 50 });
  });

  it('serves a run by id or prefix, with no alias; refuses an unknown name and two ways of naming the model', async () => {
    const { service } = await start({ modelPath: undefined, model: runIds[1]!.slice(0, -1), runsDir });
    expect(service.model()).toMatchObject({ run_id: runIds[1], alias: null });
    await expect(startService({ model: 'staging', runsDir, port: 0 })).rejects.toThrow(/^registry: "staging" is not a model file, an alias \(known: production\) or a run id/);
    await expect(startService({ model: 'production', modelPath, runsDir, port: 0 })).rejects.toThrow(/^serve: give the model as `model` .* or as `modelPath` .*, one of them$/);
  });

  it('the command: --model production --runs-dir, and SIGHUP loads what the alias points at now', async () => {
    let text = '';
    const err = new Writable({ write: (c: Buffer, _e, done) => ((text += c.toString()), done()) });
    const events = () => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    const run = main(['serve', '--model', 'production', '--runs-dir', runsDir, '--port', '0', '--no-watch', '--access-log', 'off'], {
      stdout: new Writable({ write: (_c, _e, done) => done() }),
      stderr: err,
      stdin: Readable.from([]),
    });
    await vi.waitFor(() => expect(events().some((e) => e.event === 'listening')).toBe(true), { timeout: 5000, interval: 20 });
    const url = String(events().find((e) => e.event === 'listening')!.url);
    await promote(runIds[1]!, 'production', { runsDir });
    process.emit('SIGHUP'); // the handler the command installed, as the signal would call it
    await vi.waitFor(() => expect(events().filter((e) => e.event === 'model loaded').map((e) => e.run_id)).toEqual([runIds[0], runIds[1]]), { timeout: 5000, interval: 20 });
    expect(((await (await fetch(`${url}/model`)).json()) as ModelInfo).run_id).toBe(runIds[1]);
    process.emit('SIGTERM');
    expect(await run).toBe(0);
  });
});

/** Sends raw HTTP on a socket and collects the answer. */
function rawClient(url: string): { socket: Socket; response: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = '';
  const response = new Promise<string>((done) => {
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => done(text));
    socket.on('error', () => done(text));
  });
  return { socket, response };
}

describe('serve: shutdown and timeouts', () => {
  it('finishes a request in flight when closed, then refuses new connections', async () => {
    const { service } = await start();
    const body = JSON.stringify(trip);
    const { socket, response } = rawClient(service.url);
    await new Promise<void>((done) => socket.once('connect', () => done()));
    socket.write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((r) => setTimeout(r, 100));
    const closing = service.close();
    await new Promise((r) => setTimeout(r, 100));
    socket.write(body.slice(10));
    const answer = await response;
    await closing;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain(`"duration":${predictRecords(saved, [trip]).duration[0]}`);
    const refused = await fetch(`${service.url}/health`).then(() => 'answered', (e: Error) => (e.cause as NodeJS.ErrnoException)?.code ?? e.message);
    expect(refused).toBe('ECONNREFUSED');
    await service.closed;
  });

  it('answers 503 on /health while stopping', async () => {
    const { service } = await start();
    // Keep a connection busy so that close waits, and ask on another kept-alive one.
    const { socket } = rawClient(service.url);
    await new Promise<void>((done) => socket.once('connect', () => done()));
    socket.write('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    await new Promise((r) => setTimeout(r, 50));
    void service.close();
    const r = await service.app.inject({ method: 'GET', url: '/health' });
    expect(r.statusCode).toBe(503);
    socket.destroy();
  });

  it('cuts a request that does not arrive within the timeout (408)', async () => {
    const { service } = await start({ requestTimeoutMs: 300 });
    const { socket, response } = rawClient(service.url);
    await new Promise<void>((done) => socket.once('connect', () => done()));
    socket.write('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"PULocationID"');
    const answer = await response;
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(answer).toMatch(/\r\nContent-Type: application\/json; charset=utf-8\r\n/);
    // The same JSON error as every other fault, with the fix.
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
      error: 'serve: the request did not arrive whole within 300 ms; send it at once, or start the service with a longer --request-timeout (requestTimeoutMs)',
      code: 'request_timeout',
    });
  });

  it('answers a request that is not HTTP, or whose headers are too large, with a JSON error and a log line', async () => {
    const { service, logs } = await start();
    const ask = async (text: string) => {
      const { socket, response } = rawClient(service.url);
      await new Promise<void>((done) => socket.once('connect', () => done()));
      socket.write(text);
      const answer = await response;
      return { head: answer.slice(0, answer.indexOf('\r\n')), body: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string; error: string } };
    };
    const garbage = await ask('HELLO THERE\r\n\r\n');
    expect(garbage.head).toBe('HTTP/1.1 400 Bad Request');
    expect(garbage.body).toMatchObject({ code: 'bad_http', error: expect.stringMatching(/^serve: the request is not valid HTTP\/1\.1 \(HPE_/) });
    const huge = await ask(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge.head).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(huge.body.code).toBe('headers_too_large');
    expect(logs.filter((e) => e.event === 'client error').map((e) => e.code)).toEqual(['bad_http', 'headers_too_large']);
    // The service goes on answering.
    expect((await service.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('refuses to start on a bad model or a port in use, leaving nothing running', async () => {
    await expect(startService({ modelPath: join(dir, 'nope.json'), port: 0 })).rejects.toThrow(/^modelFile: cannot read .*nope\.json \(no such file; train and save a model first\)/);
    const { service } = await start();
    const port = Number(new URL(service.url).port);
    await expect(startService({ modelPath, port, watch: false })).rejects.toThrow(new RegExp(`^serve: cannot listen on 127\\.0\\.0\\.1:${port} \\(the port is in use`));
  });
});

describe('serve: the command in-process', () => {
  /** A writable that keeps what it gets. */
  function sink() {
    let text = '';
    const stream = new Writable({ write: (c: Buffer, _e, done) => ((text += c.toString()), done()) });
    return { stream, text: () => text };
  }

  it('writes access lines to --access-log and events to stderr, and stops on SIGTERM with exit 0', async () => {
    const accessLog = join(dir, 'access.log');
    const err = sink();
    const run = main(['serve', '--model', modelPath, '--port', '0', '--access-log', accessLog, '--no-watch'], { stdout: sink().stream, stderr: err.stream, stdin: Readable.from([]) });
    const events = () => err.text().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    await vi.waitFor(() => expect(events().some((e) => e.event === 'listening')).toBe(true), { timeout: 5000, interval: 20 });
    const url = String(events().find((e) => e.event === 'listening')!.url);
    const r = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(trip) });
    expect(r.status).toBe(200);
    // The handler the command installed, called as the signal would call it.
    process.emit('SIGTERM');
    expect(await run).toBe(0);
    const lines = (await readFile(accessLog, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([expect.objectContaining({ event: 'request', level: 'info', method: 'POST', url: '/predict', status: 200, records: 1, ms: expect.any(Number), time: expect.any(String) })]);
    expect(events().map((e) => e.event)).toEqual(['model loaded', 'listening', 'stopping', 'stopped']);
    expect(process.listenerCount('SIGHUP')).toBe(0);
  });

  it('refuses an access log it cannot open, in one line', async () => {
    const err = sink();
    const code = await main(['serve', '--model', modelPath, '--port', '0', '--access-log', join(dir, 'no', 'such', 'folder.log')], { stdout: sink().stream, stderr: err.stream, stdin: Readable.from([]) });
    expect(code).toBe(1);
    expect(err.text()).toMatch(/^serve: cannot open the access log .*folder\.log: ENOENT.*\n$/);
  });
});
