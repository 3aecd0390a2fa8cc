/**
 * The level-4 loop end to end, offline: with a lasting drift, retrain promotes a better model;
 * with a drift that came and went, the candidate it trains is worse and is left unpromoted;
 * every step is a run in the store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { aliasHistory, listRuns, promote, readRegistry, readRun, retrain, train, type RetrainResult } from '../lib/index.js';
import { writeMonths } from './helpers/months.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-retrain-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A store whose production model was trained on January (validated on February). */
async function storeWithProduction(name: string, months: string[], drift: Parameters<typeof writeMonths>[2]) {
  const cacheDir = join(dir, name, 'data');
  const runsDir = join(dir, name, 'runs');
  await writeMonths(cacheDir, months, drift);
  const production = await train({ train: '2024-01', val: '2024-02', cacheDir, outDir: join(dir, name, 'models'), plotName: false, runs: runsDir });
  await promote(production.run!.id, 'production', { runsDir, reason: 'first model' });
  return { cacheDir, runsDir, productionId: production.run!.id };
}

describe('retrain, when the drift lasts', () => {
  let store: Awaited<ReturnType<typeof storeWithProduction>>;
  let result: RetrainResult;
  beforeAll(async () => {
    store = await storeWithProduction('lasting', ['2024-01', '2024-02', '2024-04', '2024-05', '2024-06', '2024-07'], { from: '2024-05', durationFactor: 1.3, newZoneShare: 0.04 });
    result = await retrain({ month: '2024-07', cacheDir: store.cacheDir, runsDir: store.runsDir });
  });

  it('flags the newest month, trains on the window before it, and promotes the better candidate', async () => {
    expect(result.monitor.flagged).toBe(true);
    expect(result.window).toEqual(['2024-04', '2024-05', '2024-06']);
    expect(result.trainedOn).toEqual(['2024-04', '2024-05', '2024-06']);
    expect(result.candidate!.rmse).toBeLessThan(result.production.rmse);
    expect(result.promoted).toBe(true);
    expect(result.needsAttention).toBe(false);
    expect(result.decision).toMatch(/^promoted \d{8}-\d{6}-[0-9a-f]{6}: RMSE on 2024-07: candidate [\d.]+, production [\d.]+$/);
    const registry = await readRegistry({ runsDir: store.runsDir });
    expect(registry.aliases.production!.runId).toBe(result.candidate!.runId);
    const history = await aliasHistory('production', { runsDir: store.runsDir });
    expect(history.map((c) => c.runId)).toEqual([store.productionId, result.candidate!.runId]);
    expect(history[1]!.reason).toBe(`retrain ${result.runId}: RMSE on 2024-07: candidate ${result.candidate!.rmse.toFixed(3)}, production ${result.production.rmse.toFixed(3)}`);
  });

  it('records every step as a run: the retrain, and the monitor and train runs it made', async () => {
    const run = await readRun(result.runId, { runsDir: store.runsDir });
    expect(run).toMatchObject({ kind: 'retrain', status: 'finished', params: { month: '2024-07', alias: 'production' } });
    expect((run.details.steps as { step: string }[]).map((s) => s.step)).toEqual(['monitor', 'train', 'evaluate', 'promote']);
    expect(run.metrics).toEqual({ productionRmse: result.production.rmse, candidateRmse: result.candidate!.rmse });
    const monitorRun = await readRun(result.monitor.runId!, { runsDir: store.runsDir });
    expect(monitorRun).toMatchObject({ kind: 'monitor', parentRunId: result.runId, params: { model: store.productionId, months: ['2024-07'] } });
    const candidate = await readRun(result.candidate!.runId, { runsDir: store.runsDir });
    expect(candidate).toMatchObject({ kind: 'train', status: 'finished', parentRunId: result.runId, params: { train: '2024-04,2024-05,2024-06', val: '2024-07' } });
    expect(candidate.data.filter((d) => d.role === 'train').map((d) => d.source)).toEqual(['2024-04', '2024-05', '2024-06']);
    // The candidate's validation month is the newest month: its own RMSE there is the comparison's.
    expect(candidate.metrics.rmseVal).toBeCloseTo(result.candidate!.rmse, 10);
    // The production RMSE is the monitor's for the same month.
    expect(monitorRun.series.rmse![0]!.value).toBeCloseTo(result.production.rmse, 10);
  });

  it('then finds nothing to do on the same month, and trains nothing', async () => {
    const before = (await listRuns({ runsDir: store.runsDir, kind: 'train' })).length;
    const again = await retrain({ month: '2024-07', cacheDir: store.cacheDir, runsDir: store.runsDir });
    expect(again).toMatchObject({ promoted: false, candidate: null, needsAttention: false, decision: 'nothing to do: production is within the thresholds on 2024-07' });
    expect(again.steps.map((s) => s.step)).toEqual(['monitor']);
    expect(await listRuns({ runsDir: store.runsDir, kind: 'train' })).toHaveLength(before);
  });
});

describe('retrain, when the drift came and went', () => {
  let store: Awaited<ReturnType<typeof storeWithProduction>>;
  beforeAll(async () => {
    // May alone was slow (roadworks); June is like January again.
    store = await storeWithProduction('transient', ['2024-01', '2024-02', '2024-05', '2024-06'], { from: '2024-05', until: '2024-05', durationFactor: 1.4 });
  });

  it('does nothing while the newest month is within the thresholds', async () => {
    const result = await retrain({ month: '2024-06', cacheDir: store.cacheDir, runsDir: store.runsDir });
    expect(result.monitor.flagged).toBe(false);
    expect(result.candidate).toBeNull();
  });

  it('leaves a worse candidate unpromoted (forced retraining)', async () => {
    // A one-month window: the candidate learns May's roadworks alone.
    const result = await retrain({ month: '2024-06', window: 1, force: true, cacheDir: store.cacheDir, runsDir: store.runsDir });
    expect(result.trainedOn).toEqual(['2024-05']);
    expect(result.candidate!.rmse).toBeGreaterThan(result.production.rmse);
    expect(result.promoted).toBe(false);
    expect(result.needsAttention).toBe(false); // forced, not flagged: nothing is wrong with production
    expect(result.decision).toBe(`kept ${store.productionId}: RMSE on 2024-06: candidate ${result.candidate!.rmse.toFixed(3)}, production ${result.production.rmse.toFixed(3)}`);
    expect(result.steps.at(-1)).toEqual({ step: 'promote', summary: 'not promoted: the candidate is not better' });
    expect((await readRegistry({ runsDir: store.runsDir })).aliases.production!.runId).toBe(store.productionId);
    expect((await readRun(result.candidate!.runId, { runsDir: store.runsDir })).status).toBe('finished'); // kept in the store, unaliased
  });

  it('asks for attention when the month is flagged and no candidate beats production', async () => {
    const result = await retrain({ month: '2024-06', window: 1, cacheDir: store.cacheDir, runsDir: store.runsDir, thresholds: { rmseRatio: 0.5 } });
    expect(result.monitor.flagged).toBe(true);
    expect(result.promoted).toBe(false);
    expect(result.needsAttention).toBe(true);
  });

  it('asks for a better margin when told to', async () => {
    const result = await retrain({ month: '2024-06', window: 1, force: true, minImprovement: 0.5, cacheDir: store.cacheDir, runsDir: store.runsDir });
    expect(result.steps.at(-1)!.summary).toBe('not promoted: the candidate is not better by 50%');
  });

  it('refuses a store without the alias, and bad options, before any work', async () => {
    await expect(retrain({ month: '2024-06', alias: 'staging', cacheDir: store.cacheDir, runsDir: store.runsDir })).rejects.toThrow(
      /retrain: no model is staging yet in .*; promote one first: taxi-duration promote RUN --alias staging/,
    );
    await expect(retrain({ month: '2024-06', window: 0, runsDir: store.runsDir })).rejects.toThrow(/window must be a whole number of months from 1 to 120/);
    await expect(retrain({ month: '2024-6', runsDir: store.runsDir })).rejects.toThrow(/source: month "2024-6"/);
    await expect(retrain({ month: '2024-06', minImprovement: 1, runsDir: store.runsDir })).rejects.toThrow(/minImprovement must be a fraction/);
  });

  it('records a retrain whose training fails as failed', async () => {
    // No March or April in this cache: the candidate cannot be trained, and fetching them fails (no server).
    const error = await retrain({ month: '2024-05', force: true, cacheDir: store.cacheDir, runsDir: store.runsDir, baseUrl: 'http://127.0.0.1:9' }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^source: /);
    const last = (await listRuns({ runsDir: store.runsDir, kind: 'retrain' })).at(-1)!;
    expect(last).toMatchObject({ status: 'failed', error: { message: (error as Error).message.split('\n')[0] } });
  });
});
