/**
 * Months: lists of months as people write them (`2024-03..2024-08`) and month arithmetic, for
 * everything that spans several months (monitoring, retraining windows).
 *
 * A single month is checked by lib/source.ts's `parseMonth` (the TLC file names are its
 * business); this module builds on it, so every month in a list passes the same check.
 */
import { parseMonth } from './source.js';

/** A list longer than this is a typo (`2009-01..2099-12`), not a request. */
const MAX_MONTHS = 600;

/**
 * Reads months as the command line gives them: one month, a comma list, a range
 * `2024-03..2024-08` (both ends included), or a mix (`2024-01,2024-03..2024-05`). Paths and
 * URLs in a comma list are kept as they are.
 *
 * @throws Error (`months: ...` or `source: ...`) for a malformed month, a range that runs
 *   backwards, or more than 600 months.
 * @example
 * parseMonths('2024-03..2024-05'); // ['2024-03', '2024-04', '2024-05']
 */
export function parseMonths(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const range = /^(.+)\.\.(.+)$/.exec(part);
    if (range === null) {
      out.push(/^\d{4}-\d{2}$/.test(part) ? parseMonth(part) : part);
      continue;
    }
    const [from, to] = [parseMonth(range[1]!.trim()), parseMonth(range[2]!.trim())];
    if (from > to) throw new Error(`months: the range ${part} runs backwards; write it oldest first (${to}..${from})`);
    for (let m = from; m <= to; m = addMonths(m, 1)) {
      out.push(m);
      if (out.length > MAX_MONTHS) throw new Error(`months: ${text} names more than ${MAX_MONTHS} months; give fewer at a time`);
    }
  }
  return out;
}

/**
 * The month `count` months after `month` (before, when negative).
 *
 * @throws Error (`source: ...`) for a malformed month.
 * @example
 * addMonths('2024-01', -1); // '2023-12'
 */
export function addMonths(month: string, count: number): string {
  parseMonth(month);
  const index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + count;
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
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
