#!/usr/bin/env node
/**
 * The `taxi-duration` command: the course's training pipeline in one line, and predictions
 * from a saved model.
 *
 * A thin layer over the library: it parses flags (node:util parseArgs), calls {@link train}
 * or the model file, prints progress on stderr and a summary on stdout, and turns any error
 * into one line and a non-zero exit code (the stack only with --verbose): 2 for a bad command
 * line, 1 for a failed run (lib/terminal.ts). Stdout closed by its reader ends the command quietly.
 */
import { createWriteStream, openSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { recordedDataset } from './datasets.js';
import { parseDatasetOption } from './cliOptions.js';
import { OptionError } from './errors.js';
import { JsonRecordsError, readJsonRecords } from './jsonRecords.js';
import { isMlopsCommand, mlopsMain } from './mlopsCli.js';
import { DEFAULT_MODEL_PATH } from './modelFile.js';
import { SYNTHETIC_NOTE, toMetrics, train, type ProgressEvent, type TrainOptions, type TrainResult } from './pipeline.js';
import { predictRecordBatches, predictTrips, RecordError } from './predict.js';
import { tripColumnsFor } from './clean.js';
import { readTripGroups } from './read.js';
import { loadModelRef, type ResolvedModelRef } from './registry.js';
import { fetchTrips } from './source.js';
import { Progress, reportError, safeWriter } from './terminal.js';

/**
 * Where the command reads and writes; tests pass their own streams.
 *
 * @example
 * await main(['--help'], { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
 */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/**
 * A mistake in the command line (exit code 2), as opposed to a failure while running (exit code 1).
 *
 * @example
 * throw new UsageError("taxi-duration: --color must be yellow or green, got 'red'");
 */
export class UsageError extends OptionError {
  override name = 'UsageError';
}

const NAME = 'taxi-duration';

const TRAIN_HELP = `Usage: ${NAME} [train] [options]
       ${NAME} predict [SRC | -] [--model FILE|ALIAS|RUN]
       ${NAME} serve [--model FILE|ALIAS|RUN] [--port 9696]
       ${NAME} runs | promote | monitor | retrain ...   (tracked runs, registry, monitoring; COMMAND --help)

Trains the course's model (DictVectorizer + LinearRegression on PULocationID,
DOLocationID, trip_distance) on one month or many, validates on one or more;
writes the model file, a predicted-vs-actual plot of the validation data (HTML)
and, if asked, metrics JSON. Memory stays flat whatever the number of months:
row groups stream through read, clean and sums on every core.

Data:
  --train SRC           training data (default 2024-01): a month YYYY-MM, a parquet path or a
                        URL; or several: a range 2023-01..2023-12, a comma list, or a mix
                        (2023-01..2023-03,data/extra.parquet)
  --val SRC             validation data, same forms (default 2024-02); with several, the RMSE
                        of each and of all together
  --color DATASET       the dataset: yellow, green, fhv (for-hire vehicles) or fhvhv
                        (high-volume for-hire: Uber, Lyft, ...); months are fetched as it and
                        every file must hold its trips (default: the first training file's,
                        yellow for a month). --dataset is the same option
  --min-duration MIN    shortest trip kept, minutes (default 1)
  --max-duration MIN    longest trip kept, minutes (default 60)
Model:
  --features LIST       comma list of PULocationID, DOLocationID, PU_DO (the pickup-dropoff
                        pair) and trip_distance (default PULocationID,DOLocationID,trip_distance;
                        fhv files record no distance: PULocationID,DOLocationID)
  --estimator NAME      linear (LinearRegression, default), ridge or lasso
  --alpha A             ridge and lasso: the penalty (scikit-learn's; default 1)
  --max-iter N          lasso: most coordinate-descent sweeps (default 1000)
  --tol T               lasso: stopping tolerance on the duality gap (default 0.0001)
Outputs and running:
  --out DIR             folder for lin_reg.json and the plot (default models/)
  --metrics-json FILE   also write the metrics as JSON to FILE ('-' for stdout)
  --no-plot             skip the plot
  --threads N           worker threads for reading and summing (default: one per core)
  --one-thread          no worker threads: this thread reads everything (same results)
  --synthetic           offline: train on generated TLC-shaped months (labelled SYNTHETIC)
  --synthetic-rows N    rows per generated month (default 100000, at most 10000000;
                        30000000 for fhvhv)
  --cache-dir DIR       data cache (default: $TAXI_DATA_DIR, else data/)
  --runs-dir DIR        record the run in this runs store (default: $TAXI_RUNS_DIR, else runs/)
  --no-track            record no run (the model is still written)
  --download-timeout S  a download fails when less than 64 KiB arrive in S seconds
                        (default: $TAXI_DOWNLOAD_TIMEOUT, else 60)
  --download-deadline S a download fails when not done in S seconds
                        (default: $TAXI_DOWNLOAD_DEADLINE, else 1800)
  -q, --quiet           print nothing but errors
  -v, --verbose         more progress detail; stack traces on errors (with --quiet: only the latter)
  -h, --help            this help

Every run is recorded in the runs store (parameters, data hashes, metrics, its own copy
of the model): list them with '${NAME} runs', promote one with '${NAME} promote'.

Environment: TLC_BASE_URL overrides the trip-data site; TAXI_DATA_DIR the cache;
TAXI_RUNS_DIR the runs store; TAXI_DOWNLOAD_TIMEOUT and TAXI_DOWNLOAD_DEADLINE the
download limits (seconds).

Exit codes: 0 done, 1 the run failed, 2 a bad command line (nothing was done).

Examples:
  ${NAME} --synthetic                      # works offline, on generated data
  ${NAME} --train 2024-01 --val 2024-02    # the course's months from the TLC site
  ${NAME} --train 2023-01..2023-12 --val 2024-01,2024-02 --features PU_DO,trip_distance
  ${NAME} --color fhvhv --train 2024-01 --val 2024-02 --estimator lasso --alpha 0.01
  ${NAME} predict data/yellow_tripdata_2024-03.parquet > predictions.txt
  ${NAME} predict 2024-03 --color green > predictions.txt   # downloads the month into the cache
  echo '{"PULocationID":"161","DOLocationID":"236","trip_distance":2.1}' | ${NAME} predict
`;

const PREDICT_HELP = `Usage: ${NAME} predict [SRC | -] [options]

Predicts trip durations (minutes) with a saved model, one number per line on stdout.
Input SRC: a month YYYY-MM, an http(s) URL of a parquet file or a local parquet path
(months and URLs are downloaded into the cache once, as for training); or '-' / nothing
for JSON records on stdin: a JSON array, a single JSON object (any formatting) or
JSON Lines (one object per line), with the model's fields (PULocationID, DOLocationID
as strings or integers, trip_distance). Input is streamed: memory does not grow with it.
Locations not seen in training contribute nothing, as in training (DictVectorizer
ignores unseen features); a note on stderr counts them. Rows of a parquet file with
a null in a needed column print "null".

Options:
  --model REF       the model: a file, an alias of the registry (production), a run id
                    (or an 8+ character prefix of one) or 'latest' (default ${DEFAULT_MODEL_PATH})
  --runs-dir DIR    runs store for aliases and run ids (default: $TAXI_RUNS_DIR, else runs/)
  --color DATASET   yellow, green, fhv or fhvhv, for a month SRC (default: the model's)
  --cache-dir DIR   data cache (default: $TAXI_DATA_DIR, else data/)
  -q, --quiet       no notes or download messages on stderr (errors only)
  -v, --verbose     stack traces on errors
  -h, --help        this help

Environment: TLC_BASE_URL overrides the trip-data site; TAXI_DATA_DIR the cache.

Examples:
  ${NAME} predict 2024-03 > predictions.txt
  ${NAME} predict 2024-03 --model production > predictions.txt   # the model the alias points at
  ${NAME} predict https://example.org/trip-data/yellow_tripdata_2024-03.parquet
  echo '{"PULocationID":"161","DOLocationID":"236","trip_distance":2.1}' | ${NAME} predict
`;

const SERVE_HELP = `Usage: ${NAME} serve [options]

Serves a saved model over HTTP (JSON), as the course's Flask/FastAPI service does:
  POST /predict   one trip {"PULocationID":"161","DOLocationID":"236","trip_distance":2.1}
                  -> {"duration":…,"unseen":[],"model_version":…}; a JSON array of trips, or
                  JSON Lines (Content-Type: application/x-ndjson) -> {"durations":[…],…}
  GET /health     200 once the model is loaded, 503 while starting or stopping
  GET /model      version, features, training sources, metrics, creation time
Bad input gets a 4xx JSON error naming the record and the field.

The model is loaded again on SIGHUP and when its file changes; given as an alias
(--model production), on SIGHUP and whenever the registry changes (a promotion moves
the service to the newly promoted run). A new model is validated first, and a bad one
leaves the old model serving. SIGTERM (or Ctrl-C) stops accepting connections and lets
requests in flight finish. Logs are JSON lines on stderr.

Options:
  --model REF             the model: a file, an alias of the registry (production), a run id
                          (or 8+ character prefix) or 'latest' (default ${DEFAULT_MODEL_PATH})
  --runs-dir DIR          runs store for aliases and run ids (default: $TAXI_RUNS_DIR, else runs/)
  --host HOST             address to listen on (default 127.0.0.1; 0.0.0.0 for all interfaces)
  --port N                port (default 9696; 0 picks a free one)
  --max-body-bytes N      largest request body (default 16777216, 16 MiB): 413 beyond
  --max-records N         most trips in one request (default 100000): 413 beyond
  --request-timeout MS    a request must arrive whole within MS milliseconds (default 10000)
  --access-log FILE       where access lines go: a file (appended), '-' for stderr (default),
                          or 'off'; service events always go to stderr
  --no-watch              reload only on SIGHUP, not when the file changes
  -q, --quiet             no access lines and no info events (warnings and errors only)
  -v, --verbose           stack traces on a startup error
  -h, --help              this help

Examples:
  ${NAME} serve --model models/lin_reg.json --port 9696
  ${NAME} serve --model production     # follows the alias: '${NAME} promote RUN --alias production' switches it
  curl -s localhost:9696/predict -H 'content-type: application/json' \\
       -d '{"PULocationID":"161","DOLocationID":"236","trip_distance":2.1}'
  kill -HUP <pid>     # load the model again now (an alias or 'latest' is looked up again)
`;

const trainOptions = {
  train: { type: 'string' },
  val: { type: 'string' },
  color: { type: 'string' },
  dataset: { type: 'string' },
  features: { type: 'string' },
  estimator: { type: 'string' },
  alpha: { type: 'string' },
  'max-iter': { type: 'string' },
  tol: { type: 'string' },
  threads: { type: 'string' },
  'min-duration': { type: 'string' },
  'max-duration': { type: 'string' },
  out: { type: 'string' },
  'metrics-json': { type: 'string' },
  'no-plot': { type: 'boolean' },
  'one-thread': { type: 'boolean' },
  synthetic: { type: 'boolean' },
  'synthetic-rows': { type: 'string' },
  'cache-dir': { type: 'string' },
  'runs-dir': { type: 'string' },
  'no-track': { type: 'boolean' },
  'download-timeout': { type: 'string' },
  'download-deadline': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Options whose value is a number, so a negative one (`--min-duration -5`) is a value, not an option. */
const NUMERIC_OPTIONS = new Set(['--min-duration', '--max-duration', '--synthetic-rows', '--download-timeout', '--download-deadline', '--alpha', '--max-iter', '--tol', '--threads']);

const predictOptions = {
  model: { type: 'string' },
  'runs-dir': { type: 'string' },
  color: { type: 'string' },
  'cache-dir': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const serveOptions = {
  model: { type: 'string' },
  'runs-dir': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'max-records': { type: 'string' },
  'request-timeout': { type: 'string' },
  'access-log': { type: 'string' },
  'no-watch': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/**
 * Runs the command with `argv` (the arguments after the program name) and returns the exit code.
 *
 * Never throws and never calls `process.exit`: errors become one line on stderr (with the
 * stack when `--verbose`), exit code 2 for a bad command line and 1 for a failed run. When
 * stdout's reader goes away (`| head -1`), the command stops writing and returns 0 quietly.
 *
 * @example
 * const code = await main(['--synthetic', '--out', 'build/models', '--quiet']);
 */
export async function main(argv: readonly string[], io: CliIo = process): Promise<number> {
  if (isMlopsCommand(argv[0])) return mlopsMain(argv, io);
  const predict = argv[0] === 'predict';
  const serve = argv[0] === 'serve';
  const args = predict || serve || argv[0] === 'train' ? argv.slice(1) : argv;
  try {
    if (serve) return await serveCommand(args, io);
    return predict ? await predictCommand(args, io) : await trainCommand(args, io);
  } catch (error) {
    return reportError(error, io.stderr, wantsVerbose(args, predict ? predictOptions : serve ? serveOptions : trainOptions));
  }
}

/**
 * Whether the command line asks for --verbose, read as the command's parser reads it
 * (so `-qv` counts, and `--out -v` is a folder named -v), but leniently: it must also
 * answer for a command line that failed to parse (`--frobnicate --verbose`).
 */
function wantsVerbose(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): boolean {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: false }).values.verbose === true;
  } catch {
    return false;
  }
}

async function trainCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, trainOptions);
  const stdout = safeWriter(io.stdout);
  if (values.help) {
    await stdout.write(TRAIN_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`${NAME}: unexpected argument '${positionals[0]}'; use --train/--val for data (see --help)`);
  }
  if (values['no-track'] && values['runs-dir'] !== undefined) {
    throw new UsageError(`${NAME}: --no-track records no run, so --runs-dir has nothing to do; give one of them`);
  }
  const metricsToStdout = values['metrics-json'] === '-';
  const progress = values.quiet || metricsToStdout ? undefined : new Progress(io.stderr, values.verbose ?? false);
  if (values.color !== undefined && values.dataset !== undefined && values.color !== values.dataset) {
    throw new UsageError(`${NAME}: --color ${values.color} and --dataset ${values.dataset} disagree; they are the same option, give one`);
  }
  if (values['one-thread'] && values.threads !== undefined) {
    throw new UsageError(`${NAME}: --one-thread and --threads ${values.threads} disagree; give one`);
  }
  const dataset = values.color ?? values.dataset;
  const estimatorOptions = {
    ...(values.alpha !== undefined ? { alpha: parseNonNegative('--alpha', values.alpha) } : {}),
    ...(values['max-iter'] !== undefined ? { maxIter: parseCount('--max-iter', values['max-iter']) } : {}),
    ...(values.tol !== undefined ? { tol: parseNonNegative('--tol', values.tol) } : {}),
  };
  const options: TrainOptions = {
    ...(values.train !== undefined ? { train: values.train } : {}),
    ...(values.val !== undefined ? { val: values.val } : {}),
    ...(dataset !== undefined ? { color: parseDatasetOption(values.color !== undefined ? '--color' : '--dataset', dataset) } : {}),
    ...(values.features !== undefined ? { features: values.features } : {}),
    ...(values.estimator !== undefined ? { estimator: values.estimator } : {}),
    ...(Object.keys(estimatorOptions).length > 0 ? { estimatorOptions } : {}),
    ...(values.threads !== undefined ? { parallel: parseWhole('--threads', values.threads, 0, 256) } : {}),
    ...(values['min-duration'] !== undefined ? { minDuration: parseMinutes('--min-duration', values['min-duration']) } : {}),
    ...(values['max-duration'] !== undefined ? { maxDuration: parseMinutes('--max-duration', values['max-duration']) } : {}),
    ...(values.out !== undefined ? { outDir: values.out } : {}),
    ...(values['metrics-json'] !== undefined && !metricsToStdout ? { metricsJson: values['metrics-json'] } : {}),
    ...(values['no-plot'] ? { plotName: false as const } : {}),
    ...(values['one-thread'] ? { parallel: false } : {}),
    ...(values.synthetic ? { synthetic: true } : {}),
    ...(values['synthetic-rows'] !== undefined
      ? { syntheticRows: parseCount('--synthetic-rows', values['synthetic-rows']) }
      : {}),
    ...(values['cache-dir'] !== undefined ? { cacheDir: values['cache-dir'] } : {}),
    ...(values['no-track'] ? { runs: false as const } : values['runs-dir'] !== undefined ? { runs: values['runs-dir'] } : {}),
    ...(values['download-timeout'] !== undefined ? { downloadIdleTimeoutMs: 1000 * parseSeconds('--download-timeout', values['download-timeout']) } : {}),
    ...(values['download-deadline'] !== undefined ? { downloadDeadlineMs: 1000 * parseSeconds('--download-deadline', values['download-deadline']) } : {}),
    ...(progress ? { onProgress: (e: ProgressEvent) => progress.update(e) } : {}),
  };
  const result = await train(options).finally(() => progress?.end());
  if (metricsToStdout) {
    await stdout.write(JSON.stringify(toMetrics(result), null, 2) + '\n');
  } else if (!values.quiet) {
    await stdout.write(summary(result));
  }
  return 0;
}

async function predictCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, predictOptions);
  if (values.help) {
    io.stdout.write(PREDICT_HELP);
    return 0;
  }
  if (positionals.length > 1) {
    throw new UsageError(`${NAME}: predict takes one input file, got ${positionals.length} (see predict --help)`);
  }
  const input = positionals[0] ?? '-';
  const color = values.color !== undefined ? parseDatasetOption('--color', values.color) : undefined;
  if (input === '-' && io.stdin.isTTY) {
    throw new UsageError(`${NAME}: predict needs a month, a parquet file or URL, or JSON records piped on stdin (see predict --help)`);
  }
  const saved = await loadModelRef(values.model ?? DEFAULT_MODEL_PATH, runsStore(values['runs-dir']));
  const note = (text: string): void => {
    // Predictions go to stdout; notes go where a human sees them and a pipe does not.
    if (!values.quiet) io.stderr.write(`predict: note: ${text}\n`);
  };
  if (saved.ref.kind !== 'path') note(`${describeRef(saved.ref)}: ${saved.ref.path}`);
  if (saved.metadata.synthetic === true) note(`${saved.ref.kind === 'path' ? saved.ref.path : describeRef(saved.ref)} was trained on SYNTHETIC (generated) data`);

  const out = safeWriter(io.stdout);
  let rows = 0;
  let unseen = 0;
  const print = async (duration: Float64Array, unseenBits: Uint8Array): Promise<void> => {
    rows += duration.length;
    for (let i = 0; i < unseenBits.length; i++) if (unseenBits[i] !== 0) unseen++;
    await writePredictions(out, duration);
  };
  // A closed stdout (`| head -1`) rejects a write with OutputClosed, which main() ends quietly (exit 0).
  if (input === '-') {
    let batches = 0;
    try {
      for await (const p of predictRecordBatches(saved, readJsonRecords(io.stdin))) {
        batches++;
        await print(p.duration, p.unseen);
      }
    } catch (error) {
      if (error instanceof JsonRecordsError) throw new Error(`predict: stdin is not JSON records: ${error.problem}; ${RECORDS_HINT}`, { cause: error });
      if (error instanceof RecordError && error.field === undefined) throw new Error(`${error.message}; ${RECORDS_HINT}`, { cause: error });
      throw error;
    }
    if (batches === 0) throw new Error(`predict: no records on stdin; ${RECORDS_HINT}`);
    if (rows === 0) throw new Error('predict: stdin has no records (an empty JSON array); nothing to predict');
  } else {
    // A month or URL is downloaded into the cache once, as --train/--val are; a local path is checked.
    const progress = values.quiet ? undefined : new Progress(io.stderr, false);
    const path = await fetchTrips(input, {
      color: color ?? recordedDataset(saved.metadata),
      ...(values['cache-dir'] !== undefined ? { cacheDir: values['cache-dir'] } : {}),
      ...(progress ? { onProgress: (got: number, total: number) => progress.bytes(`download ${input}`, got, total) } : {}),
    }).finally(() => progress?.end());
    // One row group at a time: memory holds a group, not the file.
    // Only the columns the model's features need: an FHV file (no distance) serves a zones-only model.
    for await (const group of readTripGroups(path, { required: tripColumnsFor(saved.features) })) {
      const p = predictTrips(saved, group);
      await print(p.duration, p.unseen);
    }
    if (rows === 0) throw new Error(`predict: ${input} has no rows; nothing to predict`);
  }
  if (unseen > 0) {
    note(`${int(unseen)} of ${int(rows)} trips had a zone the model never saw in training; it contributed nothing (as scikit-learn's DictVectorizer ignores it)`);
  }
  return 0;
}

/** `production (run 2026…)` or `run 2026…`: how a model from the runs store is named in notes. */
function describeRef(ref: ResolvedModelRef): string {
  return ref.alias !== null ? `${ref.alias} (run ${ref.run!.id})` : `run ${ref.run!.id}`;
}

function runsStore(runsDir: string | undefined): { runsDir?: string } {
  return runsDir !== undefined ? { runsDir } : {};
}

const RECORDS_HINT = 'pipe a JSON array, a single JSON object, or one JSON object per line (JSON Lines)';

/**
 * Writes predictions as lines (`null` for NaN, a row that could not be predicted), one write per
 * block of 65,536 values, waiting for each to be taken (so a slow reader slows us instead of
 * filling memory). lib/terminal.ts's writer ends quietly on a closed pipe and names a full disk.
 */
async function writePredictions(out: ReturnType<typeof safeWriter>, values: Float64Array): Promise<void> {
  const block = 65_536;
  for (let start = 0; start < values.length; start += block) {
    const end = Math.min(values.length, start + block);
    let text = '';
    for (let i = start; i < end; i++) text += (Number.isNaN(values[i]!) ? 'null' : String(values[i]!)) + '\n';
    await out.write(text);
  }
}

async function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, serveOptions);
  if (values.help) {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`${NAME}: unexpected argument '${positionals[0]}'; serve takes the model with --model (see serve --help)`);
  }
  const accessLog = values['access-log'] ?? '-';
  const events = new JsonLines(io.stderr);
  const access = accessLog === '-' ? events : accessLog === 'off' ? undefined : new JsonLines(createWriteStream('', { fd: openAccessLog(accessLog) }));
  const quiet = values.quiet ?? false;
  const { startService } = await import('./serve.js');
  const service = await startService({
    model: values.model ?? DEFAULT_MODEL_PATH,
    ...runsStore(values['runs-dir']),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values.port !== undefined ? { port: parseWhole('--port', values.port, 0, 65_535) } : {}),
    ...(values['max-body-bytes'] !== undefined ? { maxBodyBytes: parseWhole('--max-body-bytes', values['max-body-bytes']) } : {}),
    ...(values['max-records'] !== undefined ? { maxRecords: parseWhole('--max-records', values['max-records']) } : {}),
    ...(values['request-timeout'] !== undefined ? { requestTimeoutMs: parseWhole('--request-timeout', values['request-timeout']) } : {}),
    watch: !values['no-watch'],
    accessLog: access !== undefined && !quiet,
    onLog: (entry) => {
      if (entry.event === 'request') access?.write(entry);
      else if (!quiet || entry.level !== 'info') events.write(entry);
    },
  });
  const stop = (): void => void service.close();
  const reload = (): void => void service.reload();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', reload);
  try {
    await service.closed;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.off('SIGHUP', reload);
    await events.end();
    if (access !== events) await access?.end();
  }
  return 0;
}

/** Opens the access log for appending now, so that a bad path fails the start instead of losing lines. */
function openAccessLog(path: string): number {
  try {
    return openSync(path, 'a');
  } catch (error) {
    throw new Error(`serve: cannot open the access log ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** A whole number in decimal digits (no signs, exponents or hex: `1e3` or `0x10` is a typo here). */
function parseWhole(option: string, value: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(`${NAME}: ${option} must be a whole number from ${min} to ${max.toLocaleString('en-US')}, got '${value}'`);
  }
  return n;
}

/**
 * Log entries as JSON lines, gathered and written once per turn of the event loop: one write
 * per request would cost a system call each at tens of thousands of requests a second.
 */
class JsonLines {
  #buffer = '';
  #scheduled = false;
  constructor(private readonly out: NodeJS.WritableStream) {
    // A log that cannot be written must not take the service down.
    out.on('error', () => undefined);
  }

  write(entry: object): void {
    this.#buffer += JSON.stringify(entry) + '\n';
    if (this.#buffer.length > 65_536) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#buffer === '') return;
    this.out.write(this.#buffer);
    this.#buffer = '';
  }

  async end(): Promise<void> {
    this.#flush();
    if (this.out === process.stderr || this.out === process.stdout) return;
    await new Promise<void>((done) => this.out.end(() => done()));
  }
}

function label(split: TrainResult['train']): string {
  const s = split.sources;
  const name = s.length === 1 ? s[0]!.source : `${s[0]!.source} … ${s.at(-1)!.source} (${s.length})`;
  return split.generated ? `${name} (synthetic)` : name;
}

/**
 * The short table printed after training; with several validation sources, a line per source.
 *
 * @example
 * process.stdout.write(summary(await train({ synthetic: true })));
 */
export function summary(r: TrainResult): string {
  const rows: [string, string, string][] = [
    ['', 'train', 'val'],
    ['source', label(r.train), label(r.val)],
    ['rows read', int(r.train.rowsRead), int(r.val.rowsRead)],
    ['rows kept', int(r.train.rowsKept), int(r.val.rowsKept)],
    ['RMSE (min)', r.train.rmse.toFixed(3), r.val.rmse.toFixed(3)],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const w2 = Math.max(...rows.map((x) => x[2].length));
  const lines: string[] = [];
  if (r.synthetic) lines.push(SYNTHETIC_NOTE);
  for (const [a, b, c] of rows) lines.push(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c.padStart(w2)}`);
  if (r.val.sources.length > 1) {
    const w = Math.max(...r.val.sources.map((s) => s.source.length));
    for (const s of r.val.sources) lines.push(`  val ${s.source.padEnd(w)}  ${int(s.rowsKept).padStart(12)} kept  RMSE ${s.rmse!.toFixed(3)}`);
  }
  const stages = Object.entries(r.seconds)
    .filter(([k, v]) => k !== 'total' && v >= 0.005)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
  const params = Object.entries(r.estimator.params).filter(([k]) => k !== 'fitIntercept').map(([k, v]) => `${k} ${v}`);
  lines.push(`model: ${r.estimator.name}${params.length > 0 ? ` (${params.join(', ')})` : ''} on ${r.featureSet}   features: ${r.features}`);
  lines.push(`filter: ${r.minDuration}..${r.maxDuration} min   dataset: ${r.color}   threads: ${r.threads === 0 ? 'this one' : r.threads}`);
  lines.push(`time: ${r.seconds.total.toFixed(2)} s (${stages})   peak RSS: ${Math.round(r.peakRssBytes / 2 ** 20)} MB`);
  lines.push(`model file: ${r.outputs.model}`);
  if (r.outputs.plot) lines.push(`plot: ${r.outputs.plot}`);
  if (r.outputs.metrics) lines.push(`metrics: ${r.outputs.metrics}`);
  if (r.run) lines.push(`run: ${r.run.id} (${r.run.dir})`);
  return lines.join('\n') + '\n';
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O) {
  // parseArgs takes '-5' after an option for another option ("ambiguous"): join it as --opt=-5.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (NUMERIC_OPTIONS.has(argv[i]!) && next !== undefined && /^-\.?\d/.test(next)) {
      args.push(`${argv[i]}=${next}`);
      i++;
    } else {
      args.push(argv[i]!);
    }
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']+)'/.exec(e.message)?.[1] ?? 'given';
      throw new UsageError(`${NAME}: unknown option ${option} (see --help)`, { cause: error });
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      // e.g. "Option '--train <value>' argument missing"
      throw new UsageError(`${NAME}: ${e.message.replace(/\.$/, '')} (see --help)`, { cause: error });
    }
    throw new UsageError(`${NAME}: ${e.message}`, { cause: error });
  }
}

/** The train command's dataset (`--color`, `--dataset`): TLC's four. */
/** A number ≥ 0 in plain decimal notation (an estimator's alpha or tolerance). */
function parseNonNegative(option: string, value: string): number {
  const n = Number(value);
  if (!DECIMAL.test(value.trim()) || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`${NAME}: ${option} must be a number ≥ 0, got '${value}'`);
  }
  return n;
}

/** Plain decimal notation: 12, -5, 0.5, 1e6; not 0x10, 0b1, Infinity or '' (which Number() takes). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseMinutes(option: string, value: string): number {
  const n = Number(value);
  if (!DECIMAL.test(value.trim()) || !Number.isFinite(n)) {
    throw new UsageError(`${NAME}: ${option} must be a number of minutes, got '${value}'`);
  }
  if (n < 0) throw new UsageError(`${NAME}: ${option} must be a number of minutes ≥ 0, got '${value}'`);
  return n;
}

function parseSeconds(option: string, value: string): number {
  const n = Number(value);
  if (!DECIMAL.test(value.trim()) || !(n > 0) || !Number.isFinite(n)) {
    throw new UsageError(`${NAME}: ${option} must be a number of seconds above 0, got '${value}'`);
  }
  return n;
}

function parseCount(option: string, value: string): number {
  const text = value.replace(/_/g, '');
  const n = Number(text);
  if (!DECIMAL.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${NAME}: ${option} must be a positive whole number, got '${value}'`);
  }
  return n;
}

function int(n: number): string {
  return n.toLocaleString('en-US');
}

// Run when executed (node lib/dist/cli.js, the npm bin link, tsx lib/cli.ts), not when imported.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
}
