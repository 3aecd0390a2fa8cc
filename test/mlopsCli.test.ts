/**
 * `taxi-duration runs | promote | monitor | retrain`, and the runs store in `train` and `predict`
 * (`--runs-dir`, `--no-track`, `--model ALIAS`), in-process through the command's `main`:
 * outputs, exit codes (0, 3 for a crossed limit, 1 for a failed run, 2 for a bad command line)
 * and one-line errors.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../lib/cli.js';
import { listRuns, promote, readRun, train, type MonitorReport, type RetrainResult, type Run } from '../lib/index.js';
import { writeMonths } from './helpers/months.js';

let dir: string;
let cacheDir: string;
let runsDir: string;
const trainIds: string[] = [];

/** Runs the command in this process; returns its exit code and what it printed. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new Writable({ write: (chunk: Buffer, _e, done) => (into.push(chunk.toString()), done()) });
  const code = await main(args, { stdout: sink(out), stderr: sink(err), stdin: Readable.from([]) });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** The error contract: this exit code and one line on stderr matching `pattern`, no stack. */
function expectError(result: { code: number; stderr: string }, code: number, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr.trim()).toMatch(pattern);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-mlops-cli-'));
  cacheDir = join(dir, 'data');
  runsDir = join(dir, 'runs');
  await writeMonths(cacheDir, ['2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06'], { from: '2024-05', durationFactor: 1.3 });
  for (const month of ['2024-01', '2024-02']) {
    const result = await train({ train: month, val: '2024-03', cacheDir, outDir: join(dir, 'models'), plotName: false, runs: runsDir });
    trainIds.push(result.run!.id);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('taxi-duration runs', () => {
  it('lists the runs as a table, and as JSON', async () => {
    const table = await run('runs', '--runs-dir', runsDir);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^run\s+kind\s+status\s+started\s+seconds\s+data\s+rmse_train\s+rmse_val\s+synthetic\s+aliases\s+note$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(trainIds);
    expect(lines[1]).toMatch(/ train\s+finished .* 2024-01 → 2024-03\s+[\d.]+\s+[\d.]+\s+yes/);
    const json = JSON.parse((await run('runs', '--runs-dir', runsDir, '--json', '--last', '1')).stdout) as Run[];
    expect(json.map((r) => r.id)).toEqual([trainIds[1]]);
    expect((await run('runs', '--runs-dir', join(dir, 'empty'))).stdout).toBe('no runs yet (train one: taxi-duration --synthetic)\n');
  });

  it('compares runs field by field, marking the fields that differ', async () => {
    const { code, stdout } = await run('runs', trainIds[0]!, trainIds[1]!.slice(0, 20), '--runs-dir', runsDir);
    expect(code).toBe(0);
    const line = (field: string) => stdout.split('\n').find((l) => l.trim().replace(/^\*\s+/, '').startsWith(field + ' '))!;
    expect(line('params.train')).toMatch(/^\*\s+params\.train\s+2024-01\s+2024-02$/);
    expect(line('params.val')).toMatch(/^\s+params\.val\s+2024-03\s+2024-03$/);
    expect(line('data.train.sha256')).toMatch(/^\*/);
  });

  it('refuses bad command lines with exit code 2', async () => {
    expectError(await run('runs', '--kind', 'bogus', '--runs-dir', runsDir), 2, /^taxi-duration: --kind must be train, monitor or retrain, got 'bogus'$/);
    expectError(await run('runs', '--last', '0x10', '--runs-dir', runsDir), 2, /--last must be a positive whole number, got '0x10'/);
    expectError(await run('runs', '--frobnicate'), 2, /^taxi-duration: unknown option --frobnicate \(see --help\)$/);
    expectError(await run('runs', trainIds[0]!, '--kind', 'train', '--runs-dir', runsDir), 2, /compares runs; --kind and --last only filter the list/);
    expectError(await run('runs', 'nonsense', '--runs-dir', runsDir), 1, /^runs: "nonsense" is not a run id/);
  });
});

describe('taxi-duration promote', () => {
  it('points an alias at a run, says what it replaced, and lists the history', async () => {
    const first = await run('promote', trainIds[0]!, '--alias', 'production', '--runs-dir', runsDir, '--reason', 'baseline');
    expect(first).toEqual({ code: 0, stdout: `production → ${trainIds[0]}\n`, stderr: '' });
    expect((await run('promote', trainIds[0]!, '--alias', 'production', '--runs-dir', runsDir)).stdout).toBe(`production already points at ${trainIds[0]}; nothing changed\n`);
    const second = await run('promote', 'latest', '--alias', 'production', '--runs-dir', runsDir);
    expect(second.stdout).toBe(`production → ${trainIds[1]} (was ${trainIds[0]})\n`);
    const aliases = await run('runs', '--aliases', '--runs-dir', runsDir);
    expect(aliases.stdout).toMatch(new RegExp(`^production\\s+${trainIds[1]}`, 'm'));
    expect(aliases.stdout).toMatch(new RegExp(`production\\s+${trainIds[0]}\\s+baseline`));
    expect((await run('runs', '--runs-dir', runsDir)).stdout).toMatch(new RegExp(`^${trainIds[1]} .* production`, 'm'));
  });

  it('refuses bad command lines (2) and bad runs (1)', async () => {
    expectError(await run('promote', trainIds[0]!, '--runs-dir', runsDir), 2, /promote needs --alias NAME/);
    expectError(await run('promote', '--alias', 'x'), 2, /promote takes one run .*, got 0/);
    expectError(await run('promote', trainIds[0]!, '--alias', 'Prod!', '--runs-dir', runsDir), 1, /^registry: alias "Prod!" must be lowercase/);
    expectError(await run('promote', '20990101-000000-abcdef', '--alias', 'x', '--runs-dir', runsDir), 1, /^runs: cannot read run .*: no such run/);
  });
});

describe('taxi-duration monitor', () => {
  it('exits 3 when a month crosses a limit, with a table, an HTML report and a recorded run', async () => {
    const report = join(dir, 'out', 'monitor.html');
    const result = await run('monitor', '--model', 'production', '--months', '2024-03,2024-05', '--cache-dir', cacheDir, '--runs-dir', runsDir, '--report', report, '-q');
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toBe('monitor: limits crossed in 2024-05\n');
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^model: production \\(run ${trainIds[1]}\\), trained on 2024-02; validation RMSE at training [\\d.]+; profile from model$`));
    expect(lines.find((l) => l.startsWith('2024-03'))).toMatch(/^2024-03\s+\d+\s+[\d.]+(\s+[\d.]+){7}$/); // no flags
    expect(lines.find((l) => l.startsWith('2024-05'))).toMatch(/RMSE [\d.]+ > 1\.2 × /);
    expect(result.stdout).toMatch(new RegExp(`^report: ${report}$`, 'm'));
    expect(result.stdout).toMatch(/^run: \d{8}-\d{6}-[0-9a-f]{6} \(report: .*artifacts\/monitor\.html\)$/m);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('Thresholds crossed in 2024-05.');
    expect(html.length).toBeGreaterThan(1_000_000); // standalone: plotly.js inlined
  });

  it('exits 0 within the limits, and prints the report as JSON with --json', async () => {
    const result = await run('monitor', '--model', 'production', '--months', '2024-03', '--cache-dir', cacheDir, '--runs-dir', runsDir, '--json', '--no-record', '-q');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as MonitorReport;
    expect(report).toMatchObject({ flagged: false, flaggedMonths: [], runId: null, profileSource: 'model' });
    expect(report.months.map((m) => m.month)).toEqual(['2024-03']);
  });

  it('takes limits from the command line', async () => {
    const result = await run('monitor', '--model', 'production', '--months', '2024-03', '--cache-dir', cacheDir, '--runs-dir', runsDir, '--max-rmse', '1', '--json', '--no-record', '-q');
    expect(result.code).toBe(3);
    expect((JSON.parse(result.stdout) as MonitorReport).months[0]!.flags).toEqual([expect.stringMatching(/^RMSE [\d.]+ > 1 min$/)]);
  });

  it('prints progress on stderr unless quiet', async () => {
    const result = await run('monitor', '--model', 'production', '--months', '2024-03', '--cache-dir', cacheDir, '--runs-dir', runsDir, '--no-record');
    expect(result.stderr).toMatch(/^2024-03: reading .*yellow_tripdata_2024-03\.parquet$/m);
  });

  it('refuses bad command lines (2) and failed runs (1) in one line', async () => {
    const base = ['monitor', '--model', 'production', '--runs-dir', runsDir, '--cache-dir', cacheDir];
    expectError(await run(...base), 2, /monitor needs --months/);
    expectError(await run('monitor', '--months', '2024-03'), 2, /monitor needs --model/);
    expectError(await run(...base, '--months', '2024-03', '--max-psi', '0x10'), 2, /--max-psi must be a number ≥ 0 like 0\.2, got '0x10'/);
    expectError(await run(...base, '--months', '2024-03', '--max-unseen', '2'), 2, /--max-unseen is a fraction below 1/);
    expectError(await run(...base, '--months', '2024-03', '--color', 'red'), 2, /--color must be one of yellow, green, fhv, fhvhv \(the dataset\), got 'red'/);
    expectError(await run(...base, '--months', '2024-03', '--synthetic-rows', '5'), 2, /--synthetic-rows needs --synthetic/);
    expectError(await run(...base, '--months', '2024-03', 'extra'), 2, /monitor takes no argument 'extra'/);
    expectError(await run(...base, '--months', '2024-13'), 1, /^source: month "2024-13"/);
    expectError(await run('monitor', '--model', 'nope', '--months', '2024-03', '--runs-dir', runsDir), 1, /^registry: "nope" is not a model file, an alias \(known: production\)/);
    const verbose = await run('monitor', '--model', 'nope', '--months', '2024-03', '--runs-dir', runsDir, '-v');
    expect(verbose.stderr).toMatch(/\n\s+at /); // the stack, only when asked
  });
});

describe('taxi-duration retrain', () => {
  it('promotes a better model for a drifted month, then has nothing to do (exit 0)', async () => {
    const result = await run('retrain', '--month', '2024-06', '--window', '2', '--cache-dir', cacheDir, '--runs-dir', runsDir, '--json', '-q');
    expect(result.code, result.stderr).toBe(0);
    const outcome = JSON.parse(result.stdout) as RetrainResult;
    expect(outcome).toMatchObject({ promoted: true, window: ['2024-04', '2024-05'], trainedOn: ['2024-04', '2024-05'], needsAttention: false });
    const again = await run('retrain', '--month', '2024-06', '--cache-dir', cacheDir, '--runs-dir', runsDir, '-q');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^monitor\s+2024-06 is within the thresholds \(RMSE [\d.]+\)\s+\(run \S+\)\ndecision: nothing to do: production is within the thresholds on 2024-06\nrun: \S+\n$/);
  });

  it('exits 3 when a limit is crossed and no better model could replace production', async () => {
    // The candidate is trained on April and May again: the same model, not better.
    const result = await run('retrain', '--month', '2024-06', '--window', '2', '--max-rmse-ratio', '0.5', '--cache-dir', cacheDir, '--runs-dir', runsDir, '-q');
    expect(result.code, result.stderr).toBe(3);
    expect(result.stdout).toMatch(/^promote\s+not promoted: the candidate is not better$/m);
    expect(result.stderr).toMatch(/^retrain: 2024-06 crossed a limit and no better model replaced production; look at run \S+\n$/);
  });

  it('refuses bad command lines with exit code 2, and a store without production with 1', async () => {
    expectError(await run('retrain'), 2, /retrain needs --month YYYY-MM/);
    expectError(await run('retrain', '--month', '2024-6'), 2, /--month must be a month like 2024-07, got '2024-6'/);
    expectError(await run('retrain', '--month', '2024-06', '--window', '-1'), 2, /^taxi-duration: Option '--window' argument is ambiguous/);
    expectError(await run('retrain', '--month', '2024-06', '--min-improvement', '1.5'), 2, /--min-improvement is a fraction below 1/);
    expectError(await run('retrain', '--month', '2024-06', '--runs-dir', join(dir, 'empty')), 1, /^retrain: no model is production yet/);
  });
});

describe('help', () => {
  it.each(['runs', 'promote', 'monitor', 'retrain'])('%s --help prints the usage and exits 0', async (command) => {
    const result = await run(command, '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: taxi-duration ${command}`));
  });

  it('the main help names the subcommands', async () => {
    expect((await run('--help')).stdout).toContain('taxi-duration runs | promote | monitor | retrain');
  });
});

describe('train, predict: the runs store from the command line', () => {
  let store: string;
  let recorded: string;
  const trips = [
    { PULocationID: '161', DOLocationID: '236', trip_distance: 2.1 },
    { PULocationID: 43, DOLocationID: 151, trip_distance: 1.0 },
  ];
  /** `predict` with JSON records on stdin. */
  async function predict(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const sink = (into: string[]) => new Writable({ write: (chunk: Buffer, _e, done) => (into.push(chunk.toString()), done()) });
    const code = await main(['predict', ...args], { stdout: sink(out), stderr: sink(err), stdin: Readable.from([JSON.stringify(trips)]) });
    return { code, stdout: out.join(''), stderr: err.join('') };
  }
  beforeAll(() => {
    store = join(dir, 'cli-runs');
  });

  it('train --runs-dir records the run there and names it in the summary', async () => {
    const result = await run('--train', '2024-01', '--val', '2024-03', '--cache-dir', cacheDir, '--out', join(dir, 'cli-models'), '--no-plot', '--runs-dir', store);
    expect(result.code, result.stderr).toBe(0);
    const line = /^run: (\d{8}-\d{6}-[0-9a-f]{6}) \((.*)\)$/m.exec(result.stdout)!;
    expect(line[2]).toBe(join(store, line[1]!));
    recorded = line[1]!;
    const stored = await readRun(recorded, { runsDir: store });
    expect(stored).toMatchObject({ kind: 'train', status: 'finished', params: { train: '2024-01', val: '2024-03' } });
    expect(readFileSync(join(stored.dir, 'artifacts', 'model.json'), 'utf8')).toBe(readFileSync(join(dir, 'cli-models', 'lin_reg.json'), 'utf8'));
  });

  it('train --no-track records nothing (and refuses --runs-dir with it)', async () => {
    const before = (await listRuns({ runsDir: store })).length;
    const result = await run('--train', '2024-01', '--val', '2024-03', '--cache-dir', cacheDir, '--out', join(dir, 'untracked'), '--no-plot', '--no-track');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(/^run: /m);
    expect(result.stdout).toMatch(/^model file: .*untracked\/lin_reg\.json$/m);
    expect(await listRuns({ runsDir: store })).toHaveLength(before);
    expect(await listRuns({ runsDir: process.env.TAXI_RUNS_DIR! })).not.toContainEqual(expect.objectContaining({ params: expect.objectContaining({ outDir: join(dir, 'untracked') }) }));
    expectError(await run('--synthetic', '--no-track', '--runs-dir', store), 2, /^taxi-duration: --no-track records no run, so --runs-dir has nothing to do; give one of them$/);
  });

  it('predict --model takes an alias, a run id or latest, with the numbers of the model file itself', async () => {
    await promote(recorded, 'production', { runsDir: store });
    const byFile = await predict('--model', join(dir, 'cli-models', 'lin_reg.json'), '-q');
    expect(byFile.code, byFile.stderr).toBe(0);
    expect(byFile.stdout.trim().split('\n')).toHaveLength(2);
    const byAlias = await predict('--model', 'production', '--runs-dir', store);
    expect(byAlias.code, byAlias.stderr).toBe(0);
    expect(byAlias.stdout).toBe(byFile.stdout);
    expect(byAlias.stderr).toContain(`predict: note: production (run ${recorded}): ${join(store, recorded, 'artifacts', 'model.json')}\n`);
    expect((await predict('--model', recorded.slice(0, -1), '--runs-dir', store, '-q')).stdout).toBe(byFile.stdout);
    expect((await predict('--model', 'latest', '--runs-dir', store, '-q')).stdout).toBe(byFile.stdout);
    expectError(await predict('--model', 'staging', '--runs-dir', store), 1, /^registry: "staging" is not a model file, an alias \(known: production\) or a run id$/);
  });
});
