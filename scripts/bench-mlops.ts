/**
 * What tracking and monitoring cost on full-size months (prints numbers; not a test).
 *
 *   npm run bench:mlops -- [--months-dir DIR] [--repeats 3]
 *
 * Uses generated full-size months from the shared cache (`TAXI_DATA_DIR`, e.g. /work/cache):
 * the first file found per month among `<dir>/synthetic/v2/yellow_tripdata_2023-0N_3000000*.parquet`.
 * Measures, interleaved: train() with and without recording a run (the run's hashes warm),
 * hashing a month cold, and monitoring three months (profile computed, then cached).
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { defaultCacheDir, hashFile, monitorModel, promote, train } from '../lib/index.js';

const { values } = parseArgs({ options: { 'months-dir': { type: 'string' }, repeats: { type: 'string' } } });
const dir = values['months-dir'] ?? join(defaultCacheDir(), 'synthetic', 'v2');
const repeats = Number(values.repeats ?? 3);
const files = readdirSync(dir);
const month = (m: string) => {
  const name = files.filter((f) => f.startsWith(`yellow_tripdata_${m}_3000000`) && f.endsWith('.parquet')).sort()[0];
  if (name === undefined) throw new Error(`bench-mlops: no full-size generated ${m} in ${dir}; generate one (npm run bench does)`);
  return join(dir, name);
};
const [jan, feb, mar, apr, may] = ['2023-01', '2023-02', '2023-03', '2023-04', '2023-05'].map(month) as [string, string, string, string, string];
const work = await mkdtemp(join(tmpdir(), 'bench-mlops-'));
const runsDir = join(work, 'runs');
const seconds = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const cold = await seconds(() => hashFile(jan));
  console.log(`hash one month cold (SHA-256, ${(await hashFile(jan)).bytes / 2 ** 20 | 0} MB): ${cold.toFixed(3)} s`);
  const options = { train: jan, val: feb, outDir: join(work, 'models'), plotName: false as const, parallel: false };
  await train({ ...options, runs: runsDir }); // warms the file-hash cache and the OS page cache
  const plain: number[] = [];
  const tracked: number[] = [];
  for (let i = 0; i < repeats; i++) {
    plain.push(await seconds(() => train({ ...options, runs: false })));
    tracked.push(await seconds(() => train({ ...options, runs: runsDir })));
  }
  console.log(`train (one thread, no plot), median of ${repeats}: untracked ${median(plain).toFixed(3)} s, tracked ${median(tracked).toFixed(3)} s, overhead ${(median(tracked) - median(plain)).toFixed(3)} s`);
  console.log(`  untracked: ${plain.map((x) => x.toFixed(2)).join(' ')}; tracked: ${tracked.map((x) => x.toFixed(2)).join(' ')}`);

  const production = await train({ ...options, runs: runsDir });
  await promote(production.run!.id, 'production', { runsDir });
  for (const label of ['profile computed from the training month', 'profile cached']) {
    const t = await seconds(() => monitorModel({ model: 'production', months: [mar, apr, may], runsDir }));
    console.log(`monitor 3 months (${label}): ${t.toFixed(3)} s`);
  }
  console.log(`peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
} finally {
  await rm(work, { recursive: true, force: true });
}
