/**
 * `npm run notebooks`: runs every notebook headlessly against generated TLC-shaped data.
 *
 * 1. writes two small synthetic months (yellow 2024-01 and 2024-02, the course's train and
 *    validation months) with `writeSyntheticTrips`;
 * 2. serves them from a local HTTP server at a TLC-like path
 *    (http://127.0.0.1:PORT/trip-data/yellow_tripdata_2024-01.parquet), so the notebooks'
 *    real download code runs into an empty temporary cache;
 * 3. executes notebooks/*.ipynb with nbclient and the registered tslab kernel
 *    (scripts/execute-notebooks.py in .venv), each in a fresh kernel, failing on any cell
 *    error with the cell's message shown;
 * 4. writes executed copies and HTML exports to build/notebooks/.
 *
 *   npm run notebooks                       # all notebooks, 100,000 rows per month
 *   npm run notebooks -- 02-duration-prediction --rows 20000
 *
 * Needs: bash environment/setup.sh (Jupyter, the kernel, the built library).
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeSyntheticTrips } from '../lib/synthetic.js';

const root = resolve(import.meta.dirname, '..');

function fail(message: string): never {
  console.error(`run-notebooks: ${message}`);
  process.exit(2);
}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: 'string', default: '100000' },
    out: { type: 'string', default: join(root, 'build/notebooks') },
    'no-html': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '600' },
  },
});
const rows = Number(flags.rows);
if (!Number.isInteger(rows) || rows < 1000) fail(`--rows must be an integer of at least 1000, got ${flags.rows}`);

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
const served = join(work, 'trip-data');
await mkdir(served);
const months = [
  ['2024-01', 1],
  ['2024-02', 2],
] as const;
const t0 = performance.now();
for (const [month, seed] of months) {
  // Small row groups so the reader's row-group loop runs more than once, as on real files.
  await writeSyntheticTrips(join(served, `yellow_tripdata_${month}.parquet`), { month, rows, seed, rowGroupSize: Math.ceil(rows / 3) });
}
console.log(`== generated 2 months x ${rows.toLocaleString('en-US')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// A TLC-like file server: GET/HEAD /trip-data/<file>, 404 otherwise, one log line per request.
const requests: string[] = [];
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const match = /^\/trip-data\/([\w.-]+\.parquet)$/.exec(url.pathname);
  const file = match ? join(served, match[1]!) : undefined;
  requests.push(`${req.method} ${url.pathname} ${file && existsSync(file) ? 200 : 404}`);
  if (!file || !existsSync(file)) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(file).size });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
});
await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
const port = (server.address() as AddressInfo).port;

const env = {
  ...process.env,
  TLC_BASE_URL: `http://127.0.0.1:${port}/trip-data`,
  TAXI_DATA_DIR: join(work, 'cache'),
  TAXI_COLOR: 'yellow',
  TAXI_TRAIN: '2024-01',
  TAXI_VAL: '2024-02',
  TAXI_MODEL_PATH: join(work, 'models/lin_reg.json'),
  TAXI_NOTEBOOK_RUN: 'headless',
};
console.log(`== serving ${env.TLC_BASE_URL}, cache ${env.TAXI_DATA_DIR}`);

const args = [join(root, 'scripts/execute-notebooks.py'), '--out', resolve(flags.out), '--timeout', flags.timeout];
if (flags['no-html']) args.push('--no-html');
args.push(...chosen.map((f) => join(root, 'notebooks', f)));
const code = await new Promise<number>((done) => {
  const child = spawn(python, args, { env, stdio: 'inherit' });
  child.on('exit', (c, signal) => done(c ?? (signal ? 1 : 0)));
});
server.close();
console.log(`== HTTP requests: ${requests.length ? requests.join('; ') : 'none'}`);
if (!requests.some((r) => r.startsWith('GET') && r.endsWith(' 200'))) {
  console.error('run-notebooks: no notebook downloaded from the local server; the download path was not exercised');
  process.exitCode = 1;
}
await rm(work, { recursive: true, force: true });
if (code !== 0) {
  console.error(`run-notebooks: failed (${chosen.map((f) => basename(f)).join(', ')})`);
  process.exitCode = code;
} else {
  console.log(`== all ${chosen.length} notebooks ran; executed copies in ${flags.out}`);
}
