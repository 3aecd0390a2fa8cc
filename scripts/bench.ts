/**
 * `npm run bench`: our command end to end against the course's Python code, on the same files.
 *
 *   npm run bench                         # two full-size months (about 3M rows each)
 *   npm run bench -- --rows 200000        # a quick run on smaller months
 *   npm run bench -- --no-python          # only ours
 *
 * 1. Generates two TLC-shaped months with lib/synthetic.ts into the cache (scripts/bench-months.ts; the row
 *    counts of real 2024-01 and 2024-02 by default). No nulls in the five needed columns, as in
 *    real 2024 files: the course's code as written would fail on a null trip_distance.
 * 2. Runs `node lib/dist/cli.js` (build first: `npm run bench` does) in a child process.
 * 3. When .venv/bin/python exists, runs scripts/python/course_as_written.py (the course's lines,
 *    with `apply`) and scripts/python/course_tuned.py (column projection, vectorised duration,
 *    OneHotEncoder) on the same files.
 * Each run is measured from outside: wall time around the child process, peak RSS from
 * /usr/bin/time (GNU time, `%M`) when present, else what the program reports about itself.
 * Prints a table with the ratios, checks the RMSEs and row counts agree, and writes
 * build/bench/results.json and build/bench/results.md.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { BENCH_MONTHS, benchMonths } from './bench-months.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    rows: { type: 'string' },
    'no-python': { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
  },
});

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

const rowsOverride = values.rows === undefined ? undefined : Number(values.rows.replaceAll('_', ''));
if (rowsOverride !== undefined && !(Number.isSafeInteger(rowsOverride) && rowsOverride > 0)) {
  fail(`--rows must be a positive whole number, got ${values.rows}`);
}
const repeat = Number(values.repeat);
if (!Number.isSafeInteger(repeat) || repeat < 1) fail(`--repeat must be a positive whole number, got ${values.repeat}`);

const outDir = join(root, 'build', 'bench');
const months = BENCH_MONTHS.map(({ month, rows }) => ({ month, rows: rowsOverride ?? rows }));

interface Measured {
  name: string;
  label: string;
  seconds: number;
  peakRssBytes: number;
  rssFrom: 'GNU time' | 'self-reported';
  rmseTrain: number;
  rmseVal: number;
  rowsKeptTrain: number;
  rowsKeptVal: number;
  features: number;
  stages: Record<string, number>;
}

await mkdir(outDir, { recursive: true });
const [trainPath, valPath] = await benchMonths(rowsOverride);

const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const python = join(root, '.venv', 'bin', 'python');
const cli = join(root, 'lib', 'dist', 'cli.js');
if (!existsSync(cli)) fail(`${cli} is missing; run \`npm run build\` first (npm run bench does)`);

/** Runs a command, returning stdout, wall seconds and GNU time's peak RSS (bytes) when available. */
async function run(command: string, args: string[]): Promise<{ stdout: string; seconds: number; maxRss: number | null }> {
  const marker = '@@bench-maxrss-kb=';
  const [cmd, argv] = timeBin ? [timeBin, ['-f', `${marker}%M`, command, ...args]] : [command, args];
  const started = performance.now();
  const child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
  const seconds = (performance.now() - started) / 1000;
  const kb = new RegExp(`${marker}(\\d+)`).exec(stderr)?.[1];
  if (code !== 0) {
    const message = stderr.replace(new RegExp(`${marker}\\d+\\s*`), '').trim().split('\n').slice(-5).join('\n');
    fail(`${command} ${args.join(' ')} exited with ${code}:\n${message}`);
  }
  return { stdout, seconds, maxRss: kb === undefined ? null : Number(kb) * 1024 };
}

async function best(measure: () => Promise<Measured>): Promise<Measured> {
  let result: Measured | undefined;
  for (let i = 0; i < repeat; i++) {
    const r = await measure();
    if (result === undefined || r.seconds < result.seconds) result = r;
  }
  return result!;
}

/** What a run reports: our metrics JSON and the Python scripts' stdout have this shape in common. */
interface RunReport {
  train: { rowsKept: number; rmse: number };
  val: { rowsKept: number; rmse: number };
  features: number;
  seconds: Record<string, number>;
  peakRssBytes: number;
}

/** One row of the table: the run's wall time and RSS, the report's numbers (ours and Python's share a shape). */
function measured(name: string, label: string, r: Awaited<ReturnType<typeof run>>, report: RunReport): Measured {
  return {
    name,
    label,
    seconds: r.seconds,
    peakRssBytes: r.maxRss ?? report.peakRssBytes,
    rssFrom: r.maxRss === null ? 'self-reported' : 'GNU time',
    rmseTrain: report.train.rmse,
    rmseVal: report.val.rmse,
    rowsKeptTrain: report.train.rowsKept,
    rowsKeptVal: report.val.rowsKept,
    features: report.features,
    stages: report.seconds,
  };
}

const results: Measured[] = [];

console.log('bench: running ours (node lib/dist/cli.js)');
results.push(
  await best(async () => {
    const metricsPath = join(outDir, 'ours.metrics.json');
    const r = await run(process.execPath, [
      cli,
      '--train', trainPath,
      '--val', valPath,
      '--out', join(outDir, 'models'),
      '--metrics-json', metricsPath,
      '--quiet',
    ]);
    const m = JSON.parse(await readFile(metricsPath, 'utf8')) as RunReport;
    return measured('ours', 'ours: taxi-duration (TypeScript, end to end, incl. plot + model file)', r, m);
  }),
);

const pythonRuns = [
  { name: 'course_tuned', label: 'tuned pandas (projection, vectorised, OneHotEncoder)' },
  { name: 'course_as_written', label: "the course's code as written (pandas, apply, DictVectorizer)" },
];
if (values['no-python']) {
  console.log('bench: --no-python: skipping the Python runs');
} else if (!existsSync(python)) {
  console.log(`bench: ${python} not found: skipping the Python runs (environment/setup.sh creates it)`);
} else {
  for (const p of pythonRuns) {
    console.log(`bench: running ${p.name}.py`);
    results.push(
      await best(async () => {
        const r = await run(python, [join(root, 'scripts', 'python', `${p.name}.py`), trainPath, valPath]);
        return measured(p.name, p.label, r, JSON.parse(r.stdout) as RunReport);
      }),
    );
  }
}

// Agreement. Rows kept and feature count must be equal. RMSEs: ours is the exact least-squares fit;
// scikit-learn fits a sparse X with LSQR, whose default tolerance (1e-6) can stop a little early when
// trip_distance has huge outliers, so its RMSEs may differ from ours in the 4th digit. We require
// 0.1% agreement, that ours fits the training month at least as well (it is the optimum), and that
// the two Python runs (same solver) agree with each other to 1e-6.
const ours = results[0]!;
const problems: string[] = [];
const notes: string[] = [];
const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-12, Math.abs(b));
for (const r of results.slice(1)) {
  if (r.rowsKeptTrain !== ours.rowsKeptTrain || r.rowsKeptVal !== ours.rowsKeptVal) {
    problems.push(`${r.name} kept ${r.rowsKeptTrain}/${r.rowsKeptVal} rows, ours ${ours.rowsKeptTrain}/${ours.rowsKeptVal}`);
  }
  if (r.features !== ours.features) problems.push(`${r.name} has ${r.features} features, ours ${ours.features}`);
  for (const [which, a, b] of [
    ['train', r.rmseTrain, ours.rmseTrain],
    ['val', r.rmseVal, ours.rmseVal],
  ] as const) {
    if (relDiff(a, b) > 1e-3) problems.push(`${r.name} ${which} RMSE ${a} differs from ours ${b} by more than 0.1%`);
    notes.push(`${r.name} ${which} RMSE ${a.toFixed(6)} (ours ${b.toFixed(6)})`);
  }
  if (ours.rmseTrain > r.rmseTrain * (1 + 1e-9)) {
    problems.push(`ours fits train worse (${ours.rmseTrain}) than ${r.name} (${r.rmseTrain}): not the least-squares optimum`);
  }
}
const [py1, py2] = results.slice(1);
if (py1 && py2 && (relDiff(py1.rmseVal, py2.rmseVal) > 1e-6 || relDiff(py1.rmseTrain, py2.rmseTrain) > 1e-6)) {
  problems.push(`the two Python versions disagree: val RMSE ${py1.rmseVal} vs ${py2.rmseVal}`);
}

const mb = (b: number) => Math.round(b / 2 ** 20);
const rowsNote = `${months[0]!.rows.toLocaleString('en-US')} + ${months[1]!.rows.toLocaleString('en-US')} rows (synthetic TLC-shaped months)`;
const header = '| pipeline | end to end (s) | peak RSS (MB) | val RMSE | ours is faster by |';
const lines = [
  `Benchmark: train ${months[0]!.month}, validate ${months[1]!.month}, ${rowsNote}; ${new Date().toISOString()}`,
  '',
  header,
  '|---|---:|---:|---:|---:|',
  ...results.map(
    (r) =>
      `| ${r.label} | ${r.seconds.toFixed(2)} | ${mb(r.peakRssBytes)} | ${r.rmseVal.toFixed(4)} | ${r === ours ? '' : `${(r.seconds / ours.seconds).toFixed(1)}×`} |`,
  ),
  '',
];
const goals: string[] = [];
const tuned = results.find((r) => r.name === 'course_tuned');
const course = results.find((r) => r.name === 'course_as_written');
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
if (tuned) goals.push(`≤ 1/3 of tuned pandas (${(tuned.seconds / 3).toFixed(2)} s): ${verdict(ours.seconds <= tuned.seconds / 3)}`);
if (course) goals.push(`≤ 1/15 of the course's code (${(course.seconds / 15).toFixed(2)} s): ${verdict(ours.seconds <= course.seconds / 15)}`);
goals.push(`peak RSS < 500 MB (${mb(ours.peakRssBytes)} MB): ${verdict(ours.peakRssBytes < 500 * 2 ** 20)}`);
// The issue's targets were set from reference timings on this machine (guide/facts.md): tuned pandas
// 8.9 s, the course's code 51 s. Our tuned script may be faster than that reference; both are shown.
if (rowsOverride === undefined) {
  goals.push(`issue's absolute targets (≤ 8.9/3 = 2.97 s, ≤ 51/15 = 3.4 s): ${verdict(ours.seconds <= 8.9 / 3)}`);
}
lines.push(`Goals for ours: ${goals.join('; ')}.`);
lines.push(
  problems.length === 0
    ? results.length > 1
      ? `Agreement: rows kept and feature count equal; RMSEs within 0.1% (${notes.join('; ')}).`
      : 'Agreement: not checked (no Python runs).'
    : `DISAGREEMENT: ${problems.join('; ')}`,
);
lines.push(`Ours by stage (s): ${Object.entries(ours.stages).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}.`);
lines.push(`Peak RSS measured by ${timeBin ? 'GNU time (%M) around each process' : 'each program (getrusage)'}.`);

const text = lines.join('\n');
console.log('\n' + text);
await writeFile(join(outDir, 'results.md'), text + '\n');
await writeFile(
  join(outDir, 'results.json'),
  JSON.stringify({ months, files: [trainPath, valPath], results, goals, problems, finishedAt: new Date().toISOString() }, null, 2) + '\n',
);
console.log(`\nbench: wrote ${join(outDir, 'results.md')} and results.json`);
if (problems.length > 0) process.exitCode = 1;
