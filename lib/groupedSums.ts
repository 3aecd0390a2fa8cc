/**
 * Grouped sums: the storage behind training statistics (internal; {@link TripStatistics} and
 * the estimators' `fit` are its users).
 *
 * Rows are grouped by a key, a short tuple of small integers (the pickup and dropoff zone of a
 * trip, or the one-hot columns a row of a design matrix holds). Each group, a "cell", keeps its
 * row count and the exact sums of the target and of every numeric column over its rows; the
 * sums of products (target², numeric × target, numeric × numeric) are kept over all rows. That
 * is a GROUP BY with SUM aggregates, and everything least squares, ridge and lasso need follows
 * from it: a one-hot column's entries of XᵀX, Xᵀy and of the column sums are sums over the cells
 * it belongs to. A month of trips has about 30,000 cells, so the statistics take a few MB.
 *
 * Sums are exact ({@link addExact}), so two GroupedSums merge into exactly the sums of all
 * their rows, whatever the split and the order. Sums that are never merged, because their rows
 * come in one fixed order (an estimator's `fit` on a matrix), may be plain instead (`exact:
 * false`): running double sums in row order, already deterministic, and about three times
 * cheaper. Either way a sum's value is the sum of its limbs ({@link sumValue}).
 */
import { addExact, addExactDot, addExactProducts, addExactScattered, addExactTo, EXACT_ADDS_BEFORE_NORMALIZE, exactValue, LIMBS, normalizeExact } from './exactSum.js';

/** GroupedSums as plain data (typed arrays), for `postMessage` between threads. */
export interface GroupedSumsData {
  /** Key length. */
  width: number;
  /** Number of numeric columns. */
  numeric: number;
  /** Rows added. */
  rows: number;
  /** Cell keys, `width` integers per cell (−1 pads a shorter key). */
  keys: Int32Array;
  /** Rows per cell. */
  counts: Float64Array;
  /** Per cell: the exact sums of y and of each numeric column ({@link LIMBS} doubles each). */
  sums: Float64Array;
  /** Exact sums over all rows: y², numeric × y, numeric × numeric (upper triangle). */
  products: Float64Array;
}

/** The position of the exact sum of v_a·v_b (a ≤ b) in `products`, in limbs. */
export function productAt(numeric: number, a: number, b: number): number {
  // y² first, then v_m·y for each m, then the upper triangle of v_a·v_b row by row.
  const row = a * numeric - (a * (a - 1)) / 2;
  return (1 + numeric + row + (b - a)) * LIMBS;
}

/** Grouped exact sums; see the module doc. */
export class GroupedSums {
  /** Key length. */
  readonly width: number;
  /** Number of numeric columns. */
  readonly numeric: number;
  /** Doubles per cell in `sums`: y and each numeric column, {@link LIMBS} each. */
  readonly stride: number;
  /** Whether the sums are exact (mergeable in any order) or plain running sums. */
  readonly exact: boolean;
  /** Number of cells. */
  cells = 0;
  /** Rows added. */
  rows = 0;
  keys: Int32Array;
  counts: Float64Array;
  sums: Float64Array;
  readonly products: Float64Array;
  #table: Int32Array;
  #pending = 0;
  #targets = new Int32Array(0);
  #scratch: Int32Array;

  constructor(width: number, numeric: number, capacity = 1024, exact = true) {
    this.exact = exact;
    this.width = width;
    this.numeric = numeric;
    this.stride = (1 + numeric) * LIMBS;
    this.keys = new Int32Array(capacity * width);
    this.counts = new Float64Array(capacity);
    this.sums = new Float64Array(capacity * this.stride);
    this.products = new Float64Array((1 + numeric + (numeric * (numeric + 1)) / 2) * LIMBS);
    this.#table = new Int32Array(tableSizeFor(capacity));
    this.#scratch = new Int32Array(width);
  }

  /**
   * Makes room for `rows` more rows (each adds one value to each sum): normalizes every sum
   * first when they could otherwise outgrow their limbs. Call before adding a block of at most
   * 2^20 rows.
   */
  reserve(rows: number): void {
    if (this.#pending + rows > EXACT_ADDS_BEFORE_NORMALIZE) this.normalize();
    this.#pending += rows;
  }

  /** Brings every sum to its canonical form (see normalizeExact). */
  normalize(): void {
    // Plain sums hold any doubles in their limbs: nothing to carry.
    if (!this.exact) return;
    const { sums, products } = this;
    const end = this.cells * this.stride;
    for (let at = 0; at < end; at += LIMBS) normalizeExact(sums, at);
    for (let at = 0; at < products.length; at += LIMBS) normalizeExact(products, at);
    this.#pending = 0;
  }

  /** The cell of the key `key[at..at+width)`, created (empty) when new. */
  slotOf(key: Int32Array, at: number): number {
    const width = this.width;
    if (width === 2) return this.slotOf2(key[at]!, key[at + 1]!);
    if (width === 1) return this.slotOf1(key[at]!);
    const table = this.#table;
    const mask = table.length - 1;
    const keys = this.keys;
    let h = hashKey(key, at, width) & mask;
    for (;;) {
      const entry = table[h]!;
      if (entry === 0) break;
      const base = (entry - 1) * width;
      let same = true;
      for (let i = 0; i < width; i++) {
        if (keys[base + i] !== key[at + i]) {
          same = false;
          break;
        }
      }
      if (same) return entry - 1;
      h = (h + 1) & mask;
    }
    this.#scratch.set(key.subarray(at, at + width));
    return this.#insert(h);
  }

  /** {@link slotOf} for keys of two integers (the zone pairs): no loops. */
  slotOf2(a: number, b: number): number {
    const table = this.#table;
    const mask = table.length - 1;
    const keys = this.keys;
    let h = hash2(a, b) & mask;
    for (;;) {
      const entry = table[h]!;
      if (entry === 0) break;
      const base = (entry - 1) * 2;
      if (keys[base] === a && keys[base + 1] === b) return entry - 1;
      h = (h + 1) & mask;
    }
    this.#scratch[0] = a;
    this.#scratch[1] = b;
    return this.#insert(h);
  }

  /** {@link slotOf} for keys of one integer (a row's one pair column). */
  slotOf1(a: number): number {
    const table = this.#table;
    const mask = table.length - 1;
    const keys = this.keys;
    let h = finish(Math.imul(0x811c9dc5 ^ a, 0x01000193)) & mask;
    for (;;) {
      const entry = table[h]!;
      if (entry === 0) break;
      if (keys[entry - 1] === a) return entry - 1;
      h = (h + 1) & mask;
    }
    this.#scratch[0] = a;
    return this.#insert(h);
  }

  /** Adds the key in #scratch as a new cell at free table entry h. */
  #insert(h: number): number {
    const slot = this.cells;
    if (slot === this.counts.length) this.#grow();
    this.keys.set(this.#scratch, slot * this.width);
    this.cells = slot + 1;
    if (this.cells * 2 > this.#table.length) this.#rehash(this.#table.length * 2);
    else this.#table[h] = slot + 1;
    return slot;
  }

  /**
   * Adds `count` rows: row i goes to cell `slots[i]` with target `y[i]` and numeric values
   * `values[m·stride + i]` (column m of a block `stride` rows long). {@link reserve} must have
   * made room for them.
   */
  addRows(count: number, slots: Int32Array, y: Float64Array, values: Float64Array, stride: number): void {
    if (!this.exact) {
      addRowsPlain(this, count, slots, y, values, stride);
      this.rows += count;
      return;
    }
    const { counts, sums, products, numeric } = this;
    // One tight loop per sum (V8 inlines the exact addition into each): first the cells' sums,
    // then the products over all rows.
    const targets = this.#targets.length >= count ? this.#targets : (this.#targets = new Int32Array(count));
    for (let i = 0; i < count; i++) {
      const slot = slots[i]!;
      counts[slot]! += 1;
      targets[i] = slot * this.stride;
    }
    addExactScattered(sums, targets, y, count);
    const column = (m: number): Float64Array => values.subarray(m * stride, m * stride + count);
    for (let m = 0; m < numeric; m++) {
      for (let i = 0; i < count; i++) targets[i]! += LIMBS;
      addExactScattered(sums, targets, column(m), count);
    }
    if (numeric === 1) {
      // y², v·y and v² lie next to each other (productAt(1, 0, 0) = 2·LIMBS): one fused pass.
      addExactProducts(products, 0, y, column(0), count);
    } else {
      addExactDot(products, 0, y, y, count);
      for (let a = 0; a < numeric; a++) {
        addExactDot(products, (1 + a) * LIMBS, column(a), y, count);
        for (let b = a; b < numeric; b++) addExactDot(products, productAt(numeric, a, b), column(a), column(b), count);
      }
    }
    this.rows += count;
  }

  /**
   * The value of the sum at `acc[at..]` (a cell's or a product's): the exact sum rounded once,
   * or the plain running sum.
   */
  sumValue(acc: Float64Array, at: number): number {
    return exactValue(acc, at);
  }

  /**
   * Adds the sum at `src[from..]` (a cell's) to the exact sum at `acc[at..]`: limb by limb when
   * exact, else its value as one exact addition.
   */
  addSumTo(acc: Float64Array, at: number, src: Float64Array, from: number): void {
    if (this.exact) addExactTo(acc, at, src, from);
    else addExact(acc, at, exactValue(src, from));
  }

  /**
   * Adds every cell and product sum of `other` (normalized first), mapping each of its keys
   * through `remap(key, at, out)` (which writes this object's key into `out`); exact.
   */
  merge(other: GroupedSums, remap?: (key: Int32Array, at: number, out: Int32Array) => void): void {
    if (!this.exact || !other.exact) throw new Error('statistics: only exact sums merge (plain sums depend on the order of their rows)');
    if (other.numeric !== this.numeric) throw new Error(`statistics: cannot merge sums of ${other.numeric} numeric columns into ${this.numeric}`);
    other.normalize();
    this.normalize();
    const key = new Int32Array(this.width);
    const stride = this.stride;
    for (let c = 0; c < other.cells; c++) {
      if (remap) remap(other.keys, c * other.width, key);
      else key.set(other.keys.subarray(c * other.width, (c + 1) * other.width));
      const slot = this.slotOf(key, 0);
      this.counts[slot]! += other.counts[c]!;
      for (let s = 0; s < stride; s += LIMBS) addExactTo(this.sums, slot * stride + s, other.sums, c * stride + s);
    }
    for (let s = 0; s < this.products.length; s += LIMBS) addExactTo(this.products, s, other.products, s);
    this.rows += other.rows;
    this.normalize();
  }

  /** The sums as plain data (copies, trimmed to the cells in use; normalized). */
  toData(): GroupedSumsData {
    this.normalize();
    return {
      width: this.width,
      numeric: this.numeric,
      rows: this.rows,
      keys: this.keys.slice(0, this.cells * this.width),
      counts: this.counts.slice(0, this.cells),
      sums: this.sums.slice(0, this.cells * this.stride),
      products: this.products.slice(),
    };
  }

  /**
   * GroupedSums from {@link toData}'s output (for example after `postMessage`).
   *
   * @throws Error (`statistics: ...`) when the arrays do not fit together, a key repeats or a
   *   count is not a positive integer.
   */
  static fromData(data: GroupedSumsData): GroupedSums {
    const fail = (problem: string): never => {
      throw new Error(`statistics: the statistics data is malformed: ${problem}`);
    };
    if (data === null || typeof data !== 'object') return fail('expected an object');
    const { width, numeric, rows, keys, counts, sums, products } = data;
    if (!Number.isInteger(width) || width < 0 || !Number.isInteger(numeric) || numeric < 0) return fail('bad width or numeric count');
    if (!(keys instanceof Int32Array) || !(counts instanceof Float64Array) || !(sums instanceof Float64Array) || !(products instanceof Float64Array)) {
      return fail('keys must be an Int32Array and counts, sums and products Float64Arrays');
    }
    const cells = counts.length;
    const out = new GroupedSums(width, numeric, Math.max(16, cells));
    if (keys.length !== cells * width || sums.length !== cells * out.stride || products.length !== out.products.length) {
      return fail(`array lengths do not match ${cells} cells of width ${width} with ${numeric} numeric columns`);
    }
    let total = 0;
    for (let c = 0; c < cells; c++) {
      const n = counts[c]!;
      if (!Number.isInteger(n) || n <= 0) fail(`cell ${c} has count ${n}`);
      total += n;
      if (out.slotOf(keys, c * width) !== c) fail(`cell ${c}'s key repeats an earlier one`);
    }
    if (!Number.isInteger(rows) || rows !== total) fail(`rows is ${rows} but the cells hold ${total}`);
    for (const v of sums) if (!Number.isFinite(v)) fail('a sum is not finite');
    for (const v of products) if (!Number.isFinite(v)) fail('a product sum is not finite');
    out.counts.set(counts);
    out.sums.set(sums);
    out.products.set(products);
    out.rows = rows;
    out.normalize();
    return out;
  }

  #grow(): void {
    const capacity = this.counts.length * 2;
    const keys = new Int32Array(capacity * this.width);
    keys.set(this.keys);
    const counts = new Float64Array(capacity);
    counts.set(this.counts);
    const sums = new Float64Array(capacity * this.stride);
    sums.set(this.sums);
    this.keys = keys;
    this.counts = counts;
    this.sums = sums;
  }

  #rehash(size: number): void {
    const table = new Int32Array(size);
    const mask = size - 1;
    for (let c = 0; c < this.cells; c++) {
      let h = hashKey(this.keys, c * this.width, this.width) & mask;
      while (table[h] !== 0) h = (h + 1) & mask;
      table[h] = c + 1;
    }
    this.#table = table;
  }
}

/**
 * Plain running sums, row by row in order (so any split of the same rows into blocks gives the
 * same bits): counts, y and the numeric columns per cell, and the products over all rows.
 */
function addRowsPlain(target: GroupedSums, count: number, slots: Int32Array, y: Float64Array, values: Float64Array, stride: number): void {
  const { counts, sums, products, numeric } = target;
  const cellStride = target.stride;
  for (let i = 0; i < count; i++) {
    const slot = slots[i]!;
    const at = slot * cellStride;
    counts[slot]! += 1;
    sums[at]! += y[i]!;
    for (let m = 0; m < numeric; m++) sums[at + (1 + m) * LIMBS]! += values[m * stride + i]!;
  }
  let yy = products[0]!;
  for (let i = 0; i < count; i++) yy += y[i]! * y[i]!;
  products[0] = yy;
  for (let a = 0; a < numeric; a++) {
    let vy = products[(1 + a) * LIMBS]!;
    for (let i = 0; i < count; i++) vy += values[a * stride + i]! * y[i]!;
    products[(1 + a) * LIMBS] = vy;
    for (let b = a; b < numeric; b++) {
      const at = productAt(numeric, a, b);
      let vv = products[at]!;
      for (let i = 0; i < count; i++) vv += values[a * stride + i]! * values[b * stride + i]!;
      products[at] = vv;
    }
  }
}

function tableSizeFor(capacity: number): number {
  let size = 16;
  while (size < capacity * 2) size *= 2;
  return size;
}

/** FNV-1a over the key's integers, then a murmur-style finalizer. */
function hashKey(key: Int32Array, at: number, width: number): number {
  if (width === 2) return hash2(key[at]!, key[at + 1]!);
  if (width === 1) return finish(Math.imul(0x811c9dc5 ^ key[at]!, 0x01000193));
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < width; i++) h = Math.imul(h ^ key[at + i]!, 0x01000193);
  return finish(h);
}

/** hashKey of a two-integer key. */
function hash2(a: number, b: number): number {
  return finish(Math.imul(Math.imul(0x811c9dc5 ^ a, 0x01000193) ^ b, 0x01000193));
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
