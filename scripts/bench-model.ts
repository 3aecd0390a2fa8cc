/**
 * Benchmark of the model path on two full-size synthetic months (about 3 million rows each).
 *
 *   npm run bench:model                          # both parts, 3 interleaved repeats of the estimators
 *   npm run bench:model -- --repeat 2 --peer all # scikit-learn's LinearRegression and Ridge too
 *   npm run bench:model -- --only estimators --rows 300000 --peer none
 *
 * Part 1, the course's pipeline: DictVectorizer (fit + transform train, transform validation),
 * LinearRegression fit, predict on both months, RMSE.
 *
 * Uses the benchmark months (scripts/bench-months.ts; generated when missing). Runs the whole pipeline (read + clean of both
 * months, then the model) in a fresh child `node` process importing lib/dist, so the peak RSS
 * (process.resourceUsage().maxRSS) is the pipeline's own; times include JIT warm-up, as a
 * one-shot CLI run would. Two ways, each in its own process: whole months (fitTransform,
 * fit, predict), and chunks of 500,000 rows (DictVectorizer.fit on the columns, then
 * fitBatches and predict chunk by chunk: no whole-month matrix, bounded memory). Goal (issue 3):
 * vectorize + fit + predict of both months under 1 s, pipeline peak RSS under 500 MB.
 *
 * Part 2, the estimators on the training month's sparse design: LinearRegression, Ridge() and
 * Lasso(0.01), on the course's zones and on the PU_DO pair (both with trip_distance). Ours
 * (a node child: `fit(X, y)` on the CSR from DictVectorizer, and the statistics route:
 * TripStatistics in one pass, then `fitStatistics` per model) and scikit-learn's
 * (scripts/python/model_peer.py: the same design built with numpy, then the course's lines as
 * written; `--peer lasso` by default, as its coordinate descent is the peer the issue names:
 * scikit-learn's Lasso on the PU_DO design takes minutes) run in turn, `--repeat` times,
 * interleaved, so both see the same machine; min and median seconds per fit, and the ratio.
 * Writes build/bench/model.json too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { benchMonths } from './bench-months.js';

const root = new URL('..', import.meta.url).pathname;
const { values: flags } = parseArgs({
  options: {
    repeat: { type: 'string', default: '3' },
    peer: { type: 'string', default: 'lasso' },
    only: { type: 'string' },
    rows: { type: 'string' },
  },
});
const fail = (message: string): never => {
  console.error(`bench-model: ${message}`);
  process.exit(2);
};
const repeat = Number(flags.repeat);
if (!Number.isSafeInteger(repeat) || repeat < 1) fail(`--repeat must be a positive whole number, got ${flags.repeat}`);
if (!['lasso', 'all', 'none'].includes(flags.peer!)) fail(`--peer must be lasso, all or none, got ${flags.peer}`);
if (flags.only !== undefined && !['pipeline', 'estimators'].includes(flags.only)) fail(`--only must be pipeline or estimators, got ${flags.only}`);
const rowsOverride = flags.rows === undefined ? undefined : Number(flags.rows.replaceAll('_', ''));
if (rowsOverride !== undefined && !(Number.isSafeInteger(rowsOverride) && rowsOverride > 0)) fail(`--rows must be a positive whole number, got ${flags.rows}`);
const dist = join(root, 'lib', 'dist');
if (!existsSync(join(dist, 'regression.js'))) {
  console.error('bench-model: lib/dist/regression.js is missing; run `npm run build` first (npm run bench:model does)');
  process.exit(1);
}

const files: string[] = await benchMonths(rowsOverride);

/**
 * The child's program. `frugal` works in chunks of 500,000 rows (fit with fitBatches,
 * transform + predict chunk by chunk), so no whole-month matrix ever exists.
 */
const program = (frugal: boolean): string => `
  const lib = await import(${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)});
  const [trainPath, valPath] = ${JSON.stringify(files)};
  const t = () => performance.now() / 1000;
  let t0 = t();
  // Raw Trips are dropped as soon as they are cleaned, as the pipeline does.
  const train = lib.cleanTrips(await lib.readTrips(trainPath));
  const val = lib.cleanTrips(await lib.readTrips(valPath));
  const readClean = t() - t0;
  const rssAfterRead = process.resourceUsage().maxRSS / 1024;
  const s = {};
  t0 = t();
  const dv = new lib.DictVectorizer();
  const chunk = 500000;
  const chunks = (n) => Array.from({ length: Math.ceil(n / chunk) }, (_, i) => [i * chunk, Math.min(n, (i + 1) * chunk)]);
  let model, pTrain, pVal;
  if (${frugal}) {
    // Never more than one chunk's matrix at a time.
    dv.fit(train.features);
    s.vectorizeTrain = t() - t0; t0 = t();
    // A generator, so each chunk's matrix is built only when fitBatches asks for it.
    function* batches() {
      for (const [start, end] of chunks(train.length)) {
        yield { X: dv.transform(train.features, { start, end }), y: train.duration.subarray(start, end) };
      }
    }
    model = new lib.LinearRegression().fitBatches(batches());
    s.fit = t() - t0; t0 = t();
    pTrain = new Float64Array(train.length);
    for (const [start, end] of chunks(train.length)) pTrain.set(model.predict(dv.transform(train.features, { start, end })), start);
    s.predictTrain = t() - t0; t0 = t();
    pVal = new Float64Array(val.length);
    for (const [start, end] of chunks(val.length)) pVal.set(model.predict(dv.transform(val.features, { start, end })), start);
  } else {
    const Xtrain = dv.fitTransform(train.features);
    s.vectorizeTrain = t() - t0; t0 = t();
    model = new lib.LinearRegression().fit(Xtrain, train.duration);
    s.fit = t() - t0; t0 = t();
    pTrain = model.predict(Xtrain);
    s.predictTrain = t() - t0; t0 = t();
    pVal = model.predict(dv.transform(val.features));
  }
  s.vectorizeAndPredictVal = t() - t0; t0 = t();
  const rmseTrain = lib.rootMeanSquaredError(train.duration, pTrain);
  const rmseVal = lib.rootMeanSquaredError(val.duration, pVal);
  s.rmse = t() - t0;
  s.total = s.vectorizeTrain + s.fit + s.predictTrain + s.vectorizeAndPredictVal + s.rmse;
  console.log(JSON.stringify({
    rowsKept: [train.length, val.length], readClean, rssAfterReadMB: rssAfterRead, stages: s,
    features: dv.getFeatureNamesOut().length, rank: model.rank, rmseTrain, rmseVal,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  }));
`;

interface Result {
  rowsKept: number[];
  readClean: number;
  rssAfterReadMB: number;
  stages: Record<string, number>;
  features: number;
  rank: number;
  rmseTrain: number;
  rmseVal: number;
  maxRssMB: number;
}
const measure = (frugal: boolean): Result => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', program(frugal)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Result;
};
const fmt = (s: number): string => `${s.toFixed(3).padStart(7)} s`;
const report: Record<string, unknown> = {};

if (flags.only !== 'estimators') {
  const whole = measure(false);
  const chunked = measure(true);
  console.log(`rows kept: ${whole.rowsKept.map((n) => n.toLocaleString('en-US')).join(' (train), ')} (validation); ${whole.features} features, rank ${whole.rank}`);
  console.log(`read + clean of both months: ${fmt(whole.readClean)}, peak RSS so far ${whole.rssAfterReadMB.toFixed(0)} MB`);
  console.log('model stages (fresh process each)   whole months       chunks of 500,000 rows');
  for (const stage of Object.keys(whole.stages)) {
    console.log(`  ${stage.padEnd(32)} ${fmt(whole.stages[stage]!)}         ${fmt(chunked.stages[stage]!)}`);
  }
  console.log(`  ${'pipeline peak RSS'.padEnd(32)} ${whole.maxRssMB.toFixed(0).padStart(7)} MB        ${chunked.maxRssMB.toFixed(0).padStart(7)} MB`);
  console.log(`RMSE train ${whole.rmseTrain.toFixed(4)}, validation ${whole.rmseVal.toFixed(4)} minutes (chunked: ${chunked.rmseVal.toFixed(4)})`);
  console.log('goals: vectorize + fit + predict of both months < 1 s; pipeline peak RSS < 500 MB');
  Object.assign(report, { whole, chunked });
}


/** One fit: which features and estimator, how long, and the training RMSE. */
interface Fit {
  features: 'course' | 'pairs';
  estimator: 'LinearRegression' | 'Ridge' | 'Lasso';
  seconds: number;
  rmseTrain: number;
  columns: number;
}

/**
 * Our side of part 2, in a fresh process: the training month read and cleaned (not timed), then
 * per feature set the design (DictVectorizer, timed apart) and each estimator's fit(X, y); then
 * the statistics route, one pass of TripStatistics for both feature sets and a fitStatistics
 * per model (the normal equations' assembly counted in the fit).
 */
const estimatorsProgram = `
  const lib = await import(${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)});
  const train = lib.cleanTrips(await lib.readTrips(${JSON.stringify(files[0])}));
  const now = () => performance.now() / 1000;
  const make = { LinearRegression: () => new lib.LinearRegression(), Ridge: () => new lib.Ridge(), Lasso: () => new lib.Lasso({ alpha: 0.01 }) };
  const sets = { course: lib.COURSE_FEATURES, pairs: lib.PAIR_FEATURES };
  const fits = [], statistics = [], vectorize = {};
  for (const [features, set] of Object.entries(sets)) {
    let t = now();
    const dv = new lib.DictVectorizer();
    const X = dv.fitTransform(lib.featureColumns(train.features, set));
    vectorize[features] = now() - t;
    for (const [estimator, build] of Object.entries(make)) {
      t = now();
      const model = build().fit(X, train.duration);
      const seconds = now() - t;
      fits.push({ features, estimator, seconds, columns: X.cols, rmseTrain: lib.rootMeanSquaredError(train.duration, model.predict(X)) });
    }
  }
  let t = now();
  const stats = new lib.TripStatistics().add(train.features, train.duration);
  const pass = now() - t;
  for (const [features, set] of Object.entries(sets)) {
    for (const [estimator, build] of Object.entries(make)) {
      t = now();
      const eq = stats.normalEquations(set);
      const model = build().fitStatistics(eq);
      const seconds = now() - t;
      statistics.push({ features, estimator, seconds, columns: eq.features, rmseTrain: eq.rootMeanSquaredError(model) });
    }
  }
  console.log(JSON.stringify({ rows: train.length, fits, statistics, pass, vectorize, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
`;

interface OursRun {
  rows: number;
  fits: Fit[];
  statistics: Fit[];
  pass: number;
  vectorize: Record<string, number>;
  maxRssMB: number;
}

function compareEstimators(): unknown {
  const python = join(root, '.venv', 'bin', 'python');
  const peer = flags.peer === 'none' ? undefined : existsSync(python) ? python : undefined;
  if (flags.peer !== 'none' && peer === undefined) console.log('bench-model: no .venv/bin/python (bash environment/setup.sh); scikit-learn is left out');
  const estimators = flags.peer === 'all' ? 'LinearRegression,Ridge,Lasso' : 'Lasso';
  const ours: OursRun[] = [];
  const theirs: { rows: number; fits: Fit[] }[] = [];
  for (let r = 0; r < repeat; r++) {
    // Interleaved: ours, then scikit-learn's, then ours again…, so both see the same machine.
    console.log(`estimators: run ${r + 1} of ${repeat} (ours)`);
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', estimatorsProgram], { encoding: 'utf8', maxBuffer: 1 << 24 });
    ours.push(JSON.parse(out.trim().split('\n').at(-1)!) as OursRun);
    if (peer !== undefined) {
      console.log(`estimators: run ${r + 1} of ${repeat} (scikit-learn ${estimators})`);
      const peerOut = execFileSync(peer, [join(root, 'scripts', 'python', 'model_peer.py'), files[0]!, '--estimators', estimators], { encoding: 'utf8', maxBuffer: 1 << 24 });
      theirs.push(JSON.parse(peerOut.trim().split('\n').at(-1)!) as { rows: number; fits: Fit[] });
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const stat = (runs: { fits?: Fit[]; statistics?: Fit[] }[], key: 'fits' | 'statistics', f: string, e: string) => {
    const found = runs.map((run) => run[key]?.find((x) => x.features === f && x.estimator === e)).filter((x): x is Fit => x !== undefined);
    return found.length === 0 ? undefined : { min: Math.min(...found.map((x) => x.seconds)), median: median(found.map((x) => x.seconds)), rmseTrain: found[0]!.rmseTrain, columns: found[0]!.columns };
  };
  console.log(`\nestimators on the training month (${ours[0]!.rows.toLocaleString('en-US')} rows), ${repeat} interleaved run(s); seconds of fit, min / median`);
  console.log(`one pass of TripStatistics (both feature sets): ${fmt(Math.min(...ours.map((o) => o.pass)))}; DictVectorizer: course ${fmt(ours[0]!.vectorize.course!)}, pairs ${fmt(ours[0]!.vectorize.pairs!)}`);
  console.log(`${'features'.padEnd(8)} ${'estimator'.padEnd(17)} ${'cols'.padStart(6)}  ${'ours fit(X, y)'.padStart(17)}  ${'ours statistics'.padStart(17)}  ${'scikit-learn'.padStart(17)}  ratio  RMSE ours / sklearn`);
  const rows: unknown[] = [];
  for (const f of ['course', 'pairs']) {
    for (const e of ['LinearRegression', 'Ridge', 'Lasso']) {
      const a = stat(ours, 'fits', f, e)!;
      const b = stat(ours, 'statistics', f, e)!;
      const c = stat(theirs, 'fits', f, e);
      const pair = (x: { min: number; median: number } | undefined): string => (x ? `${x.min.toFixed(2).padStart(7)} / ${x.median.toFixed(2).padStart(6)}` : '—'.padStart(16));
      const ratio = c ? `${(c.median / a.median).toFixed(0).padStart(4)}×` : '    ';
      console.log(`${f.padEnd(8)} ${e.padEnd(17)} ${String(a.columns).padStart(6)}  ${pair(a)}  ${pair(b)}  ${pair(c)}  ${ratio}  ${a.rmseTrain.toFixed(6)}${c ? ` / ${c.rmseTrain.toFixed(6)}` : ''}`);
      rows.push({ features: f, estimator: e, ours: a, oursStatistics: b, scikitLearn: c });
    }
  }
  console.log('ratio: scikit-learn median / ours (fit(X, y)) median. Goal: Lasso on a full month under 2 s.');
  return { rows, ours, theirs };
}

if (flags.only !== 'pipeline') report.estimators = compareEstimators();

await mkdir(join(root, 'build', 'bench'), { recursive: true });
await writeFile(join(root, 'build', 'bench', 'model.json'), `${JSON.stringify(report, null, 2)}\n`);
