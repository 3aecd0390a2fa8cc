/**
 * Benchmark of read + clean on two full-size synthetic months (about 3 million rows each).
 *
 *   npm run bench:read
 *
 * Generates the two benchmark months once (scripts/bench-months.ts; reused afterwards), builds
 * nothing itself (the npm script runs `npm run build` first), then measures each month, and
 * both months in one process, in a fresh child `node` process importing lib/dist: wall time
 * of readTrips + cleanTrips, and the child's peak RSS (process.resourceUsage().maxRSS), so
 * neither tsx nor the generator's memory is counted. Goal (issue 2): both months under 3 s
 * in total, peak RSS under 500 MB.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_MONTHS, benchMonths } from './bench-months.js';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'lib', 'dist');
if (!existsSync(join(dist, 'read.js'))) {
  console.error('bench-read: lib/dist/read.js is missing; run `npm run build` first (npm run bench:read does)');
  process.exit(1);
}

const files: string[] = await benchMonths();

interface Result {
  seconds: number;
  maxRssMB: number;
  rows: number;
  kept: number;
}

/** Reads and cleans `paths` in a fresh node process; returns its timing and peak memory. */
function measure(paths: string[]): Result {
  const code = `
    const { readTrips } = await import(${JSON.stringify(pathToFileURL(join(dist, 'read.js')).href)});
    const { cleanTrips } = await import(${JSON.stringify(pathToFileURL(join(dist, 'clean.js')).href)});
    const paths = ${JSON.stringify(paths)};
    const started = performance.now();
    let rows = 0, kept = 0;
    for (const path of paths) {
      const clean = cleanTrips(await readTrips(path));
      rows += clean.stats.rowsRead;
      kept += clean.stats.rowsKept;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ seconds, maxRssMB: process.resourceUsage().maxRSS / 1024, rows, kept }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Result;
}

const row = (label: string, r: Result): string =>
  `${label.padEnd(28)} ${r.seconds.toFixed(2).padStart(6)} s ${r.maxRssMB.toFixed(0).padStart(6)} MB  ${r.rows.toLocaleString('en-US').padStart(10)} rows read ${r.kept.toLocaleString('en-US').padStart(10)} kept`;

console.log('read + clean, each in a fresh node process (peak RSS of that process)');
let total = 0;
for (const [i, file] of files.entries()) {
  const r = measure([file]);
  total += r.seconds;
  console.log(row(BENCH_MONTHS[i]!.month, r));
}
const both = measure(files);
console.log(row('both months, one process', both));
console.log(`sum of the two months: ${total.toFixed(2)} s (goal < 3 s); peak RSS goal < 500 MB`);
