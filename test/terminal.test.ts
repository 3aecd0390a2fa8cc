/**
 * lib/terminal.ts: one-line errors and exit codes, a stdout that ends quietly on EPIPE, the progress bar.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { OptionError } from '../lib/index.js';
import { EXIT, OutputClosed, Progress, exitCodeOf, formatError, reportError, safeWriter } from '../lib/terminal.js';

function sink(options: { isTTY?: boolean; fail?: string } = {}) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (options.fail) return done(Object.assign(new Error(`write ${options.fail}`), { code: options.fail }));
      chunks.push(chunk.toString());
      done();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = options.isTTY ?? false;
  return { stream, text: () => chunks.join('') };
}

describe('errors', () => {
  it('maps errors to exit codes: 2 for options, 0 for a closed stdout, 1 otherwise', () => {
    expect(exitCodeOf(new OptionError('x'))).toBe(EXIT.usage);
    expect(exitCodeOf(new OutputClosed('x'))).toBe(EXIT.ok);
    expect(exitCodeOf(new Error('x'))).toBe(EXIT.failed);
    expect(exitCodeOf('a string')).toBe(EXIT.failed);
  });

  it('shows the first line only, or the stack and causes with verbose; URLs redacted either way', () => {
    const cause = new Error('inner https://u:p@h.test/a?sig=1');
    const error = new Error('source: HTTP 403 for https://u:p@h.test/x.parquet?sig=1\nsecond line', { cause });
    expect(formatError(error, false)).toBe('source: HTTP 403 for https://h.test/x.parquet?…');
    const verbose = formatError(error, true);
    expect(verbose).toMatch(/^Error: source: HTTP 403 for https:\/\/h\.test\/x\.parquet\?…\nsecond line\n\s+at /);
    expect(verbose).toMatch(/\nCaused by: Error: inner https:\/\/h\.test\/a\?…/);
    expect(verbose).not.toMatch(/u:p|sig=1/);
    expect(formatError('plain', false)).toBe('taxi-duration: plain');
  });

  it('reports one line and returns the code; a closed stdout prints nothing', () => {
    const err = sink();
    expect(reportError(new OptionError('pipeline: bad option'), err.stream, false)).toBe(2);
    expect(reportError(new OutputClosed('gone'), err.stream, false)).toBe(0);
    expect(err.text()).toBe('pipeline: bad option\n');
  });
});

describe('safeWriter', () => {
  it('writes, and resolves once written', async () => {
    const out = sink();
    await safeWriter(out.stream).write('7.25\n');
    expect(out.text()).toBe('7.25\n');
  });

  it.each([['EPIPE'], ['ERR_STREAM_DESTROYED']])('turns %s into OutputClosed, this write and the next', async (code) => {
    const out = safeWriter(sink({ fail: code }).stream);
    await expect(out.write('x\n')).rejects.toBeInstanceOf(OutputClosed);
    await expect(out.write('y\n')).rejects.toBeInstanceOf(OutputClosed);
  });

  it('turns a full device into one line naming stdout and ENOSPC', async () => {
    const out = safeWriter(sink({ fail: 'ENOSPC' }).stream);
    await expect(out.write('x\n')).rejects.toThrow(/^taxi-duration: cannot write to stdout \(ENOSPC: no space left on the device\)$/);
  });

  it('writes to a destroyed stream end quietly', async () => {
    const s = sink();
    s.stream.destroy();
    await expect(safeWriter(s.stream).write('x\n')).rejects.toBeInstanceOf(OutputClosed);
  });
});

describe('Progress', () => {
  it('redraws one line on a terminal and ends it when a step is done', () => {
    const err = sink({ isTTY: true });
    const p = new Progress(err.stream, false);
    p.update({ message: 'read train', fraction: 0.5 });
    p.update({ message: 'read train', fraction: 1, done: true });
    p.bytes('download 2024-01', 2 * 2 ** 20, 4 * 2 ** 20, true);
    expect(err.text()).toBe(
      '\r\x1b[Kread train [############............] 50%\r\x1b[Kread train [########################] 100%\n' +
        '\r\x1b[Kdownload 2024-01: 2.0 of 4.0 MB [############............] 50%\n',
    );
  });

  it('prints only the lines that end a step elsewhere, every line with verbose', () => {
    const quiet = sink();
    const p = new Progress(quiet.stream, false);
    p.update({ message: 'a', fraction: 0.1 });
    p.update({ message: 'b', done: true });
    p.bytes('download', 10, Number.NaN);
    p.end();
    expect(quiet.text()).toBe('b\n');
    const loud = sink();
    const v = new Progress(loud.stream, true);
    v.update({ message: 'a', fraction: 0.1 });
    v.bytes('download', 2 ** 20, Number.NaN);
    expect(loud.text()).toBe('a\ndownload: 1.0 MB\n');
  });

  it('ends an open line', () => {
    const err = sink({ isTTY: true });
    const p = new Progress(err.stream, false);
    p.update({ message: 'fit', fraction: 0.2 });
    p.end();
    p.end();
    expect(err.text().endsWith('\n')).toBe(true);
    expect(err.text().split('\n')).toHaveLength(2);
  });
});
