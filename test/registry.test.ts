/**
 * The registry: aliases with their history, promotion rules, and resolving what `--model` is
 * given (a path, an alias, a run) to a model file that is checked against its run's record.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  aliasesByRun,
  aliasHistory,
  checkAlias,
  DictVectorizer,
  findRunOfModel,
  LinearRegression,
  loadModelRef,
  promote,
  readRegistry,
  resolveModelRef,
  saveModel,
  startRun,
} from '../lib/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-registry-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A finished training run holding a real (tiny) model whose intercept tells it apart. */
async function trainingRun(intercept: number, status: 'finished' | 'failed' | 'running' = 'finished'): Promise<string> {
  const records = [{ PULocationID: '1', trip_distance: 1 }, { PULocationID: '2', trip_distance: 3 }, { PULocationID: '1', trip_distance: 2 }];
  const vectorizer = new DictVectorizer().fit(records);
  const model = LinearRegression.fromParameters({ coef: [1, 2, 3], intercept, fitIntercept: true });
  const file = join(dir, `model-${intercept}.json`);
  await saveModel(file, { vectorizer, model, metadata: { note: `intercept ${intercept}` } });
  const run = await startRun({ runsDir: dir, kind: 'train' });
  await run.addArtifact('model', file, 'model.json');
  if (status === 'finished') await run.finish();
  if (status === 'failed') await run.fail(new Error('boom'));
  return run.id;
}

describe('promote', () => {
  it('points an alias at a run and keeps who held it when', async () => {
    const a = await trainingRun(1);
    const b = await trainingRun(2);
    const first = await promote(a, 'production', { runsDir: dir, reason: 'baseline' });
    expect(first).toMatchObject({ alias: 'production', runId: a, previousRunId: null, reason: 'baseline', by: { pid: process.pid } });
    await promote(b, 'staging', { runsDir: dir });
    await promote(b, 'production', { runsDir: dir, reason: 'better' });
    expect(await promote(b, 'production', { runsDir: dir })).toBeNull(); // already there: no new history
    const registry = await readRegistry({ runsDir: dir });
    expect(registry.aliases.production).toMatchObject({ runId: b, reason: 'better' });
    expect((await aliasHistory('production', { runsDir: dir })).map((c) => [c.runId, c.previousRunId])).toEqual([[a, null], [b, a]]);
    expect((await aliasHistory(undefined, { runsDir: dir })).length).toBe(3);
    expect(await aliasesByRun({ runsDir: dir })).toEqual({ [b]: ['production', 'staging'] });
    expect(JSON.parse(await readFile(join(dir, 'registry.json'), 'utf8')).format).toBe('taxi-duration/registry');
  });

  it('refuses bad aliases, unfinished or model-less runs, and a model changed after its run', async () => {
    const finished = await trainingRun(1);
    expect(() => checkAlias('Production')).toThrow(/must be lowercase/);
    expect(() => checkAlias('latest')).toThrow(/'latest' names the newest training run/);
    await expect(promote(finished, 'a b', { runsDir: dir })).rejects.toThrow(/registry: alias "a b" must be/);
    await expect(promote(await trainingRun(2, 'failed'), 'production', { runsDir: dir })).rejects.toThrow(/is failed; only a finished run can be promoted/);
    await expect(promote(await trainingRun(3, 'running'), 'production', { runsDir: dir })).rejects.toThrow(/is running; only a finished run/);
    const monitor = await startRun({ runsDir: dir, kind: 'monitor' });
    await monitor.finish();
    await expect(promote(monitor.id, 'production', { runsDir: dir })).rejects.toThrow(/is a monitor run; only training runs have a model/);
    const bare = await startRun({ runsDir: dir, kind: 'train' });
    await bare.finish();
    await expect(promote(bare.id, 'production', { runsDir: dir })).rejects.toThrow(/has no model artifact/);
    await writeFile(join(dir, finished, 'artifacts', 'model.json'), (await readFile(join(dir, finished, 'artifacts', 'model.json'), 'utf8')).replace('"intercept": 1', '"intercept": 9'));
    await expect(promote(finished, 'production', { runsDir: dir })).rejects.toThrow(/is not the model run .* recorded \(its SHA-256 differs\)/);
    expect((await readRegistry({ runsDir: dir })).history).toEqual([]);
  });

  it('serialises concurrent promotions: none is lost', async () => {
    const runs = await Promise.all([1, 2, 3, 4].map((i) => trainingRun(i)));
    await Promise.all(runs.map((id, i) => promote(id, `alias-${i}`, { runsDir: dir })));
    const registry = await readRegistry({ runsDir: dir });
    expect(Object.keys(registry.aliases).sort()).toEqual(['alias-0', 'alias-1', 'alias-2', 'alias-3']);
    expect(registry.history).toHaveLength(4);
  });

  it('takes over the lock of a process that is gone, and names a live holder', async () => {
    const id = await trainingRun(1);
    await writeFile(join(dir, 'registry.json.lock'), JSON.stringify({ pid: 2 ** 22 + 17, host: (await import('node:os')).hostname(), startTicks: null }));
    await promote(id, 'production', { runsDir: dir });
    expect((await readRegistry({ runsDir: dir })).aliases.production?.runId).toBe(id);
  });
});

describe('resolveModelRef', () => {
  it('resolves an alias, a run id, a prefix and latest to the run’s own model file, and paths to themselves', async () => {
    const a = await trainingRun(1);
    const b = await trainingRun(2);
    await promote(a, 'production', { runsDir: dir });
    const byAlias = await resolveModelRef('production', { runsDir: dir });
    expect(byAlias).toMatchObject({ kind: 'alias', alias: 'production', path: join(dir, a, 'artifacts', 'model.json') });
    expect(byAlias.run?.id).toBe(a);
    expect((await resolveModelRef(b, { runsDir: dir })).path).toBe(join(dir, b, 'artifacts', 'model.json'));
    expect((await resolveModelRef('latest', { runsDir: dir })).run?.id).toBe(b);
    expect((await resolveModelRef(b.slice(0, 20), { runsDir: dir })).run?.id).toBe(b);
    expect(await resolveModelRef('models/lin_reg.json', { runsDir: dir })).toMatchObject({ kind: 'path', run: null });
    const loaded = await loadModelRef('production', { runsDir: dir });
    expect(loaded.model.intercept).toBe(1);
    expect(loaded.ref.alias).toBe('production');
  });

  it('names what it could not resolve, listing the aliases', async () => {
    await promote(await trainingRun(1), 'staging', { runsDir: dir });
    await expect(resolveModelRef('production', { runsDir: dir })).rejects.toThrow(/registry: "production" is not a model file, an alias \(known: staging\) or a run id/);
    await expect(resolveModelRef('', { runsDir: dir })).rejects.toThrow(/empty/);
    await expect(resolveModelRef('production', { runsDir: join(dir, 'none') })).rejects.toThrow(/has none yet; promote a run first/);
    await writeFile(join(dir, 'registry.json'), '{"format":"other"}');
    await expect(resolveModelRef('staging', { runsDir: dir })).rejects.toThrow(/is not a taxi-duration registry/);
  });

  it('finds the run a published model file came from', async () => {
    const id = await trainingRun(5);
    expect((await findRunOfModel(join(dir, 'model-5.json'), { runsDir: dir }))?.id).toBe(id);
    await writeFile(join(dir, 'other.json'), '{}');
    expect(await findRunOfModel(join(dir, 'other.json'), { runsDir: dir })).toBeUndefined();
  });
});
