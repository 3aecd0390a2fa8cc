/**
 * The `predict` command: in-process through `main` (stdin, stdout and stderr are streams the
 * test owns), and in a child process only where a real pipe or device is the point (EPIPE from
 * `| head -1`, ENOSPC from a full device made with mknod).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../lib/cli.js';
import { predictRecords, predictTrips, readTrips, writeSyntheticTrips, type LoadedModel } from '../lib/index.js';
import { fitModel } from './predictModel.js';

const root = resolve(import.meta.dirname, '..');
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

let dir: string;
let modelPath: string;
let saved: LoadedModel;
let parquet: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-predict-cli-'));
  ({ path: modelPath, saved } = await fitModel(dir, 'lin_reg.json'));
  parquet = join(dir, 'yellow_tripdata_2024-03.parquet');
  await writeSyntheticTrips(parquet, { month: '2024-03', rows: 3000, seed: 13, quirks: { neededNull: 0.01 } });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A writable that records what it gets; `fail` makes its n-th write fail with that error code. */
function sink(fail?: { code: string; after: number }) {
  const chunks: string[] = [];
  let writes = 0;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (fail && writes++ >= fail.after) {
        done(Object.assign(new Error(`${fail.code}: simulated, write`), { code: fail.code }));
        return;
      }
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

async function predict(args: string[], stdin: string | Iterable<Buffer> | AsyncIterable<Buffer> = '', out = sink()) {
  const err = sink();
  const input = typeof stdin === 'string' ? Readable.from([Buffer.from(stdin)]) : Readable.from(stdin);
  const code = await main(['predict', '--model', modelPath, ...args], { stdout: out.stream, stderr: err.stream, stdin: input });
  return { code, stdout: out.text(), stderr: err.text() };
}

const a = { PULocationID: 161, DOLocationID: '236', trip_distance: 2.1 };
const b = { PULocationID: '43', DOLocationID: 238, trip_distance: 0.9 };

describe('predict (in-process)', () => {
  it('prints the library’s numbers for JSON records, exactly, in every input shape', async () => {
    const expected = Array.from(predictRecords(saved, [a, b]).duration, String).join('\n') + '\n';
    for (const stdin of [
      JSON.stringify([a, b]),
      JSON.stringify([a, b], null, 2),
      `${JSON.stringify(a)}\r\n\r\n${JSON.stringify(b)}\r\n`,
      `${JSON.stringify(a, null, 2)}\n${JSON.stringify(b, null, 2)}\n`,
    ]) {
      const r = await predict(['-q'], stdin);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, stdin).toBe(expected);
      expect(r.stderr).toBe('');
    }
    const one = await predict(['-q'], JSON.stringify(a, null, 2));
    expect(one.stdout).toBe(expected.split('\n')[0] + '\n');
  });

  it('prints every row of a parquet file as predictTrips gives it, null where a needed value is null', async () => {
    const r = await predict([parquet, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const { duration } = predictTrips(saved, await readTrips(parquet));
    expect(lines).toHaveLength(duration.length);
    let nulls = 0;
    lines.forEach((line, i) => {
      if (Number.isNaN(duration[i]!)) {
        expect(line).toBe('null');
        nulls++;
      } else expect(Object.is(Number(line), duration[i])).toBe(true);
    });
    expect(nulls).toBeGreaterThan(5);
  });

  it('notes unseen zones and a synthetic model on stderr, unless --quiet', async () => {
    const stdin = JSON.stringify([a, { ...b, PULocationID: 99999 }, { ...b, DOLocationID: '88888' }]);
    const r = await predict([], stdin);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^predict: note: .*lin_reg\.json was trained on SYNTHETIC \(generated\) data\n/);
    expect(r.stderr).toMatch(/^predict: note: 2 of 3 trips had a zone the model never saw in training; it contributed nothing/m);
    expect((await predict(['-q'], stdin)).stderr).toBe('');
  });

  it.each([
    // JSON Lines: the line that fails is named (blank lines count).
    [`${JSON.stringify(a)}\n\n${JSON.stringify(a)}\n{"PULocationID":1,`, /^predict: stdin is not JSON records: line 4 is not JSON \(.*\); pipe a JSON array, a single JSON object, or one JSON object per line \(JSON Lines\)$/],
    [`${JSON.stringify(a)}\n\n{"PULocationID":1,"trip_distance":1}`, /^predict: record 2 \(line 3\): DOLocationID must be a zone ID \(a string or an integer\), got nothing \(the field is missing\)$/],
    [`${JSON.stringify(a)}\n[1]`, /^predict: record 2 \(line 2\) is a JSON array, not a JSON object; pipe a JSON array/],
    // A pretty-printed object with a mistake: its own line, not "line 1: {".
    [`{\n  "PULocationID": 1,\n  "DOLocationID": 2\n  "trip_distance": 1\n}`, /^predict: stdin is not JSON records: the JSON text is broken on line 4 \(expected ','\); pipe/],
    ['[{"PULocationID":1}', /^predict: stdin is not JSON records: the JSON array is broken on line 1 \(.*\); pipe a JSON array/],
    ['42', /^predict: record 1 \(line 1\) is a JSON number, not a JSON object; pipe a JSON array/],
    ['[{"PULocationID": "1"}]', /^predict: record 1: DOLocationID must be a zone ID/],
    ['[{"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1e999}]', /^predict: record 1: trip_distance must be a finite number, got Infinity$/],
    ['', /^predict: no records on stdin; pipe a JSON array/],
    [' \n ', /^predict: no records on stdin; pipe a JSON array/],
    ['[]', /^predict: stdin has no records \(an empty JSON array\); nothing to predict$/],
  ])('fails on %j with one line naming the problem', async (stdin, pattern) => {
    const r = await predict([], stdin);
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(pattern);
    expect(r.stderr).not.toMatch(/^\s+at |Error:/m);
  });

  it('refuses a missing model and an empty file in one line', async () => {
    const missing = await main(['predict', '--model', join(dir, 'missing.json')], { stdout: sink().stream, stderr: sink().stream, stdin: Readable.from([]) });
    expect(missing).toBe(1);
    const empty = join(dir, 'empty.parquet');
    await writeSyntheticTrips(empty, { month: '2024-03', rows: 0, seed: 1 });
    const r = await predict([empty]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^predict: .*empty\.parquet has no rows; nothing to predict$/);
  });

  it('stops quietly when stdout is closed (EPIPE), without reading the rest of stdin', async () => {
    let produced = 0;
    async function* endless() {
      for (;;) {
        produced++;
        yield Buffer.from(`${JSON.stringify(a)}\n`.repeat(1000));
      }
    }
    const r = await predict(['-q'], endless(), sink({ code: 'EPIPE', after: 1 }));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').length).toBeGreaterThan(1000);
    expect(produced).toBeLessThan(100);
  });

  it('fails in one line when stdout cannot be written (ENOSPC)', async () => {
    const r = await predict([parquet, '-q'], '', sink({ code: 'ENOSPC', after: 0 }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('taxi-duration: cannot write to stdout (ENOSPC: no space left on the device)\n');
  });
});

describe('predict (child process: real pipes and devices)', () => {
  function run(shell: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((done, fail) => {
      const child = spawn('bash', ['-c', `set -o pipefail; ${shell}`], {
        env: { ...process.env, NODE: process.execPath, CLI: `${process.execPath} --import ${tsxLoader} ${join(root, 'lib', 'cli.ts')}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stdout, stderr }));
    });
  }

  it('`predict … | head -1` prints one line and ends quietly (EPIPE), even with input still coming', async () => {
    const records = join(dir, 'many.jsonl');
    await writeFile(records, `${JSON.stringify(a)}\n`.repeat(300_000));
    // yes(1)-like endless input behind a real file, so the command sees EPIPE long before the end.
    const r = await run(`cat ${records} ${records} ${records} | $CLI predict -q --model ${modelPath} | head -1; echo "status \${PIPESTATUS[1]}" >&2`);
    expect(r.stdout).toBe(`${predictRecords(saved, [a]).duration[0]}\n`);
    expect(r.stderr).toBe('status 0\n');
  });

  it('`predict … > full` (a /dev/full device made in a temp folder) fails with one line and exit 1', async (ctx) => {
    // Our own device node (mknod c 1 7), never the system's /dev/full.
    const full = join(dir, 'full');
    const made = spawnSync('mknod', [full, 'c', '1', '7']);
    if (made.status !== 0) ctx.skip(`cannot make a device node here (mknod: ${made.stderr.toString().trim()})`);
    const r = await run(`$CLI predict ${parquet} -q --model ${modelPath} > ${full}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('taxi-duration: cannot write to stdout (ENOSPC: no space left on the device)\n');
  });
});
