/**
 * Output: the one way this project writes a file (model, metrics, plot, downloads, generated months).
 *
 * A file is written to a temporary name in its target's folder, flushed to disk (fsync), then
 * renamed over the target, and the folder is flushed so the rename itself survives a crash.
 * Readers see the old file or the new one, never a part of either, whatever happens on the way
 * (a full disk, Ctrl-C, kill -9, a power cut).
 *
 * Which targets are replaced:
 * - a missing file or a regular file: replaced;
 * - a symbolic link: followed (through any number of links, including dangling ones), and the
 *   file it leads to is replaced; the link itself stays a link. This is what `>` does in a
 *   shell, and it lets `models/lin_reg.json` point at a versioned file;
 * - anything else (a folder, a device such as `/dev/null`, a FIFO, a socket, or a link to one of
 *   them): refused with an {@link OptionError} before anything is written, because rename would
 *   replace the device node or FIFO itself (as root, that destroys system files).
 *
 * Temporary files are named `.<name>.<host>-<pid>-<random>.tmp` beside the target. They are
 * deleted when a write fails, on SIGINT, SIGTERM and SIGHUP (then the signal ends the process as
 * it would have), and, when a process died without a chance to clean up (kill -9, a crash), by
 * the next write into the same folder: a temporary whose process is gone is stale.
 *
 * Folders are created with {@link makeDir}, not `mkdir -p`: Node's recursive mkdir loops forever
 * on `/proc/x`, and says EEXIST where one component is a file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { link, lstat, mkdir, open, readFile, readdir, readlink, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

import { OptionError } from './errors.js';

/** What to write: text (UTF-8), bytes, or a function that writes the file at the path it is given. */
export type FileContent = string | Uint8Array | ((temporaryPath: string) => Promise<void>);

/** Options of {@link stageFile} and {@link writeFileAtomic}. */
export interface WriteOptions {
  /** What the file is, for messages: `the model`, `the metrics`. Default `the file`. */
  what?: string;
  /** How to fix a target that cannot be used, for messages: `choose another --out`. */
  fix?: string;
}

/**
 * A file written in full to a temporary name beside its target, not yet visible under the target's name.
 *
 * @example
 * const staged = await stageFile('models/metrics.json', '{}\n');
 * await staged.commit(); // or staged.discard()
 */
export interface StagedFile {
  /** The path the file will have: the given path, with symbolic links followed. */
  readonly target: string;
  /** The temporary file holding the content until {@link StagedFile.commit}. */
  readonly temporary: string;
  /** Renames the temporary over the target and flushes the folder. */
  commit(): Promise<void>;
  /** Deletes the temporary; the target stays as it was. Safe to call twice or after a commit. */
  discard(): Promise<void>;
}

/**
 * Writes `content` to `path` atomically (temporary file, fsync, rename) and returns the path written,
 * which is the target of `path` when `path` is a symbolic link.
 *
 * Creates the parent folder. A target that is not a regular file (a folder, a device, a FIFO,
 * a socket) is refused before anything is written.
 *
 * @throws OptionError (`output: ...`) for a target that is not a regular file or a parent that is
 *   not a folder; Error (`output: ...`) naming the path and the cause (no space left, permission
 *   denied, read-only file system) when writing fails, in which case nothing was replaced.
 * @example
 * await writeFileAtomic('build/metrics.json', JSON.stringify({ rmse: 7.6 }) + '\n', { what: 'the metrics' });
 * await writeFileAtomic('data/x.parquet', async (tmp) => { await writer.writeTo(tmp); });
 */
export async function writeFileAtomic(path: string, content: FileContent, options: WriteOptions = {}): Promise<string> {
  const staged = await stageFile(path, content, options);
  await staged.commit();
  return staged.target;
}

/**
 * Writes `content` beside `path` under a temporary name, flushed to disk, and returns a
 * {@link StagedFile} to commit (rename into place) or discard. Several files staged first and
 * committed together (see {@link commitFiles}) make a run's outputs all-or-nothing.
 *
 * @throws as {@link writeFileAtomic}; when it throws, no temporary is left behind.
 * @example
 * const files = [await stageFile(plotPath, html), await stageFile(modelPath, text)];
 * await commitFiles(files); // the model last
 */
export async function stageFile(path: string, content: FileContent, options: WriteOptions = {}): Promise<StagedFile> {
  const what = options.what ?? 'the file';
  await makeDir(dirname(resolve(path)), { what: `the folder of ${what}`, ...(options.fix !== undefined ? { fix: options.fix } : {}) });
  const target = await resolveOutputPath(path, options);
  const folder = dirname(target);
  await sweepOnce(folder);
  const temporary = join(folder, temporaryName(basename(target)));
  track(temporary);
  try {
    if (typeof content === 'function') {
      await content(temporary);
      await syncFile(temporary);
    } else {
      const handle = await open(temporary, 'wx');
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  } catch (error) {
    await removeQuietly(temporary);
    untrack(temporary);
    throw writeError(error, what, target, options.fix);
  }
  let done = false;
  return {
    target,
    temporary,
    async commit() {
      if (done) return;
      try {
        await rename(temporary, target);
      } catch (error) {
        await removeQuietly(temporary);
        throw writeError(error, what, target, options.fix);
      } finally {
        done = true;
        untrack(temporary);
      }
      await syncFolder(folder);
    },
    async discard() {
      if (done) return;
      done = true;
      await removeQuietly(temporary);
      untrack(temporary);
    },
  };
}

/**
 * Commits staged files in the given order (put the one that matters most last: a reader that
 * sees it may rely on the others); when one fails, the rest are discarded and the error rethrown.
 *
 * @example
 * await commitFiles([plot, metrics, model]);
 */
export async function commitFiles(files: readonly StagedFile[]): Promise<void> {
  for (let i = 0; i < files.length; i++) {
    try {
      await files[i]!.commit();
    } catch (error) {
      await Promise.all(files.slice(i + 1).map((f) => f.discard()));
      throw error;
    }
  }
}

/**
 * Where a write to `path` lands: `path` itself when it is missing or a regular file, the file at
 * the end of its chain of symbolic links when it is a link; absolute, with the folder's links
 * resolved, so two paths to one file give one answer.
 *
 * @throws OptionError (`output: ...`) when the target is a folder, a device, a FIFO or a socket, or
 *   the links loop.
 * @example
 * await resolveOutputPath('models/lin_reg.json'); // '/work/models/lin_reg.json'
 * await resolveOutputPath('/dev/null');           // throws: output: ... is a character device, not a regular file
 */
export async function resolveOutputPath(path: string, options: WriteOptions = {}): Promise<string> {
  const what = options.what ?? 'the file';
  const given = resolve(path);
  let at = given;
  for (let hops = 0; hops <= 40; hops++) {
    const info = await lstat(at).catch(absentAs(undefined));
    if (info === undefined || info.isFile()) return canonical(at);
    if (!info.isSymbolicLink()) throw notRegular(what, path, info, at !== given, options.fix);
    // stat follows the whole chain, magic links such as /proc/self/fd/1 included (readlink would give 'pipe:[…]').
    const followed = await stat(at).catch((error: NodeJS.ErrnoException) => (error.code === 'ELOOP' ? LOOP : absentAs(undefined)(error)));
    if (followed === LOOP) break;
    if (followed !== undefined) {
      if (!followed.isFile()) throw notRegular(what, path, followed, true, options.fix);
      return realpath(at);
    }
    // A dangling link: follow it by hand and create the file it names, as a shell's `>` does.
    at = resolve(dirname(at), await readlink(at));
  }
  throw new OptionError(`output: ${what} ${path} is a symbolic link in a loop (or a chain of more than 40); ${options.fix ?? 'give the path of a regular file'}`);
}

/** Options of {@link makeDir}. */
export interface MakeDirOptions {
  /** What the folder is, for messages: `the cache folder`. Default `the folder`. */
  what?: string;
  /** How to fix it, for messages: `choose another --cache-dir`. */
  fix?: string;
}

/**
 * Creates a folder and its missing parents (as `mkdir -p`), one level at a time.
 *
 * Node's `mkdir(path, { recursive: true })` spins forever on a path under `/proc` and reports a
 * bare EEXIST when a component is a file; this names the component and the fix.
 *
 * @throws OptionError (`output: ...`) when a component of the path is a file; Error (`output: ...`)
 *   with the system's reason (ENOENT under /proc, EACCES, EROFS) when a folder cannot be created.
 * @example
 * await makeDir('data/urls', { what: 'the cache folder', fix: 'choose another --cache-dir' });
 */
export async function makeDir(dir: string, options: MakeDirOptions = {}): Promise<void> {
  const what = options.what ?? 'the folder';
  const fix = options.fix ?? 'choose another folder';
  const path = resolve(dir);
  const missing: string[] = [];
  for (let at = path; ; ) {
    const info = await stat(at).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw new Error(`output: cannot use ${what} ${path} (${error.code ?? error.message} on ${at}); ${fix}`, { cause: error });
    });
    if (info !== undefined) {
      if (!info.isDirectory()) {
        const where = at === path ? '' : ` (${at} is ${kindOf(info)})`;
        throw new OptionError(`output: ${what} ${path} cannot be a folder${where || `: it is ${kindOf(info)}`}; ${fix}`);
      }
      break;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const folder of missing.reverse()) {
    try {
      await mkdir(folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(folder).catch(() => undefined))?.isDirectory()) continue; // made meanwhile
      throw new Error(`output: cannot create ${what} ${path} (${describeCode(error)}${folder === path ? '' : ` at ${folder}`}); ${fix}`, { cause: error });
    }
  }
}

/**
 * A lock on an output path, held by this process until {@link OutputLock.release}.
 *
 * @example
 * const lock = await lockOutput('models/lin_reg.json');
 * try { await lock.check(); await writeFileAtomic(...); } finally { await lock.release(); }
 */
export interface OutputLock {
  /** The lock file, `.<name>.lock` beside the target. */
  readonly path: string;
  /** Throws when the lock is no longer this process's (someone removed it by hand, or broke it). */
  check(): Promise<void>;
  /** Removes the lock file if it is still this process's. */
  release(): Promise<void>;
}

/**
 * Takes the lock on an output path, so two runs never interleave their writes to it (a model from
 * one run beside the metrics of another). The lock is a file `.<name>.lock` beside the target,
 * holding this machine's name, the process id and a token. A lock whose process is gone (on
 * this machine) is stale and taken over; one held by a live process, or by a process on another
 * machine sharing the folder, is refused at once (no waiting). SIGINT/SIGTERM remove it as they
 * remove temporaries; after kill -9 the next run finds it stale.
 *
 * @throws Error (`output: ...`) naming the holder when the path is locked.
 * @example
 * const lock = await lockOutput('models/lin_reg.json', { what: 'the model', fix: 'choose another --out' });
 */
export async function lockOutput(path: string, options: WriteOptions = {}): Promise<OutputLock> {
  const what = options.what ?? 'the file';
  const target = await resolveOutputPath(path, options);
  const lockPath = join(dirname(target), `.${basename(target)}.lock`);
  const token = randomBytes(8).toString('hex');
  const mine = `${HOST} ${process.pid} ${token}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    // Written whole under another name first, then linked into place: the lock never exists half-written.
    const draft = join(dirname(target), temporaryName(`${basename(target)}.lock`));
    track(draft);
    try {
      await writeFile(draft, mine, { flag: 'wx' });
      await link(draft, lockPath);
      track(lockPath);
      return {
        path: lockPath,
        async check() {
          const now = await readFile(lockPath, 'utf8').catch(() => '');
          if (now !== mine) throw new Error(`output: lost the lock ${lockPath} on ${what} (removed or taken by another run); nothing was written, run again`);
        },
        async release() {
          untrack(lockPath);
          if ((await readFile(lockPath, 'utf8').catch(() => '')) === mine) await removeQuietly(lockPath);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(error, `the lock of ${what}`, lockPath, options.fix);
    } finally {
      await removeQuietly(draft);
      untrack(draft);
    }
    const holder = parseLock(await readFile(lockPath, 'utf8').catch(() => undefined));
    if (holder === undefined) continue; // removed meanwhile: try again
    if (holder.host === HOST && !isAlive(holder.pid)) {
      await removeQuietly(lockPath); // stale: its process is gone
      continue;
    }
    const who = holder.host === HOST ? `process ${holder.pid}` : `a process on another machine (${holder.host}, pid ${holder.pid})`;
    throw new Error(
      `output: ${what} ${target} is being written by another run (${who}); wait for it to finish${options.fix ? ` or ${options.fix}` : ''}` +
        ` (if no such run is going on, delete ${lockPath})`,
    );
  }
  throw new Error(`output: could not take the lock ${lockPath} on ${what}: other runs keep taking it; try again`);
}

/**
 * Deletes the temporary files that crashed or killed writers left in a folder: this project's
 * `.<name>.<host>-<pid>-<random>.tmp` whose process is gone (on this machine), or, for another
 * machine's, untouched for a day. Returns the names deleted. {@link stageFile} calls it once per
 * folder per process, so a run cleans up after the run that was killed before it.
 *
 * @example
 * await sweepTemporaries('data'); // ['.yellow_tripdata_2024-01.parquet.1a2b3c-4242-9f8e7d6c.tmp']
 */
export async function sweepTemporaries(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMPORARY_RE.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    if (live.has(path)) continue;
    const [, host, pid] = m;
    const stale = host === HOST_TAG
      ? !isAlive(Number(pid))
      : Date.now() - ((await lstat(path).catch(() => undefined))?.mtimeMs ?? Date.now()) > 24 * 3600_000;
    if (stale && (await unlink(path).then(() => true, () => false))) removed.push(name);
  }
  return removed;
}

/**
 * Whether a process with this id runs on this machine (a process of another user counts).
 *
 * @example
 * isAlive(process.pid); // true
 */
export function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const HOST = hostname() || 'localhost';
/** Six hex digits of the host name: enough to tell this machine's temporaries from another's in a shared folder. */
const HOST_TAG = createHash('sha256').update(HOST).digest('hex').slice(0, 6);
const TEMPORARY_RE = /^\..+\.([0-9a-f]{6})-(\d+)-[0-9a-f]{8}\.tmp$/;

const LOOP = Symbol('a loop of symbolic links');

/** The path with its folder's links resolved, so one file reached two ways is one target. */
async function canonical(path: string): Promise<string> {
  const folder = await realpath(dirname(path)).catch(() => dirname(path));
  return join(folder, basename(path));
}

function temporaryName(name: string): string {
  // Names stay under the usual 255-byte limit whatever the target's name.
  return `.${name.slice(0, 200)}.${HOST_TAG}-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

function parseLock(text: string | undefined): { host: string; pid: number } | undefined {
  if (text === undefined) return undefined;
  const [host, pid] = text.trim().split(' ');
  // An unreadable lock (written by something else) counts as held by a process that cannot be checked.
  return { host: host || '?', pid: Number(pid) };
}

const swept = new Set<string>();
async function sweepOnce(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  await sweepTemporaries(dir);
}

// Temporaries and locks of this process, removed on a terminating signal or exit.
const live = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function track(path: string): void {
  live.add(path);
  if (live.size === 1) {
    for (const signal of SIGNALS) process.on(signal, onSignal);
    process.on('exit', removeLive);
  }
}

function untrack(path: string): void {
  if (!live.delete(path) || live.size > 0) return;
  for (const signal of SIGNALS) process.off(signal, onSignal);
  process.off('exit', removeLive);
}

function removeLive(): void {
  for (const path of live) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  removeLive();
  for (const path of [...live]) untrack(path);
  // Had nobody else listened, Node would have ended the process: end it the same way (status 128 + n).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncFolder(dir: string): Promise<void> {
  // Makes the rename durable; some platforms cannot open a folder, which is fine.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

function absentAs<T>(value: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT') return value;
    throw error;
  };
}

function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return 'a regular file';
}

function notRegular(what: string, given: string, info: Stats, viaLink: boolean, fix: string | undefined): OptionError {
  const kind = viaLink ? `a link to ${kindOf(info)}` : kindOf(info);
  return new OptionError(
    `output: ${what} ${given} is ${kind}, not a regular file; refusing to replace it. ${fix ? `${fix[0]!.toUpperCase()}${fix.slice(1)}` : 'Give the path of a regular file'}`,
  );
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device; free some space or choose another folder',
  EDQUOT: 'disk quota exceeded; free some space or choose another folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
};

function describeCode(error: unknown, reasons: Record<string, string> = REASONS): string {
  const e = error as NodeJS.ErrnoException;
  const reason = e.code !== undefined ? reasons[e.code] : undefined;
  return reason !== undefined ? `${e.code}: ${reason}` : (e.code ?? e.message);
}

function writeError(error: unknown, what: string, target: string, fix: string | undefined): Error {
  if (error instanceof OptionError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  // A writer function's own error (a download that failed, a generator refusing its options) passes through.
  if (code === undefined && error instanceof Error) return error;
  const hint = code === 'ENOSPC' || code === 'EDQUOT' || fix === undefined ? '' : `; ${fix}`;
  const reasons = { ...REASONS, EISDIR: 'it is a folder', ENOENT: 'its temporary file vanished: the write was interrupted' };
  return new Error(`output: could not write ${what} to ${target} (${describeCode(error, reasons)})${hint}; nothing was replaced`, { cause: error });
}
