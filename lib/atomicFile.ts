/**
 * Atomic file writes for the runs store, the registry and the monitoring report.
 *
 * ONE function, on purpose: the project is getting a shared output writer (issue 9) that
 * every file the project writes goes through; when it lands, this module's body becomes a
 * call to it and nothing else here changes. Internal: not re-exported from the index.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to `path` so that readers see the old file or the new one, never half of
 * either: a temporary file in the same folder (same file system, so the rename is atomic),
 * flushed to disk, renamed over `path`, then the folder flushed so the rename survives a
 * power cut. Creates the folder. On failure the temporary file is removed and `path` is as
 * it was.
 *
 * @throws the file system's error (the caller adds its module's word and the path).
 * @example
 * await writeFileAtomic('runs/20260101-120000-ab12cd/run.json', JSON.stringify(run));
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temporary = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncFolder(dir);
}

/**
 * Flushes a folder's entries (a rename into it) to disk; best effort, as some platforms cannot
 * open a folder.
 *
 * @example
 * await rename(staging, finalPath); await syncFolder(dirname(finalPath));
 */
export async function syncFolder(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Best effort.
  }
}
