/**
 * Design statistics: the grouped sums of a design matrix (CSR or dense rows), behind the
 * estimators' `fit`, `fitChunks` and `fitBatches` (internal).
 *
 * A column whose stored values are all exactly 1 is taken as one-hot: a row's one-hot columns
 * form its cell key (its "zones"), and the other columns are numeric, summed per cell and
 * multiplied out over all rows. For DictVectorizer output that is the course's structure; for
 * any other matrix it is still exact, only slower when many columns are numeric.
 *
 * Two passes over the rows: the first checks the matrix, finds the one-hot columns and the
 * means; the second sums values shifted by those means (with an intercept), so a numeric column
 * with a large mean next to a small spread keeps its digits. The sums are plain running sums in
 * row order (never merged, so already deterministic; exact ones cost about three times more).
 */
import type { CsrMatrix } from './vectorize.js';
import { LIMBS, addExact, addExactTo } from './exactSum.js';
import { GroupedSums, productAt } from './groupedSums.js';
import { normalEquationsFromSums, type NormalEquations } from './normalEquations.js';

/** Rows summed per block: the block's buffers stay in cache. */
const BLOCK_ROWS = 65_536;

/** What the first pass learns about a batch of rows. */
export interface DesignSummary {
  rows: number;
  cols: number;
  /** Per column: 1 when every stored value is exactly 1 (a one-hot column). */
  allOnes: Uint8Array;
  /** Per column: Σ x (plain, for the shift). */
  sums: Float64Array;
  /** Σ y (plain, for the shift). */
  ySum: number;
  /** Most entries in one row. */
  widest: number;
  /** Per column: the rows it has an entry in. */
  counts: Float64Array;
}

/**
 * The first pass: checks the CSR structure and finiteness (naming the row, counted across
 * chunks) and summarizes the rows.
 */
export function summarizeDesign(chunks: Iterable<{ X: CsrMatrix; y: ArrayLike<number> }>, expectedCols?: number): DesignSummary {
  let rows = 0;
  let cols = expectedCols ?? -1;
  let allOnes = new Uint8Array(0);
  let sums = new Float64Array(0);
  let counts = new Float64Array(0);
  let ySum = 0;
  let widest = 0;
  for (const { X, y } of chunks) {
    checkShape(X);
    if (cols === -1) cols = X.cols;
    else if (X.cols !== cols) {
      throw new Error(`regression: this batch has ${X.cols} features but the first had ${cols}; transform every batch with the same fitted DictVectorizer`);
    }
    if (allOnes.length !== cols) {
      allOnes = new Uint8Array(cols).fill(1);
      sums = new Float64Array(cols);
      counts = new Float64Array(cols);
    }
    const { indptr, indices, data } = X;
    if (y.length !== X.rows) throw new Error(`regression: X has ${X.rows} rows but y has ${y.length} values`);
    const width = cols;
    for (let r = 0; r < X.rows; r++) {
      const row = rows + r;
      const yi = y[r]!;
      if (!Number.isFinite(yi)) throw new Error(`regression: y[${row}] is ${yi}; drop or fix non-finite targets before fitting`);
      ySum += yi;
      const start = indptr[r]!;
      const end = indptr[r + 1]!;
      if (end < start) throw new Error(`regression: X.indptr decreases at row ${row}`);
      if (end - start > widest) widest = end - start;
      let previous = -1;
      for (let k = start; k < end; k++) {
        const j = indices[k]!;
        const v = data[k]!;
        if (j <= previous || j >= width) {
          if (j < 0 || j >= width) throw new Error(`regression: X has column index ${j} at row ${row}, outside 0..${width - 1}`);
          throw new Error(`regression: X row ${row} has column indices out of order or repeated (${previous}, ${j}); sort and sum duplicates first`);
        }
        previous = j;
        if (!Number.isFinite(v)) throw new Error(`regression: X has ${v} at row ${row}, column ${j}; drop or fix non-finite features before fitting`);
        sums[j]! += v;
        counts[j]! += 1;
        if (v !== 1) allOnes[j] = 0;
      }
    }
    rows += X.rows;
  }
  return { rows, cols: Math.max(cols, 0), allOnes, sums, ySum, widest, counts };
}

/** Grouped sums of a design, with which columns are numeric and how values were shifted. */
export class DesignSums {
  readonly cols: number;
  /** Column → its numeric index, or −1 for a one-hot column. */
  readonly numericOf: Int32Array;
  /** Numeric index → column. */
  numericColumns: number[];
  /** Numeric index → shift. */
  shifts: number[];
  readonly yShift: number;
  sums: GroupedSums;

  /** Empty sums for a design summarized by `summary`; values shifted by the means when `center`. */
  constructor(summary: DesignSummary, center: boolean) {
    this.cols = summary.cols;
    this.numericOf = new Int32Array(summary.cols).fill(-1);
    this.numericColumns = [];
    this.shifts = [];
    for (let j = 0; j < summary.cols; j++) {
      if (summary.allOnes[j]) continue;
      this.numericOf[j] = this.numericColumns.length;
      this.numericColumns.push(j);
      this.shifts.push(center && summary.rows > 0 ? summary.sums[j]! / summary.rows : 0);
    }
    this.yShift = center && summary.rows > 0 ? summary.ySum / summary.rows : 0;
    // Plain sums: the rows come in one order (fit, fitChunks, fitBatches), never merged.
    this.sums = new GroupedSums(keyWidth(summary, this.numericOf), this.numericColumns.length, 1024, false);
  }

  /**
   * Prepares for a batch summarized by `summary`: columns numeric in it but one-hot so far become
   * numeric (shift 0, their sums so far moved exactly), and keys widen for longer rows.
   */
  adapt(summary: DesignSummary): void {
    const demote: number[] = [];
    for (let j = 0; j < this.cols; j++) if (!summary.allOnes[j] && this.numericOf[j]! < 0) demote.push(j);
    for (const j of demote) this.numericOf[j] = this.cols; // numeric from now on (for keyWidth)
    const width = Math.max(keyWidth(summary, this.numericOf), this.sums.width);
    for (const j of demote) this.numericOf[j] = -1;
    if (demote.length > 0 || width > this.sums.width) this.#rekey(demote, width);
  }

  /** The second pass over one batch (checked by summarizeDesign). */
  add(X: CsrMatrix, y: ArrayLike<number>): void {
    const { numericOf, yShift } = this;
    const sums = this.sums;
    const width = sums.width;
    const q = this.numericColumns.length;
    const block = Math.min(BLOCK_ROWS, Math.max(1, X.rows));
    const key = new Int32Array(width);
    const slots = new Int32Array(block);
    const ys = new Float64Array(block);
    const values = new Float64Array(q * block);
    const shifts = Float64Array.from(this.shifts);
    const { indptr, indices, data } = X;
    for (let blockStart = 0; blockStart < X.rows; blockStart += block) {
      const blockEnd = Math.min(X.rows, blockStart + block);
      for (let m = 0; m < q; m++) values.fill(-shifts[m]!, m * block, (m + 1) * block);
      for (let r = blockStart; r < blockEnd; r++) {
        const i = r - blockStart;
        // The row's one-hot columns, in order, are its key (the first two kept in locals: trip
        // rows have one or two), its numeric entries go to the block's columns.
        let k = 0;
        let a = -1;
        let b = -1;
        for (let e = indptr[r]!; e < indptr[r + 1]!; e++) {
          const j = indices[e]!;
          const m = numericOf[j]!;
          if (m >= 0) values[m * block + i] = data[e]! - shifts[m]!;
          else {
            if (k >= width) throw new Error(`regression: row ${r} has more one-hot entries than its batch's widest row allows (${width}); this is a bug`);
            if (k === 0) a = j;
            else if (k === 1) b = j;
            else key[k] = j;
            k++;
          }
        }
        if (width === 1) slots[i] = sums.slotOf1(a);
        else if (width === 2) slots[i] = sums.slotOf2(a, b);
        else {
          key[0] = a;
          key[1] = b;
          while (k < width) key[k++] = -1;
          slots[i] = sums.slotOf(key, 0);
        }
        ys[i] = y[r]! - yShift;
      }
      sums.reserve(blockEnd - blockStart);
      sums.addRows(blockEnd - blockStart, slots, ys, values, block);
    }
  }

  /** The normal equations of the rows added. */
  equations(): NormalEquations {
    const { numericOf, sums } = this;
    const width = sums.width;
    const keys = (): Int32Array => sums.keys;
    return normalEquationsFromSums(sums, {
      features: this.cols,
      numericColumns: Int32Array.from(this.numericColumns),
      numericShifts: Float64Array.from(this.shifts),
      yShift: this.yShift,
      columnsOf(slot, out) {
        const k = keys();
        let n = 0;
        for (let i = 0; i < width; i++) {
          const j = k[slot * width + i]!;
          if (j >= 0 && numericOf[j]! < 0) out[n++] = j;
        }
        return n;
      },
    });
  }

  /**
   * Rebuilds the sums with keys `width` long and the columns `demote` moved from the keys to the
   * numeric columns (appended, shift 0: a row holds 1 where the key had the column). Exact.
   */
  #rekey(demote: number[], width: number): void {
    const old = this.sums;
    old.normalize();
    const oldQ = this.numericColumns.length;
    const q = oldQ + demote.length;
    for (const j of demote) {
      this.numericOf[j] = this.numericColumns.length;
      this.numericColumns.push(j);
      this.shifts.push(0);
    }
    const next = new GroupedSums(width, q, Math.max(16, old.cells), old.exact);
    const key = new Int32Array(width);
    const has = new Uint8Array(demote.length);
    const one = new Float64Array(LIMBS);
    for (let c = 0; c < old.cells; c++) {
      key.fill(-1);
      has.fill(0);
      let k = 0;
      for (let i = 0; i < old.width; i++) {
        const j = old.keys[c * old.width + i]!;
        if (j < 0) continue;
        const d = demote.indexOf(j);
        if (d >= 0) has[d] = 1;
        else key[k++] = j;
      }
      const slot = next.slotOf(key, 0);
      const count = old.counts[c]!;
      next.counts[slot]! += count;
      const from = c * old.stride;
      const to = slot * next.stride;
      for (let s = 0; s < old.stride; s += LIMBS) addExactTo(next.sums, to + s, old.sums, from + s);
      one.fill(0);
      addExact(one, 0, count);
      for (let d = 0; d < demote.length; d++) {
        if (!has[d]) continue;
        const m = oldQ + d;
        // The new column's per-cell sum is the count; its products are sums of the cell's sums.
        addExactTo(next.sums, to + (1 + m) * LIMBS, one, 0);
        addExactTo(next.products, (1 + m) * LIMBS, old.sums, from);
        addExactTo(next.products, productAt(q, m, m), one, 0);
        for (let a = 0; a < oldQ; a++) addExactTo(next.products, productAt(q, a, m), old.sums, from + (1 + a) * LIMBS);
        for (let d2 = d + 1; d2 < demote.length; d2++) if (has[d2]) addExactTo(next.products, productAt(q, m, oldQ + d2), one, 0);
      }
      if ((c & 0xfffff) === 0xfffff) next.normalize();
    }
    // Products among the old numeric columns and y carry over.
    addExactTo(next.products, 0, old.products, 0);
    for (let a = 0; a < oldQ; a++) {
      addExactTo(next.products, (1 + a) * LIMBS, old.products, (1 + a) * LIMBS);
      for (let b = a; b < oldQ; b++) addExactTo(next.products, productAt(q, a, b), old.products, productAt(oldQ, a, b));
    }
    next.rows = old.rows;
    next.normalize();
    this.sums = next;
  }
}

/**
 * Key length for a batch: its widest row, less the numeric columns every row holds (the
 * course's trip_distance), so a trip row's key is its one-hot columns only.
 */
function keyWidth(summary: DesignSummary, numericOf: Int32Array): number {
  let everywhere = 0;
  for (let j = 0; j < summary.cols; j++) if (numericOf[j]! >= 0 && summary.counts[j] === summary.rows) everywhere++;
  return Math.max(1, summary.widest - everywhere);
}

/** Checks the CSR shape and offsets' ends; the per-row checks run in the passes. */
export function checkShape(X: CsrMatrix): void {
  const { rows, cols, indptr, indices, data } = X;
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new Error(`regression: X has invalid shape ${rows}×${cols}`);
  }
  if (indptr.length !== rows + 1 || indptr[0] !== 0) {
    throw new Error(`regression: X.indptr must have rows + 1 = ${rows + 1} offsets starting at 0, got ${indptr.length} starting at ${indptr[0]}`);
  }
  const nnz = indptr[rows]!;
  if (nnz > indices.length || nnz > data.length) {
    throw new Error(`regression: X.indptr ends at ${nnz} but indices has ${indices.length} and data ${data.length} entries`);
  }
}
