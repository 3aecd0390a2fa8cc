/**
 * Months and source lists (lib/months.ts): the one parser of `--train`, `--val`, `train()`,
 * monitoring and the notebooks' parameters.
 */
import { describe, expect, it } from 'vitest';
import { addMonths, MAX_SOURCES, monthsBefore, parseMonths } from '../lib/index.js';

describe('parseMonths: one source, lists and ranges', () => {
  it.each([
    ['2024-01', ['2024-01']],
    ['2023-11..2024-02', ['2023-11', '2023-12', '2024-01', '2024-02']],
    ['2023-11 .. 2023-12', ['2023-11', '2023-12']],
    ['2024-01..2024-01', ['2024-01']],
    [' 2024-01 , 2024-03..2024-04,data/x.parquet ', ['2024-01', '2024-03', '2024-04', 'data/x.parquet']],
    ['2024-01,,2024-02,', ['2024-01', '2024-02']],
    ['../months/a.parquet,./b.parquet', ['../months/a.parquet', './b.parquet']],
    ['https://example.org/trip-data/yellow_tripdata_2024-01.parquet', ['https://example.org/trip-data/yellow_tripdata_2024-01.parquet']],
    [['2024-01..2024-02', 'https://example.org/a,b.parquet'], ['2024-01', '2024-02', 'https://example.org/a,b.parquet']],
    [[], []],
    ['', []],
  ] as const)('reads %j', (text, months) => {
    expect(parseMonths(text as string | string[])).toEqual(months);
  });

  it.each([
    ['2024-03..2024-01', /^months: the range 2024-03\.\.2024-01 runs backwards; write it oldest first \(2024-01\.\.2024-03\)$/],
    ['2024-1..2024-03', /^source: month "2024-1" is not a month like 2024-01/],
    ['2024-01..2024-13', /^source: month "2024-13" is not a month like 2024-01/],
    ['2024-00', /^source: month "2024-00" is not a month like 2024-01/],
    ['2024-01,2023-12..2024-02', /^months: 2024-01 is listed twice in "2024-01,2023-12\.\.2024-02"; name each source once$/],
    ['2009-01..2099-12', /^months: "2009-01\.\.2099-12" names more than 600 months or files; give fewer at a time$/],
  ])('refuses %j', (text, message) => {
    expect(() => parseMonths(text)).toThrow(message);
  });

  it('refuses what is not a string in a list', () => {
    expect(() => parseMonths([42 as unknown as string])).toThrow(/^months: a source must be a string \(a month, a path or a URL\), got 42$/);
  });

  it('takes up to MAX_SOURCES, crossing years', () => {
    const last = addMonths('2011-01', MAX_SOURCES - 1); // 2060-12
    expect(parseMonths(`2011-01..${last}`)).toHaveLength(MAX_SOURCES);
    expect(() => parseMonths(`2011-01..${addMonths(last, 1)}`)).toThrow(/more than 600 months or files/);
    expect(addMonths('2023-12', 1)).toBe('2024-01');
    expect(addMonths('2024-01', -13)).toBe('2022-12');
    expect(monthsBefore('2024-02', 3)).toEqual(['2023-11', '2023-12', '2024-01']);
    expect(() => monthsBefore('2024-02', 0)).toThrow(/^months: a window must be a whole number of months from 1 to 120, got 0$/);
  });
});
