/**
 * Parquet pages: the reader's fast path, one flat column chunk decoded straight into a typed array.
 *
 * Internal (not re-exported). read.ts hands this module a column chunk's bytes and where
 * its values go; it parses the page headers (thrift compact protocol), decompresses each
 * page, decodes the definition levels and the values, and writes float64 microseconds,
 * int32 zone IDs or float64 numbers into the output, marking nulls. It knows what TLC's
 * files and common writers use for the five trip columns: INT32, INT64, FLOAT and DOUBLE
 * values; PLAIN, dictionary (RLE_DICTIONARY / PLAIN_DICTIONARY), DELTA_BINARY_PACKED and
 * BYTE_STREAM_SPLIT encodings; data pages v1 and v2; flat OPTIONAL or REQUIRED columns.
 *
 * Anything else (INT96 timestamps, an encoding added to the format later such as ALP,
 * deprecated BIT_PACKED levels, int64 deltas beyond ±2^53) throws
 * {@link UnsupportedChunkError}: read.ts then decodes the chunk with hyparquet's public API,
 * never reports it as corruption. It depends on nothing but the decompressor it is given,
 * so a hyparquet upgrade cannot change what it does; test/readCanary.test.ts compares it
 * with hyparquet's `parquetRead` on every fixture.
 *
 * Why not hyparquet's own decoders: its row assembly turns nullable columns into JS arrays,
 * INT64 into BigInt and timestamps into Date objects (seconds and gigabytes at three
 * million rows), and its internal modules are not a public API.
 */

/** The fast path cannot decode this chunk (a type, encoding or feature it does not know). */
export class UnsupportedChunkError extends Error {}

/**
 * A page claims more than its column chunk can hold (values, bytes): refused before anything
 * of that size is allocated, and never handed to another decoder that might allocate it.
 */
export class ImpossiblePageError extends Error {}

/** A zone ID that is not an integer in the int32 range (never truncated to fit). */
export class ZoneIdError extends Error {
  constructor(
    /** The stored value, as text (an int64 may exceed a float64's integers). */
    readonly value: string,
  ) {
    super(`zone ID ${value} is not an integer in the int32 range`);
  }
}

/** What the values become in the output. */
export type ValueKind =
  /** A time, as float64 microseconds since the epoch (INT64 TIMESTAMP of any unit). */
  | 'timestamp'
  /** A taxi-zone ID, as int32 (INT32, INT64 or integral FLOAT/DOUBLE; anything else is refused). */
  | 'zone'
  /** A number, as float64 (DOUBLE or FLOAT). */
  | 'number';

/** How one column chunk is stored and what its values become. */
export interface ChunkSpec {
  /** Parquet physical type: 'INT32', 'INT64', 'FLOAT' or 'DOUBLE' (others are unsupported). */
  readonly type: string;
  readonly kind: ValueKind;
  /** Unit of an INT64 timestamp. */
  readonly unit?: 'MILLIS' | 'MICROS' | 'NANOS';
  /** Whether the column is OPTIONAL: its pages carry definition levels (max level 1). */
  readonly optional: boolean;
  /** Compression codec of the chunk's pages, as the footer names it ('ZSTD', 'SNAPPY', …). */
  readonly codec: string;
}

/**
 * Decompresses one page: `outputLength` is the header's uncompressed size. May return a view
 * that is only valid until its next call (each page is decoded before the next is inflated).
 */
export type PageDecompressor = (codec: string, input: Uint8Array, outputLength: number) => Uint8Array;

/** Where a chunk's values go: `out[offset ..]`, nulls as NaN (float64) or -1 (int32) with `bit` set in `missing`. */
export interface ChunkTarget {
  readonly out: Float64Array | Int32Array;
  readonly missing: Uint8Array;
  readonly bit: number;
  readonly offset: number;
}

const DATA_PAGE = 0;
const DICTIONARY_PAGE = 2;
const DATA_PAGE_V2 = 3;

const PLAIN = 0;
const PLAIN_DICTIONARY = 2;
const RLE = 3;
const DELTA_BINARY_PACKED = 5;
const RLE_DICTIONARY = 8;
const BYTE_STREAM_SPLIT = 9;
const ENCODING_NAMES = ['PLAIN', 'GROUP_VAR_INT', 'PLAIN_DICTIONARY', 'RLE', 'BIT_PACKED', 'DELTA_BINARY_PACKED', 'DELTA_LENGTH_BYTE_ARRAY', 'DELTA_BYTE_ARRAY', 'RLE_DICTIONARY', 'BYTE_STREAM_SPLIT'];

function encodingName(encoding: number): string {
  return ENCODING_NAMES[encoding] ?? `encoding ${encoding}`;
}

/**
 * Decodes a column chunk holding `rows` values (one per row: the column is flat) into
 * `target`. Pages without nulls (every page of TLC's 2024 files) are decoded straight into
 * the output; pages with nulls go through a scratch array of their present values.
 *
 * @throws UnsupportedChunkError for what the fast path does not know; ZoneIdError for a zone
 *   ID outside the int32 range or not an integer; ImpossiblePageError for a page claiming more
 *   values or bytes than the chunk can hold (checked before allocating); Error for corrupt data (a page past the
 *   chunk's end, a page holding more values than rows remain, a dictionary index out of
 *   range, too few values).
 */
export function decodeColumnChunk(bytes: Uint8Array, rows: number, spec: ChunkSpec, decompress: PageDecompressor, target: ChunkTarget): void {
  if (spec.type !== 'INT32' && spec.type !== 'INT64' && spec.type !== 'FLOAT' && spec.type !== 'DOUBLE') {
    throw new UnsupportedChunkError(`physical type ${spec.type}`);
  }
  if (spec.kind === 'timestamp' && spec.type !== 'INT64') throw new UnsupportedChunkError(`${spec.type} timestamps`);
  if (spec.kind === 'number' && spec.type !== 'DOUBLE' && spec.type !== 'FLOAT') throw new UnsupportedChunkError(`${spec.type} numbers`);
  const { out, missing, bit } = target;
  const cursor: Cursor = { buf: bytes, pos: 0 };
  const end = target.offset + rows;
  let row = target.offset;
  let dictionary: Float64Array | Int32Array | undefined;
  while (row < end) {
    if (cursor.pos >= bytes.length) throw new Error(`the column chunk ends after ${row - target.offset} of its ${rows} values`);
    const header = readPageHeader(cursor);
    const start = cursor.pos;
    const stop = start + header.compressedSize;
    if (header.compressedSize < 0 || stop > bytes.length) throw new Error('a page extends past the end of its column chunk');
    cursor.pos = stop;
    const raw = bytes.subarray(start, stop);

    if (header.type === DICTIONARY_PAGE) {
      const count = header.numValues;
      // Writers build a chunk's dictionary from its values, so it never holds more entries than
      // the chunk has rows; small dictionaries are let through whatever the rows (a few hundred KB).
      if (count < 0 || count > Math.max(rows, 1 << 16)) throw new ImpossiblePageError(`a dictionary page claims ${count} values for ${rows} rows`);
      checkPageSize(header.uncompressedSize, count);
      if (header.encoding !== PLAIN && header.encoding !== PLAIN_DICTIONARY) throw new UnsupportedChunkError(`dictionary page encoded ${encodingName(header.encoding)}`);
      const page = inflate(raw, header.uncompressedSize, spec.codec, decompress);
      dictionary = decodeDictionary(page, count, spec, out instanceof Int32Array);
      continue;
    }
    if (header.type !== DATA_PAGE && header.type !== DATA_PAGE_V2) continue; // index pages: nothing to decode

    const numValues = header.numValues;
    if (numValues < 0 || numValues > end - row) throw new ImpossiblePageError(`a page holds ${numValues} values but only ${end - row} rows remain in the column chunk`);
    checkPageSize(header.uncompressedSize, numValues);
    let page: Uint8Array;
    let at: number;
    let nulls = 0;
    let levels: Uint8Array | undefined;
    if (header.type === DATA_PAGE) {
      page = inflate(raw, header.uncompressedSize, spec.codec, decompress);
      at = 0;
      if (spec.optional) {
        if (header.definitionEncoding !== RLE) throw new UnsupportedChunkError(`definition levels encoded ${encodingName(header.definitionEncoding)}`);
        if (page.length < 4) throw new Error('a data page ends inside its definition levels');
        const length = (page[0]! | (page[1]! << 8) | (page[2]! << 16) | (page[3]! << 24)) >>> 0;
        if (4 + length > page.length) throw new Error('definition levels extend past the end of their page');
        levels = levelScratch(numValues);
        nulls = readLevels(page, 4, 4 + length, numValues, levels);
        at = 4 + length;
      }
    } else {
      const repetitionLength = header.repetitionLength;
      const definitionLength = header.definitionLength;
      if (repetitionLength < 0 || definitionLength < 0 || repetitionLength + definitionLength > raw.length) throw new Error('levels extend past the end of their page');
      // v2 headers count the nulls: a page without any needs no levels decoded.
      if (spec.optional && header.numNulls !== 0) {
        levels = levelScratch(numValues);
        nulls = readLevels(raw, repetitionLength, repetitionLength + definitionLength, numValues, levels);
      }
      const values = raw.subarray(repetitionLength + definitionLength);
      const size = header.uncompressedSize - repetitionLength - definitionLength;
      // A page of nulls only has no value bytes at all: nothing to inflate.
      page = header.isCompressed && size > 0 ? inflate(values, size, spec.codec, decompress) : values;
      at = 0;
    }

    const present = numValues - nulls;
    if (nulls === 0) {
      decodeValues(page, at, header.encoding, present, spec, dictionary, out, row);
    } else {
      const values = valueScratch(out, present);
      decodeValues(page, at, header.encoding, present, spec, dictionary, values, 0);
      const nullValue = out instanceof Int32Array ? -1 : NaN;
      let v = 0;
      for (let i = 0; i < numValues; i++) {
        if (levels![i] === 1) out[row + i] = values[v++]!;
        else {
          out[row + i] = nullValue;
          missing[row + i]! |= bit;
        }
      }
    }
    row += numValues;
  }
}

/** Refuses a page header whose uncompressed size no page of `values` values can need, before allocating it. */
function checkPageSize(uncompressedSize: number, values: number): void {
  // At most 8 bytes a value (12 for INT96) plus levels (under 2 bits a value) and headers.
  if (uncompressedSize < 0 || uncompressedSize > values * 16 + 4096) {
    throw new ImpossiblePageError(`a page header claims ${uncompressedSize} bytes for ${values} values`);
  }
}

function inflate(raw: Uint8Array, size: number, codec: string, decompress: PageDecompressor): Uint8Array {
  if (codec === 'UNCOMPRESSED') {
    if (raw.length !== size) throw new Error(`an uncompressed page holds ${raw.length} bytes, its header says ${size}`);
    return raw;
  }
  const page = decompress(codec, raw, size);
  if (page.length !== size) throw new Error(`a page decompressed to ${page.length} bytes, its header says ${size}`);
  return page;
}

// Scratch arrays reused from page to page (one module instance per thread).
let levelBuffer = new Uint8Array(0);
let intScratch = new Int32Array(0);
let floatScratch = new Float64Array(0);
let byteScratch = new Uint8Array(0);

function levelScratch(n: number): Uint8Array {
  if (levelBuffer.length < n) levelBuffer = new Uint8Array(Math.max(n, 2 * levelBuffer.length));
  return levelBuffer;
}

function valueScratch(like: Float64Array | Int32Array, n: number): Float64Array | Int32Array {
  if (like instanceof Int32Array) {
    if (intScratch.length < n) intScratch = new Int32Array(Math.max(n, 2 * intScratch.length));
    return intScratch;
  }
  if (floatScratch.length < n) floatScratch = new Float64Array(Math.max(n, 2 * floatScratch.length));
  return floatScratch;
}

/** An 8-aligned copy of `bytes` (typed-array views need aligned offsets), in a reused buffer. */
function aligned(bytes: Uint8Array): Uint8Array {
  if (byteScratch.length < bytes.length) byteScratch = new Uint8Array(Math.max(bytes.length, 2 * byteScratch.length));
  byteScratch.set(bytes);
  return byteScratch;
}

// ---------------------------------------------------------------------------------------
// Page headers: the thrift compact protocol, only the fields a flat column chunk needs.

interface Cursor {
  buf: Uint8Array;
  pos: number;
}

interface PageHeader {
  type: number;
  uncompressedSize: number;
  compressedSize: number;
  numValues: number;
  encoding: number;
  definitionEncoding: number;
  numNulls: number;
  definitionLength: number;
  repetitionLength: number;
  isCompressed: boolean;
}

function readPageHeader(c: Cursor): PageHeader {
  const h: PageHeader = {
    type: -1,
    uncompressedSize: -1,
    compressedSize: -1,
    numValues: -1,
    encoding: -1,
    definitionEncoding: RLE,
    numNulls: -1,
    definitionLength: 0,
    repetitionLength: 0,
    isCompressed: true,
  };
  let id = 0;
  for (;;) {
    const byte = readByte(c);
    const type = byte & 0x0f;
    if (type === 0) break; // STOP
    id = byte >> 4 ? id + (byte >> 4) : readZigZag(c);
    if (id === 1 && type === 5) h.type = readZigZag(c);
    else if (id === 2 && type === 5) h.uncompressedSize = readZigZag(c);
    else if (id === 3 && type === 5) h.compressedSize = readZigZag(c);
    else if ((id === 5 || id === 7 || id === 8) && type === 12) readPageKind(c, id, h);
    else skip(c, type);
  }
  if (h.type < 0 || h.uncompressedSize < 0 || h.compressedSize < 0) throw new Error('a page header lacks its type or sizes');
  if ((h.type === DATA_PAGE || h.type === DATA_PAGE_V2 || h.type === DICTIONARY_PAGE) && (h.numValues < 0 || h.encoding < 0)) {
    throw new Error('a page header lacks its value count or encoding');
  }
  return h;
}

/** The data page (5), dictionary page (7) or data page v2 (8) header inside a page header. */
function readPageKind(c: Cursor, kind: number, h: PageHeader): void {
  let id = 0;
  for (;;) {
    const byte = readByte(c);
    const type = byte & 0x0f;
    if (type === 0) return;
    id = byte >> 4 ? id + (byte >> 4) : readZigZag(c);
    if (type === 5) {
      const value = readZigZag(c);
      if (id === 1) h.numValues = value;
      else if (kind === 5 && id === 2) h.encoding = value;
      else if (kind === 5 && id === 3) h.definitionEncoding = value;
      else if (kind === 7 && id === 2) h.encoding = value;
      else if (kind === 8 && id === 2) h.numNulls = value;
      else if (kind === 8 && id === 4) h.encoding = value;
      else if (kind === 8 && id === 5) h.definitionLength = value;
      else if (kind === 8 && id === 6) h.repetitionLength = value;
    } else if (kind === 8 && id === 7 && (type === 1 || type === 2)) {
      h.isCompressed = type === 1;
    } else skip(c, type);
  }
}

function readByte(c: Cursor): number {
  if (c.pos >= c.buf.length) throw new Error('a page header runs past the end of its column chunk');
  return c.buf[c.pos++]!;
}

/** An unsigned LEB128 varint of up to 32 bits (larger ones keep their low bits; sizes and counts never need them). */
function readVarint(c: Cursor): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = readByte(c);
    if (shift < 32) result |= (byte & 0x7f) << shift;
    shift += 7;
    if ((byte & 0x80) === 0) return result >>> 0;
    if (shift > 70) throw new Error('a varint in a page header is too long');
  }
}

function readZigZag(c: Cursor): number {
  const n = readVarint(c);
  return (n >>> 1) ^ -(n & 1);
}

/** Skips a value of compact-protocol `type` (fields this reader does not use, such as statistics). */
function skip(c: Cursor, type: number, depth = 0): void {
  if (depth > 16) throw new Error('a page header nests too deep');
  switch (type) {
    case 1: // true
    case 2: // false
      return;
    case 3: // byte
      c.pos++;
      return;
    case 4: // i16
    case 5: // i32
    case 6: // i64
      readVarint(c);
      return;
    case 7: // double
      c.pos += 8;
      return;
    case 8: {
      // binary (the length is read before the position moves past it)
      const length = readVarint(c);
      c.pos += length;
      return;
    }
    case 9: // list
    case 10: {
      // set
      const header = readByte(c);
      const size = header >> 4 === 15 ? readVarint(c) : header >> 4;
      const element = header & 0x0f;
      for (let i = 0; i < size; i++) {
        if (element === 1 || element === 2) c.pos++; // booleans in a list take a byte each
        else skip(c, element, depth + 1);
      }
      return;
    }
    case 11: {
      // map
      const size = readVarint(c);
      if (size === 0) return;
      const types = readByte(c);
      for (let i = 0; i < size; i++) {
        skip(c, types >> 4, depth + 1);
        skip(c, types & 0x0f, depth + 1);
      }
      return;
    }
    case 12: {
      // struct
      for (;;) {
        const byte = readByte(c);
        if ((byte & 0x0f) === 0) return;
        if (byte >> 4 === 0) readZigZag(c);
        skip(c, byte & 0x0f, depth + 1);
      }
    }
    default:
      throw new Error(`a page header holds an unknown thrift type ${type}`);
  }
}

// ---------------------------------------------------------------------------------------
// Levels and dictionary indices: the RLE / bit-packed hybrid encoding.

/**
 * Definition levels of a flat column (bit width 1) from `buf[pos..end)` into `levels`;
 * returns the number of nulls (zeros). A page without nulls is one run of ones: detected
 * without filling `levels`.
 */
function readLevels(buf: Uint8Array, pos: number, end: number, count: number, levels: Uint8Array): number {
  const c: Cursor = { buf, pos };
  let seen = 0;
  let ones = 0;
  while (seen < count) {
    if (c.pos >= end) throw new Error('definition levels end early');
    const header = readVarint(c);
    if ((header & 1) === 0) {
      const run = Math.min(header >>> 1, count - seen);
      if (c.pos >= end) throw new Error('a run of definition levels has no value');
      const value = buf[c.pos++]! & 1;
      if (value === 1 && seen === 0 && run === count) return 0;
      levels.fill(value, seen, seen + run);
      if (value === 1) ones += run;
      seen += run;
    } else {
      const values = (header >>> 1) * 8;
      const n = Math.min(values, count - seen);
      if (c.pos + Math.ceil(n / 8) > end) throw new Error('a bit-packed run of definition levels extends past its page');
      for (let i = 0; i < n; i++) {
        const level = (buf[c.pos + (i >>> 3)]! >>> (i & 7)) & 1;
        levels[seen + i] = level;
        ones += level;
      }
      c.pos += values / 8;
      seen += n;
    }
  }
  return count - ones;
}

/**
 * Dictionary indices (a bit-width byte, then the hybrid encoding) from `buf[pos..end)`, each
 * written as its dictionary value into `out[offset ..]`: runs become one `fill`, bit-packed
 * groups are unpacked straight into the output, no index array in between.
 */
function readDictionaryValues(buf: Uint8Array, pos: number, end: number, count: number, dictionary: Float64Array | Int32Array, out: Float64Array | Int32Array, offset: number): void {
  const size = dictionary.length;
  if (pos >= end) throw new Error('a dictionary-encoded page has no bit width');
  const width = buf[pos]!;
  if (width > 32) throw new Error(`dictionary indices of ${width} bits`);
  const c: Cursor = { buf, pos: pos + 1 };
  let o = offset;
  const stop = offset + count;
  if (width === 0) {
    // Every index is 0 (a one-entry dictionary).
    if (size === 0) throw new Error('dictionary index 0 out of range 0');
    out.fill(dictionary[0]!, o, stop);
    return;
  }
  const byteWidth = (width + 7) >> 3;
  const mask = width === 32 ? 0xffffffff : (1 << width) - 1;
  while (o < stop) {
    if (c.pos >= end) throw new Error('dictionary indices end early');
    const header = readVarint(c);
    if ((header & 1) === 0) {
      const run = Math.min(header >>> 1, stop - o);
      if (c.pos + byteWidth > end) throw new Error('a run of dictionary indices extends past its page');
      let index = 0;
      for (let b = 0; b < byteWidth; b++) index += buf[c.pos++]! * 2 ** (8 * b);
      if (index >= size) throw new Error(`dictionary index ${index} out of range ${size}`);
      out.fill(dictionary[index]!, o, o + run);
      o += run;
      continue;
    }
    const values = (header >>> 1) * 8;
    const n = Math.min(values, stop - o);
    const p = c.pos;
    if (p + Math.ceil((n * width) / 8) > end) throw new Error('a bit-packed run of dictionary indices extends past its page');
    let i = 0;
    if (width <= 25) {
      // Each index lies within the 4 bytes at its first byte (shift ≤ 7, width ≤ 25): one
      // branch-free load per value, about 3× faster than feeding an accumulator byte by byte.
      // Stops 4 bytes short of the buffer so no read falls outside it.
      let bit = p * 8;
      const safe = Math.min(n, Math.floor(((buf.length - 4 - p) * 8) / width));
      for (; i < safe; i++) {
        const b = bit >>> 3;
        const index = ((buf[b]! | (buf[b + 1]! << 8) | (buf[b + 2]! << 16) | (buf[b + 3]! << 24)) >>> (bit & 7)) & mask;
        bit += width;
        if (index >= size) throw new Error(`dictionary index ${index} out of range ${size}`);
        out[o++] = dictionary[index]!;
      }
    }
    for (; i < n; i++) {
      const index = readBits(buf, p * 8 + i * width, width);
      if (index >= size) throw new Error(`dictionary index ${index} out of range ${size}`);
      out[o++] = dictionary[index]!;
    }
    c.pos += (values * width) / 8;
  }
}

/** `width` (≤ 53) bits starting at bit `bit` of `buf`, little-endian, as a non-negative number. */
function readBits(buf: Uint8Array, bit: number, width: number): number {
  let value = 0;
  let scale = 1;
  let got = 0;
  let byte = bit >>> 3;
  let shift = bit & 7;
  while (got < width) {
    const take = Math.min(8 - shift, width - got);
    value += ((buf[byte]! >>> shift) & ((1 << take) - 1)) * scale;
    scale *= 2 ** take;
    got += take;
    shift = 0;
    byte++;
  }
  return value;
}

// ---------------------------------------------------------------------------------------
// Values.

function decodeDictionary(page: Uint8Array, count: number, spec: ChunkSpec, zones: boolean): Float64Array | Int32Array {
  const dictionary = zones ? new Int32Array(count) : new Float64Array(count);
  decodePlain(page, 0, count, spec, dictionary, 0, true);
  return dictionary;
}

/** Decodes `count` present values of a data page, from `page[at]`, into `out[offset ..]`. */
function decodeValues(
  page: Uint8Array,
  at: number,
  encoding: number,
  count: number,
  spec: ChunkSpec,
  dictionary: Float64Array | Int32Array | undefined,
  out: Float64Array | Int32Array,
  offset: number,
): void {
  if (count === 0) return;
  switch (encoding) {
    case PLAIN:
      decodePlain(page, at, count, spec, out, offset, false);
      return;
    case RLE_DICTIONARY:
    case PLAIN_DICTIONARY:
      if (!dictionary) throw new Error('a dictionary-encoded page comes without a dictionary page');
      readDictionaryValues(page, at, page.length, count, dictionary, out, offset);
      return;
    case DELTA_BINARY_PACKED:
      decodeDelta(page, at, count, spec, out, offset);
      return;
    case BYTE_STREAM_SPLIT: {
      const width = spec.type === 'INT32' || spec.type === 'FLOAT' ? 4 : 8;
      if (at + count * width > page.length) throw new Error(`a BYTE_STREAM_SPLIT page holds fewer than its ${count} values`);
      // Byte b of value i sits at b·count + i: gather each value's bytes back together.
      const joined = new Uint8Array(count * width);
      for (let b = 0; b < width; b++) {
        const from = at + b * count;
        for (let i = 0; i < count; i++) joined[i * width + b] = page[from + i]!;
      }
      decodePlain(joined, 0, count, spec, out, offset, false);
      return;
    }
    default:
      throw new UnsupportedChunkError(`data pages encoded ${encodingName(encoding)}`);
  }
}

/**
 * PLAIN values (little-endian, fixed width) from `page[at]` into `out[offset ..]`, converted
 * to the output's kind. Same-type copies are a memcpy; INT64 is read as two 32-bit words
 * (no BigInt per value).
 */
function decodePlain(page: Uint8Array, at: number, count: number, spec: ChunkSpec, out: Float64Array | Int32Array, offset: number, inDictionary: boolean): void {
  const width = spec.type === 'INT32' || spec.type === 'FLOAT' ? 4 : 8;
  if (at + count * width > page.length) throw new Error(`a PLAIN ${inDictionary ? 'dictionary' : 'data'} page holds fewer than its ${count} values`);
  const bytes = page.subarray(at, at + count * width);
  if ((spec.type === 'DOUBLE' && out instanceof Float64Array) || (spec.type === 'INT32' && out instanceof Int32Array)) {
    new Uint8Array(out.buffer, out.byteOffset + offset * out.BYTES_PER_ELEMENT, bytes.length).set(bytes);
    return;
  }
  const view = (bytes.byteOffset & 7) === 0 ? bytes : aligned(bytes);
  if (spec.type === 'INT64') {
    int64To(new Int32Array(view.buffer, view.byteOffset, count * 2), count, spec, out, offset);
    return;
  }
  const values = spec.type === 'FLOAT' ? new Float32Array(view.buffer, view.byteOffset, count) : new Float64Array(view.buffer, view.byteOffset, count);
  if (out instanceof Float64Array) {
    out.set(values, offset);
    return;
  }
  // Zone IDs stored as floating point (TLC's FHV files of 2015 hold DOUBLE IDs): integers only.
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    if (v !== (v | 0)) throw new ZoneIdError(String(v));
    out[offset + i] = v;
  }
}

/** Little-endian int64 words (lo, hi pairs) as microseconds or int32 zone IDs, into `out[offset ..]`. */
function int64To(words: Int32Array, count: number, spec: ChunkSpec, out: Float64Array | Int32Array, offset: number): void {
  if (out instanceof Int32Array) {
    for (let i = 0; i < count; i++) {
      const lo = words[2 * i]!;
      const hi = words[2 * i + 1]!;
      // In the int32 range exactly when the high word is the low word's sign extension.
      if (hi !== lo >> 31) throw new ZoneIdError(String((BigInt(hi) << 32n) | BigInt(lo >>> 0)));
      out[offset + i] = lo;
    }
    return;
  }
  if (spec.kind !== 'timestamp') throw new UnsupportedChunkError('INT64 numbers');
  const unit = spec.unit;
  if (unit === 'NANOS') {
    // floor(ns / 1000) exactly: ns = hi·2^32 + lo = 1000·(hi·4294967) + (hi·296 + lo), both parts exact in float64.
    for (let i = 0; i < count; i++) {
      const lo = words[2 * i]! >>> 0;
      const hi = words[2 * i + 1]!;
      out[offset + i] = hi * 4294967 + Math.floor((hi * 296 + lo) / 1000);
    }
    return;
  }
  const scale = unit === 'MILLIS' ? 1000 : 1;
  // Microseconds (TLC's unit): exact for |value| < 2^53, about ±285 years around 1970.
  for (let i = 0; i < count; i++) out[offset + i] = (words[2 * i + 1]! * 4294967296 + (words[2 * i]! >>> 0)) * scale;
}

/**
 * DELTA_BINARY_PACKED values. INT32 wraps in 32 bits as the format says; INT64 is computed in
 * float64, exact while values and deltas stay within ±2^53 (microsecond times do), and
 * unsupported beyond (nanosecond times), where hyparquet's BigInt decoder takes over.
 */
function decodeDelta(page: Uint8Array, at: number, count: number, spec: ChunkSpec, out: Float64Array | Int32Array, offset: number): void {
  const c: Cursor = { buf: page, pos: at };
  const blockSize = readVarint(c);
  const miniblocks = readVarint(c);
  const total = readVarint(c);
  if (blockSize <= 0 || blockSize % 128 !== 0 || miniblocks <= 0 || blockSize % (miniblocks * 32) !== 0) {
    throw new Error(`a DELTA_BINARY_PACKED header says ${miniblocks} miniblocks in blocks of ${blockSize}`);
  }
  if (total < count) throw new Error(`a DELTA_BINARY_PACKED page holds ${total} values, expected ${count}`);
  const perMiniblock = blockSize / miniblocks;
  const int32 = spec.type === 'INT32';
  const values = int32 ? new Int32Array(count) : new Float64Array(count);
  let value = int32 ? readZigZag(c) : readZigZag64(c);
  values[0] = value;
  let n = 1;
  while (n < count) {
    const minDelta = int32 ? readZigZag33(c) : readZigZag64(c);
    const widths = c.pos;
    c.pos += miniblocks;
    if (c.pos > page.length) throw new Error('a DELTA_BINARY_PACKED block header extends past its page');
    for (let m = 0; m < miniblocks && n < count; m++) {
      const width = page[widths + m]!;
      if (width > (int32 ? 32 : 53)) {
        if (int32) throw new Error(`DELTA_BINARY_PACKED deltas of ${width} bits in an INT32 column`);
        throw new UnsupportedChunkError(`INT64 deltas of ${width} bits`);
      }
      const bytes = (perMiniblock * width) / 8;
      if (c.pos + bytes > page.length) throw new Error('a DELTA_BINARY_PACKED miniblock extends past its page');
      const base = c.pos * 8;
      for (let j = 0; j < perMiniblock && n < count; j++) {
        const residual = width === 0 ? 0 : readBits(page, base + j * width, width);
        if (int32) value = (value + minDelta + residual) | 0;
        else {
          value += minDelta + residual;
          if (!Number.isSafeInteger(value)) throw new UnsupportedChunkError('INT64 deltas beyond ±2^53');
        }
        values[n++] = value;
      }
      c.pos += bytes;
    }
  }
  if (int32) {
    if (spec.kind !== 'zone') throw new UnsupportedChunkError(`INT32 ${spec.kind} values`);
    out.set(values as Int32Array, offset);
    return;
  }
  // Back to int64 words, then the same conversions as PLAIN.
  const words = new Int32Array(count * 2);
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    const hi = Math.floor(v / 4294967296);
    words[2 * i] = v - hi * 4294967296;
    words[2 * i + 1] = hi;
  }
  int64To(words, count, spec, out, offset);
}

/**
 * An INT32 column's min delta modulo 2^32: it can need 33 zigzag bits, whose 33rd becomes
 * the result's sign bit, so read the varint's bit 32 too.
 */
function readZigZag33(c: Cursor): number {
  let low = 0;
  let bit32 = 0;
  let shift = 0;
  for (;;) {
    const byte = readByte(c);
    if (shift < 32) low |= (byte & 0x7f) << shift;
    if (shift === 28) bit32 = (byte >>> 4) & 1;
    shift += 7;
    if ((byte & 0x80) === 0) break;
    if (shift > 70) throw new Error('a varint in a DELTA_BINARY_PACKED page is too long');
  }
  return ((low >>> 1) | (bit32 << 31)) ^ -(low & 1);
}

/** A zigzag varint of up to 64 bits as a float64, exact within ±2^53; unsupported beyond. */
function readZigZag64(c: Cursor): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    const byte = readByte(c);
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) break;
    if (i > 9) throw new Error('a varint in a DELTA_BINARY_PACKED page is too long');
  }
  if (!Number.isSafeInteger(value)) throw new UnsupportedChunkError('INT64 deltas beyond ±2^53');
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}
