import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBrowser, checkData, checkJupyter, checkLabStart, checkNode, checkPackages, formatReport, wrapWords, type Check } from '../scripts/doctor.ts';

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

  it("warns when JupyterLab would start noisily or outside the project, and knows setup.sh's fix", async () => {
    const root = join(empty, 'project');
    await mkdir(join(root, '.venv/etc/jupyter'), { recursive: true });
    expect(checkLabStart(root)).toMatchObject({ status: 'warn', fix: 'bash environment/setup.sh' });
    expect(checkLabStart(root).detail).toContain('.venv/package.json is missing');
    await writeFile(join(root, '.venv/package.json'), '{"type": "commonjs"}');
    await writeFile(join(root, '.venv/etc/jupyter/jupyter_server_config.json'), JSON.stringify({ ServerApp: { root_dir: join(empty, 'elsewhere') } }));
    expect(checkLabStart(root).detail).toMatch(/^JupyterLab is not rooted at /);
    await writeFile(join(root, '.venv/etc/jupyter/jupyter_server_config.json'), JSON.stringify({ ServerApp: { root_dir: root } }));
    expect(checkLabStart(root)).toMatchObject({ status: 'ok', detail: `clean start, serving ${root}` });
  });

  it('only warns about a missing browser', () => {
    expect(checkBrowser(join(empty, 'no-chromium'))).toMatchObject({ status: 'warn', fix: 'apt-get install -y chromium' });
  });
});

describe('the report', () => {
  const checks: Check[] = [
    { name: 'Node', status: 'ok', detail: 'v20.20.2', fix: '' },
    {
      name: 'data cache',
      status: 'warn',
      detail: '/work/some/where/data: 0 parquet files; yellow 2024-01, 2024-02 not cached yet',
      fix: 'nothing to do online: the notebooks download them on first run (about 50 MB each); offline, copy the files there or set TAXI_DATA_DIR',
    },
    { name: 'tslab kernel', status: 'fail', detail: `'tslab' runs ${'/very/long/path'.repeat(8)}/tslab`, fix: 'bash environment/setup.sh' },
  ];

  it.each([50, 80, 120])('wraps at word boundaries within %i columns, never inside a word', (width) => {
    const report = formatReport(checks, width);
    const lines = report.split('\n');
    // Joining the lines with single spaces gives back each detail and fix exactly: no word was cut.
    const prefix = 2 + Math.max(...checks.map((c) => c.name.length)) + 2;
    const blank = lines.indexOf('');
    const body = lines.slice(0, blank).map((l) => l.slice(prefix)).join(' ');
    expect(body).toBe(checks.map((c) => (c.fix ? `${c.detail} fix: ${c.fix}` : c.detail)).join(' '));
    // Only a word longer than the line itself may overflow it.
    for (const line of lines) {
      if (line.length > width) expect(line.slice(prefix)).not.toContain(' ');
    }
    expect(lines.slice(blank + 1).join(' ')).toBe('doctor: 1 problem(s) to fix before running the notebooks');
  });

  it('wrapWords keeps words whole and gives a too-long word its own line', () => {
    expect(wrapWords('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrapWords('a verylongword b', 5)).toEqual(['a', 'verylongword', 'b']);
  });
});
