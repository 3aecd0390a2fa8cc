/**
 * Read fallback: one column chunk decoded by hyparquet's public API, for what the fast path
 * (parquetPages.ts) does not know.
 *
 * Internal (not re-exported). INT96 timestamps, an encoding added to the format after this
 * reader was written (ALP, …), int64 deltas beyond ±2^53, or a ZSTD frame the wasm build
 * rejects all land here: hyparquet's `parquetRead` decodes the row group's column (its own
 * decompressors included) and the values are converted to the same units as the fast path's.
 * It is slower (JS arrays, BigInt per value) but only ever sees the odd chunk, never TLC's
 * usual files. hyparquet is loaded on first use.
 */
import type { FileMetaData } from 'hyparquet';
import { asyncBufferOf, type OpenFile } from './parquetFile.js';
import { ZoneIdError, type ChunkSpec, type ChunkTarget } from './parquetPages.js';
import { hyparquetCompressors } from './zstd.js';

/** Thrown when hyparquet cannot decode the chunk either because the file uses something it does not support. */
export class UnsupportedByHyparquetError extends Error {}

/** Where the chunk is: its column's name and its row group's first row and row count. */
export interface ChunkPlace {
  readonly column: string;
  readonly rowStart: number;
  readonly rows: number;
}

/**
 * Decodes one column chunk with hyparquet's `parquetRead` into `target`, as
 * `decodeColumnChunk` would have.
 *
 * @throws UnsupportedByHyparquetError when hyparquet says the file uses something it does
 *   not support (an encoding, a codec, a type); ZoneIdError for a zone ID outside the int32
 *   range; any other error of hyparquet's for data it cannot decode.
 */
export async function decodeChunkWithHyparquet(file: OpenFile, metadata: FileMetaData, place: ChunkPlace, spec: ChunkSpec, target: ChunkTarget): Promise<void> {
  const [{ parquetRead }, compressors] = await Promise.all([import('hyparquet'), hyparquetCompressors()]);
  const { out, missing, bit, offset } = target;
  const nullValue = out instanceof Int32Array ? -1 : NaN;
  const convert = converter(spec);
  const groupEnd = place.rowStart + place.rows;
  let written = 0;
  // hyparquet calls onChunk from a promise callback of its own: an error thrown there would be
  // an unhandled rejection, so it is kept and thrown once parquetRead returns.
  let conversionError: unknown;
  try {
    await parquetRead({
      file: asyncBufferOf(file),
      metadata,
      columns: [place.column],
      rowStart: place.rowStart,
      rowEnd: groupEnd,
      compressors,
      utf8: false,
      // Times as exact microseconds (a float64 number), never Date objects.
      parsers: {
        timestampFromMilliseconds: (ms: bigint) => Number(ms) * 1000,
        timestampFromMicroseconds: (us: bigint) => Number(us),
        timestampFromNanoseconds: (ns: bigint) => Number(ns >= 0n ? ns / 1000n : -((-ns + 999n) / 1000n)),
      },
      onChunk: ({ columnData, rowStart }) => {
        if (conversionError !== undefined) return;
        try {
          copyChunk(columnData, rowStart);
        } catch (error) {
          conversionError = error;
        }
      },
    });
  } catch (error) {
    if (error instanceof ZoneIdError) throw error;
    const message = (error as Error).message ?? String(error);
    if (/unsupported|not supported|unknown/i.test(message)) throw new UnsupportedByHyparquetError(message);
    throw error;
  }
  if (conversionError !== undefined) throw conversionError;
  if (written !== place.rows) throw new Error(`hyparquet decoded ${written} of the row group's ${place.rows} values`);

  function copyChunk(columnData: ArrayLike<unknown>, rowStart: number): void {
    for (let i = 0; i < columnData.length; i++) {
      const row = rowStart + i;
      if (row < place.rowStart || row >= groupEnd) continue;
      const at = offset + row - place.rowStart;
      const value = columnData[i];
      if (value === null || value === undefined) {
        out[at] = nullValue;
        missing[at]! |= bit;
      } else {
        out[at] = convert(value);
      }
      written++;
    }
  }
}

/** Turns one of hyparquet's values (number, bigint, Date) into the output's units. */
function converter(spec: ChunkSpec): (value: unknown) => number {
  if (spec.kind === 'zone') {
    return (value) => {
      const n = typeof value === 'bigint' ? value : typeof value === 'number' ? value : NaN;
      if (typeof n === 'bigint') {
        if (n < -2147483648n || n > 2147483647n) throw new ZoneIdError(String(n));
        return Number(n);
      }
      if (n !== (n | 0)) throw new ZoneIdError(String(value));
      return n;
    };
  }
  return (value) => {
    if (typeof value === 'number') return value;
    if (typeof value === 'bigint') return Number(value);
    if (value instanceof Date) return value.getTime() * 1000;
    throw new Error(`hyparquet gave a ${typeof value} for a ${spec.kind} column`);
  };
}
