/**
 * `npm run bench:scale`: seconds and peak RSS for 1, 3, 6 and 12 months of training, so growth
 * with the rows is visible; each run a fresh process, validation always on the month after.
 *
 *   npm run bench:scale                             # 2023-01… (3,000,000 rows each), validate on 2024-01
 *   npm run bench:scale -- --rows 100000            # smaller months
 *   npm run bench:scale -- --months 1,3 --repeat 3  # other points, more rounds (interleaved)
 *   npm run bench:scale -- --in-memory              # also polars + scikit-learn holding every row (GBs at 12 months)
 *   npm run bench:scale -- --no-fhvhv               # skip the high-volume FHV month (20,000,000 rows)
 *   TAXI_DATA_DIR=/work/cache npm run bench:scale   # generate the months once into a shared cache
 *
 * Pipelines, at each point:
 * - ours: `node lib/dist/cli.js`, given the training months as {@link trainArgs} spells a list.
 *   A build whose `--train` takes one source only fails on the first list: from then on ours is
 *   reported as "not supported by this build" for more than one month (the 1-month point runs).
 * - polars streaming sums (scripts/python/polars_stats.py): per zone-pair sums streamed by
 *   polars, normal equations solved exactly; memory bounded by the zone pairs. The peer with
 *   the design this project aims for, and an exact answer ours must match.
 * - with --in-memory, the polars pipeline of `npm run bench` on all months at once.
 * And one high-volume FHV point (unless --no-fhvhv): ours and the polars sums peer trained on an
 * fhvhv-shaped month of 20,000,000 rows (`--fhvhv-rows`; with `--rows`, 20/3 of it), validated
 * on the next; generated in the high-volume FHV layout (`trip_miles`, INT64 zones).
 * Writes build/bench/scale.md and scale.json. Exit code 1 when a pipeline fails (other than
 * ours on a list it does not support) or the answers disagree.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { FHVHV_MONTHS, FHVHV_ROWS, SCALE_ROWS, SCALE_TRAIN_MONTHS, SCALE_VAL_MONTH, benchPython, pyarrowMonth } from './bench-months.js';
import {
  interleave, machineState, markdownTable, mb, measure, relDiff, root, rssMethod, summarize,
  type RunReport, type Runner, type Sample,
} from './bench-run.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string' },
    months: { type: 'string', default: '1,3,6,12' },
    repeat: { type: 'string', default: '1' },
    'in-memory': { type: 'boolean', default: false },
    'no-fhvhv': { type: 'boolean', default: false },
    'fhvhv-rows': { type: 'string' },
  },
});

function fail(message: string): never {
  console.error(`bench:scale: ${message}`);
  process.exit(2);
}

const rows = values.rows === undefined ? SCALE_ROWS : Number(values.rows.replaceAll('_', ''));
if (!(Number.isSafeInteger(rows) && rows > 0)) fail(`--rows must be a positive whole number, got ${values.rows}`);
const points = values.months.split(',').map(Number);
if (points.some((n) => !(Number.isInteger(n) && n >= 1 && n <= SCALE_TRAIN_MONTHS.length))) {
  fail(`--months must be a comma list of month counts from 1 to ${SCALE_TRAIN_MONTHS.length}, got ${values.months}`);
}
const fhvhvRows = values['fhvhv-rows'] !== undefined ? Number(values['fhvhv-rows'].replaceAll('_', '')) : values.rows !== undefined ? Math.round((rows * 20) / 3) : FHVHV_ROWS;
if (!(Number.isSafeInteger(fhvhvRows) && fhvhvRows > 0)) fail(`--fhvhv-rows must be a positive whole number, got ${values['fhvhv-rows']}`);
const withFhvhv = !values['no-fhvhv'];
const repeat = Number(values.repeat);
if (!Number.isSafeInteger(repeat) || repeat < 1) fail(`--repeat must be a positive whole number, got ${values.repeat}`);
const cli = join(root, 'lib', 'dist', 'cli.js');
if (!existsSync(cli)) fail(`${cli} is missing; run \`npm run build\` first (npm run bench:scale does)`);
const python = benchPython();
if (!existsSync(python)) fail(`${python} not found: run \`bash environment/setup.sh\` (the peers and the months' rewrite need it)`);

/** Ours must match the exact sums-based peer this closely; the in-memory peer stops LSQR at 1e-6. */
const EXACT_TOLERANCE = 1e-9;
const LSQR_DEFAULT_TOLERANCE = 1e-4;

const outDir = join(root, 'build', 'bench');
await mkdir(join(outDir, 'models'), { recursive: true });
const maxMonths = Math.max(...points);
const trainPaths: string[] = [];
for (const month of SCALE_TRAIN_MONTHS.slice(0, maxMonths)) trainPaths.push(await pyarrowMonth(month, rows));
const valPath = await pyarrowMonth(SCALE_VAL_MONTH, rows);
const fhvhvPaths = withFhvhv ? [await pyarrowMonth(FHVHV_MONTHS[0], fhvhvRows, console.log, 'fhvhv'), await pyarrowMonth(FHVHV_MONTHS[1], fhvhvRows, console.log, 'fhvhv')] : [];
const machineBefore = machineState(python);

/**
 * How ours is told to train on several files: THE place to change when the CLI's `--train`
 * learns lists in another spelling (today's CLI takes one source, so a list fails and is
 * reported as not supported).
 */
function trainArgs(paths: readonly string[]): string[] {
  return ['--train', paths.join(',')];
}

/** Whether this build's `--train` took a list: unknown until the first list ran. */
let listSupport: { ok: true } | { ok: false; reason: string } | undefined;

// One function per pipeline runner.

async function runOurs(months: number): Promise<Sample> {
  if (months > 1 && listSupport?.ok === false) return { seconds: NaN, peakRssBytes: 0, rssFrom: 'GNU time', error: listSupport.reason, skipped: true };
  const metricsPath = join(outDir, `scale-ours-${months}.metrics.json`);
  const args = [cli, ...trainArgs(trainPaths.slice(0, months)), '--val', valPath, '--out', join(outDir, 'models'), '--metrics-json', metricsPath, '--quiet'];
  const sample = await measure(process.execPath, args, async () => JSON.parse(await readFile(metricsPath, 'utf8')) as RunReport);
  if (months > 1 && listSupport === undefined) {
    if (sample.report?.train.rowsRead === months * rows) {
      listSupport = { ok: true };
    } else {
      const why = sample.error?.slice(0, 160) ?? `read ${sample.report?.train.rowsRead} rows, not ${months * rows}`;
      listSupport = { ok: false, reason: `not supported by this build (${trainArgs(['A', 'B']).join(' ')}: ${why})` };
      return { seconds: sample.seconds, peakRssBytes: sample.peakRssBytes, rssFrom: sample.rssFrom, error: listSupport.reason };
    }
  }
  return sample;
}

function runPython(script: string, months: number): Promise<Sample> {
  const args = [join(root, 'scripts', 'python', script), trainPaths.slice(0, months).join(','), valPath];
  return measure(python, args, (stdout) => JSON.parse(stdout) as RunReport);
}

/** The high-volume FHV point: one fhvhv month to train, the next to validate. */
async function runOursFhvhv(): Promise<Sample> {
  const metricsPath = join(outDir, 'scale-ours-fhvhv.metrics.json');
  const args = [cli, '--color', 'fhvhv', '--train', fhvhvPaths[0]!, '--val', fhvhvPaths[1]!, '--out', join(outDir, 'models'), '--metrics-json', metricsPath, '--quiet'];
  return measure(process.execPath, args, async () => JSON.parse(await readFile(metricsPath, 'utf8')) as RunReport);
}

function runPythonFhvhv(script: string): Promise<Sample> {
  const args = [join(root, 'scripts', 'python', script), fhvhvPaths[0]!, fhvhvPaths[1]!, '--color', 'fhvhv'];
  return measure(python, args, (stdout) => JSON.parse(stdout) as RunReport);
}

const pipelines = [
  { name: 'ours', label: 'ours (`node lib/dist/cli.js`)', run: runOurs },
  { name: 'polars_stats', label: 'polars streaming sums + exact solve', run: (n: number) => runPython('polars_stats.py', n) },
  ...(values['in-memory'] ? [{ name: 'polars', label: 'polars + scikit-learn, all rows in memory', run: (n: number) => runPython('polars_pipeline.py', n) }] : []),
];
const runners: Runner[] = [
  ...points.flatMap((n) => pipelines.map((p) => ({ name: `${p.name}@${n}`, label: p.label, run: () => p.run(n) }))),
  ...(withFhvhv
    ? [
        { name: 'ours@fhvhv', label: 'ours', run: runOursFhvhv },
        { name: 'polars_stats@fhvhv', label: 'polars streaming sums + exact solve', run: () => runPythonFhvhv('polars_stats.py') },
      ]
    : []),
];
console.log(`bench:scale: ${points.join(', ')} month(s) of ${rows.toLocaleString('en-US')} rows; ${repeat} round(s) of ${pipelines.map((p) => p.name).join(', ')}`);
const samples = await interleave(runners, repeat);
const machineAfter = machineState();

const unsupported = (s: Sample) => s.error?.startsWith('not supported by this build') ?? false;

/** Failures (other than lists this build does not take) and disagreements with the exact peer. */
function checks(): string[] {
  const problems: string[] = [];
  for (const [name, list] of samples) for (const s of list) if (s.error && !unsupported(s)) problems.push(`${name} failed: ${s.error}`);
  for (const n of [...points, ...(withFhvhv ? ['fhvhv' as const] : [])]) {
    const exact = summarize(samples.get(`polars_stats@${n}`)!)?.report;
    if (!exact) continue;
    for (const [name, limit] of [['ours', EXACT_TOLERANCE], ['polars', LSQR_DEFAULT_TOLERANCE]] as const) {
      const r = samples.has(`${name}@${n}`) ? summarize(samples.get(`${name}@${n}`)!)?.report : undefined;
      if (!r) continue;
      const expected = n === 'fhvhv' ? fhvhvRows : n * rows;
      if (name === 'ours' && r.train.rowsRead !== expected) problems.push(`${name}@${n} read ${r.train.rowsRead} training rows, not ${expected}`);
      if (r.train.rowsKept !== exact.train.rowsKept || r.val.rowsKept !== exact.val.rowsKept || r.features !== exact.features) {
        problems.push(`${name}@${n} kept ${r.train.rowsKept}/${r.val.rowsKept} rows with ${r.features} features, the streaming peer ${exact.train.rowsKept}/${exact.val.rowsKept} with ${exact.features}`);
      }
      const d = Math.max(relDiff(r.train.rmse, exact.train.rmse), relDiff(r.val.rmse, exact.val.rmse));
      if (d > limit) problems.push(`${name}@${n} RMSEs differ from the exact streaming peer's by ${d.toExponential(1)} (limit ${limit.toExponential(0)})`);
    }
  }
  return problems;
}

/** The one table: a row per month count (and the FHVHV month), seconds (median) and peak RSS per pipeline. */
function scaleTable(): string {
  const head = ['train months', 'train rows', ...pipelines.flatMap((p) => [`${p.label} (s)`, 'peak RSS (MB)'])];
  const cells = (name: string) => {
    const list = samples.get(name);
    if (list === undefined) return ['', ''];
    const s = summarize(list);
    if (s) return [s.medianSeconds.toFixed(2), String(mb(s.peakRssBytes))];
    return [list.some(unsupported) ? 'not supported by this build' : 'failed', ''];
  };
  const rowsOut = [
    ...points.map((n) => [String(n), (n * rows).toLocaleString('en-US'), ...pipelines.flatMap((p) => cells(`${p.name}@${n}`))]),
    ...(withFhvhv ? [[`1 fhvhv (${FHVHV_MONTHS[0]}; val ${FHVHV_MONTHS[1]})`, fhvhvRows.toLocaleString('en-US'), ...pipelines.flatMap((p) => cells(`${p.name}@fhvhv`))]] : []),
  ];
  return markdownTable(head, 'lr' + 'rr'.repeat(pipelines.length), rowsOut);
}

const problems = checks();
const ours12 = summarize(samples.get('ours@12') ?? []);
const oursFhvhv = summarize(samples.get('ours@fhvhv') ?? []);
const text = [
  `Scale benchmark: train on ${points.join(', ')} of ${SCALE_TRAIN_MONTHS[0]}…${SCALE_TRAIN_MONTHS[maxMonths - 1]}, validate on ${SCALE_VAL_MONTH}; ` +
    `${rows.toLocaleString('en-US')} rows a month, synthetic, rewritten by pyarrow; ${new Date().toISOString()}`,
  '',
  scaleTable(),
  '',
  ...(listSupport?.ok === false ? [`Ours with more than one month: ${listSupport.reason}.`] : []),
  ...(ours12 && rows === SCALE_ROWS
    ? [`Goal for 12 months: < 20 s and < 400 MB: ${ours12.medianSeconds < 20 && ours12.peakRssBytes < 400 * 2 ** 20 ? 'met' : 'MISSED'}.`]
    : []),
  ...(oursFhvhv && fhvhvRows === FHVHV_ROWS
    ? [`Goal for one high-volume FHV month (${FHVHV_ROWS.toLocaleString('en-US')} rows): < 12 s and < 400 MB: ${oursFhvhv.medianSeconds < 12 && oursFhvhv.peakRssBytes < 400 * 2 ** 20 ? 'met' : 'MISSED'}.`]
    : []),
  problems.length === 0 ? `Agreement: where both ran, ours matches the exact streaming peer (rows, features, RMSE within ${EXACT_TOLERANCE.toExponential(0)}).` : `PROBLEMS: ${problems.join('; ')}`,
  `${repeat} round(s), interleaved, median seconds; each run a fresh process; peak RSS by ${rssMethod}, the highest of the runs.`,
  `Machine before: ${machineBefore}.`,
  `Machine after: ${machineAfter}.`,
].join('\n');

console.log('\n' + text);
await writeFile(join(outDir, 'scale.md'), text + '\n');
await writeFile(join(outDir, 'scale.json'), JSON.stringify({ rows, points, trainPaths, valPath, fhvhvRows: withFhvhv ? fhvhvRows : null, fhvhvPaths, samples: Object.fromEntries(samples), problems, machineBefore, machineAfter }, null, 2) + '\n');
console.log(`\nbench:scale: wrote ${join(outDir, 'scale.md')} and scale.json`);
if (problems.length > 0) process.exitCode = 1;
