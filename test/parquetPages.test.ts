/**
 * The fast path on pages built by hand, for what no writer here produces: bit widths above 24,
 * one-entry dictionaries, statistics in page headers, bit-packed levels with nulls, and the
 * claims and encodings it must refuse or hand over. Files from real writers are covered by
 * readPyarrow.test.ts and readCanary.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { decodeColumnChunk, ImpossiblePageError, UnsupportedChunkError, type ChunkSpec } from '../lib/parquetPages.js';

/** A minimal thrift compact-protocol struct writer: fields as [id, type, value]. */
type Field = [id: number, type: 'i32' | 'binary' | 'struct' | 'bool', value: number | Uint8Array | Field[] | boolean];
function struct(fields: Field[]): number[] {
  const out: number[] = [];
  let last = 0;
  for (const [id, type, value] of fields) {
    const code = type === 'i32' ? 5 : type === 'binary' ? 8 : type === 'struct' ? 12 : value ? 1 : 2;
    out.push(((id - last) << 4) | code);
    last = id;
    if (type === 'i32') out.push(...varint(zigzag(value as number)));
    else if (type === 'binary') out.push(...varint((value as Uint8Array).length), ...(value as Uint8Array));
    else if (type === 'struct') out.push(...struct(value as Field[]));
  }
  out.push(0);
  return out;
}
const zigzag = (n: number): number => (n << 1) ^ (n >> 31);
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** Values bit-packed little-endian at `width` bits, as one hybrid bit-packed run (header included). */
function bitPackedRun(values: number[], width: number): number[] {
  const groups = Math.ceil(values.length / 8);
  const bytes = new Uint8Array((groups * 8 * width) / 8);
  values.forEach((v, i) => {
    for (let b = 0; b < width; b++) if (Math.floor(v / 2 ** b) % 2 === 1) bytes[(i * width + b) >> 3]! |= 1 << ((i * width + b) & 7);
  });
  return [...varint((groups << 1) | 1), ...bytes];
}
const rleRun = (value: number, count: number, byteWidth: number): number[] => [...varint(count << 1), ...Array.from({ length: byteWidth }, (_, b) => (value >> (8 * b)) & 0xff)];
const int32s = (values: number[]): number[] => Array.from(new Uint8Array(Int32Array.from(values).buffer));

function dictionaryPage(values: number[]): number[] {
  const body = int32s(values);
  return [...struct([[1, 'i32', 2], [2, 'i32', body.length], [3, 'i32', body.length], [7, 'struct', [[1, 'i32', values.length], [2, 'i32', 0]]]]), ...body];
}
function dataPage(numValues: number, encoding: number, body: number[], extra: Field[] = [], uncompressed = body.length, definitionEncoding = 3): number[] {
  const header = struct([[1, 'i32', 0], [2, 'i32', uncompressed], [3, 'i32', body.length], [5, 'struct', [[1, 'i32', numValues], [2, 'i32', encoding], [3, 'i32', definitionEncoding], [4, 'i32', 3], ...extra]]]);
  return [...header, ...body];
}
/** Definition levels of a v1 page: a 4-byte length, then the hybrid runs. */
const levels = (runs: number[]): number[] => [...int32s([runs.length]), ...runs];

const zones: ChunkSpec = { type: 'INT32', kind: 'zone', optional: false, codec: 'UNCOMPRESSED' };
const never = (): Uint8Array => {
  throw new Error('decompress must not be called');
};
function decode(chunk: number[], rows: number, spec: ChunkSpec = zones): { out: Int32Array; missing: Uint8Array } {
  const out = new Int32Array(rows);
  const missing = new Uint8Array(rows);
  decodeColumnChunk(Uint8Array.from(chunk), rows, spec, never, { out, missing, bit: 4, offset: 0 });
  return { out, missing };
}

describe('decodeColumnChunk on hand-built pages', () => {
  const dictionary = Array.from({ length: 40 }, (_, i) => 100 + i);
  const indices = Array.from({ length: 20 }, (_, i) => (i * 7) % 40);

  it.each([9, 24, 25, 26, 31, 32])('dictionary indices bit-packed at width %i', (width) => {
    const chunk = [...dictionaryPage(dictionary), ...dataPage(20, 8, [width, ...bitPackedRun(indices, width)])];
    expect(Array.from(decode(chunk, 20).out)).toEqual(indices.map((i) => 100 + i));
  });

  it('runs of one index, and a one-entry dictionary at width 0', () => {
    const runs = [...dictionaryPage(dictionary), ...dataPage(12, 8, [6, ...rleRun(5, 7, 1), ...rleRun(39, 5, 1)])];
    expect(Array.from(decode(runs, 12).out)).toEqual([...Array(7).fill(105), ...Array(5).fill(139)]);
    const single = [...dictionaryPage([77]), ...dataPage(4, 8, [0])];
    expect(Array.from(decode(single, 4).out)).toEqual([77, 77, 77, 77]);
  });

  it('skips statistics (with binary min/max) in a page header', () => {
    const stats: Field[] = [[5, 'struct', [[1, 'binary', Uint8Array.of(1, 2, 3, 4)], [2, 'binary', Uint8Array.of(5, 6, 7, 8)], [5, 'binary', Uint8Array.of(9)], [7, 'bool', true]]]];
    const chunk = dataPage(3, 0, int32s([4, 5, 6]), stats);
    expect(Array.from(decode(chunk, 3).out)).toEqual([4, 5, 6]);
  });

  it('bit-packed definition levels with nulls', () => {
    const present = [1, 0, 1, 1, 0, 0, 1, 1];
    const body = [...levels(bitPackedRun(present, 1)), ...int32s([10, 20, 30, 40, 50])];
    const { out, missing } = decode(dataPage(8, 0, body), 8, { ...zones, optional: true });
    expect(Array.from(out)).toEqual([10, -1, 20, 30, -1, -1, 40, 50]);
    expect(Array.from(missing)).toEqual(present.map((p) => (p ? 0 : 4)));
  });

  it('an index beyond the dictionary is corrupt data', () => {
    const chunk = [...dictionaryPage([1, 2, 3]), ...dataPage(2, 8, [2, ...rleRun(3, 2, 1)])];
    expect(() => decode(chunk, 2)).toThrow(/^dictionary index 3 out of range 3$/);
  });

  it('refuses a page claiming gigabytes before decompressing anything', () => {
    const chunk = dataPage(3, 0, int32s([4, 5, 6]), [], 2_000_000_000);
    expect(() => decode(chunk, 3, { ...zones, codec: 'ZSTD' })).toThrow(ImpossiblePageError);
    expect(() => decode(chunk, 3, { ...zones, codec: 'ZSTD' })).toThrow(/^a page header claims 2000000000 bytes for 3 values$/);
  });

  it('refuses a page holding more values than rows remain', () => {
    expect(() => decode(dataPage(5, 0, int32s([1, 2, 3, 4, 5])), 3)).toThrow(/^a page holds 5 values but only 3 rows remain/);
  });

  it.each([
    ['deprecated BIT_PACKED levels', dataPage(2, 0, int32s([1, 2]), [], undefined, 4), { ...zones, optional: true }, /definition levels encoded BIT_PACKED/],
    ['an encoding added after this reader', dataPage(2, 10, [1, 2, 3]), zones, /data pages encoded encoding 10/],
    ['INT96 values', dataPage(1, 0, Array(12).fill(0)), { ...zones, type: 'INT96', kind: 'timestamp' } as ChunkSpec, /physical type INT96/],
  ])('hands %s to hyparquet (unsupported, not corrupt)', (_, chunk, spec, message) => {
    expect(() => decode(chunk, 2, spec)).toThrow(UnsupportedChunkError);
    expect(() => decode(chunk, 2, spec)).toThrow(message);
  });
});
