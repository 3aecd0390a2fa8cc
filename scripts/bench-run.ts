/**
 * What `npm run bench` and `npm run bench:scale` share: running one pipeline in a fresh process
 * and measuring it from outside, interleaving repeats, summarising them, and printing tables.
 *
 * Every pipeline, ours and the Python peers, reports the same JSON shape (the CLI's metrics
 * JSON: rows read and kept, RMSE per split, feature count, seconds per stage), so one
 * summary and one set of agreement checks serve them all.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What a pipeline reports: our metrics JSON and the Python scripts' stdout share this shape. */
export interface RunReport {
  train: { rowsRead: number; rowsKept: number; rmse: number };
  val: { rowsRead: number; rowsKept: number; rmse: number };
  features: number;
  seconds: Record<string, number>;
  peakRssBytes: number;
}

/** One run of one pipeline: wall time and peak RSS from outside, and its report (or why it failed). */
export interface Sample {
  seconds: number;
  peakRssBytes: number;
  rssFrom: 'GNU time' | 'self-reported';
  report?: RunReport;
  /** Set when the run failed: its exit code and the last lines of its stderr. */
  error?: string;
  /** The harness did not run it (`error` says why). */
  skipped?: boolean;
}

const TIME_BIN = '/usr/bin/time';
const MARKER = '@@bench-maxrss-kb=';

/** How peak RSS is measured, for the table's footnote. */
export const rssMethod = existsSync(TIME_BIN)
  ? 'GNU time (%M) around each process'
  : 'each program about itself (getrusage; /usr/bin/time missing: apt-get install time)';

/**
 * Runs `command args` in a fresh process, measuring wall time around it and its peak RSS with
 * GNU time when present; `readReport` turns its stdout into the report once it has exited 0.
 */
export async function measure(
  command: string,
  args: readonly string[],
  readReport: (stdout: string) => Promise<RunReport> | RunReport,
): Promise<Sample> {
  const timed = existsSync(TIME_BIN);
  const [cmd, argv] = timed ? [TIME_BIN, ['-f', `${MARKER}%M`, command, ...args]] : [command, [...args]];
  const started = performance.now();
  const child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
  const seconds = (performance.now() - started) / 1000;
  const kb = new RegExp(`${MARKER}(\\d+)`).exec(stderr)?.[1];
  const peak = kb === undefined ? null : Number(kb) * 1024;
  if (code !== 0) {
    const message = stderr.replace(new RegExp(`(Command exited with non-zero status \\d+\\s*)?${MARKER}\\d+\\s*`), '').trim();
    return { seconds, peakRssBytes: peak ?? 0, rssFrom: 'GNU time', error: `exit ${code}: ${message.split('\n').slice(-3).join(' / ')}` };
  }
  const report = await readReport(stdout);
  return { seconds, peakRssBytes: peak ?? report.peakRssBytes, rssFrom: peak === null ? 'self-reported' : 'GNU time', report };
}

/** A pipeline the harness can run: a name, a label for the table, and one fresh-process run. */
export interface Runner {
  name: string;
  label: string;
  run: () => Promise<Sample>;
}

/**
 * Runs every runner `repeats` times, interleaved (A B C, A B C, …), so a change in the
 * machine's load hits every pipeline alike; returns the samples by runner name.
 */
export async function interleave(runners: readonly Runner[], repeats: number, log = console.log): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(runners.map((r) => [r.name, []]));
  for (let round = 1; round <= repeats; round++) {
    for (const runner of runners) {
      const sample = await runner.run();
      samples.get(runner.name)!.push(sample);
      const what = sample.error
        ? `${sample.skipped ? 'skipped' : 'FAILED'} (${sample.error})`
        : `${sample.seconds.toFixed(2)} s, ${mb(sample.peakRssBytes)} MB`;
      log(`bench: round ${round}/${repeats} ${runner.name}: ${what}`);
    }
  }
  return samples;
}

/** Min and median wall time and the highest peak RSS of a pipeline's successful runs. */
export interface Summary {
  runs: number;
  minSeconds: number;
  medianSeconds: number;
  peakRssBytes: number;
  /** The report of the fastest run (reports of one pipeline agree; the harness checks). */
  report: RunReport;
}

/**
 * Summarises the samples of one pipeline; undefined when none succeeded.
 *
 * @example
 * summarize([{ seconds: 2, peakRssBytes: 1, rssFrom: 'GNU time', report }]).medianSeconds; // 2
 */
export function summarize(samples: readonly Sample[]): Summary | undefined {
  const ok = samples.filter((s): s is Sample & { report: RunReport } => s.report !== undefined);
  if (ok.length === 0) return undefined;
  const seconds = ok.map((s) => s.seconds).sort((a, b) => a - b);
  const mid = seconds.length >> 1;
  const fastest = ok.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return {
    runs: ok.length,
    minSeconds: seconds[0]!,
    medianSeconds: seconds.length % 2 ? seconds[mid]! : (seconds[mid - 1]! + seconds[mid]!) / 2,
    peakRssBytes: Math.max(...ok.map((s) => s.peakRssBytes)),
    report: fastest.report,
  };
}

/** |a − b| / |b|. */
export const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));

/** Bytes as whole MiB. */
export const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);

/**
 * A markdown table; `align` is 'l' or 'r' per column.
 *
 * @example
 * markdownTable(['a', 'b'], 'lr', [['x', '1']]);
 */
export function markdownTable(head: readonly string[], align: string, rows: readonly (readonly string[])[]): string {
  const rule = head.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [head, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/**
 * The machine and its load, for the footnote: a benchmark on a busy machine must say so.
 * With `python`, the versions of the Python stack too.
 *
 * @example
 * console.log(machineState());
 */
export function machineState(python?: string): string {
  const [one, five] = loadavg();
  const versions =
    python === undefined
      ? ''
      : existsSync(python)
      ? spawnSync(python, ['-c', 'import sys, polars, pandas, pyarrow, sklearn; print(f"Python {sys.version.split()[0]}, polars {polars.__version__}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}, scikit-learn {sklearn.__version__}")'], {
          encoding: 'utf8',
        }).stdout.trim()
      : 'no Python';
  return (
    `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, ` +
    `load average ${one!.toFixed(2)} (1 min) / ${five!.toFixed(2)} (5 min); Node ${process.versions.node}${versions && `; ${versions}`}`
  );
}
