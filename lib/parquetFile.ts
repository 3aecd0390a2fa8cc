/**
 * Parquet file: opening a local parquet file, reading byte ranges and its footer, with the checks
 * that make a bad file a one-line `read:` error instead of a crash or a huge allocation.
 *
 * Internal (not re-exported): read.ts and the decode worker (readWorker.ts) use it. The footer
 * is parsed by hyparquet's `parquetMetadata` (public API; imported from its defining module to
 * keep start-up short, see read.test's canary that it is the same function as the package's).
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
// The public parquetMetadata, from its own module: the package index also loads row assembly,
// queries and geometry (about 50 ms of every command's start-up). test/readCanary.test.ts
// checks that this is the very function the index exports.
import { parquetMetadata } from 'hyparquet/src/metadata.js';

/** An open parquet file and its size. */
export interface OpenFile {
  readonly path: string;
  readonly handle: FileHandle;
  readonly size: number;
}

/**
 * Opens a file for reading, refusing what cannot be a parquet file (missing, a directory, empty).
 *
 * @throws Error (`read: <file>: ...`) naming the problem and the fix.
 */
export async function openParquet(path: string): Promise<OpenFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`read: ${path}: no such file; check the path (a month such as 2024-01 or a URL is downloaded first: by fetchTrips in code, by --train/--val on the command line)`);
    if (code === 'EISDIR') throw new Error(`read: ${path}: is a directory, not a parquet file; pass the path of a .parquet file`);
    throw new Error(`read: ${path}: cannot open (${code ?? (error as Error).message})`);
  }
  const info = await handle.stat();
  if (info.isDirectory()) {
    await handle.close();
    throw new Error(`read: ${path}: is a directory, not a parquet file; pass the path of a .parquet file`);
  }
  if (info.size === 0) {
    await handle.close();
    throw new Error(`read: ${path}: the file is empty (0 bytes), probably an interrupted download; delete it and fetch again`);
  }
  return { path, handle, size: info.size };
}

/** Reads `length` bytes at `position` (fewer only at the end of the file), into `into` when given (at least `length` long). */
export async function readAt(file: OpenFile, position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
  const bytes = into !== undefined && into.length >= length ? into.subarray(0, length) : new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.handle.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? bytes : bytes.subarray(0, done);
}

/** The file as hyparquet's `AsyncBuffer` (for its public `parquetRead`). */
export function asyncBufferOf(file: OpenFile): AsyncBuffer {
  return {
    byteLength: file.size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? file.size, file.size);
      const bytes = await readAt(file, start, Math.max(0, stop - start));
      return bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
    },
  };
}

const MAGIC = 0x31524150; // 'PAR1' little-endian

/**
 * The most rows a footer may claim per byte of its file. Parquet's run-length and dictionary
 * encodings pack a column of one repeated value into a few bytes per page, so no exact bound
 * exists; real TLC months hold about 0.06 rows per byte, and a file of five constant columns
 * written with one page per column a few hundred. A footer claiming more describes no real
 * trip file: refusing it keeps a corrupt or hostile footer from allocating gigabytes.
 */
export const MAX_ROWS_PER_BYTE = 16_384;

/** Rows any file may claim, whatever its size (a few MB of typed arrays). */
const ALWAYS_ALLOWED_ROWS = 1 << 16;

/**
 * Reads and checks the footer: `PAR1` at both ends, a footer length that fits, a footer that
 * parses, and row counts that are whole, non-negative, add up across row groups, and are
 * believable for the file's size ({@link MAX_ROWS_PER_BYTE}), all before any row is allocated.
 *
 * @throws Error (`read: <file>: ...`) saying what is wrong and to fetch the file again.
 */
export async function readFooter(file: OpenFile): Promise<FileMetaData> {
  const { path } = file;
  const name = basename(path);
  const head = await readAt(file, 0, Math.min(4, file.size));
  const headMagic = head.length === 4 && new DataView(head.buffer).getUint32(0, true) === MAGIC;
  if (!headMagic) {
    throw new Error(`read: ${path}: not a parquet file (it does not start with PAR1); TLC trip data must be the .parquet files (e.g. yellow_tripdata_2024-01.parquet), not CSV or HTML`);
  }
  const truncated = `read: ${path}: the file is truncated (${file.size} bytes, no complete parquet footer); delete it and fetch ${name} again`;
  if (file.size < 12) throw new Error(truncated);
  const tail = await readAt(file, file.size - 8, 8);
  const tailView = new DataView(tail.buffer);
  if (tailView.getUint32(4, true) !== MAGIC) throw new Error(truncated);
  const metadataLength = tailView.getUint32(0, true);
  if (metadataLength + 12 > file.size) throw new Error(truncated);
  const footer = await readAt(file, file.size - 8 - metadataLength, metadataLength + 8);
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(footer.buffer as ArrayBuffer);
  } catch (error) {
    throw new Error(`read: ${path}: the parquet footer is corrupt (${(error as Error).message}); delete it and fetch ${name} again`);
  }
  checkRowCounts(metadata, file);
  return metadata;
}

function checkRowCounts(metadata: FileMetaData, file: OpenFile): void {
  const corrupt = (what: string): Error => new Error(`read: ${file.path}: ${what}; the file is corrupt, delete it and fetch ${basename(file.path)} again`);
  const rows = Number(metadata.num_rows);
  if (!Number.isSafeInteger(rows) || rows < 0) throw corrupt(`the footer claims ${String(metadata.num_rows)} rows`);
  const limit = Math.max(ALWAYS_ALLOWED_ROWS, file.size * MAX_ROWS_PER_BYTE);
  if (rows > limit || rows > 0x7fffffff) {
    throw corrupt(`the footer claims ${rows.toLocaleString('en-US')} rows in a file of ${file.size.toLocaleString('en-US')} bytes, more than parquet can pack in it (at most ${Math.min(limit, 0x7fffffff).toLocaleString('en-US')})`);
  }
  let sum = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const groupRows = Number(group.num_rows);
    if (!Number.isSafeInteger(groupRows) || groupRows < 0) throw corrupt(`row group ${g} claims ${String(group.num_rows)} rows`);
    sum += groupRows;
  }
  if (sum !== rows) throw corrupt(`the footer announces ${rows} rows but its row groups hold ${sum}`);
}
