/**
 * Benchmark of read + clean on full-size months written as TLC writes them, against pyarrow.
 *
 *   npm run bench:read [-- --repeats 3] [-- --rows 200000] [-- --lib /path/to/another/lib/dist] [-- --node /path/to/another/node]
 *
 * The months: the project's two generated full-size months (scripts/bench-months.ts, 2,964,624
 * and 3,007,526 rows), rewritten by pyarrow as TLC writes its files (scripts/python/
 * rewrite_with_pyarrow.py: ZSTD, data page v1, three row groups, dictionary-encoded timestamps
 * and IDs), once, into the data cache (`TAXI_DATA_DIR`): the same files `npm run bench` uses.
 *
 * Each configuration runs in a fresh child process (node for ours, the project's Python for
 * pyarrow): the time of its first read + clean ("fresh", after the imports, which are shown
 * apart) and the best of two more in the same process ("warm"), its CPU seconds, and its peak
 * RSS. Configurations are interleaved, `--repeats` times (default 3), and the table shows the
 * minimum and the median of each. `--rows N` uses smaller generated months (a quick run). `--lib DIR` adds the same runs of another build of the
 * library (e.g. main's lib/dist) for a before/after ratio; `--node PATH` adds ours run by
 * another Node (e.g. 22.15+, whose built-in zstd replaces the wasm one).
 *
 * Goals (issue 10): one month read and cleaned in ≤ 0.3 s warm on one thread, both months in
 * ≤ 0.5 s on both cores, peak RSS for one month ≤ 250 MB. Timings depend on the machine's
 * load: compare ratios measured in the same run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { benchMonths } from './bench-months.js';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, rows: { type: 'string' }, lib: { type: 'string' }, node: { type: 'string' }, python: { type: 'string' } } });
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`bench-read: --repeats must be a positive integer, got ${values.repeats}`);
const rowsOverride = values.rows === undefined ? undefined : Number(values.rows);
if (rowsOverride !== undefined && !(Number.isInteger(rowsOverride) && rowsOverride > 0)) throw new Error(`bench-read: --rows must be a positive integer, got ${values.rows}`);
const dist = join(root, 'lib', 'dist');
for (const dir of [dist, values.lib].filter((d): d is string => d !== undefined)) {
  if (!existsSync(join(dir, 'read.js'))) {
    console.error(`bench-read: ${dir}/read.js is missing; run \`npm run build\` first (npm run bench:read does)`);
    process.exit(1);
  }
}
const python = values.python ?? process.env.PYTHON ?? join(root, '.venv', 'bin', 'python');
if (!existsSync(python)) {
  console.error(`bench-read: no Python at ${python}; run \`bash environment/setup.sh\` (it makes .venv with pyarrow) or pass --python`);
  process.exit(1);
}

/**
 * The two months as pyarrow writes them. benchMonths gives them so where it rewrites its months
 * with pyarrow itself; a month written by our own generator is rewritten here, once, under the
 * name benchMonths uses for the rewrite (`…_nonull_pyarrow.parquet`).
 */
async function tlcMonths(): Promise<string[]> {
  const { parquetCreatedBy } = await import('../lib/read.js');
  const paths: string[] = [];
  for (const path of await benchMonths(rowsOverride)) {
    if ((await parquetCreatedBy(path))?.startsWith('parquet-cpp-arrow')) {
      paths.push(path);
      continue;
    }
    const target = path.replace(/\.parquet$/, '_pyarrow.parquet');
    if (!existsSync(target)) {
      const started = performance.now();
      execFileSync(python, [join(root, 'scripts', 'python', 'rewrite_with_pyarrow.py'), path, target], { stdio: 'inherit' });
      console.log(`bench-read: rewrote ${target} with pyarrow in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    paths.push(target);
  }
  return paths;
}

interface Run {
  importSeconds: number;
  firstSeconds: number;
  warmSeconds: number;
  cpuSeconds?: number;
  maxRssMB: number;
  rows: number;
  kept: number;
}

/**
 * Ours in a fresh node process: `months` read and cleaned as the pipeline does, a row group at
 * a time (readTripGroups + cleanTripGroups), all months at once; with `threads` > 1 the row
 * groups decode on worker threads while this thread cleans.
 */
function runOurs(lib: string, paths: string[], threads: number, node = process.execPath): Run {
  const code = `
    const t0 = performance.now();
    const { readTripGroups } = await import(${JSON.stringify(pathToFileURL(join(lib, 'read.js')).href)});
    const { cleanTripGroups } = await import(${JSON.stringify(pathToFileURL(join(lib, 'clean.js')).href)});
    const importSeconds = (performance.now() - t0) / 1000;
    const paths = ${JSON.stringify(paths)};
    const threads = ${threads};
    async function once() {
      const cleaned = await Promise.all(paths.map((p) => cleanTripGroups(readTripGroups(p, { threads }), { pickup: false })));
      return cleaned.reduce((s, c) => ({ rows: s.rows + c.stats.rowsRead, kept: s.kept + c.stats.rowsKept }), { rows: 0, kept: 0 });
    }
    const cpu0 = process.cpuUsage();
    let t = performance.now();
    const counts = await once();
    const firstSeconds = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    let warmSeconds = Infinity;
    for (let i = 0; i < 2; i++) { t = performance.now(); await once(); warmSeconds = Math.min(warmSeconds, (performance.now() - t) / 1000); }
    console.log(JSON.stringify({ importSeconds, firstSeconds, warmSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMB: process.resourceUsage().maxRSS / 1024, ...counts }));
  `;
  const out = execFileSync(node, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Run;
}

function runPyarrow(paths: string[], threads: number): Run {
  const out = execFileSync(python, [join(root, 'scripts', 'python', 'read_peer.py'), '--threads', String(threads), ...paths], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Run;
}

const months = await tlcMonths();
const configs: { name: string; run: () => Run }[] = [
  { name: 'ours: 1 month, 1 thread', run: () => runOurs(dist, months.slice(0, 1), 1) },
  { name: 'pyarrow: 1 month, 1 thread', run: () => runPyarrow(months.slice(0, 1), 1) },
  { name: 'ours: 1 month, 2 threads', run: () => runOurs(dist, months.slice(0, 1), 2) },
  { name: 'ours: 2 months, 2 threads', run: () => runOurs(dist, months, 2) },
  { name: 'pyarrow: 2 months, 2 threads', run: () => runPyarrow(months, 2) },
];
if (values.node) {
  const version = execFileSync(values.node, ['--version'], { encoding: 'utf8' }).trim();
  configs.push(
    { name: `ours on node ${version}: 1 month, 1 thread`, run: () => runOurs(dist, months.slice(0, 1), 1, values.node) },
    { name: `ours on node ${version}: 2 months, 2 threads`, run: () => runOurs(dist, months, 2, values.node) },
  );
}
if (values.lib) {
  // Another build (e.g. main's) has no decode workers: its months are read one row group at a time on one thread.
  configs.push(
    { name: '--lib: 1 month, 1 thread', run: () => runOurs(values.lib!, months.slice(0, 1), 1) },
    { name: '--lib: 2 months, 1 thread', run: () => runOurs(values.lib!, months, 1) },
  );
}

const results = new Map<string, Run[]>(configs.map((c) => [c.name, []]));
const loads: number[] = [];
for (let r = 0; r < repeats; r++) {
  for (const config of configs) {
    loads.push(loadavg()[0]!);
    const run = config.run();
    results.get(config.name)!.push(run);
    console.log(`bench-read: repeat ${r + 1}/${repeats} ${config.name}: fresh ${run.firstSeconds.toFixed(2)} s, warm ${run.warmSeconds.toFixed(2)} s, ${run.maxRssMB.toFixed(0)} MB`);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const minMed = (xs: number[], digits = 2): string => `${Math.min(...xs).toFixed(digits)} / ${median(xs).toFixed(digits)}`;
const lines = [
  `read + clean, ${months.length} TLC-like months (pyarrow-written, ${repeats} interleaved repeats; min / median; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${(await import('node:os')).availableParallelism()} cores)`,
  '',
  '| configuration | imports s | fresh s | warm s | CPU s (fresh) | peak RSS MB | rows kept |',
  '|---|---:|---:|---:|---:|---:|---:|',
];
for (const [name, runs] of results) {
  const cpu = runs.every((r) => r.cpuSeconds !== undefined) ? minMed(runs.map((r) => r.cpuSeconds!)) : '—';
  lines.push(
    `| ${name} | ${minMed(runs.map((r) => r.importSeconds))} | ${minMed(runs.map((r) => r.firstSeconds))} | ${minMed(runs.map((r) => r.warmSeconds))} | ${cpu} | ${minMed(runs.map((r) => r.maxRssMB), 0)} | ${runs[0]!.kept.toLocaleString('en-US')} |`,
  );
}
const ratio = (a: string, b: string, key: 'firstSeconds' | 'warmSeconds'): string => {
  const x = results.get(a);
  const y = results.get(b);
  return x && y ? (median(x.map((r) => r[key])) / median(y.map((r) => r[key]))).toFixed(2) : '—';
};
lines.push(
  '',
  `ours / pyarrow (median warm): 1 month ${ratio('ours: 1 month, 1 thread', 'pyarrow: 1 month, 1 thread', 'warmSeconds')}×, 2 months ${ratio('ours: 2 months, 2 threads', 'pyarrow: 2 months, 2 threads', 'warmSeconds')}×`,
);
if (values.lib) {
  lines.push(
    `--lib / ours (median warm): 1 month, 1 thread ${ratio('--lib: 1 month, 1 thread', 'ours: 1 month, 1 thread', 'warmSeconds')}×; 2 months (--lib on 1 thread, ours on 2) ${ratio('--lib: 2 months, 1 thread', 'ours: 2 months, 2 threads', 'warmSeconds')}×`,
  );
}
lines.push('Goals: 1 month ≤ 0.3 s warm on one thread; 2 months ≤ 0.5 s on both cores; peak RSS for one month ≤ 250 MB.');
console.log(`\n${lines.join('\n')}`);
await mkdir(join(root, 'build', 'bench'), { recursive: true });
await writeFile(join(root, 'build', 'bench', 'read.md'), `${lines.join('\n')}\n`);
await writeFile(join(root, 'build', 'bench', 'read.json'), `${JSON.stringify(Object.fromEntries(results), null, 1)}\n`);
