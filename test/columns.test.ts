import { describe, expect, it } from 'vitest';
import { categorical, columnLength, isCategorical } from '../lib/index.js';

describe('categorical', () => {
  it('keeps IDs as codes and labels them with their decimal strings', () => {
    const column = categorical(Int32Array.from([132, 7, 132]));
    expect(Array.from(column.codes, (c) => column.labels[c])).toEqual(['132', '7', '132']);
    expect(column.labels).toHaveLength(133);
    expect(columnLength(column)).toBe(3);
    expect(isCategorical(column)).toBe(true);
    expect(isCategorical(Float64Array.of(1))).toBe(false);
  });

  it('rejects negative IDs with the row that has one', () => {
    expect(() => categorical(Int32Array.from([1, -3]))).toThrow(/got -3 at row 1/);
  });
});
