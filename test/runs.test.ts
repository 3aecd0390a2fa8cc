/**
 * The runs store: whole run folders written atomically, runs that die read as failed, listing,
 * finding, tables, file hashes and the code version.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  codeVersion,
  compareRuns,
  findRun,
  hashFile,
  isRunId,
  libraryVersion,
  listRuns,
  projectRoot,
  readRun,
  recordRun,
  runsTable,
  startRun,
  type RunRecord,
} from '../lib/index.js';
import { gitHead } from './helpers/git.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-runs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record = async (id: string): Promise<RunRecord> => JSON.parse(await readFile(join(dir, id, 'run.json'), 'utf8')) as RunRecord;

describe('startRun, finish, fail', () => {
  it('creates a whole run folder saying running, with this process, the params and the code version', async () => {
    const run = await startRun({ runsDir: dir, kind: 'train', params: { train: '2024-01', source: 'https://u:p@example.org/x.parquet?sig=secret', onProgress: () => {} } });
    expect(isRunId(run.id)).toBe(true);
    expect(await readdir(dir)).toEqual([run.id]); // no staging folder left behind
    const r = await record(run.id);
    expect(r).toMatchObject({ format: 'taxi-duration/run', version: 1, kind: 'train', status: 'running', endedAt: null, error: null });
    expect(r.process).toMatchObject({ pid: process.pid, host: hostname() });
    expect(r.params).toEqual({ train: '2024-01', source: 'https://example.org/x.parquet?…' }); // no function, no secret
    expect(r.code.libraryVersion).toBe(libraryVersion());
    await run.finish();
    const done = await readRun(run.id, { runsDir: dir });
    expect(done.status).toBe('finished');
    expect(Date.parse(done.endedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    await expect(run.finish()).rejects.toThrow(/has already ended/);
  });

  it('recordRun marks a run that throws as failed, with the first line of the error, and rethrows it', async () => {
    const error = new Error('read: x.parquet: not a parquet file\nmore detail');
    await expect(recordRun({ runsDir: dir, kind: 'monitor' }, async (run) => {
      run.record.metrics.partial = 1;
      throw error;
    })).rejects.toBe(error);
    const [run] = await listRuns({ runsDir: dir });
    expect(run).toMatchObject({ status: 'failed', error: { message: 'read: x.parquet: not a parquet file' }, metrics: { partial: 1 } });
  });

  it('a run whose process was killed (kill -9) reads as failed', async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const runs = pathToFileURL(join(import.meta.dirname, '..', 'lib', 'runs.ts')).href;
    const child = spawn(
      process.execPath,
      ['--import', tsx, '--input-type=module', '-e', `const { startRun } = await import(${JSON.stringify(runs)}); const run = await startRun({ runsDir: ${JSON.stringify(dir)}, kind: 'train' }); console.log(run.id); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const id = await new Promise<string>((done) => child.stdout.once('data', (d: Buffer) => done(d.toString().trim())));
    expect((await readRun(id, { runsDir: dir })).status).toBe('running');
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
    const run = await readRun(id, { runsDir: dir });
    expect(run.status).toBe('failed');
    expect(run.statusNote).toMatch(new RegExp(`process ${child.pid} ended without finishing the run`));
    expect((await record(id)).status).toBe('running'); // the record is untouched: the reader decides
  });

  it('a reused pid (same pid, another start time) counts as gone; another host cannot be checked', async () => {
    const run = await startRun({ runsDir: dir, kind: 'train' });
    const r = await record(run.id);
    await writeFile(join(dir, run.id, 'run.json'), JSON.stringify({ ...r, process: { ...r.process, startTicks: '1' } }));
    expect((await readRun(run.id, { runsDir: dir })).status).toBe('failed');
    await writeFile(join(dir, run.id, 'run.json'), JSON.stringify({ ...r, process: { ...r.process, host: 'elsewhere' } }));
    const elsewhere = await readRun(run.id, { runsDir: dir });
    expect(elsewhere.status).toBe('running');
    expect(elsewhere.statusNote).toMatch(/host elsewhere; cannot check/);
  });

  it('keeps artifacts as its own copies, with size and SHA-256', async () => {
    const source = join(dir, 'model.json');
    await writeFile(source, '{"a":1}');
    const run = await startRun({ runsDir: dir, kind: 'train' });
    const artifact = await run.addArtifact('model', source, 'model.json');
    await writeFile(source, '{"a":2}'); // the original changes; the run's copy does not
    expect(await readFile(join(run.dir, 'artifacts', 'model.json'), 'utf8')).toBe('{"a":1}');
    expect(artifact).toEqual({ path: 'artifacts/model.json', bytes: 7, sha256: createHash('sha256').update('{"a":1}').digest('hex') });
    await expect(run.writeArtifact('x', '../escape.json', '')).rejects.toThrow(/must be a plain file name/);
    await expect(run.addArtifact('x', join(dir, 'missing.json'), 'x.json')).rejects.toThrow(/runs: cannot copy .*missing.json into run/);
  });

  it('hashes data files it records, and says they were generated', async () => {
    const data = join(dir, 'month.parquet');
    await writeFile(data, 'PAR1 some bytes PAR1');
    const run = await startRun({ runsDir: dir, kind: 'train' });
    const entry = await run.addData({ role: 'train', source: 'https://x.org/m.parquet?token=1', path: data, generated: true, rowsRead: 3, rowsKept: 2 });
    expect(entry).toMatchObject({ source: 'https://x.org/m.parquet?…', bytes: 20, sha256: createHash('sha256').update('PAR1 some bytes PAR1').digest('hex') });
    expect(run.record.synthetic).toBe(true);
  });

  it('fails early, naming the folder, when the store cannot be written', async () => {
    const file = join(dir, 'not-a-folder');
    await writeFile(file, '');
    await expect(startRun({ runsDir: file, kind: 'train' })).rejects.toThrow(/^runs: cannot record a run in .*not-a-folder \((ENOTDIR|EEXIST)\)/);
  });
});

describe('listRuns, findRun', () => {
  it('lists runs oldest first, by kind, and reports unreadable ones without stopping', async () => {
    const a = await startRun({ runsDir: dir, kind: 'train' });
    await a.finish();
    const b = await startRun({ runsDir: dir, kind: 'monitor' });
    await b.finish();
    const c = await startRun({ runsDir: dir, kind: 'train' });
    await c.fail(new Error('boom'));
    await mkdir(join(dir, '20200101-000000-abcdef'));
    await writeFile(join(dir, '20200101-000000-abcdef', 'run.json'), '{ truncated');
    await mkdir(join(dir, 'not-a-run'));
    await mkdir(join(dir, '20200101-000000-aaaaaa'));
    await writeFile(join(dir, '20200101-000000-aaaaaa', 'run.json'), JSON.stringify({ ...(await record(a.id)) })); // a copied folder
    const problems: string[] = [];
    const runs = await listRuns({ runsDir: dir, onProblem: (m) => problems.push(m) });
    expect(runs.map((r) => r.id)).toEqual([a.id, b.id, c.id]);
    expect(problems).toEqual([
      expect.stringMatching(/runs: .*20200101-000000-aaaaaa holds the record of run .*; a run folder must be named by its run's id/),
      expect.stringMatching(/runs: cannot read run .*20200101-000000-abcdef/),
    ]);
    expect((await listRuns({ runsDir: dir, kind: 'train' })).map((r) => r.id)).toEqual([a.id, c.id]);
    expect(await listRuns({ runsDir: join(dir, 'none') })).toEqual([]);
  });

  it('finds a run by id, by a unique prefix, and the latest finished training run', async () => {
    const a = await startRun({ runsDir: dir, kind: 'train' });
    await a.finish();
    const b = await startRun({ runsDir: dir, kind: 'train' });
    await b.fail('no');
    expect((await findRun('latest', { runsDir: dir })).id).toBe(a.id);
    expect((await findRun(a.id, { runsDir: dir })).id).toBe(a.id);
    // b, renamed to start in the same second as a with another first hex digit: 17 characters
    // tell them apart, 16 do not (ids are not left to chance in a test).
    const twin = `${a.id.slice(0, 16)}${a.id[16] === '0' ? '1' : '0'}ffff0`;
    await rename(join(dir, b.id), join(dir, twin));
    await writeFile(join(dir, twin, 'run.json'), JSON.stringify({ ...(await record(twin)), id: twin }));
    expect((await findRun(a.id.slice(0, 17), { runsDir: dir })).id).toBe(a.id);
    await expect(findRun(a.id.slice(0, 16), { runsDir: dir })).rejects.toThrow(/matches 2 runs/);
    await expect(findRun('20990101-000000', { runsDir: dir })).rejects.toThrow(/no run "20990101-000000"/);
    await expect(findRun('prod', { runsDir: dir })).rejects.toThrow(/is not a run id/);
    await expect(readRun('../etc', { runsDir: dir })).rejects.toThrow(/is not a run id/);
    await expect(findRun('latest', { runsDir: join(dir, 'empty') })).rejects.toThrow(/no finished training run/);
  });
});

describe('runsTable, compareRuns', () => {
  it('gives one row per run with the data, the RMSE and the aliases, and compares runs field by field', async () => {
    const a = await startRun({ runsDir: dir, kind: 'train', params: { train: '2024-01', val: '2024-02', color: 'yellow' } });
    a.record.metrics = { rmseTrain: 7.5, rmseVal: 7.7 };
    a.record.seconds = { total: 1.234 };
    await a.finish();
    const b = await startRun({ runsDir: dir, kind: 'train', params: { train: '2024-03', val: '2024-04', color: 'yellow' } });
    b.record.metrics = { rmseTrain: 7.4, rmseVal: 7.9 };
    await b.fail(new Error('pipeline: no rows'));
    const runs = await listRuns({ runsDir: dir });
    const t = runsTable(runs, { aliases: { [a.id]: ['production', 'staging'] } });
    expect(t.index).toEqual([a.id, b.id]);
    const row = (id: string) => Object.fromEntries(t.columns.map((c, i) => [c, t.values[t.index.indexOf(id)]![i]]));
    expect(row(a.id)).toMatchObject({ kind: 'train', status: 'finished', data: '2024-01 → 2024-02', rmse_train: 7.5, rmse_val: 7.7, seconds: 1.23, aliases: 'production, staging', note: null });
    expect(row(b.id)).toMatchObject({ status: 'failed', note: 'pipeline: no rows', aliases: '' });
    const cmp = compareRuns(runs);
    const differs = cmp.index.filter((_, i) => cmp.differs[i]);
    expect(differs).toEqual(expect.arrayContaining(['status', 'params.train', 'params.val', 'metrics.rmseVal']));
    expect(differs).not.toContain('params.color');
    expect(cmp.values[cmp.index.indexOf('params.train')]).toEqual(['2024-01', '2024-03']);
  });
});

describe('hashFile', () => {
  it('hashes a file as SHA-256, remembers it, and hashes again when the file changes', async () => {
    const file = join(dir, 'a.parquet');
    const cacheFile = join(dir, '.cache', 'hashes.json');
    await writeFile(file, 'first');
    const first = await hashFile(file, { cacheFile });
    expect(first).toMatchObject({ bytes: 5, sha256: createHash('sha256').update('first').digest('hex'), cached: false });
    expect((await hashFile(file, { cacheFile })).cached).toBe(true);
    // Same size, new content, replaced by rename as every writer here does.
    await writeFile(join(dir, 'tmp'), 'other');
    await rename(join(dir, 'tmp'), file);
    const second = await hashFile(file, { cacheFile });
    expect(second).toMatchObject({ cached: false, sha256: createHash('sha256').update('other').digest('hex') });
    await writeFile(cacheFile, 'not json');
    expect((await hashFile(file, { cacheFile })).cached).toBe(false); // a damaged cache is ignored
    await expect(hashFile(join(dir, 'missing'))).rejects.toThrow(/^fileHash: cannot read .*missing/);
    await expect(hashFile(dir)).rejects.toThrow(/is not a regular file/);
  });
});

describe('project', () => {
  it('knows the project root and the git commit of this checkout (null outside git)', () => {
    expect(readFileSync(join(projectRoot()!, 'package.json'), 'utf8')).toContain('"workspaces"');
    const version = codeVersion();
    expect(version.gitCommit).toBe(gitHead());
    expect(typeof version.gitDirty).toBe(version.gitCommit === null ? 'object' : 'boolean');
    expect(version.node).toBe(process.version);
  });
});

describe('redaction', () => {
  it('records sources and parameters with URLs redacted (errors.ts redactUrl), months and paths as given', async () => {
    const signed = 'https://user:pw@example.org/a/b.parquet?X-Amz-Signature=abc#frag';
    const run = await startRun({ runsDir: dir, kind: 'train', params: { train: signed, val: '2024-02', out: 'data/x?.parquet' } });
    for (const source of [signed, '2024-01', 'data/x?.parquet']) await run.addData({ role: 'month', source, path: null, generated: false });
    await run.finish();
    const text = await readFile(join(run.dir, 'run.json'), 'utf8');
    expect(text).not.toMatch(/pw|Signature|frag/);
    const stored = await readRun(run.id, { runsDir: dir });
    expect(stored.params).toMatchObject({ train: 'https://example.org/a/b.parquet?…', val: '2024-02', out: 'data/x?.parquet' });
    expect(stored.data.map((d) => d.source)).toEqual(['https://example.org/a/b.parquet?…', '2024-01', 'data/x?.parquet']);
  });
});
