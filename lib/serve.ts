/**
 * Serve: the saved model behind a small HTTP JSON API (the MLOps maturity model's level 3, the
 * course's Flask/FastAPI service), built on fastify.
 *
 * - `POST /predict`: one trip (a JSON object) → `{ duration, unseen, model_version }`; a batch (a
 *   JSON array, or JSON Lines with `Content-Type: application/x-ndjson`, streamed as it arrives)
 *   → `{ durations, unseen: [{ record, features }], model_version }`. Predictions come from
 *   `predict.ts`, so they are bit for bit those of the `predict` command and the library.
 * - `GET /health`: 200 once a model is loaded (readiness), 503 while starting or stopping.
 * - `GET /model`: the model's version, features, training sources (URLs without credentials or
 *   query strings), metrics and creation time.
 *
 * Bad input gets a 4xx JSON `{ error, code, record?, field?, line? }` and never a stack trace.
 * The model is a file, or a model of the runs store named by an alias (`production`), a run id
 * or `latest` (lib/registry.ts). It is loaded again on {@link PredictionService.reload} (the
 * command calls it on SIGHUP), when the file changes on disk, and, for an alias, when the
 * registry changes (a promotion): the name is resolved again, the new model validated first,
 * and a bad one leaves the old model serving. {@link PredictionService.close} lets requests in
 * flight finish.
 *
 * The library prints nothing: access lines and events go to `onLog`; the command writes them as
 * JSON lines.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { basename, dirname, join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';

import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';

import { OptionError, redactUrl } from './errors.js';
import { JsonRecordsError, readJsonRecords } from './jsonRecords.js';
import { loadModel, type LoadedModel } from './modelFile.js';
import { predictRecords, RecordError, unseenFeatures } from './predict.js';
import { resolveModelRef, type ResolvedModelRef } from './registry.js';
import { defaultRunsDir } from './runs.js';

/** Options of {@link startService}. */
export interface ServiceOptions {
  /**
   * The model to serve, as a user names it: a file, an alias of the runs store (`production`), a
   * run id (or an 8+ character prefix) or `latest` (lib/registry.ts's `resolveModelRef`). Resolved
   * again at every reload, so promoting another run moves the service to it. Give this or `modelPath`.
   */
  model?: string;
  /** A model file to serve, never looked up in the runs store. Give this or `model`. */
  modelPath?: string;
  /** The runs store `model` is looked up in. Default `defaultRunsDir()` (env `TAXI_RUNS_DIR`, else `runs/`). */
  runsDir?: string;
  /** Address to listen on. Default `127.0.0.1` (this machine only; `0.0.0.0` for every interface). */
  host?: string;
  /** Port. Default 9696 (the course's); 0 picks a free one (see {@link PredictionService.url}). */
  port?: number;
  /** Largest request body in bytes (413 beyond). Default 16 MiB. */
  maxBodyBytes?: number;
  /** Most records in one request (413 beyond). Default 100,000. */
  maxRecords?: number;
  /** A request must arrive whole within this many milliseconds (408 otherwise). Default 10,000. */
  requestTimeoutMs?: number;
  /** On close, connections still busy after this many milliseconds are cut. Default 10,000. */
  shutdownTimeoutMs?: number;
  /** Reload the model when its file changes, or, for an alias, when the registry does. Default true. */
  watch?: boolean;
  /** Access lines and events (model loaded, reload refused, listening, stopped). Default: dropped. */
  onLog?: (entry: ServiceLogEntry) => void;
  /** Log every request (`event: 'request'`). Default true. */
  accessLog?: boolean;
}

/** One structured log line: an access line (`event: 'request'`) or a service event. */
export interface ServiceLogEntry {
  /** ISO 8601 time. */
  time: string;
  /** `info`, `warn` (a request refused, a reload refused) or `error` (a fault of the service). */
  level: 'info' | 'warn' | 'error';
  /** `request`, `listening`, `model loaded`, `reload refused`, `stopping`, `stopped`, `watch failed`, `internal error`. */
  event: string;
  /** Event fields (method, url, status, ms, records, model_version, error, …). */
  [field: string]: unknown;
}

/** What `GET /model` answers. */
export interface ModelInfo {
  /** First 12 hex digits of the SHA-256 of the model file's bytes. */
  model_version: string;
  /** The model file's name (not its folder). */
  file: string;
  /** When this process loaded it (ISO 8601). */
  loaded_at: string;
  /** When it was trained (ISO 8601), if recorded. */
  created_at: string | null;
  /** The course's `categorical` and `numerical` lists. */
  features: { categorical: string[]; numerical: string[] };
  /** Number of one-hot and numeric columns. */
  feature_count: number;
  /** Training data: sources (file names, or URLs without credentials or query strings) and rows. */
  training: { sources: string[]; rows: number | null } | null;
  /** Validation data, likewise. */
  validation: { sources: string[]; rows: number | null } | null;
  /** Scores recorded at training (e.g. `rmseValidation`). */
  metrics: Record<string, number>;
  /** True when trained on generated (synthetic) data. */
  synthetic: boolean;
  /** The library version that wrote the file. */
  library_version: string | null;
  /** The training run of the runs store whose model this is, when it was named by alias or run. */
  run_id: string | null;
  /** The alias it was named by (`production`), if any. */
  alias: string | null;
}

/** A running service. */
export interface PredictionService {
  /** Where it listens, e.g. `http://127.0.0.1:9696`. */
  readonly url: string;
  /** The fastify instance (`inject` runs requests in-process). */
  readonly app: FastifyInstance;
  /** The model being served now. */
  model(): ModelInfo;
  /**
   * Resolves the model's name again (an alias may point at another run now) and loads it;
   * validated before it replaces the served one. Calls made while a reload runs share one more
   * reload after it, so the newest file always wins.
   */
  reload(): Promise<ReloadResult>;
  /** Stops accepting connections, lets requests in flight finish, then closes. Idempotent. */
  close(): Promise<void>;
  /** Settles when the service has closed. */
  readonly closed: Promise<void>;
}

/** What a reload did. */
export interface ReloadResult {
  /** Whether the file was loaded (a file identical to the served one counts as loaded). */
  ok: boolean;
  /** The version served after the reload. */
  model_version: string;
  /** Why the new file was refused. */
  error?: string;
}

/** An error a client caused: its status, a code, and where in the body it is. */
class ClientError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly where: { record?: number; field?: string; line?: number } = {},
  ) {
    super(message);
  }
}

/** A JSON Lines body, parsed as it streamed in. */
class LinesBody {
  constructor(
    readonly records: unknown[],
    readonly lines: number[],
  ) {}
}

interface ServedModel {
  readonly saved: LoadedModel;
  readonly version: string;
  readonly info: ModelInfo;
  readonly ref: ResolvedModelRef;
}

const ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/predict': ['POST'],
  '/health': ['GET', 'HEAD'],
  '/model': ['GET', 'HEAD'],
};
const JSON_TYPES = ['application/json'];
const LINES_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/json-lines'];
const MEDIA_HINT = 'send Content-Type: application/json (one trip object or an array of them) or application/x-ndjson (one trip per line)';

/**
 * Loads the model, starts listening and returns the running service.
 *
 * @throws Error (`serve: …`, `registry: …` or `modelFile: …`) when the model cannot be found or
 *   loaded or the address cannot be listened on (in use, not permitted); nothing is left running then.
 * @example
 * const service = await startService({ model: 'production', port: 9696 }); // or { modelPath: 'models/lin_reg.json' }
 * // curl -s localhost:9696/predict -H 'content-type: application/json' \
 * //   -d '{"PULocationID":"161","DOLocationID":"236","trip_distance":2.1}'
 * await service.close();
 */
export async function startService(options: ServiceOptions): Promise<PredictionService> {
  if ((options.model === undefined) === (options.modelPath === undefined)) {
    throw new OptionError('serve: give the model as `model` (a file, an alias or a run id) or as `modelPath` (a file), one of them');
  }
  const runsDir = resolve(options.runsDir ?? defaultRunsDir());
  // What the model's name means now: a file stays that file; an alias or 'latest' may move.
  const resolveModel = (): Promise<ResolvedModelRef> =>
    options.model !== undefined ? resolveModelRef(options.model, { runsDir }) : Promise.resolve({ path: resolve(options.modelPath!), kind: 'path', run: null, alias: null });
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const maxRecords = options.maxRecords ?? 100_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const log = (level: ServiceLogEntry['level'], event: string, fields: Record<string, unknown> = {}): void => {
    options.onLog?.({ time: new Date().toISOString(), level, event, ...fields });
  };

  let current: ServedModel | undefined;
  let state: 'starting' | 'ready' | 'stopping' = 'starting';

  const app = Fastify({
    logger: false,
    bodyLimit: maxBodyBytes,
    requestTimeout: requestTimeoutMs,
    // Node checks request deadlines on this interval (30 s by default, too coarse for a 10 s limit).
    http: { connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 4))), headersTimeout: requestTimeoutMs },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Faults below HTTP (a request cut by the timeout, headers too large, not HTTP at all) get the
    // same JSON errors as the routes' faults, and a line in the log.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const { status, body } = clientFault(error, requestTimeoutMs);
      log('warn', 'client error', { status, code: body.code, error: error.message });
      if (socket.writable) {
        const text = JSON.stringify(body);
        socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
      }
      socket.destroy();
    },
  });

  app.removeAllContentTypeParsers();
  // JSON.parse itself, for its message with the position of the fault. Records are only ever
  // read field by field, never merged into other objects, so a "__proto__" key is just a key.
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string', bodyLimit: maxBodyBytes }, (_request, text, done) => {
    if ((text as string).trim() === '') {
      done(new ClientError(400, 'empty_body', `serve: the body is empty; ${MEDIA_HINT}`), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text as string));
    } catch (error) {
      done(new ClientError(400, 'invalid_json', `serve: the body is not valid JSON (${(error as Error).message})`), undefined);
    }
  });
  // JSON Lines: parsed line by line while the body streams in, within the same limits.
  app.addContentTypeParser(LINES_TYPES, async (_request: FastifyRequest, payload: NodeJS.ReadableStream) => {
    const records: unknown[] = [];
    const lines: number[] = [];
    for await (const batch of readJsonRecords(payload as AsyncIterable<Uint8Array>, { shape: 'lines', maxRecords, maxBytes: maxBodyBytes })) {
      for (let i = 0; i < batch.records.length; i++) {
        records.push(batch.records[i]);
        lines.push(batch.lines![i]!);
      }
    }
    return new LinesBody(records, lines);
  });

  app.addHook('onResponse', async (request, reply) => {
    if (options.accessLog === false) return;
    const status = reply.statusCode;
    log(status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info', 'request', {
      id: request.id,
      method: request.method,
      url: request.url,
      status,
      ms: Math.round(reply.elapsedTime * 1000) / 1000,
      ...(request.records !== undefined ? { records: request.records } : {}),
      ...(request.modelVersion !== undefined ? { model_version: request.modelVersion } : {}),
      remote: request.ip,
    });
  });
  app.addHook('onRequestAbort', async (request) => {
    log('warn', 'request aborted', { id: request.id, method: request.method, url: request.url, remote: request.ip });
  });

  app.post('/predict', (request) => {
    const served = current;
    if (served === undefined) throw new ClientError(503, 'not_ready', 'serve: no model is loaded yet; retry in a moment');
    request.modelVersion = served.version;
    const body = request.body;
    if (body instanceof LinesBody) return predictBatch(served, body.records, body.lines, request);
    if (Array.isArray(body)) return predictBatch(served, body, undefined, request);
    if (typeof body !== 'object' || body === null) {
      throw new ClientError(400, 'not_a_trip', `serve: the body is ${body === null ? 'null' : `a JSON ${typeof body}`}; send one trip as a JSON object, or an array of them`);
    }
    request.records = 1;
    let prediction;
    try {
      prediction = predictRecords(served.saved, [body]);
    } catch (error) {
      if (error instanceof RecordError) throw new ClientError(400, 'bad_record', `serve: ${error.problem}`, fieldOf(error));
      throw error;
    }
    return { duration: prediction.duration[0]!, unseen: unseenFeatures(served.saved.features, prediction.unseen[0]!), model_version: served.version };
  });

  function predictBatch(served: ServedModel, records: unknown[], lines: number[] | undefined, request: FastifyRequest) {
    request.records = records.length;
    if (records.length === 0) throw new ClientError(400, 'no_records', 'serve: the batch holds no records; send at least one trip');
    if (records.length > maxRecords) {
      throw new ClientError(413, 'too_many_records', `serve: ${records.length.toLocaleString('en-US')} records are more than the ${maxRecords.toLocaleString('en-US')} allowed in one request; split the batch`);
    }
    let prediction;
    try {
      prediction = predictRecords(served.saved, records, lines !== undefined ? { lines } : {});
    } catch (error) {
      if (error instanceof RecordError) {
        const where = `record ${error.index} (from 0${error.line !== undefined ? `; line ${error.line}` : ''})`;
        throw new ClientError(400, 'bad_record', `serve: ${where}${error.field !== undefined ? ':' : ''} ${error.problem}`, { record: error.index, ...fieldOf(error), ...(error.line !== undefined ? { line: error.line } : {}) });
      }
      throw error;
    }
    const unseen: { record: number; features: string[] }[] = [];
    prediction.unseen.forEach((bits, record) => {
      if (bits !== 0) unseen.push({ record, features: unseenFeatures(served.saved.features, bits) });
    });
    return { durations: Array.from(prediction.duration), unseen, model_version: served.version };
  }

  app.get('/health', (_request, reply) => {
    const ready = state === 'ready' && current !== undefined;
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ok' : state, ready, model_version: current?.version ?? null };
  });

  app.get('/model', () => {
    if (current === undefined) throw new ClientError(503, 'not_ready', 'serve: no model is loaded yet; retry in a moment');
    return current.info;
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = ROUTES[path];
    if (allowed !== undefined) {
      reply.code(405).header('allow', allowed.join(', '));
      return { error: `serve: ${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`, code: 'method_not_allowed' };
    }
    reply.code(404);
    return { error: `serve: there is no ${request.method} ${path}; the routes are POST /predict, GET /health and GET /model`, code: 'not_found' };
  });

  app.setErrorHandler((error: FastifyError | ClientError | JsonRecordsError, request, reply) => {
    const { status, body } = errorResponse(error, maxRecords, maxBodyBytes);
    if (status >= 500) {
      // The client gets a request id to quote; the stack stays in the log.
      log('error', 'internal error', { id: request.id, method: request.method, url: request.url, error: (error as Error).stack ?? String(error) });
      body.request_id = request.id;
    }
    reply.code(status).send(body);
  });

  // Loading and reloading. A model is read, hashed and validated completely before `current`
  // changes; requests in flight keep the model they started with.
  let reloading: Promise<ReloadResult> | undefined;
  let reloadAgain = false;
  async function reloadOnce(): Promise<ReloadResult> {
    try {
      const next = await readServedModel(await resolveModel());
      const previous = current?.version;
      current = next;
      if (next.version !== previous) log('info', 'model loaded', { ...loadedFields(next), previous: previous ?? null });
      return { ok: true, model_version: next.version };
    } catch (error) {
      const message = (error as Error).message;
      log('warn', 'reload refused', { error: message, model_version: current?.version ?? null });
      return { ok: false, model_version: current?.version ?? '', error: message };
    }
  }
  function reload(): Promise<ReloadResult> {
    if (reloading !== undefined) {
      reloadAgain = true;
      return reloading;
    }
    reloading = (async () => {
      let result: ReloadResult;
      do {
        reloadAgain = false;
        result = await reloadOnce();
      } while (reloadAgain && state !== 'stopping');
      reloading = undefined;
      return result;
    })();
    return reloading;
  }

  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  const startWatching = (ref: ResolvedModelRef): void => {
    // A file: its folder. An alias: the registry, where a promotion moves it. A run's own model
    // never changes (its run recorded its SHA-256), so a run id or 'latest' waits for SIGHUP.
    if (ref.kind === 'run') return;
    const watched = ref.kind === 'alias' ? join(runsDir, 'registry.json') : ref.path;
    const file = basename(watched);
    try {
      // The folder, not the file: saving a model (or the registry) renames a new file over the
      // old one, which a watch on the old file's inode would miss.
      watcher = watch(dirname(watched), (_event, name) => {
        if (name !== null && name.toString() !== file) return;
        clearTimeout(debounce);
        debounce = setTimeout(() => void reload(), 100);
      });
      watcher.on('error', (error) => {
        log('warn', 'watch failed', { error: error.message, file });
        watcher?.close();
      });
    } catch (error) {
      log('warn', 'watch failed', { error: (error as Error).message, file });
    }
  };

  let resolveClosed!: () => void;
  const closed = new Promise<void>((done) => (resolveClosed = done));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      state = 'stopping';
      log('info', 'stopping', {});
      watcher?.close();
      clearTimeout(debounce);
      // Requests in flight finish; a kept-alive connection is closed as soon as its last answer
      // is out (close() itself only closes those idle at the moment it is called); past the
      // deadline, whatever is still open is cut.
      const idle = setInterval(() => app.server.closeIdleConnections(), 50);
      const deadline = setTimeout(() => app.server.closeAllConnections(), shutdownTimeoutMs);
      deadline.unref();
      try {
        await app.close();
      } finally {
        clearInterval(idle);
        clearTimeout(deadline);
        log('info', 'stopped', {});
        resolveClosed();
      }
    })();
    return closing;
  };

  let url: string;
  try {
    url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 9696 });
  } catch (error) {
    await app.close().catch(() => undefined);
    const e = error as NodeJS.ErrnoException;
    const hint = e.code === 'EADDRINUSE' ? ' (the port is in use: stop the other server or choose another --port)' : '';
    throw new Error(`serve: cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 9696}${hint}: ${e.message}`, { cause: error });
  }
  try {
    current = await readServedModel(await resolveModel());
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  state = 'ready';
  log('info', 'model loaded', { ...loadedFields(current), previous: null });
  log('info', 'listening', { url, model_version: current.version });
  if (options.watch !== false) startWatching(current.ref);

  return {
    url,
    app,
    model: () => current!.info,
    reload,
    close,
    closed,
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Records in the request, for the access log. */
    records?: number;
    /** The model version that answered, for the access log. */
    modelVersion?: string;
  }
}

/** The fields of a `model loaded` event: which version, from which file, run and alias. */
function loadedFields(served: ServedModel): Record<string, unknown> {
  return {
    model_version: served.version,
    file: served.info.file,
    ...(served.ref.run !== null ? { run_id: served.ref.run.id } : {}),
    ...(served.ref.alias !== null ? { alias: served.ref.alias } : {}),
  };
}

/**
 * Reads, hashes and validates a model file. The bytes are read before and after loading; if
 * they differ the file was being replaced meanwhile, and the read is tried again.
 */
async function readServedModel(ref: ResolvedModelRef): Promise<ServedModel> {
  const { path } = ref;
  for (let attempt = 0; ; attempt++) {
    const before = await readFile(path).catch(() => undefined);
    const saved = await loadModel(path);
    const after = await readFile(path);
    if (before !== undefined && before.equals(after)) {
      const version = createHash('sha256').update(after).digest('hex').slice(0, 12);
      return { saved, version, info: modelInfo(saved, version, ref), ref };
    }
    if (attempt >= 4) throw new Error(`serve: ${path} kept changing while it was read; try again once it is written`);
  }
}

function modelInfo(saved: LoadedModel, version: string, ref: ResolvedModelRef): ModelInfo {
  const { metadata, features } = saved;
  const data = (value: unknown): ModelInfo['training'] => {
    if (typeof value !== 'object' || value === null) return null;
    const v = value as { sources?: unknown; rows?: unknown };
    const sources = Array.isArray(v.sources) ? v.sources.filter((s): s is string => typeof s === 'string').map(publicSource) : [];
    return { sources, rows: typeof v.rows === 'number' ? v.rows : null };
  };
  const metrics: Record<string, number> = {};
  if (typeof metadata.metrics === 'object' && metadata.metrics !== null) {
    for (const [name, value] of Object.entries(metadata.metrics)) if (typeof value === 'number') metrics[name] = value;
  }
  return {
    model_version: version,
    file: basename(ref.path),
    loaded_at: new Date().toISOString(),
    created_at: typeof metadata.createdAt === 'string' ? metadata.createdAt : null,
    features: { categorical: [...features.categorical], numerical: [...features.numerical] },
    feature_count: saved.vectorizer.getFeatureNamesOut().length,
    training: data(metadata.training),
    validation: data(metadata.validation),
    metrics,
    synthetic: metadata.synthetic === true,
    library_version: typeof metadata.libraryVersion === 'string' ? metadata.libraryVersion : null,
    run_id: ref.run?.id ?? null,
    alias: ref.alias,
  };
}

/**
 * A training source as the service may show it: a URL as every shown or saved source is
 * (errors.ts's `redactUrl`: no user, password or fragment, and `?…` where a query was, since
 * signed URLs carry secrets there); a local path as its file name (folders can name people and
 * machines).
 *
 * @example
 * publicSource('https://user:pw@example.org/t/yellow_tripdata_2024-01.parquet?X-Amz-Signature=abc');
 * // 'https://example.org/t/yellow_tripdata_2024-01.parquet?…'
 * publicSource('/home/alice/data/yellow_tripdata_2024-01.parquet'); // 'yellow_tripdata_2024-01.parquet'
 */
export function publicSource(source: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? redactUrl(source) : basename(source);
}

function fieldOf(error: RecordError): { field?: string } {
  return error.field !== undefined ? { field: error.field } : {};
}

/** The JSON answer to a fault found before any route runs (Node's HTTP parser or its request timeout). */
function clientFault(error: NodeJS.ErrnoException, requestTimeoutMs: number): { status: number; body: { error: string; code: string } } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      body: { error: `serve: the request did not arrive whole within ${requestTimeoutMs.toLocaleString('en-US')} ms; send it at once, or start the service with a longer --request-timeout (requestTimeoutMs)`, code: 'request_timeout' },
    };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') return { status: 431, body: { error: 'serve: the request headers are larger than the limit (16 KB); send fewer or shorter headers', code: 'headers_too_large' } };
  return { status: 400, body: { error: `serve: the request is not valid HTTP/1.1 (${error.code ?? error.message})`, code: 'bad_http' } };
}

/** The status and JSON body for an error; a client never sees a stack or an internal message. */
function errorResponse(error: FastifyError | ClientError | JsonRecordsError, maxRecords: number, maxBodyBytes: number): { status: number; body: Record<string, unknown> } {
  if (error instanceof ClientError) return { status: error.statusCode, body: { error: error.message, code: error.code, ...error.where } };
  if (error instanceof JsonRecordsError) {
    if (error.kind === 'tooMany') {
      return { status: 413, body: { error: `serve: the batch holds more than ${maxRecords.toLocaleString('en-US')} records, the limit for one request; split it`, code: 'too_many_records' } };
    }
    if (error.kind === 'tooLarge') return { status: 413, body: { error: `serve: ${error.problem}`, code: 'body_too_large' } };
    const line = /^line (\d+)/.exec(error.problem);
    return { status: 400, body: { error: `serve: ${error.problem}`, code: 'invalid_json', ...(line ? { line: Number(line[1]) } : {}) } };
  }
  switch ((error as FastifyError).code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: `serve: the body is larger than ${maxBodyBytes.toLocaleString('en-US')} bytes, the limit; split the batch`, code: 'body_too_large' } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { error: `serve: unsupported Content-Type; ${MEDIA_HINT}`, code: 'unsupported_media_type' } };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: { error: 'serve: the body is shorter or longer than its Content-Length', code: 'bad_content_length' } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { error: `serve: the body is empty; ${MEDIA_HINT}`, code: 'empty_body' } };
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return { status, body: { error: `serve: ${(error as Error).message}`, code: 'bad_request' } };
  }
  return { status: 500, body: { error: 'serve: internal error; the service log has the details', code: 'internal' } };
}
