/**
 * The command's MLOps subcommands: `runs`, `promote`, `monitor`, `retrain`.
 *
 * Kept apart from lib/cli.ts (training and prediction), whose `main` hands these commands here
 * with one line. Same contract: flags parsed with node:util parseArgs, the library does the
 * work, errors are one line (the stack with --verbose), exit code 2 for a bad command line and
 * 1 for a failed run; `monitor` and `retrain` exit 3 when a threshold is crossed (and, for
 * retrain, no better model could replace the served one), so a scheduler can act on it.
 */
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import type { CliIo } from './cli.js';
import { parseDatasetOption } from './cliOptions.js';
import { OptionError } from './errors.js';
import { monitorReportHtml } from './mlopsCharts.js';
import { DEFAULT_THRESHOLDS, monitorModel, type MonitorProgress, type MonitorReport, type MonitorThresholds, type MonthSourceOptions } from './monitor.js';
import { aliasesByRun, aliasHistory, promote, readRegistry } from './registry.js';
import { retrain } from './retrain.js';
import { compareRuns, defaultRunsDir, findRun, listRuns, runsTable, type RunKind } from './runs.js';
import { writeFileAtomic } from './output.js';
import { reportError, safeWriter } from './terminal.js';

const NAME = 'taxi-duration';

/**
 * The subcommands this module runs.
 *
 * @example
 * MLOPS_COMMANDS.includes('monitor'); // true
 */
export const MLOPS_COMMANDS = ['runs', 'promote', 'monitor', 'retrain'] as const;

/**
 * Whether `command` (the first argument) is one of {@link MLOPS_COMMANDS}.
 *
 * @example
 * if (isMlopsCommand(argv[0])) return mlopsMain(argv, io);
 */
export function isMlopsCommand(command: string | undefined): boolean {
  return (MLOPS_COMMANDS as readonly (string | undefined)[]).includes(command);
}

const STORE_HELP = `  --runs-dir DIR        runs store (default: $TAXI_RUNS_DIR, else runs/ at the project root)
  -v, --verbose         stack traces on errors
  -h, --help            this help`;

const DATA_HELP = `  --color DATASET       yellow, green, fhv or fhvhv, for months (default: the model's)
  --cache-dir DIR       data cache (default: $TAXI_DATA_DIR, else data/)
  --synthetic           generate the months (offline), as training with --synthetic does
  --synthetic-rows N    rows per generated month (default 100000)
  --max-psi X           limit of the population stability index of distance and duration (default ${DEFAULT_THRESHOLDS.psi})
  --max-rmse-ratio X    limit of RMSE as a multiple of the validation RMSE at training (default ${DEFAULT_THRESHOLDS.rmseRatio})
  --max-unseen X        limit of the share of trips in zones unseen in training, 0..1 (default ${DEFAULT_THRESHOLDS.unseenShare})
  --max-rmse MIN        limit of RMSE in minutes (default: none)`;

const HELP: Record<(typeof MLOPS_COMMANDS)[number], string> = {
  runs: `Usage: ${NAME} runs [RUN ...] [options]

Lists the runs store's runs (training, monitoring, retraining), oldest first, with the
aliases that point at them. With RUN ids (or 8+ character prefixes, or 'latest'),
compares those runs field by field instead ('*' marks fields that differ).

Options:
  --kind KIND           only train, monitor or retrain runs
  --last N              only the newest N runs
  --aliases             the registry instead: each alias, its run, and its history
  --json                JSON on stdout (the runs' records, the comparison or the registry)
${STORE_HELP}
`,
  promote: `Usage: ${NAME} promote RUN --alias NAME [options]

Points an alias (production, staging, any name) at a finished training run, and keeps
the change in the registry's history. RUN is a run id, an 8+ character prefix of one,
or 'latest' (the newest finished training run). predict --model NAME then uses it.

Options:
  --alias NAME          the alias (lowercase letters, digits, - and _)
  --reason TEXT         why, kept in the history
${STORE_HELP}
`,
  monitor: `Usage: ${NAME} monitor --model REF --months MONTHS [options]

Scores a model on months it has not seen: per month the RMSE, mean predicted vs mean
actual duration, the share of trips in zones unseen in training, and the drift of trip
distance and duration from the training data (PSI and Wasserstein distance). Writes an
HTML report with a chart per measure, records a monitor run, and exits 3 when a month
crosses a limit.

Options:
  --model REF           a model file, an alias (production) or a run id
  --months MONTHS       2024-03..2024-08, a comma list, or paths/URLs of parquet files
${DATA_HELP}
  --training-data SRC   the model's training data, when neither the model file nor its run says
  --report FILE         also write the HTML report to FILE
  --json                the report as JSON on stdout
  --no-record           do not record a monitor run
  -q, --quiet           no progress on stderr
${STORE_HELP}

Exit codes: 0 within the limits, 3 a limit crossed, 1 a failed run, 2 a bad command line.
`,
  retrain: `Usage: ${NAME} retrain --month YYYY-MM [options]

The level-4 loop: monitors the newest month with the model an alias serves; when a
limit is crossed (or with --force), trains a candidate on the months before it, scores
both models on the newest month and moves the alias to the candidate only when it is
better. Every step is recorded in the runs store.

Options:
  --month YYYY-MM       the newest month
  --alias NAME          the alias to check and maybe move (default production)
  --window N            months of training data before the newest: the candidate trains on
                        all of them (default 3)
  --force               train and compare even when no limit is crossed
  --min-improvement X   how much lower the candidate's RMSE must be, as a fraction (default 0)
${DATA_HELP}
  --json                the outcome as JSON on stdout
  -q, --quiet           no progress on stderr
${STORE_HELP}

Exit codes: 0 the served model is fine or was replaced by a better one, 3 a limit was
crossed and no better model was found, 1 a failed run, 2 a bad command line.
`,
};

const common = {
  'runs-dir': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const dataOptions = {
  color: { type: 'string' },
  'cache-dir': { type: 'string' },
  synthetic: { type: 'boolean' },
  'synthetic-rows': { type: 'string' },
  'max-psi': { type: 'string' },
  'max-rmse-ratio': { type: 'string' },
  'max-unseen': { type: 'string' },
  'max-rmse': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const satisfies ParseArgsConfig['options'];

const OPTIONS = {
  runs: { ...common, kind: { type: 'string' }, last: { type: 'string' }, aliases: { type: 'boolean' }, json: { type: 'boolean' } },
  promote: { ...common, alias: { type: 'string' }, reason: { type: 'string' } },
  monitor: { ...common, ...dataOptions, model: { type: 'string' }, months: { type: 'string' }, 'training-data': { type: 'string' }, report: { type: 'string' }, 'no-record': { type: 'boolean' } },
  retrain: { ...common, ...dataOptions, month: { type: 'string' }, alias: { type: 'string' }, window: { type: 'string' }, force: { type: 'boolean' }, 'min-improvement': { type: 'string' } },
} as const satisfies Record<(typeof MLOPS_COMMANDS)[number], ParseArgsConfig['options']>;

/**
 * Runs one of the MLOps subcommands (`argv[0]` is its name) and returns the exit code.
 * Never throws: errors become one line on stderr.
 *
 * @example
 * const code = await mlopsMain(['monitor', '--model', 'production', '--months', '2024-03..2024-05'], process);
 */
export async function mlopsMain(argv: readonly string[], io: CliIo): Promise<number> {
  const command = argv[0] as (typeof MLOPS_COMMANDS)[number];
  const args = argv.slice(1);
  try {
    if (!isMlopsCommand(command)) throw new OptionError(`${NAME}: unknown command '${String(command)}'`);
    const { values, positionals } = parse(args, OPTIONS[command]);
    if (values.help) {
      await print(io, HELP[command]);
      return 0;
    }
    switch (command) {
      case 'runs':
        return await runsCommand(values as RunsValues, positionals, io);
      case 'promote':
        return await promoteCommand(values as PromoteValues, positionals, io);
      case 'monitor':
        return await monitorCommand(values as MonitorValues, positionals, io);
      case 'retrain':
        return await retrainCommand(values as RetrainValues, positionals, io);
    }
  } catch (error) {
    // One line (the stack with --verbose), URLs redacted; exit code 2 for an OptionError, 1 otherwise.
    const verbose = args.includes('--verbose') || args.some((a) => /^-[a-z]*v[a-z]*$/.test(a));
    return reportError(error, io.stderr, verbose);
  }
}

type Values<K extends keyof typeof OPTIONS> = Partial<Record<keyof (typeof OPTIONS)[K], string | boolean>>;
type RunsValues = Values<'runs'>;
type PromoteValues = Values<'promote'>;
type MonitorValues = Values<'monitor'>;
type RetrainValues = Values<'retrain'>;

async function runsCommand(values: RunsValues, ids: string[], io: CliIo): Promise<number> {
  const runsDir = str(values['runs-dir']);
  const store = runsDir !== undefined ? { runsDir } : {};
  if (values.aliases) {
    const registry = await readRegistry(store);
    if (values.json) {
      await print(io, JSON.stringify(registry, null, 2) + '\n');
      return 0;
    }
    const history = await aliasHistory(undefined, store);
    const rows = Object.entries(registry.aliases).map(([alias, e]) => [alias, e.runId, e.since.slice(0, 19).replace('T', ' '), e.reason ?? '']);
    await print(io, rows.length === 0 ? 'no aliases yet (taxi-duration promote RUN --alias production)\n' : textTable(['alias', 'run', 'since', 'reason'], rows));
    if (history.length > 0) {
      await print(io, '\nhistory:\n');
      await print(io, textTable(['when', 'alias', 'run', 'was', 'reason'], history.map((c) => [c.at.slice(0, 19).replace('T', ' '), c.alias, c.runId, c.previousRunId ?? '', c.reason ?? ''])));
    }
    return 0;
  }
  if (ids.length > 0) {
    if (values.kind !== undefined || values.last !== undefined) throw new OptionError(`${NAME}: runs RUN ... compares runs; --kind and --last only filter the list`);
    const runs = [];
    for (const id of ids) runs.push(await findRun(id, store));
    if (values.json) {
      await print(io, JSON.stringify(runs, null, 2) + '\n');
      return 0;
    }
    const t = compareRuns(runs);
    await print(io, textTable(['', 'field', ...t.columns], t.index.map((field, i) => [t.differs[i] ? '*' : '', field, ...t.values[i]!.map(cell)])));
    return 0;
  }
  const kind = values.kind === undefined ? undefined : parseKind(str(values.kind)!);
  let runs = await listRuns({ ...store, ...(kind !== undefined ? { kind } : {}), onProblem: (message) => io.stderr.write(`runs: skipped: ${message}\n`) });
  if (values.last !== undefined) runs = runs.slice(-parseCount('--last', str(values.last)!));
  if (values.json) {
    await print(io, JSON.stringify(runs, null, 2) + '\n');
    return 0;
  }
  if (runs.length === 0) {
    await print(io, 'no runs yet (train one: taxi-duration --synthetic)\n');
    return 0;
  }
  const t = runsTable(runs, { aliases: await aliasesByRun(store) });
  await print(io, textTable(['run', ...t.columns], t.values.map((row, i) => [t.index[i]!, ...row.map(cell)])));
  return 0;
}

async function promoteCommand(values: PromoteValues, positionals: string[], io: CliIo): Promise<number> {
  if (positionals.length !== 1) throw new OptionError(`${NAME}: promote takes one run (an id, a prefix of one, or 'latest'), got ${positionals.length} (see promote --help)`);
  const alias = str(values.alias);
  if (alias === undefined) throw new OptionError(`${NAME}: promote needs --alias NAME (e.g. --alias production)`);
  const runsDir = str(values['runs-dir']);
  const reason = str(values.reason);
  const change = await promote(positionals[0]!, alias, { ...(runsDir !== undefined ? { runsDir } : {}), ...(reason !== undefined ? { reason } : {}) });
  if (change === null) await print(io, `${alias} already points at ${(await findRun(positionals[0]!, runsDir !== undefined ? { runsDir } : {})).id}; nothing changed\n`);
  else await print(io, `${alias} → ${change.runId}${change.previousRunId !== null ? ` (was ${change.previousRunId})` : ''}\n`);
  return 0;
}

async function monitorCommand(values: MonitorValues, positionals: string[], io: CliIo): Promise<number> {
  noPositionals('monitor', positionals);
  const model = str(values.model);
  const months = str(values.months);
  if (model === undefined) throw new OptionError(`${NAME}: monitor needs --model (a file, an alias such as production, or a run id)`);
  if (months === undefined) throw new OptionError(`${NAME}: monitor needs --months (e.g. --months 2024-03..2024-08)`);
  const runsDir = str(values['runs-dir']);
  const trainingData = str(values['training-data']);
  const report = await monitorModel({
    ...dataSource(values),
    model,
    months,
    thresholds: thresholds(values),
    ...(values['no-record'] ? { record: false } : {}),
    ...(runsDir !== undefined ? { runsDir } : {}),
    ...(trainingData !== undefined ? { trainingData } : {}),
    ...progressTo(io, values),
  });
  const reportFile = str(values.report);
  if (reportFile !== undefined) {
    try {
      await writeFileAtomic(reportFile, monitorReportHtml(report));
    } catch (error) {
      throw new Error(`monitor: cannot write the report to ${reportFile}: ${(error as Error).message}`, { cause: error });
    }
  }
  if (values.json) await print(io, JSON.stringify(report, null, 2) + '\n');
  else await print(io, monitorSummary(report, reportFile, runsDir));
  if (report.flagged) io.stderr.write(`monitor: limits crossed in ${report.flaggedMonths.join(', ')}\n`);
  return report.flagged ? 3 : 0;
}

async function retrainCommand(values: RetrainValues, positionals: string[], io: CliIo): Promise<number> {
  noPositionals('retrain', positionals);
  const month = str(values.month);
  if (month === undefined) throw new OptionError(`${NAME}: retrain needs --month YYYY-MM (the newest month)`);
  if (!/^\d{4}-\d{2}$/.test(month)) throw new OptionError(`${NAME}: --month must be a month like 2024-07, got '${month}'`);
  const runsDir = str(values['runs-dir']);
  const alias = str(values.alias);
  const result = await retrain({
    ...dataSource(values),
    month,
    ...(alias !== undefined ? { alias } : {}),
    ...(values.window !== undefined ? { window: parseCount('--window', str(values.window)!) } : {}),
    ...(values.force ? { force: true } : {}),
    ...(values['min-improvement'] !== undefined ? { minImprovement: parseFraction('--min-improvement', str(values['min-improvement'])!) } : {}),
    thresholds: thresholds(values),
    ...(runsDir !== undefined ? { runsDir } : {}),
    ...progressTo(io, values),
  });
  if (values.json) await print(io, JSON.stringify(result, null, 2) + '\n');
  else {
    const lines = result.steps.map((s) => `${s.step.padEnd(8)} ${s.summary}${s.runId ? `   (run ${s.runId})` : ''}`);
    await print(io, [...lines, `decision: ${result.decision}`, `run: ${result.runId}`].join('\n') + '\n');
  }
  if (result.needsAttention) io.stderr.write(`retrain: ${result.month} crossed a limit and no better model replaced ${result.alias}; look at run ${result.runId}\n`);
  return result.needsAttention ? 3 : 0;
}

function monitorSummary(report: MonitorReport, reportFile: string | undefined, runsDir: string | undefined): string {
  const header = ['month', 'rows', 'RMSE', 'pred', 'actual', 'unseen%', 'PSI dur', 'PSI dist', 'W dur', 'W dist', 'flags'];
  const rows = report.months.map((m) => [
    m.month, String(m.rowsKept), fixed(m.rmse), fixed(m.meanPredicted), fixed(m.meanActual), fixed(100 * m.unseenShare, 2),
    fixed(m.duration.psi), m.trip_distance ? fixed(m.trip_distance.psi) : '', fixed(m.duration.wasserstein), m.trip_distance ? fixed(m.trip_distance.wasserstein) : '',
    m.flags.join('; '),
  ]);
  const lines: string[] = [];
  const ref = report.model.referenceRmse;
  lines.push(`model: ${report.model.ref}${report.model.runId ? ` (run ${report.model.runId})` : ''}, trained on ${report.model.trainedOn.join(', ') || '?'}; validation RMSE at training ${ref === null ? 'not recorded' : fixed(ref)}; profile from ${report.profileSource}`);
  if (report.synthetic) lines.push('SYNTHETIC DATA: generated TLC-shaped trips; these numbers say nothing about real trips.');
  let out = lines.join('\n') + '\n' + textTable(header, rows);
  if (reportFile !== undefined) out += `report: ${reportFile}\n`;
  if (report.runId !== null) out += `run: ${report.runId} (report: ${join(runsDir ?? defaultRunsDir(), report.runId, 'artifacts', 'monitor.html')})\n`;
  return out;
}

function dataSource(values: MonitorValues | RetrainValues): MonthSourceOptions {
  const given = str(values.color);
  const color = given === undefined ? undefined : parseDatasetOption('--color', given);
  const cacheDir = str(values['cache-dir']);
  const rows = str(values['synthetic-rows']);
  if (rows !== undefined && !values.synthetic) throw new OptionError(`${NAME}: --synthetic-rows needs --synthetic`);
  return {
    ...(color !== undefined ? { color } : {}),
    ...(cacheDir !== undefined ? { cacheDir } : {}),
    ...(values.synthetic ? { synthetic: true } : {}),
    ...(rows !== undefined ? { syntheticRows: parseCount('--synthetic-rows', rows) } : {}),
  };
}

function thresholds(values: MonitorValues | RetrainValues): Partial<MonitorThresholds> {
  const out: Partial<MonitorThresholds> = {};
  const psi = str(values['max-psi']);
  const ratio = str(values['max-rmse-ratio']);
  const unseen = str(values['max-unseen']);
  const rmse = str(values['max-rmse']);
  if (psi !== undefined) out.psi = parseNonNegative('--max-psi', psi);
  if (ratio !== undefined) out.rmseRatio = parseNonNegative('--max-rmse-ratio', ratio);
  if (unseen !== undefined) out.unseenShare = parseFraction('--max-unseen', unseen);
  if (rmse !== undefined) out.rmse = parseNonNegative('--max-rmse', rmse);
  return out;
}

function progressTo(io: CliIo, values: { quiet?: string | boolean; json?: string | boolean }): { onProgress?: (e: MonitorProgress) => void } {
  if (values.quiet) return {};
  return { onProgress: (e) => io.stderr.write(`${e.message}\n`) };
}

/** Writes to stdout through lib/terminal.ts: a reader gone away (`| head -1`) ends the command quietly, a full disk fails it in one line. */
function print(io: CliIo, text: string): Promise<void> {
  return safeWriter(io.stdout).write(text);
}

function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0) throw new OptionError(`${NAME}: ${command} takes no argument '${positionals[0]}' (see ${command} --help)`);
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const option = /'([^']+)'/.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new OptionError(`${NAME}: unknown option ${option ?? ''} (see --help)`.replace('  ', ' '), { cause: error });
    throw new OptionError(`${NAME}: ${e.message.replace(/\.$/, '')} (see --help)`, { cause: error });
  }
}

function parseKind(value: string): RunKind {
  if (value !== 'train' && value !== 'monitor' && value !== 'retrain') throw new OptionError(`${NAME}: --kind must be train, monitor or retrain, got '${value}'`);
  return value;
}

/** A plain decimal number ≥ 0 (no hex, no Infinity, no empty string). */
function parseNonNegative(option: string, value: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value.trim())) throw new OptionError(`${NAME}: ${option} must be a number ≥ 0 like 0.2, got '${value}'`);
  return Number(value);
}

function parseFraction(option: string, value: string): number {
  const n = parseNonNegative(option, value);
  if (n >= 1) throw new OptionError(`${NAME}: ${option} is a fraction below 1 (0.02 for 2%), got '${value}'`);
  return n;
}

function parseCount(option: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new OptionError(`${NAME}: ${option} must be a positive whole number, got '${value}'`);
  }
  return Number(value);
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function cell(value: string | number | null): string {
  if (value === null) return '';
  return typeof value === 'number' && !Number.isInteger(value) ? fixed(value) : String(value);
}

function fixed(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** Rows as aligned columns: text left, numbers right. */
function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => r[c] === '' || /^-?[\d.]+$/.test(r[c] ?? '')));
  return all.map((r) => r.map((v, c) => (numeric[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}
