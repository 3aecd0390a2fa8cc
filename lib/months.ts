/**
 * Months: lists of months and other sources as people write them (`2023-01..2023-12`, comma lists,
 * paths and URLs among them) and month arithmetic, for everything that spans several months:
 * training (`--train`, `--val`), monitoring, retraining windows, notebooks' parameters.
 *
 * A single month is checked by datasets.ts's `parseMonth` (TLC's file names are its business);
 * this module builds on it, so every month in a list passes the same check.
 */
import { looksLikeMonth, parseMonth } from './datasets.js';

/**
 * The month `count` months after `month` (before, when negative).
 *
 * @throws Error (`source: ...`) for a malformed month, as {@link parseMonth}.
 * @example
 * addMonths('2024-01', -1); // '2023-12'
 */
export function addMonths(month: string, count: number): string {
  parseMonth(month);
  const index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + count;
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/**
 * Most sources one list may name: 50 years of months.
 *
 * @example
 * parseMonths(`2011-01..${addMonths('2011-01', MAX_SOURCES - 1)}`).length; // 600
 */
export const MAX_SOURCES = 600;

/** `2023-01..2023-12`: a range of months, both ends included (spaces allowed around `..`). */
const RANGE_RE = /^(\S+?)\s*\.\.\s*(\S+)$/;

/**
 * Reads a list of data sources as the command line, `train()` and notebooks take them: one
 * source, a comma list, a range of months `2023-01..2023-12` (both ends included), or any mix
 * (`2023-01..2023-03,2023-06,data/extra.parquet`); or an array of such texts. A source is a
 * month `YYYY-MM`, a local parquet path or an http(s) URL; months are checked here, paths and
 * URLs are kept as written (fetching checks them).
 *
 * Edge cases: spaces around items are dropped, empty items (`a,,b`, a trailing comma) ignored;
 * in text, a comma always separates, so a path or URL with a comma must be given as an array
 * item (array items are not split); a part with `..` is a range only without a `/` (so
 * `../x.parquet` is a path); the same source twice is refused (it would count its trips twice).
 *
 * @throws Error (`source: ...`) for a malformed month or range end; (`months: ...`) for a range
 *   that runs backwards, a source named twice, or more than {@link MAX_SOURCES} sources.
 * @example
 * parseMonths('2024-03..2024-05'); // ['2024-03', '2024-04', '2024-05']
 * parseMonths('2024-01, 2024-03..2024-04,data/x.parquet'); // ['2024-01', '2024-03', '2024-04', 'data/x.parquet']
 * parseMonths(['2024-01', 'https://example.org/a,b.parquet']); // both, as given
 */
export function parseMonths(text: string | readonly string[]): string[] {
  const parts = typeof text === 'string' ? text.split(',') : [...text];
  const out: string[] = [];
  const seen = new Set<string>();
  const push = (source: string): void => {
    if (seen.has(source)) throw new Error(`months: ${source} is listed twice in ${describeList(text)}; name each source once`);
    seen.add(source);
    out.push(source);
    if (out.length > MAX_SOURCES) throw new Error(`months: ${describeList(text)} names more than ${MAX_SOURCES} months or files; give fewer at a time`);
  };
  for (const raw of parts) {
    if (typeof raw !== 'string') throw new Error(`months: a source must be a string (a month, a path or a URL), got ${JSON.stringify(raw) ?? String(raw)}`);
    const part = raw.trim();
    if (part === '') continue;
    const range = part.includes('/') ? null : RANGE_RE.exec(part);
    if (range === null) {
      push(looksLikeMonth(part) ? parseMonth(part) : part);
      continue;
    }
    const [from, to] = [parseMonth(range[1]!), parseMonth(range[2]!)];
    if (from > to) throw new Error(`months: the range ${part} runs backwards; write it oldest first (${to}..${from})`);
    for (let m = from; m <= to; m = addMonths(m, 1)) push(m);
  }
  return out;
}

function describeList(text: string | readonly string[]): string {
  const shown = typeof text === 'string' ? text : text.join(',');
  return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 77)}...` : shown);
}

/**
 * The `count` months just before `month`, oldest first: a training window that ends where the
 * month to judge begins.
 *
 * @throws Error (`months: ...`) unless `count` is a whole number from 1 to 120.
 * @example
 * monthsBefore('2024-07', 3); // ['2024-04', '2024-05', '2024-06']
 */
export function monthsBefore(month: string, count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 120) throw new Error(`months: a window must be a whole number of months from 1 to 120, got ${count}`);
  return Array.from({ length: count }, (_, i) => addMonths(month, i - count));
}
