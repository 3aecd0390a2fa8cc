/**
 * lib/output.ts, the one output writer: atomic writes, which targets are replaced and which
 * refused, staged commits, locks, stale temporaries, folders. Device nodes, FIFOs and links
 * are made in a temporary folder.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  OptionError,
  commitFiles,
  isAlive,
  lockOutput,
  makeDir,
  resolveOutputPath,
  stageFile,
  sweepTemporaries,
  writeFileAtomic,
} from '../lib/index.js';

let dir: string;
let n = 0;
const fresh = async (): Promise<string> => {
  const d = join(dir, `case-${++n}`);
  await mkdir(d);
  return d;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taxi-output-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => p.on('close', r));
  return p.pid!;
}

describe('writeFileAtomic', () => {
  it('writes text, bytes, or through a function, creating the folder; leaves nothing else', async () => {
    const d = await fresh();
    expect(await writeFileAtomic(join(d, 'a', 'b', 'text.json'), '{"a":1}\n')).toBe(join(d, 'a', 'b', 'text.json'));
    await writeFileAtomic(join(d, 'bytes.bin'), new Uint8Array([1, 2, 3]));
    await writeFileAtomic(join(d, 'fn.txt'), async (tmp) => writeFile(tmp, 'from a writer'));
    expect(await readFile(join(d, 'a', 'b', 'text.json'), 'utf8')).toBe('{"a":1}\n');
    expect([...(await readFile(join(d, 'bytes.bin')))]).toEqual([1, 2, 3]);
    expect(await readFile(join(d, 'fn.txt'), 'utf8')).toBe('from a writer');
    expect((await readdir(d)).sort()).toEqual(['a', 'bytes.bin', 'fn.txt']);
  });

  it('replaces a regular file; a failing writer leaves it as it was and no temporary', async () => {
    const d = await fresh();
    const path = join(d, 'model.json');
    await writeFile(path, 'old');
    await expect(writeFileAtomic(path, async (tmp) => {
      await writeFile(tmp, 'half');
      throw new Error('source: the download ended early');
    })).rejects.toThrow(/^source: the download ended early$/);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(d)).toEqual(['model.json']);
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
  });

  it.each([
    ['a character device', (d: string) => execFileSync('mknod', [join(d, 't'), 'c', '1', '3']), /^output: the file .*\/t is a character device, not a regular file; refusing to replace it\. Give the path of a regular file$/],
    ['a FIFO', (d: string) => execFileSync('mkfifo', [join(d, 't')]), /is a FIFO \(named pipe\), not a regular file/],
    ['a folder', async (d: string) => mkdir(join(d, 't')), /is a folder, not a regular file/],
    ['a link to a FIFO', async (d: string) => { execFileSync('mkfifo', [join(d, 'fifo')]); await symlink(join(d, 'fifo'), join(d, 't')); }, /is a link to a FIFO \(named pipe\), not a regular file/],
    ['a link to a folder', async (d: string) => symlink(d, join(d, 't')), /is a link to a folder, not a regular file/],
  ])('refuses %s, before writing anything, as an OptionError', async (_, make, message) => {
    const d = await fresh();
    await make(d);
    const before = lstatSync(join(d, 't'));
    const error = await writeFileAtomic(join(d, 't'), 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionError);
    expect((error as Error).message).toMatch(message);
    const after = lstatSync(join(d, 't'));
    expect([after.mode, after.ino, after.rdev]).toEqual([before.mode, before.ino, before.rdev]);
    expect((await readdir(d)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('follows links, dangling ones too, and replaces their target; the links stay', async () => {
    const d = await fresh();
    await writeFile(join(d, 'v3.json'), 'v3');
    await symlink('v3.json', join(d, 'current.json'));
    await symlink('current.json', join(d, 'latest.json'));
    expect(await writeFileAtomic(join(d, 'latest.json'), 'v4')).toBe(join(d, 'v3.json'));
    expect(await readFile(join(d, 'v3.json'), 'utf8')).toBe('v4');
    expect(lstatSync(join(d, 'latest.json')).isSymbolicLink()).toBe(true);
    await symlink(join(d, 'nowhere.json'), join(d, 'dangling.json'));
    expect(await writeFileAtomic(join(d, 'dangling.json'), 'made')).toBe(join(d, 'nowhere.json'));
    expect(await readFile(join(d, 'dangling.json'), 'utf8')).toBe('made');
    expect(lstatSync(join(d, 'dangling.json')).isSymbolicLink()).toBe(true);
    await symlink('loop-b', join(d, 'loop-a'));
    await symlink('loop-a', join(d, 'loop-b'));
    await expect(writeFileAtomic(join(d, 'loop-a'), 'x')).rejects.toThrow(/is a symbolic link in a loop/);
  });
});

describe('stageFile and commitFiles', () => {
  it('shows nothing until commit, commits in order, and discard leaves the target alone', async () => {
    const d = await fresh();
    await writeFile(join(d, 'model.json'), 'old model');
    const plot = await stageFile(join(d, 'plot.html'), '<html>');
    const model = await stageFile(join(d, 'model.json'), 'new model');
    expect(existsSync(join(d, 'plot.html'))).toBe(false);
    expect(await readFile(join(d, 'model.json'), 'utf8')).toBe('old model');
    expect(existsSync(model.temporary)).toBe(true);
    await commitFiles([plot, model]);
    expect(await readFile(join(d, 'plot.html'), 'utf8')).toBe('<html>');
    expect(await readFile(join(d, 'model.json'), 'utf8')).toBe('new model');
    const dropped = await stageFile(join(d, 'model.json'), 'never');
    await dropped.discard();
    await dropped.discard();
    expect(await readFile(join(d, 'model.json'), 'utf8')).toBe('new model');
    expect((await readdir(d)).sort()).toEqual(['model.json', 'plot.html']);
  });

  it('replaces the file, not its bytes: a reader that opened the old file reads it whole', async () => {
    const d = await fresh();
    const path = join(d, 'model.json');
    const old = 'old model '.repeat(10_000);
    await writeFile(path, old);
    const reader = await open(path, 'r');
    try {
      await writeFileAtomic(path, 'new');
      expect(await reader.readFile('utf8')).toBe(old);
    } finally {
      await reader.close();
    }
    expect(await readFile(path, 'utf8')).toBe('new');
  });

  it('discards the rest when a commit fails', async () => {
    const d = await fresh();
    const first = await stageFile(join(d, 'a.txt'), 'a');
    const second = await stageFile(join(d, 'b.txt'), 'b');
    await rm(first.temporary); // as if someone removed it
    await expect(commitFiles([first, second])).rejects.toThrow(/^output: could not write the file to .*a\.txt \(ENOENT: its temporary file vanished/);
    expect(await readdir(d)).toEqual([]);
  });
});

describe('makeDir', () => {
  it('creates missing levels and accepts an existing folder', async () => {
    const d = await fresh();
    await makeDir(join(d, 'x', 'y', 'z'));
    await makeDir(join(d, 'x', 'y', 'z'));
    expect(lstatSync(join(d, 'x', 'y', 'z')).isDirectory()).toBe(true);
  });

  it('names the component that is a file (an OptionError), without creating anything', async () => {
    const d = await fresh();
    await writeFile(join(d, 'file'), '');
    const nested = await makeDir(join(d, 'file', 'sub', 'deeper'), { what: 'the cache folder', fix: 'choose another --cache-dir' }).catch((e: unknown) => e);
    expect(nested).toBeInstanceOf(OptionError);
    expect((nested as Error).message).toBe(`output: the cache folder ${join(d, 'file', 'sub', 'deeper')} cannot be a folder (${join(d, 'file')} is a regular file); choose another --cache-dir`);
    await expect(makeDir(join(d, 'file'))).rejects.toThrow(/cannot be a folder: it is a regular file; choose another folder$/);
  });
});

describe('lockOutput', () => {
  it('is exclusive while held, removed on release, and taken over from a dead process', async () => {
    const d = await fresh();
    const target = join(d, 'lin_reg.json');
    const lock = await lockOutput(target, { what: 'the model', fix: 'choose another --out' });
    expect(lock.path).toBe(join(d, '.lin_reg.json.lock'));
    await expect(lockOutput(target, { what: 'the model', fix: 'choose another --out' })).rejects.toThrow(
      new RegExp(`^output: the model ${target} is being written by another run \\(process ${process.pid}\\); wait for it to finish or choose another --out \\(if no such run is going on, delete .*\\.lin_reg\\.json\\.lock\\)$`),
    );
    await lock.check();
    await lock.release();
    expect(existsSync(lock.path)).toBe(false);
    await writeFile(lock.path, `${hostname()} ${await deadPid()} feedface\n`);
    const taken = await lockOutput(target);
    await taken.check();
    await taken.release();
    expect(await readdir(d)).toEqual([]);
  });

  it('refuses a lock from another machine, and notices a lock that was taken away', async () => {
    const d = await fresh();
    const target = join(d, 'm.json');
    await writeFile(join(d, '.m.json.lock'), 'other-host 1 abc\n');
    await expect(lockOutput(target)).rejects.toThrow(/by another run \(a process on another machine \(other-host, pid 1\)\)/);
    await rm(join(d, '.m.json.lock'));
    const lock = await lockOutput(target);
    await writeFile(lock.path, 'someone else\n');
    await expect(lock.check()).rejects.toThrow(/^output: lost the lock .*\.m\.json\.lock on the file/);
    await lock.release();
    expect(await readFile(lock.path, 'utf8')).toBe('someone else\n'); // not ours: left alone
  });
});

describe('sweepTemporaries', () => {
  it("removes this machine's temporaries of dead processes and other machines' day-old ones; keeps the rest", async () => {
    const d = await fresh();
    // Learn this machine's tag from a real temporary.
    const staged = await stageFile(join(d, 'probe.json'), 'x');
    const tag = /\.([0-9a-f]{6})-\d+-[0-9a-f]{8}\.tmp$/.exec(staged.temporary)![1]!;
    const other = tag === 'abcdef' ? '123456' : 'abcdef';
    const dead = await deadPid();
    const names = {
      dead: `.model.json.${tag}-${dead}-0011aabb.tmp`,
      live: `.model.json.${tag}-${process.pid}-0022aabb.tmp`,
      foreignOld: `.model.json.${other}-${dead}-0033aabb.tmp`,
      foreignNew: `.model.json.${other}-${dead}-0044aabb.tmp`,
      unrelated: `.model.json.${tag}-${dead}.tmp`,
    };
    for (const name of Object.values(names)) await writeFile(join(d, name), '');
    const old = new Date(Date.now() - 2 * 86_400_000);
    await utimes(join(d, names.foreignOld), old, old);
    expect((await sweepTemporaries(d)).sort()).toEqual([names.dead, names.foreignOld].sort());
    expect(existsSync(staged.temporary)).toBe(true); // in use by this process
    for (const name of [names.live, names.foreignNew, names.unrelated]) expect(existsSync(join(d, name))).toBe(true);
    await staged.discard();
  });

  it('isAlive tells a running process from an ended one', async () => {
    expect(isAlive(process.pid)).toBe(true);
    expect(isAlive(await deadPid())).toBe(false);
    expect(isAlive(0)).toBe(false);
    expect(isAlive(Number.NaN)).toBe(false);
  });
});

describe('resolveOutputPath', () => {
  it('gives the canonical path: one file reached two ways is one target', async () => {
    const d = await fresh();
    await mkdir(join(d, 'real'));
    await symlink(join(d, 'real'), join(d, 'alias'));
    expect(await resolveOutputPath(join(d, 'alias', 'x.json'))).toBe(join(d, 'real', 'x.json'));
    expect(await resolveOutputPath(join(d, 'real', '..', 'real', 'x.json'))).toBe(join(d, 'real', 'x.json'));
  });
});
