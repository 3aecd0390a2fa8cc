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
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { categorical, type Columns } from './columns.js';
import { OptionError } from './errors.js';
import { loadModel } from './modelFile.js';
import { SYNTHETIC_NOTE, toMetrics, train, type ProgressEvent, type TrainOptions, type TrainResult } from './pipeline.js';
import { MISSING, readTrips, type Trips } from './read.js';
import { fetchTrips, type Color } from './source.js';
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
       ${NAME} predict [SRC | -] [--model FILE]

Trains the course's model (DictVectorizer + LinearRegression on PULocationID,
DOLocationID, trip_distance) on one month and validates on another; writes the
model file, a predicted-vs-actual plot (HTML) and, if asked, metrics JSON.

Options:
  --train SRC           training data: a month YYYY-MM, a parquet path or a URL (default 2024-01)
  --val SRC             validation data, same forms (default 2024-02)
  --color COLOR         yellow or green (default yellow)
  --min-duration MIN    shortest trip kept, minutes (default 1)
  --max-duration MIN    longest trip kept, minutes (default 60)
  --out DIR             folder for lin_reg.json and the plot (default models/)
  --metrics-json FILE   also write the metrics as JSON to FILE ('-' for stdout)
  --no-plot             skip the plot
  --one-thread          validate on the main thread too (default: a second thread reads and
                        scores the validation month while training runs, when there are 2+ cores)
  --synthetic           offline: train on generated TLC-shaped months (labelled SYNTHETIC)
  --synthetic-rows N    rows per generated month (default 100000, at most 10000000)
  --cache-dir DIR       data cache (default: $TAXI_DATA_DIR, else data/)
  --download-timeout S  a download fails when less than 64 KiB arrive in S seconds
                        (default: $TAXI_DOWNLOAD_TIMEOUT, else 60)
  --download-deadline S a download fails when not done in S seconds
                        (default: $TAXI_DOWNLOAD_DEADLINE, else 1800)
  -q, --quiet           print nothing but errors
  -v, --verbose         more progress detail; stack traces on errors (with --quiet: only the latter)
  -h, --help            this help

Environment: TLC_BASE_URL overrides the trip-data site; TAXI_DATA_DIR the cache;
TAXI_DOWNLOAD_TIMEOUT and TAXI_DOWNLOAD_DEADLINE the download limits (seconds).

Exit codes: 0 done, 1 the run failed, 2 a bad command line (nothing was done).

Examples:
  ${NAME} --synthetic                      # works offline, on generated data
  ${NAME} --train 2024-01 --val 2024-02    # the course's months from the TLC site
  ${NAME} predict data/yellow_tripdata_2024-03.parquet > predictions.txt
  ${NAME} predict 2024-03 --color green > predictions.txt   # downloads the month into the cache
  echo '{"PULocationID":"161","DOLocationID":"236","trip_distance":2.1}' | ${NAME} predict
`;

const PREDICT_HELP = `Usage: ${NAME} predict [SRC | -] [options]

Predicts trip durations (minutes) with a saved model, one number per line on stdout.
Input SRC: a month YYYY-MM, an http(s) URL of a parquet file or a local parquet path
(months and URLs are downloaded into the cache once, as for training); or '-' / nothing
for JSON records on stdin: a JSON array, a single JSON object (any formatting) or
JSON Lines (one object per line), with PULocationID, DOLocationID and trip_distance.
Locations not seen in training contribute nothing, as in training (DictVectorizer
ignores unseen features). Rows of a parquet file with a null in a needed column
print "null".

Options:
  --model FILE      model file (default models/lin_reg.json)
  --color COLOR     yellow or green, for a month SRC (default yellow)
  --cache-dir DIR   data cache (default: $TAXI_DATA_DIR, else data/)
  -q, --quiet       no notes or download messages on stderr (errors only)
  -v, --verbose     stack traces on errors
  -h, --help        this help

Environment: TLC_BASE_URL overrides the trip-data site; TAXI_DATA_DIR the cache.

Examples:
  ${NAME} predict 2024-03 > predictions.txt
  ${NAME} predict https://example.org/trip-data/yellow_tripdata_2024-03.parquet
  echo '{"PULocationID":"161","DOLocationID":"236","trip_distance":2.1}' | ${NAME} predict
`;

const trainOptions = {
  train: { type: 'string' },
  val: { type: 'string' },
  color: { type: 'string' },
  'min-duration': { type: 'string' },
  'max-duration': { type: 'string' },
  out: { type: 'string' },
  'metrics-json': { type: 'string' },
  'no-plot': { type: 'boolean' },
  'one-thread': { type: 'boolean' },
  synthetic: { type: 'boolean' },
  'synthetic-rows': { type: 'string' },
  'cache-dir': { type: 'string' },
  'download-timeout': { type: 'string' },
  'download-deadline': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Options whose value is a number, so a negative one (`--min-duration -5`) is a value, not an option. */
const NUMERIC_OPTIONS = new Set(['--min-duration', '--max-duration', '--synthetic-rows', '--download-timeout', '--download-deadline']);

const predictOptions = {
  model: { type: 'string' },
  color: { type: 'string' },
  'cache-dir': { type: 'string' },
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
  const predict = argv[0] === 'predict';
  const args = predict || argv[0] === 'train' ? argv.slice(1) : argv;
  try {
    return predict ? await predictCommand(args, io) : await trainCommand(args, io);
  } catch (error) {
    return reportError(error, io.stderr, wantsVerbose(args, predict ? predictOptions : trainOptions));
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
  const metricsToStdout = values['metrics-json'] === '-';
  const progress = values.quiet || metricsToStdout ? undefined : new Progress(io.stderr, values.verbose ?? false);
  const options: TrainOptions = {
    ...(values.train !== undefined ? { train: values.train } : {}),
    ...(values.val !== undefined ? { val: values.val } : {}),
    ...(values.color !== undefined ? { color: parseColor(values.color) } : {}),
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
  const modelPath = resolve(values.model ?? 'models/lin_reg.json');
  const input = positionals[0] ?? '-';
  const color = values.color !== undefined ? parseColor(values.color) : undefined;
  if (input === '-' && io.stdin.isTTY) {
    throw new UsageError(`${NAME}: predict needs a month, a parquet file or URL, or JSON records piped on stdin (see predict --help)`);
  }
  const { vectorizer, model, metadata } = await loadModel(modelPath);
  if (metadata.synthetic === true && !values.quiet) {
    // Predictions go to stdout; the reminder goes where a human sees it and a pipe does not.
    io.stderr.write(`predict: note: ${modelPath} was trained on SYNTHETIC (generated) data\n`);
  }
  const categoricalNames = stringList(metadata, 'categorical') ?? ['PULocationID', 'DOLocationID'];
  const numericalNames = stringList(metadata, 'numerical') ?? ['trip_distance'];

  let predictions: (number | null)[];
  if (input === '-') {
    const records = parseRecords(await readStream(io.stdin), categoricalNames, numericalNames);
    if (records.length === 0) throw new Error('predict: stdin has no records (an empty JSON array); nothing to predict');
    predictions = Array.from(model.predict(vectorizer.transform(records)));
  } else {
    // A month or URL is downloaded into the cache once, as --train/--val are; a local path is checked.
    const path = await fetchTrips(input, {
      ...(color !== undefined ? { color } : {}),
      ...(values['cache-dir'] !== undefined ? { cacheDir: values['cache-dir'] } : {}),
      quiet: values.quiet ?? false,
    });
    const trips = await readTrips(path);
    if (trips.length === 0) throw new Error(`predict: ${input} has no rows; nothing to predict`);
    // Rows with a null in a needed column cannot be predicted; they print null, in place.
    const valid = validRows(trips);
    predictions = new Array<number | null>(trips.length).fill(null);
    if (valid === null || valid.includes(1)) {
      const columns: Columns = {
        PULocationID: categorical(pick(trips.PULocationID, valid)),
        DOLocationID: categorical(pick(trips.DOLocationID, valid)),
        trip_distance: pick(trips.trip_distance, valid),
      };
      const predicted = model.predict(vectorizer.transform(columns));
      let j = 0;
      for (let i = 0; i < trips.length; i++) if (valid === null || valid[i] === 1) predictions[i] = predicted[j++]!;
    }
  }
  await writeLines(io.stdout, predictions);
  return 0;
}

const RECORDS_HINT = 'pipe a JSON array, a single JSON object, or one JSON object per line (JSON Lines)';

/**
 * Turns JSON text into records as the course's vectorizer saw them. The text is a JSON
 * array of records, a single record (any formatting, e.g. pretty-printed), or JSON Lines.
 */
function parseRecords(
  text: string,
  categoricalNames: readonly string[],
  numericalNames: readonly string[],
): Record<string, string | number>[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error(`predict: no records on stdin; ${RECORDS_HINT}`);
  let raw: unknown[];
  // Where each record came from, for error messages: "record 2 (line 3)" for JSON Lines.
  let where = (i: number): string => `record ${i + 1}`;
  let whole: unknown;
  let wholeError: Error | undefined;
  try {
    whole = JSON.parse(trimmed);
  } catch (error) {
    wholeError = error as Error;
  }
  if (wholeError === undefined) {
    if (Array.isArray(whole)) raw = whole;
    else if (typeof whole === 'object' && whole !== null) raw = [whole];
    else throw new Error(`predict: stdin holds a JSON ${whole === null ? 'null' : typeof whole}, not records; ${RECORDS_HINT}`);
  } else if (trimmed.startsWith('[')) {
    throw new Error(`predict: stdin is not JSON records (${wholeError.message}); ${RECORDS_HINT}`, { cause: wholeError });
  } else {
    // JSON Lines: one record per non-blank line.
    const lines = text.split(/\r?\n/);
    const lineNumbers: number[] = [];
    raw = [];
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n]!;
      if (line.trim() === '') continue;
      try {
        raw.push(JSON.parse(line) as unknown);
      } catch (error) {
        // A first line that is not JSON on its own, in a text that starts like an object, is
        // most likely one multi-line object with a mistake in it: report that document's error.
        const message = raw.length === 0 && trimmed.startsWith('{') && trimmed.includes('\n')
          ? `as one JSON object: ${wholeError.message}`
          : `line ${n + 1}: ${(error as Error).message}`;
        throw new Error(`predict: stdin is not JSON records (${message}); ${RECORDS_HINT}`, { cause: error });
      }
      lineNumbers.push(n + 1);
    }
    where = (i) => `record ${i + 1} (line ${lineNumbers[i]})`;
  }
  return raw.map((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      throw new Error(`predict: ${where(i)} is not a JSON object; ${RECORDS_HINT}`);
    }
    const record = r as Record<string, unknown>;
    const out: Record<string, string | number> = {};
    // The course casts location IDs with astype(str): 161 and "161" are the same category.
    for (const name of categoricalNames) {
      const v = record[name];
      if (typeof v !== 'string' && typeof v !== 'number') {
        throw new Error(`predict: ${where(i)} needs ${name} (a location ID), got ${JSON.stringify(v)}`);
      }
      out[name] = String(v);
    }
    for (const name of numericalNames) {
      const v = record[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new Error(`predict: ${where(i)} needs ${name} as a number, got ${JSON.stringify(v)}`);
      }
      out[name] = v;
    }
    return out;
  });
}

function label(split: TrainResult['train']): string {
  return split.generated ? `${split.source} (synthetic)` : split.source;
}

/**
 * The short table printed after training.
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
  const stages = Object.entries(r.seconds)
    .filter(([k, v]) => k !== 'total' && v >= 0.005)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
  lines.push(`features: ${r.features}   filter: ${r.minDuration}..${r.maxDuration} min   color: ${r.color}`);
  lines.push(`time: ${r.seconds.total.toFixed(2)} s (${stages})   peak RSS: ${Math.round(r.peakRssBytes / 2 ** 20)} MB`);
  lines.push(`model: ${r.outputs.model}`);
  if (r.outputs.plot) lines.push(`plot: ${r.outputs.plot}`);
  if (r.outputs.metrics) lines.push(`metrics: ${r.outputs.metrics}`);
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

function parseColor(value: string): Color {
  if (value !== 'yellow' && value !== 'green') {
    throw new UsageError(`${NAME}: --color must be yellow or green, got '${value}'`);
  }
  return value;
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

/** Rows whose three features are all present (1) or not (0); null when every row is complete. */
function validRows(trips: Trips): Uint8Array | null {
  const needed = MISSING.PULocationID | MISSING.DOLocationID | MISSING.trip_distance;
  let anyMissing = false;
  const valid = new Uint8Array(trips.length);
  for (let i = 0; i < trips.length; i++) {
    if ((trips.missing[i]! & needed) === 0) valid[i] = 1;
    else anyMissing = true;
  }
  return anyMissing ? valid : null;
}

function pick<T extends Int32Array | Float64Array>(values: T, valid: Uint8Array | null): T {
  if (valid === null) return values;
  const out = new (values.constructor as new (n: number) => T)(valid.reduce((n, v) => n + v, 0));
  let j = 0;
  for (let i = 0; i < values.length; i++) if (valid[i] === 1) out[j++] = values[i]!;
  return out;
}

function stringList(metadata: unknown, key: string): string[] | undefined {
  const v = (metadata as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function writeLines(out: NodeJS.WritableStream, values: readonly (number | null)[]): Promise<void> {
  // Build in blocks: one write per number is slow for millions of rows.
  const block = 65_536;
  for (let i = 0; i < values.length; i += block) {
    const text = values.slice(i, i + block).map((v) => (v === null ? 'null' : String(v))).join('\n') + '\n';
    if (!out.write(text)) await new Promise<void>((done) => out.once('drain', () => done()));
  }
}

function int(n: number): string {
  return n.toLocaleString('en-US');
}

// Run when executed (node lib/dist/cli.js, the npm bin link, tsx lib/cli.ts), not when imported.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
}
