import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBrowser, checkData, checkJupyter, checkNode, checkPackages } from '../scripts/doctor.ts';

describe('doctor', () => {
  let empty: string;
  beforeAll(async () => {
    empty = await mkdtemp(join(tmpdir(), 'doctor-'));
  });
  afterAll(async () => {
    await rm(empty, { recursive: true, force: true });
  });

  it.each([
    ['20.18.3', 'fail'],
    ['20.19.0', 'ok'],
    ['22.1.0', 'ok'],
    ['18.20.0', 'fail'],
  ])('Node %s is %s', (version, status) => {
    const check = checkNode(version);
    expect(check.status).toBe(status);
    if (status === 'fail') expect(check.fix).toMatch(/install Node 22/);
  });

  it('names the fix for each missing piece of a fresh checkout', () => {
    const checks = [...checkPackages(empty), ...checkJupyter(empty)];
    expect(checks.map((c) => [c.name, c.status, c.fix])).toEqual([
      ['npm packages', 'fail', 'npm ci'],
      ['library build', 'fail', 'npm run build'],
      ['Jupyter', 'fail', 'bash environment/setup.sh'],
    ]);
  });

  it('finds the course months in the cache, or says they download on first run', async () => {
    const cache = join(empty, 'cache');
    await mkdir(join(cache, 'synthetic', 'v2'), { recursive: true });
    await mkdir(join(cache, 'urls'), { recursive: true });
    const saved = process.env.TAXI_DATA_DIR;
    process.env.TAXI_DATA_DIR = cache;
    try {
      // Generated months in a subfolder (npm start -- --synthetic) are not the course's real data.
      await writeFile(join(cache, 'synthetic', 'v2', 'yellow_tripdata_2024-02_100000.parquet'), '');
      // A URL download named like a month's file is not the month either.
      await writeFile(join(cache, 'urls', '0123456789ab-yellow_tripdata_2024-02.parquet'), '');
      await writeFile(join(cache, 'yellow_tripdata_2024-01.parquet'), '');
      const partial = await checkData(empty);
      expect(partial.status).toBe('warn');
      expect(partial.detail).toContain('1 downloaded from URLs, 1 generated files in subfolders');
      expect(partial.detail).toContain('yellow 2024-02 not cached yet');
      await writeFile(join(cache, 'yellow_tripdata_2024-02.parquet'), '');
      expect((await checkData(empty)).status).toBe('ok');
    } finally {
      if (saved === undefined) delete process.env.TAXI_DATA_DIR;
      else process.env.TAXI_DATA_DIR = saved;
    }
  });

  it('only warns about a missing browser', () => {
    expect(checkBrowser(join(empty, 'no-chromium'))).toMatchObject({ status: 'warn', fix: 'apt-get install -y chromium' });
  });
});
