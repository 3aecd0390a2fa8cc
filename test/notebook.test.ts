import { formatWithOptions, inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { downloadProgress, notebookParameters, PARAMETER_ENV, showErrorsAsMessages } from '../lib/index.js';

const cell = {
  color: 'yellow',
  train: '2024-01',
  val: '2024-02',
  minDuration: 1,
  maxDuration: 60,
  baseUrl: 'https://d37ci6vzurychx.cloudfront.net/trip-data',
  cacheDir: '../data',
  modelPath: '../models/lin_reg.json',
  runsDir: '../runs',
};

describe('notebookParameters', () => {
  it("takes the cell's values when no environment variable is set (an empty one counts as unset)", () => {
    const told: string[] = [];
    const p = notebookParameters(cell, { env: { TAXI_TRAIN: '' }, onOverride: (m) => told.push(m) });
    expect(p).toEqual(cell);
    expect(told).toEqual([]);
  });

  it('lets environment variables replace values, as papermill injects parameters, and says so', () => {
    const told: string[] = [];
    const env = {
      TAXI_COLOR: 'green',
      TAXI_TRAIN: '/data/my.parquet',
      TAXI_VAL: 'http://127.0.0.1:8000/trip-data/green_tripdata_2024-02.parquet',
      TAXI_MAX_DURATION: '30',
      TLC_BASE_URL: 'http://127.0.0.1:8000/trip-data',
      TAXI_DATA_DIR: '/tmp/cache',
      TAXI_MODEL_PATH: '/tmp/m.json',
      TAXI_RUNS_DIR: '/tmp/runs', // a headless run's store, away from the project's runs/
      TAXI_MIN_DURATION: '1', // the same as the cell: nothing to tell
    };
    const p = notebookParameters(cell, { env, onOverride: (m) => told.push(m) });
    expect(p).toEqual({
      color: 'green',
      train: '/data/my.parquet',
      val: env.TAXI_VAL,
      minDuration: 1,
      maxDuration: 30,
      baseUrl: env.TLC_BASE_URL,
      cacheDir: '/tmp/cache',
      modelPath: '/tmp/m.json',
      runsDir: '/tmp/runs',
    });
    expect(told).toHaveLength(8);
    expect(told).toContain('TAXI_RUNS_DIR=/tmp/runs replaces runsDir ("../runs" in the parameters cell)');
    expect(told).toContain('TAXI_MAX_DURATION=30 replaces maxDuration (60 in the parameters cell)');
    expect(told).toContain('TAXI_TRAIN=/data/my.parquet replaces train ("2024-01" in the parameters cell)');
  });

  it('takes several sources as text or as a list, keeping the form the cell used', () => {
    const told: string[] = [];
    // Text stays text (train() and parseMonths read it); a list stays a list, and a variable's text becomes one.
    const text = notebookParameters({ train: '2023-11..2024-01', val: '2024-02, data/extra.parquet' }, { env: {} });
    expect(text).toEqual({ train: '2023-11..2024-01', val: '2024-02, data/extra.parquet' });
    const list = notebookParameters({ train: ['2023-11', '2023-12'], val: ['2024-01'] }, { env: { TAXI_TRAIN: '2023-10..2023-12' }, onOverride: (m) => told.push(m) });
    expect(list).toEqual({ train: ['2023-10', '2023-11', '2023-12'], val: ['2024-01'] });
    expect(told).toEqual(['TAXI_TRAIN=2023-10..2023-12 replaces train (["2023-11","2023-12"] in the parameters cell)']);
    // The same list written another way is no override.
    expect(notebookParameters({ val: ['2024-01', '2024-02'] }, { env: { TAXI_VAL: '2024-01..2024-02' }, onOverride: (m) => told.push(m) }).val).toEqual(['2024-01', '2024-02']);
    expect(told).toHaveLength(1);
    expect(notebookParameters({ color: 'fhvhv' }, { env: {} }).color).toBe('fhvhv');
  });

  it('returns only the parameters the cell has', () => {
    const p = notebookParameters({ color: 'green', train: '2024-03' }, { env: { TAXI_VAL: '2024-04' } });
    expect(p).toEqual({ color: 'green', train: '2024-03' });
  });

  it('names every environment variable after the one the command and library read', () => {
    expect(PARAMETER_ENV).toMatchObject({ baseUrl: 'TLC_BASE_URL', cacheDir: 'TAXI_DATA_DIR', train: 'TAXI_TRAIN', runsDir: 'TAXI_RUNS_DIR' });
    expect(Object.keys(PARAMETER_ENV).sort()).toEqual(Object.keys(cell).sort());
  });

  it.each([
    [{ colour: 'green' }, {}, "notebook: unknown parameter 'colour' in the parameters cell; the parameters are color, train, val"],
    [{ color: 'blue' }, {}, `notebook: color must be 'yellow' or 'green' (or another dataset: 'fhv', 'fhvhv'), got "blue" in the parameters cell; edit the parameters cell (or unset TAXI_COLOR)`],
    [{ color: 'yellow' }, { TAXI_COLOR: 'Green' }, `notebook: color must be 'yellow' or 'green' (or another dataset: 'fhv', 'fhvhv'), got "Green" from TAXI_COLOR`],
    [{ maxDuration: 60 }, { TAXI_MAX_DURATION: 'sixty' }, "notebook: TAXI_MAX_DURATION must be a number of minutes for maxDuration, got 'sixty'"],
    [{ maxDuration: -5 }, {}, 'notebook: maxDuration must be a number of minutes ≥ 0, got -5 in the parameters cell'],
    [{ minDuration: 30, maxDuration: 30 }, {}, 'notebook: minDuration (30) must be below maxDuration (30); edit the parameters cell'],
    [{ minDuration: 1, maxDuration: 60 }, { TAXI_MIN_DURATION: '90' }, 'notebook: minDuration (90) must be below maxDuration (60)'],
    [{ runsDir: ' ' }, {}, 'notebook: runsDir must be a non-empty string, got " " in the parameters cell; edit the parameters cell (or unset TAXI_RUNS_DIR)'],
    [{ train: '' }, {}, 'notebook: train must name at least one source (a month like 2024-01, a .parquet path or an http(s) URL; or several: 2023-01..2023-03, a comma list, or a list), got ""'],
    [{ train: [] }, {}, 'notebook: train must name at least one source'],
    [{ train: '2024-03..2024-01' }, {}, 'notebook: train in the parameters cell: months: the range 2024-03..2024-01 runs backwards; write it oldest first (2024-01..2024-03); edit the parameters cell (or unset TAXI_TRAIN)'],
    [{ val: ['2024-02'] }, { TAXI_VAL: '2024-13' }, 'notebook: val from TAXI_VAL: source: month "2024-13" is not a month like 2024-01'],
    [{ val: '2024-02' }, { TAXI_VAL: '2024-02,2024-02' }, 'notebook: val from TAXI_VAL: months: 2024-02 is listed twice'],
    [{ baseUrl: 'd37ci6vzurychx.cloudfront.net' }, {}, 'notebook: baseUrl must be an http(s) URL such as https://d37ci6vzurychx.cloudfront.net/trip-data'],
  ])('refuses %j (env %j) with the fix', (values, env, message) => {
    expect(() => notebookParameters(values as never, { env })).toThrow(message);
  });
});

describe('downloadProgress', () => {
  it('reports each quarter of a download of known size once, and starts over for the next', () => {
    const lines: string[] = [];
    const report = downloadProgress((l) => lines.push(l));
    const total = 40 * 2 ** 20;
    for (let got = 0; got <= total; got += 2 ** 20) report(got, total);
    for (let got = 0; got <= total; got += 4 * 2 ** 20) report(got, total);
    const quarters = ['download: 25% of 40.0 MB', 'download: 50% of 40.0 MB', 'download: 75% of 40.0 MB', 'download: 100% of 40.0 MB'];
    expect(lines).toEqual([...quarters, ...quarters]);
  });

  it('reports every 10 MB when the server gives no size', () => {
    const lines: string[] = [];
    const report = downloadProgress((l) => lines.push(l));
    for (let got = 0; got <= 25 * 2 ** 20; got += 2 ** 19) report(got, NaN);
    expect(lines).toEqual(['download: 10.0 MB so far', 'download: 20.0 MB so far']);
  });
});

describe('showErrorsAsMessages', () => {
  // What tslab does with a failing cell's error: console.error(error), i.e. util.formatWithOptions.
  const printed = (error: unknown) => formatWithOptions({ colors: false }, error);
  const restore = showErrorsAsMessages();
  afterAll(() => restore());

  it("prints a library error as its message alone, with a cause's message when it adds one", () => {
    const offline = new Error('source: could not download http://127.0.0.1:9/x.parquet (ECONNREFUSED); set the baseUrl parameter or TLC_BASE_URL');
    expect(printed(offline)).toBe(offline.message);
    const wrapped = new Error('pipeline: output folder /x is not writable (EACCES); choose another --out', { cause: new Error('EACCES: permission denied, mkdir /x') });
    expect(printed(wrapped)).toBe(`${wrapped.message}\n(cause: EACCES: permission denied, mkdir /x)`);
    expect(offline.stack).toContain('\n    at '); // the error object itself keeps its stack
  });

  it("leaves other errors (the learner's own) with their stack", () => {
    const own = new TypeError("Cannot read properties of undefined (reading 'length')");
    expect(printed(own)).toContain('\n    at ');
    expect(printed(own)).toContain('TypeError: Cannot read properties of undefined');
    expect(inspect({ nested: own })).toContain('TypeError');
    // Node's own errors start with a code, not a module's word.
    const node = new Error("ENOENT: no such file or directory, open '/x'");
    expect(printed(node)).toContain('\n    at ');
  });

  it('is idempotent, and its restore function puts Node back', () => {
    expect(showErrorsAsMessages()).toBeTypeOf('function');
    expect(printed(new Error('read: x'))).toBe('read: x');
  });
});
