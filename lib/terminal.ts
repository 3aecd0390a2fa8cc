/**
 * Terminal: how the command line talks to a person and ends, shared by every command.
 *
 * - {@link Progress}: the one progress bar (downloads, reading, fitting), redrawn in place on a
 *   terminal and printed as plain lines otherwise. The library only reports progress through
 *   callbacks; this draws it.
 * - {@link reportError} / {@link formatError} / {@link exitCodeOf}: every error ends as one line
 *   on stderr (the stack only with --verbose), with credentials and query strings of URLs
 *   removed; exit code 2 for a bad command line ({@link OptionError}), 1 for a failed run.
 * - {@link safeWriter}: writes to stdout that end quietly when the reader goes away
 *   (`… | head -1`, EPIPE) and fail with one line when the device refuses (`> /dev/full`).
 */
import { OptionError, redactUrls } from './errors.js';

/** A stream a command writes to (process.stdout, process.stderr or a test's stand-in). */
export type TextStream = NodeJS.WritableStream & { isTTY?: boolean };

/**
 * Exit codes of the command line.
 *
 * @example
 * process.exitCode = EXIT.usage; // 2
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Stdout's reader went away (EPIPE: `taxi-duration … | head -1`). Not a failure: the command
 * stops writing and ends quietly with exit code 0.
 *
 * @example
 * try { await out.write(text); } catch (e) { if (e instanceof OutputClosed) return 0; throw e; }
 */
export class OutputClosed extends Error {
  override name = 'OutputClosed';
}

/**
 * The exit code for an error: 2 for an {@link OptionError} (a bad command line), 0 for
 * {@link OutputClosed}, else 1.
 *
 * @example
 * exitCodeOf(new OptionError('pipeline: minDuration (60) must be below maxDuration (1)')); // 2
 */
export function exitCodeOf(error: unknown): number {
  if (error instanceof OutputClosed) return EXIT.ok;
  return error instanceof OptionError ? EXIT.usage : EXIT.failed;
}

/**
 * An error as the command shows it: its first line, or with `verbose` the stack and the chain
 * of causes. URLs lose their credentials and query strings either way.
 *
 * @example
 * formatError(new Error('source: HTTP 403 for https://u:p@h/x.parquet?sig=1'), false);
 * // 'source: HTTP 403 for https://h/x.parquet?…'
 */
export function formatError(error: unknown, verbose: boolean, name = 'taxi-duration'): string {
  if (!(error instanceof Error)) return redactUrls(`${name}: ${String(error)}`);
  if (!verbose) return redactUrls(error.message.split('\n')[0]!);
  let text = error.stack ?? error.message;
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause) {
    text += `\nCaused by: ${cause.stack ?? cause.message}`;
  }
  return redactUrls(text);
}

/**
 * Writes an error to `stderr` as {@link formatError} does (nothing for {@link OutputClosed})
 * and returns its exit code; the end of every command's `catch`.
 *
 * @example
 * catch (error) { return reportError(error, io.stderr, verbose); }
 */
export function reportError(error: unknown, stderr: TextStream, verbose: boolean): number {
  if (!(error instanceof OutputClosed)) {
    guard(stderr);
    try {
      stderr.write(`${formatError(error, verbose)}\n`);
    } catch {
      // stderr is gone too: the exit code still tells
    }
  }
  return exitCodeOf(error);
}

/**
 * Text output that resolves once the stream took it, rejects with {@link OutputClosed} when the
 * reader went away (EPIPE, a destroyed stream), and with one line naming the cause otherwise
 * (`> /dev/full`: ENOSPC). Keeps the stream from crashing the process with an unhandled 'error'.
 *
 * @example
 * const out = safeWriter(io.stdout, 'stdout');
 * await out.write('7.25\n');
 */
export function safeWriter(stream: TextStream, name = 'stdout'): { write(text: string): Promise<void> } {
  guard(stream);
  return {
    write(text: string): Promise<void> {
      const earlier = failures.get(stream);
      if (earlier !== undefined) return Promise.reject(outputFailure(earlier, name));
      return new Promise((resolveWrite, reject) => {
        try {
          stream.write(text, (error?: Error | null) => {
            const failure = error ?? failures.get(stream);
            if (failure) reject(outputFailure(failure, name));
            else resolveWrite();
          });
        } catch (error) {
          reject(outputFailure(error as Error, name));
        }
      });
    },
  };
}

const failures = new WeakMap<TextStream, Error>();

/** Keeps a stream's later 'error' (EPIPE after the reader left) from being an uncaught exception. */
function guard(stream: TextStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', (error: Error) => {
    if (!failures.has(stream)) failures.set(stream, error);
  });
}
const guarded = new WeakSet<TextStream>();

function outputFailure(error: Error, name: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END' || code === 'ECONNRESET') {
    return new OutputClosed(`${name} was closed by its reader`, { cause: error });
  }
  const why = code === 'ENOSPC' ? 'ENOSPC: no space left on the device' : (code ?? error.message);
  return new Error(`taxi-duration: cannot write to ${name} (${why})`, { cause: error });
}

/**
 * One progress report: a short line, the fraction done when known, and whether it ends a step.
 * The pipeline's `ProgressEvent` is one.
 */
export interface ProgressLine {
  message: string;
  fraction?: number;
  done?: boolean;
}

/**
 * The command's one progress bar, on stderr: on a terminal one line redrawn in place (at most ten
 * times a second, a step's last report always), elsewhere (logs, CI, pipes) only the line that
 * ends each step, or every report with `verbose`.
 *
 * @example
 * const progress = new Progress(process.stderr, false);
 * await fetchTrips('2024-03', { onProgress: (got, total) => progress.bytes('download 2024-03', got, total) });
 * progress.end();
 */
export class Progress {
  #open = false;
  #last = 0;
  constructor(
    private readonly out: TextStream,
    private readonly verbose: boolean,
  ) {
    guard(out);
  }

  /** Shows a report. */
  update(e: ProgressLine): void {
    if (this.out.isTTY) {
      const now = Date.now();
      if (!e.done && now - this.#last < 100) return;
      this.#last = now;
      const bar = e.fraction === undefined ? '' : ` ${renderBar(e.fraction)}`;
      this.#write(`\r\x1b[K${e.message}${bar}`);
      this.#open = true;
      if (e.done) {
        this.#write('\n');
        this.#open = false;
      }
    } else if (e.done || this.verbose) {
      this.#write(e.message + '\n');
    }
  }

  /** Shows a download's bytes (`total` NaN when the server did not say); `done` on the last. */
  bytes(label: string, received: number, total: number, done = false): void {
    const mb = (n: number): string => (n / 2 ** 20).toFixed(1);
    const known = Number.isFinite(total) && total > 0;
    this.update({
      message: known ? `${label}: ${mb(received)} of ${mb(total)} MB` : `${label}: ${mb(received)} MB`,
      ...(known ? { fraction: received / total } : {}),
      done,
    });
  }

  /** Ends an open line (call when the work stops, finished or not). */
  end(): void {
    if (this.#open) this.#write('\n');
    this.#open = false;
  }

  #write(text: string): void {
    try {
      this.out.write(text);
    } catch {
      // progress is a courtesy: never fail a run over it
    }
  }
}

function renderBar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${Math.round(f * 100)}%`;
}
