/**
 * Read row group: the needed column chunks of one row group, decoded into typed arrays, on
 * whichever thread runs it.
 *
 * Internal (not re-exported). read.ts calls it for each row group on its own thread, and the
 * decode workers (readWorker.ts) call it for the row groups handed to them; both get the same
 * numbers and the same `read:` messages. Each chunk goes through the fast path
 * (parquetPages.ts); whatever the fast path cannot do goes to hyparquet's public API
 * (readFallback.ts), and only what neither can decode is an error.
 */
import { basename } from 'node:path';
import type { FileMetaData } from 'hyparquet';
import { readAt, readFooter, type OpenFile } from './parquetFile.js';
import { decodeColumnChunk, ImpossiblePageError, UnsupportedChunkError, ZoneIdError, type ChunkSpec, type PageDecompressor } from './parquetPages.js';
import { decodeChunkWithHyparquet, UnsupportedByHyparquetError } from './readFallback.js';
import { zstdPageDecompressor } from './zstd.js';

/**
 * Which of the five trip values are missing in a row: one bit per column.
 *
 * @example
 * const noDistance = (trips.missing[i]! & MISSING.trip_distance) !== 0;
 */
export const MISSING = {
  pickup: 1,
  dropoff: 2,
  PULocationID: 4,
  DOLocationID: 8,
  trip_distance: 16,
} as const;

/**
 * The five trip columns, by the names this library uses.
 *
 * @example
 * const column: TripColumn = 'trip_distance';
 */
export type TripColumn = keyof typeof MISSING;

/** How one trip column is read from a file (plain data: it is posted to decode workers). */
export interface ColumnPlan {
  readonly column: TripColumn;
  /** The file's name for it. */
  readonly name: string;
  /** Index of its chunk within each row group. */
  readonly chunkIndex: number;
  /** Its type and conversion, without the codec (which each row group's chunk states). */
  readonly spec: Omit<ChunkSpec, 'codec'>;
}

/** One row group's place in the file (plain data). */
export interface RowGroupJob {
  /** Index of the row group in the file. */
  readonly index: number;
  /** The file row of its first row. */
  readonly rowStart: number;
  readonly rows: number;
  /** Per plan (same order): where its chunk's bytes are and their codec. */
  readonly chunks: readonly { readonly start: number; readonly length: number; readonly codec: string }[];
}

/** The five trip columns and the missing bits, for a whole file or some row groups. */
export interface TripBuffers {
  pickup: Float64Array;
  dropoff: Float64Array;
  PULocationID: Int32Array;
  DOLocationID: Int32Array;
  trip_distance: Float64Array;
  missing: Uint8Array;
}

/**
 * Buffers for `rows` rows, on a SharedArrayBuffer when `shared` (decode workers then write
 * into them directly).
 */
export function allocateBuffers(rows: number, shared = false): TripBuffers {
  const make = <T>(Type: { new (buffer: ArrayBufferLike): T; BYTES_PER_ELEMENT: number }): T =>
    new Type(shared ? new SharedArrayBuffer(rows * Type.BYTES_PER_ELEMENT) : new ArrayBuffer(rows * Type.BYTES_PER_ELEMENT));
  return {
    pickup: make(Float64Array),
    dropoff: make(Float64Array),
    PULocationID: make(Int32Array),
    DOLocationID: make(Int32Array),
    trip_distance: make(Float64Array),
    missing: make(Uint8Array),
  };
}

/**
 * Chunks decoded on this thread by the fast path and by hyparquet so far: how the tests see
 * that a file's encodings stay on the fast path (a silent fallback would be correct but slow).
 */
export const chunkCounts = { fast: 0, hyparquet: 0 };

/** Which decoder reads the chunks: the fast path with hyparquet behind it, or hyparquet alone. */
export type Decoder = 'auto' | 'hyparquet';

/** What decoding a row group needs besides the job: the file, its plans, and the decompressor. */
export interface RowGroupContext {
  readonly file: OpenFile;
  readonly plans: readonly ColumnPlan[];
  /** Trip columns the file does not have: filled with NaN (never marked missing). */
  readonly absent: readonly TripColumn[];
  readonly decompress: PageDecompressor;
  readonly decoder: Decoder;
  /** The footer, parsed on first need (only the fallback needs it). */
  metadata?: FileMetaData;
  /**
   * Where a chunk's bytes are read into, when the caller keeps a buffer for it (read.ts's
   * ReadBuffers): a chunk is decoded before the next is read, so one buffer serves them all.
   */
  readonly scratch?: (length: number) => Uint8Array;
}

/**
 * Decodes the needed chunks of one row group into `buffers` from row `offset` on. The
 * missing bits of these rows must be 0 on entry (decoding only sets the bits of nulls).
 *
 * @throws Error (`read: <file>: ...`) as {@link decodeChunk}.
 */
export async function decodeRowGroup(context: RowGroupContext, job: RowGroupJob, buffers: TripBuffers, offset: number): Promise<void> {
  fillAbsent(context.absent, job.rows, buffers, offset);
  for (let i = 0; i < context.plans.length; i++) await decodeChunk(context, i, job, buffers, offset);
}

/** Fills the columns the file does not have with NaN (or -1), leaving their missing bits alone. */
export function fillAbsent(absent: readonly TripColumn[], rows: number, buffers: TripBuffers, offset: number): void {
  for (const column of absent) {
    const out = buffers[column];
    out.fill(out instanceof Int32Array ? -1 : NaN, offset, offset + rows);
  }
}

/**
 * Decodes one needed chunk (`context.plans[planIndex]`) of a row group into `buffers` from
 * row `offset` on: the fast path first, hyparquet's public API for what it cannot do.
 *
 * @throws Error (`read: <file>: ...`) for a truncated or corrupt chunk (fetch it again), a
 *   zone ID outside the int32 range (never truncated), or data that neither the fast path nor
 *   hyparquet can decode (what it is and how to convert the file).
 */
export async function decodeChunk(context: RowGroupContext, planIndex: number, job: RowGroupJob, buffers: TripBuffers, offset: number): Promise<void> {
  const { file } = context;
  const plan = context.plans[planIndex]!;
  const chunk = job.chunks[planIndex]!;
  if (chunk.start < 0 || chunk.length < 0 || chunk.start + chunk.length > file.size) {
    throw new Error(
      `read: ${file.path}: the file is truncated (column ${plan.name} ends at byte ${chunk.start + chunk.length}, the file has ${file.size}); delete it and fetch ${basename(file.path)} again`,
    );
  }
  const spec: ChunkSpec = { ...plan.spec, codec: chunk.codec };
  const bit = MISSING[plan.column];
  const target = { out: buffers[plan.column], missing: buffers.missing, bit, offset };
  let fastError: unknown;
  if (context.decoder === 'auto') {
    try {
      const bytes = await readAt(file, chunk.start, chunk.length, context.scratch?.(chunk.length));
      decodeColumnChunk(bytes, job.rows, spec, context.decompress, target);
      chunkCounts.fast++;
      return;
    } catch (error) {
      if (error instanceof ZoneIdError) throw zoneError(file, plan, job, error);
      // A claim no chunk can hold: another decoder would allocate what it claims.
      if (error instanceof ImpossiblePageError) throw corruptError(file, plan, job, error.message);
      fastError = error;
      // Start the fallback from a clean slate: the fast path may have marked some nulls.
      for (let r = offset; r < offset + job.rows; r++) buffers.missing[r]! &= ~bit;
    }
  }
  try {
    context.metadata ??= await readFooter(file);
    await decodeChunkWithHyparquet(file, context.metadata, { column: plan.name, rowStart: job.rowStart, rows: job.rows }, spec, target);
    chunkCounts.hyparquet++;
  } catch (error) {
    if (error instanceof ZoneIdError) throw zoneError(file, plan, job, error);
    if (error instanceof UnsupportedByHyparquetError && (fastError === undefined || fastError instanceof UnsupportedChunkError)) {
      const what = fastError instanceof Error ? `${fastError.message}; hyparquet: ${error.message}` : error.message;
      throw new Error(
        `read: ${file.path}: column ${plan.name} (row group ${job.index}) uses what this reader cannot decode (${what}); ` +
          'rewrite the file with pyarrow (pyarrow.parquet.write_table) or check for a newer taxi-duration',
      );
    }
    const detail = fastError instanceof Error && !(fastError instanceof UnsupportedChunkError) ? fastError.message : (error as Error).message;
    throw corruptError(file, plan, job, detail);
  }
}

function corruptError(file: OpenFile, plan: ColumnPlan, job: RowGroupJob, detail: string): Error {
  return new Error(`read: ${file.path}: cannot decode column ${plan.name} in row group ${job.index} (${detail}); the file may be corrupt or truncated: delete it and fetch it again`);
}

function zoneError(file: OpenFile, plan: ColumnPlan, job: RowGroupJob, error: ZoneIdError): Error {
  return new Error(
    `read: ${file.path}: column ${plan.name} holds the zone ID ${error.value} in row group ${job.index}, which is not an integer in the int32 range; ` +
      'it is refused rather than truncated (TLC zone IDs run from 1 to 265): the file is not a TLC trip file, or it is corrupt',
  );
}

type Decompress = (input: Uint8Array, outputLength: number) => Uint8Array;
let otherCompressors: Promise<Partial<Record<string, Decompress>>> | undefined;

/**
 * The page decompressor for a file's codecs: ZSTD (every TLC file since 2023) through
 * zstd.ts (Node's own, else wasm), the rest through hyparquet-compressors, loaded only
 * when a file needs it (about 50 ms). A codec neither knows is unsupported (the fallback
 * then tries hyparquet's own list).
 */
export async function pageDecompressor(codecs: ReadonlySet<string>): Promise<PageDecompressor> {
  const needsOthers = [...codecs].some((c) => c !== 'UNCOMPRESSED' && c !== 'ZSTD');
  let zstd: Decompress | undefined;
  if (codecs.has('ZSTD')) zstd = await zstdPageDecompressor().catch(() => undefined);
  const others = needsOthers || (codecs.has('ZSTD') && !zstd) ? await (otherCompressors ??= import('hyparquet-compressors').then((m) => m.compressors as Partial<Record<string, Decompress>>)) : undefined;
  return (codec, input, outputLength) => {
    if (codec === 'ZSTD' && zstd) return zstd(input, outputLength);
    const decompress = others?.[codec];
    if (!decompress) throw new UnsupportedChunkError(`compression ${codec}`);
    return decompress(input, outputLength);
  };
}
