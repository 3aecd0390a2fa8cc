/**
 * Benchmark of the model path on two full-size synthetic months (about 3 million rows each):
 * DictVectorizer (fit + transform train, transform validation), LinearRegression fit,
 * predict on both months, RMSE.
 *
 *   npm run bench:model
 *
 * Uses the benchmark months (scripts/bench-months.ts; generated when missing). Runs the whole pipeline (read + clean of both
 * months, then the model) in a fresh child `node` process importing lib/dist, so the peak RSS
 * (process.resourceUsage().maxRSS) is the pipeline's own; times include JIT warm-up, as a
 * one-shot CLI run would. Two ways, each in its own process: whole months (fitTransform,
 * fit, predict), and chunks of 500,000 rows (DictVectorizer.fit on the columns, then
 * fitBatches and predict chunk by chunk: no whole-month matrix, bounded memory). Goal (issue 3):
 * vectorize + fit + predict of both months under 1 s, pipeline peak RSS under 500 MB.
 * Writes build/bench/model.json too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchMonths } from './bench-months.js';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'lib', 'dist');
if (!existsSync(join(dist, 'regression.js'))) {
  console.error('bench-model: lib/dist/regression.js is missing; run `npm run build` first (npm run bench:model does)');
  process.exit(1);
}

const files: string[] = await benchMonths();

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
const whole = measure(false);
const chunked = measure(true);

const fmt = (s: number): string => `${s.toFixed(3).padStart(7)} s`;
console.log(`rows kept: ${whole.rowsKept.map((n) => n.toLocaleString('en-US')).join(' (train), ')} (validation); ${whole.features} features, rank ${whole.rank}`);
console.log(`read + clean of both months: ${fmt(whole.readClean)}, peak RSS so far ${whole.rssAfterReadMB.toFixed(0)} MB`);
console.log('model stages (fresh process each)   whole months       chunks of 500,000 rows');
for (const stage of Object.keys(whole.stages)) {
  console.log(`  ${stage.padEnd(32)} ${fmt(whole.stages[stage]!)}         ${fmt(chunked.stages[stage]!)}`);
}
console.log(`  ${'pipeline peak RSS'.padEnd(32)} ${whole.maxRssMB.toFixed(0).padStart(7)} MB        ${chunked.maxRssMB.toFixed(0).padStart(7)} MB`);
console.log(`RMSE train ${whole.rmseTrain.toFixed(4)}, validation ${whole.rmseVal.toFixed(4)} minutes (chunked: ${chunked.rmseVal.toFixed(4)})`);
console.log('goals: vectorize + fit + predict of both months < 1 s; pipeline peak RSS < 500 MB');
await mkdir(join(root, 'build', 'bench'), { recursive: true });
await writeFile(join(root, 'build', 'bench', 'model.json'), `${JSON.stringify({ whole, chunked }, null, 2)}\n`);
