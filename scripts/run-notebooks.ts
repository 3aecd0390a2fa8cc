/**
 * `npm run notebooks`: runs every notebook headlessly, once per parameter set, against TLC-shaped data
 * served from 127.0.0.1.
 *
 * 1. writes small synthetic months (yellow and green, 2024-01 and 2024-02) with `writeSyntheticTrips`,
 *    or takes the parquet files of `--serve DIR` (e.g. full-size months) as they are;
 * 2. serves them from a local HTTP server at a TLC-like path
 *    (http://127.0.0.1:PORT/trip-data/yellow_tripdata_2024-01.parquet), so the notebooks' real
 *    download code runs, into an empty temporary cache per parameter set;
 * 3. for each parameter set, executes notebooks/*.ipynb with nbclient and the registered tslab kernel
 *    (scripts/execute-notebooks.py in .venv), each in a fresh kernel, with the set's values in the
 *    environment variables the parameters cells read (as papermill injects parameters), failing on
 *    any cell error with the cell's message shown;
 * 4. writes executed copies and HTML exports to build/notebooks/ (the course's set) and
 *    build/notebooks/<set>/ (the others).
 *
 * Parameter sets:
 *   course  the notebooks' own defaults (yellow taxis, 2024-01 / 2024-02, 1 to 60 minutes): nothing set
 *   edited  what a learner tries: green taxis, 1 to 30 minutes, two training months as a range, the
 *           validation month given as a URL.
 *           The green validation month carries trips of up to 300,000 miles with ordinary durations,
 *           as real months do, so the charts must stay readable and the run must reach the end.
 *
 *   npm run notebooks                                   # every notebook, every set, 100,000 rows per month
 *   npm run notebooks -- 02-duration-prediction --set edited --rows 20000
 *   npm run notebooks -- --serve /work/cache/full/trip-data --set course   # full-size months from a folder
 *
 * Needs: bash environment/setup.sh (Jupyter, the kernel, the built library).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVED_MONTHS, serveTrips, writeServedMonths } from './trip-server.ts';

const root = resolve(import.meta.dirname, '..');

function fail(message: string): never {
  console.error(`run-notebooks: ${message}`);
  process.exit(2);
}

/** A parameter set: environment variables for the parameters cells; `{base}` is the local server's URL. */
interface ParameterSet {
  name: string;
  about: string;
  env: Record<string, string>;
}

const SETS: ParameterSet[] = [
  { name: 'course', about: "the notebooks' defaults: yellow 2024-01 / 2024-02, 1 to 60 minutes", env: {} },
  {
    name: 'edited',
    about: 'green taxis, 1 to 30 minutes, training months 2023-12..2024-01, validation month as a URL',
    env: { TAXI_COLOR: 'green', TAXI_MAX_DURATION: '30', TAXI_TRAIN: '2023-12..2024-01', TAXI_VAL: '{base}/green_tripdata_2024-02.parquet' },
  },
];

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: 'string', default: '100000' },
    set: { type: 'string', multiple: true },
    serve: { type: 'string' },
    out: { type: 'string', default: join(root, 'build/notebooks') },
    'no-html': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '600' },
  },
});
const rows = Number(flags.rows);
if (!Number.isInteger(rows) || rows < 1000) fail(`--rows must be an integer of at least 1000, got ${flags.rows}`);
const sets = flags.set?.length
  ? flags.set.map((name) => SETS.find((s) => s.name === name) ?? fail(`no parameter set '${name}' (have: ${SETS.map((s) => s.name).join(', ')})`))
  : SETS;

const python = join(root, '.venv/bin/python');
if (!existsSync(python)) fail(".venv is missing; run 'bash environment/setup.sh' first");
if (!existsSync(join(root, 'lib/dist/index.js'))) fail("the library is not built; run 'npm run build' (notebooks import lib/dist)");

const all = readdirSync(join(root, 'notebooks'))
  .filter((f) => f.endsWith('.ipynb'))
  .sort();
const chosen = positionals.length
  ? positionals.map((p) => all.find((f) => f === p || f === `${p}.ipynb` || f.startsWith(p)) ?? fail(`no notebook matches '${p}' (have: ${all.join(', ')})`))
  : all;
if (chosen.length === 0) fail('no notebooks in notebooks/');

const work = await mkdtemp(join(tmpdir(), 'taxi-notebooks-'));
let served: string;
if (flags.serve !== undefined) {
  served = resolve(flags.serve);
  if (!existsSync(served) || !statSync(served).isDirectory()) fail(`--serve ${flags.serve} is not a folder of parquet files`);
  console.log(`== serving the parquet files of ${served}`);
} else {
  served = join(work, 'trip-data');
  await mkdir(served);
  const t0 = performance.now();
  await writeServedMonths(served, rows);
  console.log(`== generated ${SERVED_MONTHS.length} months (${rows.toLocaleString('en-US')} rows a yellow month) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const { base, requests, close } = await serveTrips(served);
console.log(`== serving ${base}`);

const failed: string[] = [];
for (const set of sets) {
  const setDir = join(work, set.name);
  // Only the infrastructure is set for every run: where months come from and where files go.
  // The parameters themselves come from the notebooks' cells unless the set says otherwise.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TLC_BASE_URL: base,
    TAXI_DATA_DIR: join(setDir, 'cache'),
    TAXI_MODEL_PATH: join(setDir, 'models/lin_reg.json'),
    // Notebook 3 records its training run and promotes it: into the set's own store, never the project's runs/.
    TAXI_RUNS_DIR: join(setDir, 'runs'),
    TAXI_NOTEBOOK_RUN: 'headless',
  };
  for (const name of ['TAXI_COLOR', 'TAXI_TRAIN', 'TAXI_VAL', 'TAXI_MIN_DURATION', 'TAXI_MAX_DURATION']) delete env[name];
  for (const [name, value] of Object.entries(set.env)) env[name] = value.replace('{base}', base);
  const out = set.name === 'course' ? resolve(flags.out) : join(resolve(flags.out), set.name);
  const shown = Object.entries(set.env).map(([k, v]) => `${k}=${v.replace('{base}', base)}`).join(' ');
  console.log(`\n== parameter set '${set.name}': ${set.about}${shown ? `\n   ${shown}` : ''}`);
  const args = [join(root, 'scripts/execute-notebooks.py'), '--out', out, '--timeout', flags.timeout];
  if (flags['no-html']) args.push('--no-html');
  args.push(...chosen.map((f) => join(root, 'notebooks', f)));
  const code = await new Promise<number>((done) => {
    const child = spawn(python, args, { env, stdio: 'inherit' });
    child.on('exit', (c, signal) => done(c ?? (signal ? 1 : 0)));
  });
  if (code !== 0) failed.push(set.name);
}
await close();
const downloads = requests.filter((r) => r.startsWith('GET') && r.endsWith(' 200'));
console.log(`\n== HTTP: ${downloads.length} downloads, ${requests.length - downloads.length} other requests${requests.some((r) => r.endsWith(' 404')) ? ` (404: ${requests.filter((r) => r.endsWith(' 404')).join('; ')})` : ''}`);
if (downloads.length === 0) {
  console.error('run-notebooks: no notebook downloaded from the local server; the download path was not exercised');
  process.exitCode = 1;
}
await rm(work, { recursive: true, force: true });
if (failed.length > 0) {
  console.error(`run-notebooks: failed with parameter set(s) ${failed.join(', ')} (${chosen.map((f) => basename(f)).join(', ')})`);
  process.exitCode = 1;
} else {
  console.log(`== all ${chosen.length} notebooks ran with ${sets.length} parameter set(s); executed copies in ${flags.out}`);
}
