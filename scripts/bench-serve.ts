/**
 * Load test of `taxi-duration serve` against the course's services on the same coefficients:
 * Flask under gunicorn and FastAPI under uvicorn (scripts/python/serve_*.py), each one process
 * as the course starts them, all on 127.0.0.1.
 *
 *   npm run bench:serve                         # full: 1, 16, 64 connections × single trip, 100-trip batch; 10 s each
 *   npm run bench:serve -- --duration 5 --peers ours,fastapi
 *   npm run bench:serve -- --quick              # CI: ours only, 1 s per scenario; fails on any error of ours
 *
 * The load generator is wrk (Debian's `wrk`) when installed, else autocannon (`--tool` picks).
 * wrk is written in C, so it leaves more of the two cores to the servers, and it times requests
 * on connections the server closes after each answer (gunicorn's sync worker, the course's
 * Flask setup) correctly; autocannon reports seconds of latency there for sub-millisecond answers.
 *
 * Scenarios run interleaved (ours, fastapi, flask for one scenario, then the next), so a busy
 * machine slows all peers alike. Then a reload scenario: ours at 64 connections while the model
 * file is swapped (atomic rename) and SIGHUP sent every 200 ms; every answer must be a 200.
 * Peak RSS is sampled from /proc (the sum over a server's processes, for gunicorn and uvicorn).
 * Writes build/bench/serve.md and serve.json. Timings are printed, never asserted; errors are.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import autocannon from 'autocannon';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'lib', 'dist');
const python = join(root, '.venv', 'bin');
const outDir = join(root, 'build', 'bench');
const work = join(outDir, 'serve');

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '1,16,64' },
    peers: { type: 'string', default: 'ours,fastapi,flask' },
    model: { type: 'string' },
    quick: { type: 'boolean', default: false },
    tool: { type: 'string' },
  },
});
const tool = values.tool ?? (whichSync('wrk') ? 'wrk' : 'autocannon');
if (tool !== 'wrk' && tool !== 'autocannon') throw new Error(`bench-serve: --tool is wrk or autocannon, got ${tool}`);

function whichSync(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((folder) => folder !== '' && existsSync(join(folder, command)));
}
const quick = values.quick;
const duration = quick ? 1 : Number(values.duration);
const connectionsList = (quick ? '1,16' : values.connections).split(',').map(Number);
const peers = (quick ? 'ours' : values.peers).split(',') as Peer[];
type Peer = 'ours' | 'fastapi' | 'flask';

// The Python peers come from scripts/python/requirements-serve.txt, which environment/setup.sh does
// not install (CI runs ours only): say so up front, not as a spawn error after minutes of work.
const missingPeers = peers.filter((p) => p !== 'ours' && !existsSync(join(python, p === 'fastapi' ? 'uvicorn' : 'gunicorn')));
if (missingPeers.length > 0) {
  console.error(
    `bench-serve: the ${missingPeers.join(' and ')} peer${missingPeers.length > 1 ? 's are' : ' is'} not installed in .venv; ` +
      'install them with `.venv/bin/pip install -r scripts/python/requirements-serve.txt`, or run ours alone with `-- --peers ours`',
  );
  process.exit(2);
}

if (!existsSync(join(dist, 'cli.js'))) {
  console.error('bench-serve: lib/dist/cli.js is missing; run `npm run build` first (npm run bench:serve does)');
  process.exit(1);
}
const lib = (await import(join(dist, 'index.js'))) as typeof import('../lib/index.js');

await mkdir(work, { recursive: true });

// A model (generated data unless --model), and a second one for the reload scenario.
async function trainModel(name: string, seed: number): Promise<string> {
  const path = join(work, name, 'lin_reg.json');
  if (!existsSync(path)) {
    // Different validation months give different fits, hence two model versions.
    await lib.train({ synthetic: true, syntheticRows: 50_000, outDir: join(work, name), plotName: false, val: `2024-0${seed}`, parallel: false });
  }
  return path;
}
const modelPath = values.model ?? (await trainModel('model-a', 2));
const otherModelPath = await trainModel('model-b', 3);
const saved = await lib.loadModel(modelPath);

// The same coefficients for the Python peers, from the loaded model (not the file's layout).
const version = 'py-' + createHash('sha256').update(await readFile(modelPath)).digest('hex').slice(0, 8);
const coefficientsPath = join(work, 'coefficients.json');
await writeFile(
  coefficientsPath,
  JSON.stringify({
    featureNames: saved.vectorizer.getFeatureNamesOut(),
    separator: saved.vectorizer.separator,
    coef: Array.from(saved.model.coef),
    intercept: saved.model.intercept,
    categorical: saved.features.categorical,
    numerical: saved.features.numerical,
    version,
  }),
);

// Request bodies: trips over zones the model knows.
const zones = saved.vectorizer
  .getFeatureNamesOut()
  .filter((n) => n.startsWith('PULocationID='))
  .map((n) => n.split('=')[1]!);
const tripAt = (i: number) => ({ PULocationID: zones[i % zones.length]!, DOLocationID: Number(zones[(i * 7 + 3) % zones.length]), trip_distance: 0.5 + ((i * 37) % 200) / 10 });
const bodies = { single: JSON.stringify({ PULocationID: '161', DOLocationID: '236', trip_distance: 2.1 }), batch100: JSON.stringify(Array.from({ length: 100 }, (_, i) => tripAt(i))) };

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });
}

interface Running {
  peer: Peer;
  url: string;
  child: ChildProcess;
  peakRssMb: number;
  sampler: NodeJS.Timeout;
}

/** Resident memory of a process and its descendants, in MB (Linux /proc). */
function treeRssMb(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  let kb = 0;
  const visit = (p: number): void => {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // Gone meanwhile.
    }
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return kb / 1024;
}
function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

async function startPeer(peer: Peer): Promise<Running> {
  const port = await freePort();
  const env = { ...process.env, TAXI_COEFFICIENTS: coefficientsPath, PYTHONDONTWRITEBYTECODE: '1' };
  const log = join(work, `${peer}.log`);
  const fd = openSync(log, 'w');
  const stdio: ['ignore', number, number] = ['ignore', fd, fd];
  let child: ChildProcess;
  if (peer === 'ours') {
    // Access lines on (to a file), as a service in production would run.
    child = spawn(process.execPath, [join(dist, 'cli.js'), 'serve', '--model', join(work, 'served.json'), '--port', String(port), '--access-log', join(work, 'ours-access.log')], { env, stdio });
  } else if (peer === 'fastapi') {
    child = spawn(join(python, 'uvicorn'), ['--app-dir', join(root, 'scripts', 'python'), '--host', '127.0.0.1', '--port', String(port), 'serve_fastapi:app'], { env, stdio });
  } else {
    child = spawn(join(python, 'gunicorn'), ['--bind', `127.0.0.1:${port}`, '--chdir', join(root, 'scripts', 'python'), 'serve_flask:app'], { env, stdio });
  }
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies.single });
      if (r.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`bench-serve: ${peer} did not start; see ${log}${peer !== 'ours' ? ' (install the peers: .venv/bin/pip install -r scripts/python/requirements-serve.txt)' : ''}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const running: Running = { peer, url, child, peakRssMb: 0, sampler: setInterval(() => (running.peakRssMb = Math.max(running.peakRssMb, treeRssMb(child.pid!))), 200) };
  return running;
}

async function stopPeer(r: Running): Promise<void> {
  clearInterval(r.sampler);
  r.child.kill('SIGTERM');
  await new Promise((done) => (r.child.exitCode !== null ? done(null) : r.child.once('exit', done)));
}

/** Latency in ms, to two significant places below 10 ms. */
function ms(value: number): string {
  return value >= 10 ? value.toFixed(0) : value.toPrecision(2);
}

interface Row {
  scenario: string;
  connections: number;
  peer: Peer;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

interface LoadResult {
  requestsPerSecond: number;
  /** Latency percentiles, ms. */
  p50: number;
  p99: number;
  /** Connection errors, timeouts and non-2xx answers. */
  errors: number;
  requests: number;
}

/** wrk's report as one JSON line, from its `done` hook; the body comes from a file. */
const WRK_SCRIPT = `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

async function load(url: string, body: string, connections: number, seconds: number): Promise<LoadResult> {
  if (tool === 'autocannon') {
    const r = await autocannon({ url: `${url}/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: seconds });
    return { requestsPerSecond: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx, requests: r.requests.total };
  }
  const bodyFile = join(work, `body-${body.length}.json`);
  await writeFile(bodyFile, body);
  const script = join(work, 'post.lua');
  await writeFile(script, WRK_SCRIPT);
  const threads = String(Math.min(2, connections));
  const stdout = await new Promise<string>((done, fail) =>
    execFile('wrk', ['-t', threads, '-c', String(connections), '-d', `${seconds}s`, '-s', script, `${url}/predict`], { env: { ...process.env, WRK_BODY: bodyFile } }, (error, out) =>
      error ? fail(error) : done(out),
    ),
  );
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (line === undefined) throw new Error(`bench-serve: no report from wrk:\n${stdout}`);
  const w = JSON.parse(line.slice('WRK_JSON '.length)) as { requests: number; duration_us: number; errors: number; p50_us: number; p99_us: number };
  return { requestsPerSecond: w.requests / (w.duration_us / 1e6), p50: w.p50_us / 1000, p99: w.p99_us / 1000, errors: w.errors, requests: w.requests };
}

await copyFile(modelPath, join(work, 'served.json'));
const running = new Map<Peer, Running>();
for (const peer of peers) running.set(peer, await startPeer(peer));

// The peers agree on the numbers (ours bit for bit with the library; Python within rounding of its summation order).
const agreement: Record<string, number> = {};
const ours = lib.predictRecords(saved, JSON.parse(bodies.batch100) as unknown[]).duration;
for (const [peer, r] of running) {
  const got = ((await (await fetch(`${r.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies.batch100 })).json()) as { durations: number[] }).durations;
  agreement[peer] = Math.max(...got.map((d, i) => Math.abs(d - ours[i]!)));
}
if (running.has('ours') && agreement.ours !== 0) throw new Error(`bench-serve: our service differs from the library by ${agreement.ours}`);

const rows: Row[] = [];
for (const [scenario, body] of Object.entries(bodies)) {
  for (const connections of connectionsList) {
    for (const [peer, r] of running) {
      await load(r.url, body, connections, Math.min(1, duration)); // warm-up
      const result = await load(r.url, body, connections, duration);
      const row: Row = { scenario, connections, peer, ...result };
      rows.push(row);
      console.log(`${scenario.padEnd(8)} c=${String(connections).padStart(2)} ${peer.padEnd(7)} ${Math.round(row.requestsPerSecond).toLocaleString('en-US').padStart(7)} req/s  p50 ${ms(row.p50)} ms  p99 ${ms(row.p99)} ms  errors ${row.errors}`);
    }
  }
}

// Reload under load: ours only.
let reload: { requests: number; errors: number; reloads: number; versions: number } | undefined;
if (running.has('ours')) {
  const r = running.get('ours')!;
  const served = join(work, 'served.json');
  let reloads = 0;
  let stop = false;
  const versions = new Set<string>();
  const swapper = (async () => {
    while (!stop) {
      await copyFile(reloads % 2 === 0 ? otherModelPath : modelPath, `${served}.tmp`);
      await rename(`${served}.tmp`, served);
      r.child.kill('SIGHUP');
      reloads++;
      const answer = (await (await fetch(`${r.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies.single })).json()) as { model_version: string };
      versions.add(answer.model_version);
      await new Promise((done) => setTimeout(done, 200));
    }
  })();
  const result = await load(r.url, bodies.single, 64, Math.max(2, duration));
  stop = true;
  await swapper;
  reload = { requests: result.requests, errors: result.errors, reloads, versions: versions.size };
  console.log(`reload under load (64 connections): ${reload.requests} requests, ${reload.errors} errors, ${reloads} reloads, ${versions.size} versions answered`);
}

for (const r of running.values()) await stopPeer(r);

// The table: one row per scenario and concurrency, peers side by side, and our ratio to FastAPI.
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const header = ['scenario', 'conns', ...peers.flatMap((p) => [`${p} req/s`, `${p} p50/p99 ms`, `${p} errors`]), ...(peers.includes('fastapi') && peers.includes('ours') ? ['ours ÷ fastapi'] : [])];
const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
for (const scenario of Object.keys(bodies)) {
  for (const connections of connectionsList) {
    const cells: string[] = [scenario === 'single' ? 'single trip' : '100-trip batch', String(connections)];
    const at = (p: Peer) => rows.find((x) => x.scenario === scenario && x.connections === connections && x.peer === p)!;
    for (const p of peers) cells.push(fmt(at(p).requestsPerSecond), `${ms(at(p).p50)} / ${ms(at(p).p99)}`, String(at(p).errors));
    if (header.at(-1) === 'ours ÷ fastapi') cells.push(`${(at('ours').requestsPerSecond / at('fastapi').requestsPerSecond).toFixed(1)}×`);
    lines.push(`| ${cells.join(' | ')} |`);
  }
}
const rss = peers.map((p) => `${p} ${Math.round(running.get(p)!.peakRssMb)} MB`).join(', ');
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end, node ${process.version}`;
const markdown = [
  `# Prediction service load test (${duration} s per run, ${tool} on 127.0.0.1)`,
  '',
  ...lines,
  '',
  `Peak RSS: ${rss}.`,
  reload ? `Reload under load (ours, 64 connections, single trips, model swapped + SIGHUP every 200 ms): ${reload.requests.toLocaleString('en-US')} requests, ${reload.errors} errors, ${reload.reloads} reloads, ${reload.versions} model versions answered.` : '',
  `Largest difference from the library's predictions on the 100-trip batch: ${Object.entries(agreement).map(([p, d]) => `${p} ${d}`).join(', ')}.`,
  `Machine: ${machine}.`,
  '',
].join('\n');
await writeFile(join(outDir, 'serve.md'), markdown);
await writeFile(join(outDir, 'serve.json'), JSON.stringify({ tool, duration, rows, reload, peakRssMb: Object.fromEntries(peers.map((p) => [p, running.get(p)!.peakRssMb])), agreement, machine }, null, 2));
console.log('\n' + markdown);
console.log(`written: ${join(outDir, 'serve.md')}, serve.json`);

// Zero errors is a property of our service, not a timing: a failed request of ours fails the run.
const errors = rows.filter((r) => r.peer === 'ours').reduce((n, r) => n + r.errors, 0) + (reload?.errors ?? 0);
if (errors > 0) {
  console.error(`bench-serve: ${errors} requests to our service failed`);
  process.exit(1);
}
