/**
 * File hash: the SHA-256 of a data file, remembered so that a month is hashed once, not once
 * per run.
 *
 * A run records the content hash of every file it read, so a later reader can tell whether
 * `data/yellow_tripdata_2024-01.parquet` is still the file the model saw. Hashing a 50 MB
 * month takes about a tenth of a second; the cache makes the second run free. An entry is
 * trusted only while the file's size, modification time, change time and inode are what they
 * were when it was hashed: any write, truncation or replacement by rename changes at least
 * one of them (the cache's weak spot is a rewrite of the same size within the file system's
 * timestamp granularity that also keeps the inode; every writer in this project replaces
 * files by rename, which changes the inode).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';

import { writeFileAtomic } from './output.js';

/** A file's size and content hash. */
export interface FileDigest {
  /** The file's real path (symlinks resolved): the cache key. */
  path: string;
  /** Size in bytes. */
  bytes: number;
  /** SHA-256 of the whole file, 64 lowercase hex digits. */
  sha256: string;
  /** Modification time, ISO 8601. */
  modifiedAt: string;
  /** True when the hash came from the cache rather than from reading the file. */
  cached: boolean;
}

/** Options of {@link hashFile}. */
export interface HashFileOptions {
  /** JSON file remembering earlier hashes; none when absent (the file is always read). */
  cacheFile?: string;
}

interface CacheEntry {
  bytes: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  sha256: string;
  hashedAt: string;
}
interface CacheDocument {
  version: 1;
  entries: Record<string, CacheEntry>;
}

/** Entries kept in the cache file; the oldest hashed go first. */
const MAX_ENTRIES = 2000;

/**
 * The SHA-256 and size of a file, read from `cacheFile` when the file is unchanged since it
 * was hashed, else computed by streaming the file (constant memory) and remembered.
 *
 * A cache file that is missing, corrupt or of another version is ignored (and rewritten);
 * failing to write it is not an error, the hash is still returned.
 *
 * @throws Error (`fileHash: ...`) naming the file when it cannot be read or is not a regular file.
 * @example
 * const { sha256, bytes } = await hashFile('data/yellow_tripdata_2024-01.parquet', { cacheFile: 'runs/.cache/file-hashes.json' });
 */
export async function hashFile(path: string, options: HashFileOptions = {}): Promise<FileDigest> {
  let real: string;
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    real = await realpath(path);
    info = await stat(real);
  } catch (error) {
    throw new Error(`fileHash: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (!info.isFile()) throw new Error(`fileHash: ${path} is not a regular file`);
  const modifiedAt = info.mtime.toISOString();
  const cache = options.cacheFile === undefined ? undefined : await readCache(options.cacheFile);
  const hit = cache?.entries[real];
  if (hit !== undefined && hit.bytes === info.size && hit.mtimeMs === info.mtimeMs && hit.ctimeMs === info.ctimeMs && hit.ino === info.ino) {
    return { path: real, bytes: info.size, sha256: hit.sha256, modifiedAt, cached: true };
  }
  const sha256 = await sha256OfFile(real);
  if (cache !== undefined && options.cacheFile !== undefined) {
    cache.entries[real] = { bytes: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, ino: info.ino, sha256, hashedAt: new Date().toISOString() };
    const keys = Object.keys(cache.entries);
    if (keys.length > MAX_ENTRIES) {
      keys.sort((a, b) => cache.entries[a]!.hashedAt.localeCompare(cache.entries[b]!.hashedAt));
      for (const key of keys.slice(0, keys.length - MAX_ENTRIES)) delete cache.entries[key];
    }
    // Two runs hashing at once may each drop the other's new entry: the cost is one more hash later.
    await writeFileAtomic(options.cacheFile, JSON.stringify(cache) + '\n').catch(() => undefined);
  }
  return { path: real, bytes: info.size, sha256, modifiedAt, cached: false };
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch (error) {
    throw new Error(`fileHash: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return hash.digest('hex');
}

async function readCache(file: string): Promise<CacheDocument> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<CacheDocument>;
    if (parsed.version === 1 && typeof parsed.entries === 'object' && parsed.entries !== null) return parsed as CacheDocument;
  } catch {
    // Missing or unreadable: start afresh.
  }
  return { version: 1, entries: {} };
}
