/**
 * The benchmark harness's own parts: the summary of repeated runs, the pyarrow rewrite of the
 * benchmark months, and the Python peers, which must give the exact least-squares answer (or
 * the course's, within LSQR's tolerance) before their timings mean anything.
 *
 * The peers run on the committed fixtures, chosen to be awkward: two training files with
 * different schemas (int32 and int64 IDs, `Airport_fee` and none), nulls in the needed
 * columns, durations of exactly 1 and 60 minutes, and validation zones never seen in training
 * (where only the minimum-norm solution gives scikit-learn's predictions).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { markdownTable, summarize, type RunReport, type Sample } from '../scripts/bench-run.js';

const root = resolve(import.meta.dirname, '..');
const python = join(root, '.venv', 'bin', 'python');
const fixtures = join(root, 'test', 'fixtures');
const run = promisify(execFile);

const report = (rmse: number): RunReport => ({
  train: { rowsRead: 10, rowsKept: 9, rmse },
  val: { rowsRead: 10, rowsKept: 8, rmse },
  features: 3,
  seconds: {},
  peakRssBytes: 1,
});

describe('summarize', () => {
  it('takes min and median wall time, the highest peak RSS and the fastest run’s report, ignoring failed runs', () => {
    const samples: Sample[] = [
      { seconds: 3, peakRssBytes: 300, rssFrom: 'GNU time', report: report(3) },
      { seconds: 1, peakRssBytes: 100, rssFrom: 'GNU time', report: report(1) },
      { seconds: 0.1, peakRssBytes: 900, rssFrom: 'GNU time', error: 'exit 1: boom' },
      { seconds: 2, peakRssBytes: 500, rssFrom: 'GNU time', report: report(2) },
      { seconds: 10, peakRssBytes: 200, rssFrom: 'GNU time', report: report(10) },
    ];
    expect(summarize(samples)).toEqual({ runs: 4, minSeconds: 1, medianSeconds: 2.5, peakRssBytes: 500, report: report(1) });
    expect(summarize(samples.slice(0, 3))?.medianSeconds).toBe(2);
    expect(summarize([samples[2]!])).toBeUndefined();
  });

  it('builds a markdown table with the alignment asked for', () => {
    expect(markdownTable(['a', 'b'], 'lr', [['x', '1']])).toBe('| a | b |\n| --- | ---: |\n| x | 1 |');
  });
});

describe.skipIf(!existsSync(python))('the Python peers', () => {
  const py = async (script: string, ...args: string[]) =>
    JSON.parse((await run(python, [join(root, 'scripts', 'python', script), ...args])).stdout) as RunReport & Record<string, unknown>;
  const train = ['yellow_tripdata_2023-01.parquet', 'yellow_tripdata_2022-06.parquet'].map((f) => join(fixtures, f)).join(',');
  const val = join(fixtures, 'yellow_tripdata_2024-01.pyarrow.parquet');
  let exact: RunReport;

  beforeAll(async () => {
    // The exact reference: tuned pandas' reading (course_tuned.py) and the same design, dense, by
    // scipy's lstsq (course_tuned.py --exact takes one training file, so the two are stacked here).
    const code = `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(root, 'scripts', 'python'))})
import pandas as pd
import course_tuned as ct
from bench_common import Clock, Vocabulary, fit_and_score
frames = [ct.read_dataframe(p) for p in ${JSON.stringify(train)}.split(',')]
df = pd.concat([f for f, _ in frames]); dv, rows_val = ct.read_dataframe(${JSON.stringify(val)})
v = Vocabulary(df.PULocationID.to_numpy(), df.DOLocationID.to_numpy())
t, s = fit_and_score(Clock(), ct.design(v, df), df.duration.to_numpy(), ct.design(v, dv), dv.duration.to_numpy(), exact=True)
unseen = int(((v.codes('PULocationID', dv.PULocationID) < 0) | (v.codes('DOLocationID', dv.DOLocationID) < 0)).sum())
# The shared design builder against the course's own DictVectorizer, on both months.
from sklearn.feature_extraction import DictVectorizer
records = lambda d: d.astype({'PULocationID': str, 'DOLocationID': str})[['PULocationID', 'DOLocationID', 'trip_distance']].to_dict(orient='records')
course = DictVectorizer()
same = (list(course.fit(records(df)).feature_names_) == v.names
        and all(abs(course.transform(records(d)) - ct.design(v, d)).max() == 0 for d in (df, dv)))
print(json.dumps({'train': {'rowsRead': sum(r for _, r in frames), 'rowsKept': len(df), 'rmse': t},
                  'val': {'rowsRead': rows_val, 'rowsKept': len(dv), 'rmse': s}, 'features': len(v.names),
                  'unseen': unseen, 'sameAsDictVectorizer': bool(same)}))`;
    const { unseen, sameAsDictVectorizer, ...reference } = JSON.parse((await run(python, ['-c', code])).stdout) as RunReport & {
      unseen: number;
      sameAsDictVectorizer: boolean;
    };
    exact = reference;
    expect(sameAsDictVectorizer).toBe(true);
    // Validation rows with zones the training months lack: the case the minimum norm decides.
    expect(unseen).toBeGreaterThan(100);
  });

  it('polars streaming sums solve the normal equations to the exact answer, month by month', async () => {
    const r = await py('polars_stats.py', train, val);
    expect(r.train).toEqual({ ...exact.train, rmse: expect.closeTo(exact.train.rmse, 12) });
    expect(r.val).toEqual({ ...exact.val, rmse: expect.closeTo(exact.val.rmse, 12) });
    expect(r.features).toBe(exact.features);
  });

  it('the polars pipeline matches it with a tight tolerance, and within LSQR’s default one without', async () => {
    const tight = await py('polars_pipeline.py', train, val, '--tol', '1e-12');
    const loose = await py('polars_pipeline.py', train, val);
    for (const r of [tight, loose]) {
      expect([r.train.rowsRead, r.train.rowsKept, r.val.rowsRead, r.val.rowsKept, r.features]).toEqual([
        exact.train.rowsRead, exact.train.rowsKept, exact.val.rowsRead, exact.val.rowsKept, exact.features,
      ]);
    }
    expect(tight.val.rmse).toBeCloseTo(exact.val.rmse, 9);
    expect(Math.abs(loose.val.rmse - exact.val.rmse) / exact.val.rmse).toBeLessThan(1e-4);
    // An early stop can only fit the training rows worse than the optimum.
    expect(loose.train.rmse).toBeGreaterThanOrEqual(exact.train.rmse * (1 - 1e-12));
  });
});

describe.skipIf(!existsSync(python))('rewrite_with_pyarrow.py', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-rewrite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the file as TLC does: pyarrow, ZSTD, three row groups, dictionary pages, every column OPTIONAL', async () => {
    const out = join(dir, 'month.parquet');
    const { stdout } = await run(python, [join(root, 'scripts', 'python', 'rewrite_with_pyarrow.py'), join(fixtures, 'yellow_tripdata_2024-01.parquet'), out]);
    expect(JSON.parse(stdout)).toMatchObject({ rows: 5000, rowGroups: 3, compression: 'ZSTD', createdBy: expect.stringMatching(/^parquet-cpp-arrow/) });
    const code = `
import json, pyarrow.parquet as pq
f = pq.ParquetFile(${JSON.stringify(out)})
rg = f.metadata.row_group(0)
print(json.dumps({
  'optional': all(f.schema.column(i).max_definition_level == 1 for i in range(len(f.schema))),
  'dictionary': sorted({rg.column(i).path_in_schema for i in range(rg.num_columns) if 'RLE_DICTIONARY' in rg.column(i).encodings}),
  'timestamp': str(f.schema_arrow.field('tpep_pickup_datetime').type),
}))`;
    const meta = JSON.parse((await run(python, ['-c', code])).stdout) as { optional: boolean; dictionary: string[]; timestamp: string };
    expect(meta.optional).toBe(true);
    expect(meta.dictionary).toEqual(expect.arrayContaining(['tpep_pickup_datetime', 'tpep_dropoff_datetime', 'PULocationID', 'DOLocationID', 'trip_distance']));
    expect(meta.timestamp).toBe('timestamp[us]');
    expect(await readdir(dir)).toEqual(['month.parquet']); // no temporary file left behind
  });
});
