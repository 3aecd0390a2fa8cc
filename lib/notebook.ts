/**
 * Notebook: what the course's notebooks need from a kernel, beyond the course's steps.
 *
 * - `notebookParameters`: the parameters cell's values, with environment variables
 *   overriding them for headless runs (as papermill injects parameters), checked once
 *   so a typo fails in the first cell with the fix instead of minutes later;
 * - `downloadProgress`: a `fetchTrips` progress callback that reports a few lines, for
 *   notebooks to print as ordinary output (the library itself prints nothing);
 * - `showErrorsAsMessages`: makes the library's errors print as their one-line message
 *   (which names the fix) instead of a Node stack, in the kernel that asks for it.
 */
import { inspect } from 'node:util';
import { DATASETS, type Dataset } from './datasets.js';
import { parseMonths } from './months.js';

/** Every parameter a notebook's parameters cell may set, with its type after checking. */
export interface NotebookParameters {
  /** The dataset months are fetched as: `'yellow'`, `'green'` (the course's taxi colours), `'fhv'` or `'fhvhv'`. */
  color: Dataset;
  /**
   * Training data: a month `YYYY-MM`, a local `.parquet` path or an http(s) URL; or several,
   * as text (`'2023-01..2023-03'`, `'2024-01,2024-02'`) or as a list of them. `parseMonths`
   * turns either into the list of sources.
   */
  train: string | string[];
  /** Validation data, in the same forms as `train`. */
  val: string | string[];
  /** Shortest trip kept, minutes (inclusive). */
  minDuration: number;
  /** Longest trip kept, minutes (inclusive). */
  maxDuration: number;
  /** Where months are downloaded from (TLC's site, or a mirror). */
  baseUrl: string;
  /** Folder that keeps downloaded files. */
  cacheDir: string;
  /** Where the notebook saves (or the pipeline writes) the model file. */
  modelPath: string;
  /** The runs store the notebook's training runs are recorded in, with its registry (lib/runs.ts). */
  runsDir: string;
}

/**
 * The environment variable that overrides each parameter in headless runs
 * (`npm run notebooks`, CI). The same names the command and the library read.
 *
 * @example
 * PARAMETER_ENV.train; // 'TAXI_TRAIN'
 */
export const PARAMETER_ENV: Readonly<Record<keyof NotebookParameters, string>> = Object.freeze({
  color: 'TAXI_COLOR',
  train: 'TAXI_TRAIN',
  val: 'TAXI_VAL',
  minDuration: 'TAXI_MIN_DURATION',
  maxDuration: 'TAXI_MAX_DURATION',
  baseUrl: 'TLC_BASE_URL',
  cacheDir: 'TAXI_DATA_DIR',
  modelPath: 'TAXI_MODEL_PATH',
  runsDir: 'TAXI_RUNS_DIR',
});

/** What a parameters cell may write: plain literals (a colour is checked, so any string is accepted). */
export type ParametersCell = { [K in keyof NotebookParameters]?: K extends 'color' ? string : K extends 'train' | 'val' ? string | readonly string[] : NotebookParameters[K] };

/**
 * The checked parameters of a cell: each key the cell gave, with its checked type; `train` and
 * `val` keep the cell's form (text stays text, a list stays a list).
 */
export type CheckedParameters<C extends ParametersCell> = {
  [K in keyof C & keyof NotebookParameters]: K extends 'train' | 'val' ? (C[K] extends string ? string : string[]) : NotebookParameters[K];
};

/** Options of {@link notebookParameters}. */
export interface NotebookParametersOptions {
  /** Where overrides come from; default `process.env`. An empty value counts as unset. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Told, in a sentence, about each value an environment variable replaced (e.g. `console.log`). */
  onOverride?: (message: string) => void;
}

/**
 * The parameters of a notebook run: the parameters cell's values, each replaced by its
 * environment variable ({@link PARAMETER_ENV}) when that is set, then checked.
 *
 * A learner edits the cell and runs all; a headless run sets `TAXI_TRAIN` and friends
 * instead, as papermill would inject a cell. Only the keys given are returned, so a
 * notebook that needs no model path does not have one. `train` and `val` may name several
 * sources (a range, a comma list, or a list); they are checked as `parseMonths` reads them
 * and returned in the cell's form (a variable's text becomes a list when the cell held one).
 *
 * @throws Error (`notebook: ...`) for an unknown parameter, a dataset other than yellow,
 *   green, fhv or fhvhv, an empty or malformed source list, durations that are not finite
 *   minutes with 0 ≤ min < max, or a base URL that is not http(s); the message names the
 *   parameter, its variable and the fix.
 * @example
 * const p = notebookParameters({ color: 'yellow', train: '2024-01', maxDuration: 60 }, { onOverride: console.log });
 * // with TAXI_TRAIN=data/my.parquet set: prints "TAXI_TRAIN=data/my.parquet replaces train ('2024-01' in the parameters cell)"
 * p.train; // 'data/my.parquet'
 * notebookParameters({ train: ['2023-01', '2023-02'] }, { env: { TAXI_TRAIN: '2023-01..2023-03' } }).train; // ['2023-01', '2023-02', '2023-03']
 */
export function notebookParameters<const C extends ParametersCell>(cell: C, options: NotebookParametersOptions = {}): CheckedParameters<C> {
  const env = options.env ?? process.env;
  const known = Object.keys(PARAMETER_ENV);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(cell)) {
    if (!(key in PARAMETER_ENV)) {
      throw new Error(`notebook: unknown parameter '${key}' in the parameters cell; the parameters are ${known.join(', ')}`);
    }
    const name = key as keyof NotebookParameters;
    const variable = PARAMETER_ENV[name];
    const fromEnv = env[variable];
    if (fromEnv === undefined || fromEnv === '') {
      out[name] = check(name, value, 'in the parameters cell');
      continue;
    }
    const text = typeof value === 'number' ? parseMinutes(name, fromEnv) : Array.isArray(value) ? listOf(name, fromEnv, `from ${variable}`) : fromEnv;
    const parsed = check(name, text, `from ${variable}`);
    if (JSON.stringify(parsed) !== JSON.stringify(value)) options.onOverride?.(`${variable}=${fromEnv} replaces ${name} (${JSON.stringify(value)} in the parameters cell)`);
    out[name] = parsed;
  }
  if (typeof out.minDuration === 'number' && typeof out.maxDuration === 'number' && !(out.minDuration < out.maxDuration)) {
    throw new Error(
      `notebook: minDuration (${out.minDuration}) must be below maxDuration (${out.maxDuration}); edit the parameters cell (or ${PARAMETER_ENV.minDuration} / ${PARAMETER_ENV.maxDuration})`,
    );
  }
  return out as CheckedParameters<C>;
}

/** A variable's text as the list of sources it names (for a cell that held a list). */
function listOf(name: keyof NotebookParameters, text: string, where: string): string[] {
  try {
    return parseMonths(text);
  } catch (error) {
    throw new Error(`notebook: ${name} ${where}: ${(error as Error).message}`, { cause: error });
  }
}

function parseMinutes(name: keyof NotebookParameters, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new Error(`notebook: ${PARAMETER_ENV[name]} must be a number of minutes for ${name}, got '${text}'`);
  }
  return value;
}

/** The value, checked for its parameter; `where` says where it came from, for the message. */
function check(name: keyof NotebookParameters, value: unknown, where: string): unknown {
  const fix = `edit the parameters cell (or unset ${PARAMETER_ENV[name]})`;
  switch (name) {
    case 'color':
      if (!(DATASETS as readonly unknown[]).includes(value)) {
        throw new Error(`notebook: color must be 'yellow' or 'green' (or another dataset: 'fhv', 'fhvhv'), got ${JSON.stringify(value)} ${where}; ${fix}`);
      }
      return value;
    case 'train':
    case 'val': {
      const forms = ' (a month like 2024-01, a .parquet path or an http(s) URL; or several: 2023-01..2023-03, a comma list, or a list)';
      const list = Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : typeof value === 'string' ? value : undefined;
      let sources: string[] = [];
      if (list !== undefined) {
        try {
          sources = parseMonths(list);
        } catch (error) {
          throw new Error(`notebook: ${name} ${where}: ${(error as Error).message}; ${fix}`, { cause: error });
        }
      }
      if (sources.length === 0) throw new Error(`notebook: ${name} must name at least one source${forms}, got ${JSON.stringify(value)} ${where}; ${fix}`);
      return Array.isArray(value) ? [...(value as string[])] : value;
    }
    case 'minDuration':
    case 'maxDuration':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new Error(`notebook: ${name} must be a number of minutes ≥ 0, got ${JSON.stringify(value)} ${where}; ${fix}`);
      }
      return value;
    case 'baseUrl':
      if (typeof value !== 'string' || !/^https?:\/\/\S+$/i.test(value)) {
        throw new Error(`notebook: baseUrl must be an http(s) URL such as https://d37ci6vzurychx.cloudfront.net/trip-data, got ${JSON.stringify(value)} ${where}; ${fix}`);
      }
      return value;
    default:
      if (typeof value !== 'string' || value.trim() === '') {
        throw new Error(`notebook: ${name} must be a non-empty string, got ${JSON.stringify(value)} ${where}; ${fix}`);
      }
      return value;
  }
}

/**
 * A `fetchTrips` `onProgress` callback that reports a download in a few lines: at each
 * quarter when the size is known, every 10 MB when it is not. Cached files download
 * nothing, so they report nothing. One callback can serve several downloads in turn.
 *
 * @example
 * const path = await fetchTrips('2024-01', { quiet: true, onProgress: downloadProgress(console.log) });
 * // download: 25% of 47.7 MB … download: 100% of 47.7 MB
 */
export function downloadProgress(report: (line: string) => void): (received: number, total: number) => void {
  let last = -1;
  let lastReceived = Infinity;
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  return (received, total) => {
    if (received < lastReceived) last = -1; // a new download
    lastReceived = received;
    if (Number.isFinite(total) && total > 0) {
      const quarter = Math.floor((4 * received) / total);
      if (quarter > last && quarter > 0) {
        last = quarter;
        report(`download: ${Math.min(100, 25 * quarter)}% of ${mb(total)} MB`);
      }
    } else {
      const tens = Math.floor(received / (10 * 2 ** 20));
      if (tens > last && tens > 0) {
        last = tens;
        report(`download: ${mb(received)} MB so far`);
      }
    }
  };
}

/** The library's errors start with their module's word and a colon: `source: …`, `read: …`. */
const LIBRARY_ERROR = /^[a-z][A-Za-z]*: /;
const INSPECT = inspect.custom;
let installed = false;

/**
 * Makes errors that follow the library's convention (a message starting with the module's
 * word, `source: …`) print as that message alone, plus the cause's message when it adds
 * something, in this process. For notebooks: tslab prints a failing cell's error with
 * `console.error`, which shows a 10-line Node stack that hides the one line that says
 * what to do. Other errors (a TypeError in the learner's own code) keep their stack.
 *
 * How: it defines Node's `util.inspect.custom` on `Error.prototype`, which `console.error`
 * consults; error objects themselves are untouched (`message`, `stack` and `cause` stay as
 * they were, so code that catches errors sees no difference). Calling it again does nothing.
 * Returns a function that puts Node's printing back. Meant for a notebook kernel; a
 * command-line program should print `error.message` itself.
 *
 * @example
 * showErrorsAsMessages();
 * console.error(new Error('source: could not reach the TLC site; …')); // prints just that line
 */
export function showErrorsAsMessages(): () => void {
  if (!installed) {
    installed = true;
    Object.defineProperty(Error.prototype, INSPECT, {
      configurable: true,
      writable: true,
      enumerable: false,
      value: function (this: Error, depth: number, options: Parameters<typeof inspect>[1], show: typeof inspect) {
        if (typeof this.message !== 'string' || !LIBRARY_ERROR.test(this.message)) {
          return show(this, { ...options, depth, customInspect: false });
        }
        const cause = (this as Error & { cause?: unknown }).cause;
        const because = cause instanceof Error && !this.message.includes(cause.message) ? `\n(cause: ${cause.message})` : '';
        return this.message + because;
      },
    });
  }
  return () => {
    if (!installed) return;
    delete (Error.prototype as unknown as Record<symbol, unknown>)[INSPECT];
    installed = false;
  };
}
