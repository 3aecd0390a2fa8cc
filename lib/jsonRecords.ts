/**
 * JSON records: reads trips sent as JSON from a byte stream, a batch at a time, in memory that
 * does not grow with the input.
 *
 * Three shapes are accepted, told apart by the first character:
 * - a JSON array of records (`[` …): streamed element by element with stream-json's tokenizer,
 *   so a 10-million-element array never becomes one string;
 * - JSON Lines (`{` …, one record per line): each line goes to `JSON.parse`, the fastest
 *   parser there is, and errors name the line;
 * - one JSON object spread over several lines (pretty-printed), or several such objects one
 *   after another: when the first line of a `{` input is not JSON on its own, the input is read
 *   as a sequence of JSON documents, again with stream-json.
 *
 * Records are not checked here (that is `features`' and `predict`'s job): a batch holds the
 * parsed values as they came, so a caller can say which record is wrong and why.
 */
import { StringDecoder } from 'node:string_decoder';

import { getManyValues, isMany, none } from 'stream-chain/core';
import { jsonParser } from 'stream-json/core/parser.js';
import { streamArray } from 'stream-json/core/streamers/stream-array.js';
import { streamValues } from 'stream-json/core/streamers/stream-values.js';

/**
 * How the input was laid out: a JSON array, JSON Lines, or JSON documents one after another
 * (typically one pretty-printed object).
 */
export type JsonRecordsShape = 'array' | 'lines' | 'documents';

/** Records read from a stream, in input order. */
export interface JsonRecordBatch {
  /** The parsed values, as they came (not yet checked to be trip records). */
  readonly records: unknown[];
  /** Index in the whole input of `records[0]` (from 0). */
  readonly first: number;
  /** For JSON Lines, the line number (from 1) of each record; blank lines count. */
  readonly lines?: readonly number[];
  /** How the input is laid out. */
  readonly shape: JsonRecordsShape;
}

/** Options of {@link readJsonRecords}. */
export interface ReadJsonRecordsOptions {
  /** Records per batch. Default 8192: large enough to vectorize efficiently, small in memory. */
  batchSize?: number;
  /** Refuse input with more records than this (a {@link JsonRecordsError} of kind `tooMany`). Default: no limit. */
  maxRecords?: number;
  /** Refuse input longer than this many bytes (kind `tooLarge`). Default: no limit. */
  maxBytes?: number;
  /** Refuse a JSON line longer than this many bytes (kind `tooLarge`); bounds memory on a runaway line. Default 1 MiB. */
  maxLineBytes?: number;
  /** Read the input as this shape instead of guessing from its first character (`lines` for an NDJSON upload). */
  shape?: JsonRecordsShape;
}

/**
 * Input that is not JSON records, or exceeds a limit. `kind` says which, so a service can
 * answer 400 or 413; `message` starts with `records:`; `problem` is the message without it.
 *
 * @example
 * try {
 *   for await (const batch of readJsonRecords(process.stdin)) console.log(batch.records.length);
 * } catch (error) {
 *   if (error instanceof JsonRecordsError && error.kind === 'syntax') console.error(error.problem);
 * }
 */
export class JsonRecordsError extends Error {
  override name = 'JsonRecordsError';
  /**
   * @param kind - `syntax` (not JSON), `tooMany` (past `maxRecords`), `tooLarge` (past `maxBytes` or `maxLineBytes`)
   * @param problem - what is wrong, without the module prefix
   */
  constructor(
    readonly kind: 'syntax' | 'tooMany' | 'tooLarge',
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`records: ${problem}`, options);
  }
}

const DEFAULT_BATCH = 8192;
const DEFAULT_MAX_LINE_BYTES = 1 << 20;
const NEWLINE = 0x0a;
/** Characters tokenized at a time from a line longer than this (a minified array on one line). */
const DOCUMENT_SLICE = 65_536;

/**
 * Reads JSON records from a stream of bytes (stdin, a request body) in batches.
 *
 * An empty or blank input yields nothing; an empty array yields one empty batch (so a caller
 * can tell "no input" from "no records"). Breaking out of the loop stops reading (and, for a
 * Node stream, destroys it).
 *
 * @throws JsonRecordsError (`records: …`) for text that is not JSON (naming the line for JSON
 *   Lines, or how many records came before the fault otherwise), or past a limit.
 * @example
 * for await (const batch of readJsonRecords(process.stdin)) {
 *   const { duration } = predictRecords(saved, batch.records, { first: batch.first });
 * }
 */
export async function* readJsonRecords(
  input: AsyncIterable<Uint8Array | string>,
  options: ReadJsonRecordsOptions = {},
): AsyncGenerator<JsonRecordBatch, void, undefined> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const maxRecords = options.maxRecords ?? Infinity;
  const maxBytes = options.maxBytes ?? Infinity;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;

  let bytes = 0;
  let shape: JsonRecordsShape | undefined = options.shape;
  let count = 0; // records handed out (or ready to be)
  let records: unknown[] = [];
  let lines: number[] = [];
  let first = 0;
  let yielded = false;

  const take = (): JsonRecordBatch => {
    const batch: JsonRecordBatch = shape === 'lines' ? { records, first, lines, shape } : { records, first, shape: shape! };
    first += records.length;
    records = [];
    lines = [];
    yielded = true;
    return batch;
  };
  const add = (value: unknown, line?: number): void => {
    if (++count > maxRecords) {
      throw new JsonRecordsError('tooMany', `more than ${maxRecords.toLocaleString('en-US')} records; the limit is ${maxRecords.toLocaleString('en-US')}`);
    }
    records.push(value);
    if (line !== undefined) lines.push(line);
  };

  // JSON Lines state: the unfinished last line (pieces of buffers), its byte count, the line number.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineNumber = 0;
  // Document state (array or documents): stream-json's tokenizer and assembler.
  let documents: ((text: string | typeof none) => void) | undefined;
  const decoder = new StringDecoder('utf8');
  let atStart = true;
  // Whether the first line of a `{` input is still to be checked: JSON Lines, or a multi-line object?
  let probeFirstLine = false;

  const startDocuments = (kind: 'array' | 'documents'): void => {
    shape = kind;
    const tokenize = jsonParser({ streamValues: false, jsonStreaming: kind === 'documents' });
    const assemble = kind === 'array' ? streamArray() : streamValues();
    // The line being tokenized: stream-json says what it expected but not where, so text goes in
    // a line at a time (or a slice of a very long line) and a fault is placed on its line.
    let line = lineNumber + 1;
    const run = (text: string | typeof none): void => {
      let tokens;
      try {
        // The tokenizer is a stream-chain "flushable": `none` marks the end of the input.
        tokens = tokenize(text as string);
      } catch (error) {
        throw syntaxError(error, line, kind);
      }
      if (tokens === none) return;
      for (const token of isMany(tokens) ? getManyValues(tokens) : [tokens]) {
        let item;
        try {
          item = assemble(token);
        } catch (error) {
          throw syntaxError(error, line, kind);
        }
        if (item !== none) add((item as { value: unknown }).value);
      }
    };
    documents = (text) => {
      if (text === none) return run(none);
      for (let start = 0; start < text.length; ) {
        const newline = text.indexOf('\n', start);
        const wholeLine = newline >= 0 && newline - start < DOCUMENT_SLICE;
        const end = wholeLine ? newline + 1 : Math.min(text.length, start + DOCUMENT_SLICE);
        run(text.slice(start, end));
        if (wholeLine) line++;
        start = end;
      }
    };
  };

  /** One complete JSON line (without its newline); blank lines are skipped but counted. */
  const line = (text: string): void => {
    lineNumber++;
    const trimmed = text.trim();
    if (trimmed === '') return;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw new JsonRecordsError('syntax', `line ${lineNumber} is not JSON (${(error as Error).message})`, { cause: error });
    }
    add(value, lineNumber);
  };

  for await (const piece of input) {
    let chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    bytes += chunk.length;
    if (bytes > maxBytes) {
      throw new JsonRecordsError('tooLarge', `the input is larger than ${maxBytes.toLocaleString('en-US')} bytes, the limit`);
    }
    if (atStart) {
      // Skip a byte-order mark and leading whitespace to find the first character.
      let i = chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0;
      while (i < chunk.length && isSpace(chunk[i]!)) {
        if (chunk[i] === NEWLINE) lineNumber++;
        i++;
      }
      if (i === chunk.length) continue;
      chunk = chunk.subarray(i);
      atStart = false;
      if (shape === undefined) {
        if (chunk[0] === 0x5b /* [ */) startDocuments('array');
        else shape = 'lines';
      } else if (shape !== 'lines') startDocuments(shape);
      probeFirstLine = shape === 'lines' && chunk[0] === 0x7b /* { */ && options.shape === undefined;
    }
    if (documents) {
      documents(decoder.write(chunk));
    } else {
      let start = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
        const text = joinLine(pending, chunk.subarray(start, nl));
        pending = [];
        pendingBytes = 0;
        start = nl + 1;
        if (probeFirstLine) {
          probeFirstLine = false;
          // Not JSON on its own: the line starts a multi-line document; read the rest as documents.
          if (!isJson(text)) {
            startDocuments('documents');
            documents!(text + '\n');
            documents!(decoder.write(chunk.subarray(start)));
            break;
          }
        }
        line(text);
      }
      if (!documents && start < chunk.length) {
        pendingBytes += chunk.length - start;
        if (pendingBytes > maxLineBytes) {
          throw new JsonRecordsError('tooLarge', `line ${lineNumber + 1} is longer than ${maxLineBytes.toLocaleString('en-US')} bytes, the limit for one JSON line`);
        }
        pending.push(Buffer.from(chunk.subarray(start)));
      }
    }
    if (records.length >= batchSize) yield take();
  }
  if (documents) {
    documents(decoder.end());
    documents(none);
  } else if (pendingBytes > 0) {
    const text = joinLine(pending, Buffer.alloc(0));
    if (probeFirstLine && !isJson(text)) {
      startDocuments('documents');
      documents!(text);
      documents!(none);
    } else line(text);
  }
  if (records.length > 0 || (!yielded && shape !== undefined && !atStart)) yield take();
}

/** A line's text (a CR before the newline stays: it is JSON whitespace, trimmed with the rest). */
function joinLine(pieces: Buffer[], last: Buffer): string {
  return pieces.length === 0 ? last.toString('utf8') : Buffer.concat([...pieces, last]).toString('utf8');
}

function isJson(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed === '') return true;
  try {
    JSON.parse(trimmed);
    return true;
  } catch {
    return false;
  }
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function syntaxError(error: unknown, line: number, shape: 'array' | 'documents'): JsonRecordsError {
  const detail = ((error as Error).message ?? String(error)).replace(/^Parser (cannot parse input: |has )/, '');
  return new JsonRecordsError('syntax', `the JSON ${shape === 'array' ? 'array' : 'text'} is broken on line ${line} (${detail})`, { cause: error });
}
