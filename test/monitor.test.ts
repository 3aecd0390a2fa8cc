/**
 * Monitoring end to end, offline: a model trained on January is scored on March to July, where
 * from May on trips take 30 % longer and 4 % start in zones January never had. The monitor must
 * flag May to July and not March or April, and its numbers must match an independent
 * recomputation from the model file and the months.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  buildProfile,
  cleanTrips,
  loadModel,
  monitorFigures,
  monitorModel,
  parseMonths,
  addMonths,
  monthsBefore,
  predictTrips,
  promote,
  readRun,
  readTrips,
  rootMeanSquaredError,
  startRun,
  train,
  type MonitorReport,
  type TrainResult,
} from '../lib/index.js';
import { writeMonths } from './helpers/months.js';

let dir: string;
let cacheDir: string;
let runsDir: string;
let production: TrainResult;
let report: MonitorReport;
/** A run of the same training whose model file has no profile (as files from before train() kept one): monitoring computes it. */
let legacyRunId: string;
let legacyReport: MonitorReport;
const DRIFT = { from: '2024-05', durationFactor: 1.3, newZoneShare: 0.04 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-monitor-'));
  cacheDir = join(dir, 'data');
  runsDir = join(dir, 'runs');
  await writeMonths(cacheDir, parseMonths('2024-01..2024-07'), DRIFT);
  production = await train({ train: '2024-01', val: '2024-02', cacheDir, outDir: join(dir, 'models'), plotName: false, runs: runsDir });
  await promote(production.run!.id, 'production', { runsDir });
  report = await monitorModel({ model: 'production', months: '2024-03..2024-07', cacheDir, runsDir });
  const legacy = await startRun({ runsDir, kind: 'train' });
  await legacy.addData({ role: 'train', source: '2024-01', path: production.train.path, generated: true });
  await legacy.addArtifact('model', await withoutProfile(production.outputs.model, join(dir, 'legacy.json')), 'model.json');
  await legacy.finish();
  legacyRunId = legacy.id;
  legacyReport = await monitorModel({ model: legacyRunId, months: '2024-03..2024-07', cacheDir, runsDir });
});

/** A copy of a model file without `metadata.profile`; returns its path. */
async function withoutProfile(model: string, to: string, edit: (metadata: Record<string, unknown>) => void = () => {}): Promise<string> {
  const document = JSON.parse(await readFile(model, 'utf8')) as { metadata: Record<string, unknown> };
  delete document.metadata.profile;
  edit(document.metadata);
  await writeFile(to, JSON.stringify(document));
  return to;
}
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('monitorModel', () => {
  it('flags the drifted months and only those', () => {
    expect(report.months.map((m) => m.month)).toEqual(['2024-03', '2024-04', '2024-05', '2024-06', '2024-07']);
    expect(report.flaggedMonths).toEqual(['2024-05', '2024-06', '2024-07']);
    expect(report.flagged).toBe(true);
    for (const m of report.months.slice(2)) {
      expect(m.flags).toEqual(expect.arrayContaining([expect.stringMatching(/^RMSE .* > 1\.2 × /), expect.stringMatching(/^unseen zones .*% > 2%/)]));
    }
    expect(report.model).toMatchObject({ ref: 'production', alias: 'production', runId: production.run!.id, trainedOn: ['2024-01'], referenceRmse: production.val.rmse, synthetic: true });
    expect(report.profileSource).toBe('model'); // train() kept the profile of the trips it streamed
    // Without it, the profile of the run's training file: the same counts, so the same flags and measures.
    expect(legacyReport.profileSource).toBe('training data');
    expect(legacyReport.flaggedMonths).toEqual(report.flaggedMonths);
    legacyReport.months.forEach((m, i) => {
      const streamed = report.months[i]!;
      expect(m.unseenShare).toBe(streamed.unseenShare);
      expect(m.duration.psi).toBeCloseTo(streamed.duration.psi, 12);
      expect(m.duration.wasserstein).toBeCloseTo(streamed.duration.wasserstein, 9);
      expect(m.trip_distance!.psi).toBeCloseTo(streamed.trip_distance!.psi, 12);
    });
  });

  it('gives the numbers an independent recomputation gives', async () => {
    const model = await loadModel(production.outputs.model);
    // Zones the model knows, from its feature names (DictVectorizer's vocabulary), not from the profile.
    const known = (prefix: string) => new Set(model.vectorizer.getFeatureNamesOut().filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length)));
    const pu = known('PULocationID=');
    const dropoff = known('DOLocationID=');
    const training = cleanTrips(await readTrips(production.train.path));
    for (const m of [report.months[0]!, report.months[3]!]) {
      const clean = cleanTrips(await readTrips(join(cacheDir, `yellow_tripdata_${m.month}.parquet`)));
      const predicted = model.model.predict(model.vectorizer.transform(clean.features));
      expect(m.rowsKept).toBe(clean.length);
      expect(m.rmse).toBeCloseTo(rootMeanSquaredError(clean.duration, predicted), 10);
      expect(m.meanActual).toBeCloseTo(clean.duration.reduce((a, b) => a + b, 0) / clean.length, 10);
      expect(m.meanPredicted).toBeCloseTo(predicted.reduce((a, b) => a + b, 0) / clean.length, 10);
      let unseen = 0;
      for (let i = 0; i < clean.length; i++) {
        const p = clean.features.PULocationID.labels[clean.features.PULocationID.codes[i]!]!;
        const d = clean.features.DOLocationID.labels[clean.features.DOLocationID.codes[i]!]!;
        if (!pu.has(p) || !dropoff.has(d)) unseen++;
      }
      expect(m.unseenShare).toBe(unseen / clean.length);
      // From 2-minute bins, the earth mover's distance is within 5 % (plus a second) of the exact one on the raw durations.
      const exact = exactWasserstein(training.duration, clean.duration);
      expect(Math.abs(m.duration.wasserstein - exact)).toBeLessThan(0.02 + 0.05 * exact);
    }
    const [march, , , june] = report.months;
    expect(march!.unseenShare).toBeLessThan(0.005);
    expect(june!.unseenShare).toBeGreaterThan(0.025); // most of the 4 % of pickups in new zones (long ones fall to the 60-minute filter)
    expect(june!.meanActual / march!.meanActual).toBeGreaterThan(1.2);
    expect(june!.duration.psi).toBeGreaterThan(5 * march!.duration.psi);
    expect(june!.trip_distance!.psi).toBeLessThan(0.05); // distances did not drift much
  });

  it('records a monitor run with per-month series and the report as JSON and HTML', async () => {
    const run = await readRun(report.runId!, { runsDir });
    expect(run).toMatchObject({ kind: 'monitor', status: 'finished', synthetic: true });
    expect(run.params).toMatchObject({ model: 'production', modelRunId: production.run!.id, months: parseMonths('2024-03..2024-07') });
    expect(run.data.filter((d) => d.role === 'month').map((d) => d.source)).toEqual(parseMonths('2024-03..2024-07'));
    // The model carried its profile: no training file was read.
    expect(run.data.find((d) => d.role === 'training-profile')).toBeUndefined();
    const legacy = await readRun(legacyReport.runId!, { runsDir });
    expect(legacy.data.find((d) => d.role === 'training-profile')?.path).toBe(production.train.path);
    expect(run.series.rmse!.map((p) => [p.step, p.label, p.value])).toEqual(report.months.map((m, i) => [i, m.month, m.rmse]));
    expect(run.metrics.flaggedMonths).toBe(3);
    const json = JSON.parse(await readFile(join(run.dir, run.artifacts.report!.path), 'utf8')) as MonitorReport;
    expect(json.months).toEqual(report.months);
    const html = await readFile(join(run.dir, run.artifacts.reportHtml!.path), 'utf8');
    expect(html.match(/class="taxi-duration-figure"/g)).toHaveLength(5);
    expect(html).toMatch(/<script src="\.\.\/\.\.\/\.assets\/plotly-[0-9a-f]{12}\.min\.js"><\/script>/);
    expect(html).toContain('Thresholds crossed in 2024-05, 2024-06, 2024-07.');
    expect(html).toContain('SYNTHETIC DATA');
  });

  it('caches the computed profile, and uses metadata.profile when the model file has one', async () => {
    const again = await monitorModel({ model: legacyRunId, months: ['2024-03'], cacheDir, runsDir });
    expect(again.profileSource).toBe('cache');
    expect(again.months[0]).toEqual(legacyReport.months[0]);
    const trainClean = cleanTrips(await readTrips(production.train.path));
    const withProfile = JSON.parse(await readFile(production.outputs.model, 'utf8')) as { metadata: Record<string, unknown> };
    withProfile.metadata.profile = buildProfile({ duration: trainClean.duration, ...trainClean.features });
    const path = join(dir, 'with-profile.json');
    await writeFile(path, JSON.stringify(withProfile));
    const fromModel = await monitorModel({ model: path, months: ['2024-03'], cacheDir, record: false });
    expect(fromModel.profileSource).toBe('model');
    expect(fromModel.months[0]!.duration).toEqual(report.months[0]!.duration);
    expect(fromModel.runId).toBeNull();
    // A zone training never saw as a drop-off: every trip ending there counts as unseen.
    const profile = withProfile.metadata.profile as ReturnType<typeof buildProfile>;
    const march = cleanTrips(await readTrips(join(cacheDir, 'yellow_tripdata_2024-03.parquet')));
    const { codes, labels } = march.features.DOLocationID;
    const tally = new Map<string, number>();
    for (const c of codes) tally.set(labels[c]!, (tally.get(labels[c]!) ?? 0) + 1);
    const [busiest, trips] = [...tally].sort((a, b) => b[1] - a[1])[0]!;
    delete profile.zones.DOLocationID[busiest];
    await writeFile(path, JSON.stringify(withProfile));
    const dropped = await monitorModel({ model: path, months: ['2024-03'], cacheDir, record: false });
    const endingThere = trips / march.length;
    expect(endingThere).toBeGreaterThan(0.01);
    // Up to the few trips already unseen by their pickup zone.
    expect(dropped.months[0]!.unseenShare - report.months[0]!.unseenShare).toBeGreaterThan(endingThere - report.months[0]!.unseenShare - 1e-12);
    expect(dropped.months[0]!.unseenShare - report.months[0]!.unseenShare).toBeLessThanOrEqual(endingThere + 1e-12);
    withProfile.metadata.profile = { version: 9 };
    await writeFile(path, JSON.stringify(withProfile));
    await expect(monitorModel({ model: path, months: ['2024-03'], cacheDir, record: false })).rejects.toThrow(/monitor: .*with-profile\.json: metadata\.profile: profile: version is 9/);
  });

  it('needs the training data for a model without a profile or a run, and takes it when given', async () => {
    const copy = await withoutProfile(production.outputs.model, join(dir, 'lone.json'), (metadata) => (metadata.note = 'edited, so no run has these bytes'));
    await expect(monitorModel({ model: copy, months: ['2024-03'], cacheDir, runsDir: join(dir, 'other-runs') })).rejects.toThrow(
      /no run in the store says which file it was trained on; pass the training data with --training-data/,
    );
    const given = await monitorModel({ model: copy, months: ['2024-03'], cacheDir, runsDir: join(dir, 'other-runs'), trainingData: '2024-01' });
    expect(given.months[0]!.duration.psi).toBe(legacyReport.months[0]!.duration.psi);
  });

  it('refuses a changed training file and bad thresholds', async () => {
    // A run whose training file was rewritten after it trained: its profile can no longer be trusted.
    const store = join(dir, 'changed-runs');
    const trainingFile = join(dir, 'changed.parquet');
    await writeFile(trainingFile, await readFile(production.train.path));
    const run = await startRun({ runsDir: store, kind: 'train' });
    await run.addData({ role: 'train', source: 'changed.parquet', path: trainingFile, generated: true });
    await run.addArtifact('model', await withoutProfile(production.outputs.model, join(dir, 'changed-model.json')), 'model.json');
    await run.finish();
    await writeFile(trainingFile, await readFile(join(cacheDir, 'yellow_tripdata_2024-02.parquet')));
    await expect(monitorModel({ model: run.id, months: ['2024-03'], cacheDir, runsDir: store })).rejects.toThrow(
      /monitor: .*changed\.parquet changed since run .* trained on it \(SHA-256 differs\); pass the training data/,
    );
    await expect(monitorModel({ model: 'production', months: ['2024-03'], cacheDir, runsDir, thresholds: { psi: -1 } })).rejects.toThrow(/threshold psi must be a number ≥ 0/);
    await expect(monitorModel({ model: 'production', months: [], cacheDir, runsDir })).rejects.toThrow(/no months to monitor/);
  });

  it('draws one chart per measure, flagged months in red', () => {
    const figures = monitorFigures(report);
    expect(figures.map((f) => (f.layout.title as { text: string }).text)).toEqual([
      'RMSE per month (SYNTHETIC DATA)',
      'Mean predicted vs mean actual duration (SYNTHETIC DATA)',
      'Trips in zones unseen in training (SYNTHETIC DATA)',
      'Drift against training: population stability index (SYNTHETIC DATA)',
      'Drift against training: Wasserstein distance (SYNTHETIC DATA)',
    ]);
    const bars = figures[0]!.data[0]!;
    expect(bars.y).toEqual(report.months.map((m) => Number(m.rmse.toPrecision(6))));
    expect((bars.marker as { color: string[] }).color).toEqual(['#1f77b4', '#1f77b4', '#d62728', '#d62728', '#d62728']);
    const limit = figures[0]!.data.find((t) => String(t.name).startsWith('limit'))!;
    expect((limit.y as number[])[0]).toBeCloseTo(1.2 * production.val.rmse, 4);
  });
});

describe('months (lib/months.ts), and scoring through predictTrips', () => {
  it('reads ranges and lists, across years', () => {
    expect(parseMonths('2023-11..2024-02')).toEqual(['2023-11', '2023-12', '2024-01', '2024-02']);
    expect(parseMonths('2024-01, 2024-03..2024-04,data/x.parquet')).toEqual(['2024-01', '2024-03', '2024-04', 'data/x.parquet']);
    expect(() => parseMonths('2024-05..2024-03')).toThrow(/runs backwards; write it oldest first \(2024-03..2024-05\)/);
    expect(() => parseMonths('2024-13')).toThrow(/source: month "2024-13"/);
    expect(() => parseMonths('2009-01..2099-12')).toThrow(/more than 600 months/);
    expect(addMonths('2024-01', -1)).toBe('2023-12');
    expect(addMonths('2023-12', 13)).toBe('2025-01');
    expect(monthsBefore('2024-02', 3)).toEqual(['2023-11', '2023-12', '2024-01']);
    expect(() => monthsBefore('2024-02', 0)).toThrow(/^months: a window must be a whole number of months from 1 to 120, got 0$/);
  });

  it('scores cleaned months in chunks exactly as one transform of the whole month', async () => {
    const model = await loadModel(production.outputs.model);
    const clean = cleanTrips(await readTrips(join(cacheDir, 'yellow_tripdata_2024-03.parquet')));
    expect(Array.from(predictTrips(model, clean.features).duration)).toEqual(Array.from(model.model.predict(model.vectorizer.transform(clean.features))));
  });
});

/** Wasserstein-1 distance of two samples, exactly: the area between their empirical CDFs. */
function exactWasserstein(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let x = Math.min(sa[0]!, sb[0]!);
  let area = 0;
  while (i < sa.length || j < sb.length) {
    const next = Math.min(i < sa.length ? sa[i]! : Infinity, j < sb.length ? sb[j]! : Infinity);
    area += Math.abs(i / sa.length - j / sb.length) * (next - x);
    x = next;
    while (i < sa.length && sa[i] === x) i++;
    while (j < sb.length && sb[j] === x) j++;
  }
  return area;
}
