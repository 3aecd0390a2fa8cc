/**
 * lib/errors.ts: OptionError and URL redaction.
 */
import { describe, expect, it } from 'vitest';

import { OptionError, redactUrl, redactUrls } from '../lib/index.js';

describe('redactUrl', () => {
  it.each([
    ['https://me:secret@example.org/x.parquet', 'https://example.org/x.parquet'],
    ['https://example.org/x.parquet?X-Amz-Signature=abc&X-Amz-Credential=AKIA', 'https://example.org/x.parquet?…'],
    ['https://token@example.org:8443/a/b.parquet#frag', 'https://example.org:8443/a/b.parquet?…'],
    ['https://example.org/x.parquet', 'https://example.org/x.parquet'],
    ['2024-01', '2024-01'],
    ['data/yellow_tripdata_2024-01.parquet', 'data/yellow_tripdata_2024-01.parquet'],
    ['c:/data/x.parquet', 'c:/data/x.parquet'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('redactUrls', () => {
  it('cleans every URL inside a message and keeps the words around them', () => {
    expect(redactUrls('source: HTTP 403 for https://a:b@h.test/x.parquet?sig=1; check the URL')).toBe('source: HTTP 403 for https://h.test/x.parquet?…; check the URL');
    expect(redactUrls('from http://u:p@one.test/a?x=1, then "https://two.test/b#c".')).toBe('from http://one.test/a?…, then "https://two.test/b?…".');
    expect(redactUrls('no URL here: 2024-01, data/x.parquet')).toBe('no URL here: 2024-01, data/x.parquet');
    expect(redactUrls('ftp://user:pw@files.test/x.parquet')).toBe('ftp://files.test/x.parquet');
  });
});

describe('OptionError', () => {
  it('is an Error with its own name', () => {
    const e = new OptionError('pipeline: bad');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('OptionError');
    expect(e.message).toBe('pipeline: bad');
  });
});
