/**
 * Exact sums of doubles: adding the same numbers in any order, split into any parts and merged
 * in any order, gives the same bits.
 *
 * Floating-point addition is not associative, so plain running sums over a month depend on how
 * the rows were split (row groups, months, worker threads) and in which order the parts were
 * merged. Training statistics are sums, and the model must not depend on how they were
 * gathered; so each sum is kept exactly, as a fixed-point number spread over five doubles
 * ("limbs"), and rounded to a double only once, when it is read.
 *
 * The representation (after Demmel and Nguyen's reproducible summation, with fixed bins):
 * - limb k holds an integer multiple of 2^e_k, with e = −84, −52, −20, 12, 44 (32 bits apart);
 * - adding x splits it from the top limb down: each limb takes x rounded to its grid, and the
 *   next gets the rest, exactly (the round-to-grid trick `(r + M) − M` with M = 1.5·2^(e+52));
 *   what is left below 2^−84 is dropped, the same way whatever the order, so the sum is the
 *   exact sum of the values rounded to multiples of 2^−84 (trip durations and distances carry
 *   nothing that small);
 * - every limb but the top one takes at most 2^31 grid units per value, so 2^21 values fit
 *   before {@link normalizeExact} must carry the overflow upwards; the top limb takes values
 *   up to 2^95 (about 4e28) and sums up to 2^96;
 * - {@link normalizeExact} brings the limbs to a canonical form (each lower limb in
 *   [−2^31, 2^31) grid units), so equal sums have equal limbs and {@link exactValue} rounds
 *   them to equal doubles.
 *
 * Cost: about 2 roundings per value added. Summing a month's 2.9 million trips into cells took
 * about twice as long as plain running sums (0.35 s against 0.2 s on the busy 2-core machine
 * this was measured on), for results that are bit-identical however the work was split.
 */

/** Doubles per exact sum. */
export const LIMBS = 5;

/** Values a limb can take between two calls of {@link normalizeExact} (per sum). */
export const EXACT_ADDS_BEFORE_NORMALIZE = 2 ** 21;

// Grids 2^-84, 2^-52, 2^-20, 2^12, 2^44 (limbs 0..4).
const M0 = 1.5 * 2 ** (-84 + 52);
const M1 = 1.5 * 2 ** (-52 + 52);
const M2 = 1.5 * 2 ** (-20 + 52);
const M3 = 1.5 * 2 ** (12 + 52);
const M4 = 1.5 * 2 ** (44 + 52);
// A limb gets a non-zero part only when the value reaches half its grid (H) and when the value
// has bits below the next grid up (below U): skipping the others changes nothing, and most
// values need only two of the five roundings.
const H1 = 2 ** -53;
const H2 = 2 ** -21;
const H3 = 2 ** 11;
const H4 = 2 ** 43;
const U0 = 2 ** (-52 + 52);
const U1 = 2 ** (-20 + 52);
const U2 = 2 ** (12 + 52);
/** Largest magnitude one value may have (the top limb's rounding trick needs |x| < 2^95). */
const MAX_VALUE = 2 ** 95;
/** Largest magnitude the top limb may reach (it must stay an exact multiple of 2^44). */
const MAX_TOP = 2 ** 96;
const GRIDS = [2 ** -84, 2 ** -52, 2 ** -20, 2 ** 12, 2 ** 44] as const;

/**
 * Adds the finite double `x` exactly to the sum held in `acc[at..at+5)`.
 *
 * Non-finite values must be refused by the caller (NaN would be dropped silently).
 *
 * @throws RangeError when |x| ≥ 2^95.
 * @example
 * const acc = new Float64Array(LIMBS);
 * addExact(acc, 0, 0.1); addExact(acc, 0, 0.2);
 * normalizeExact(acc, 0);
 * exactValue(acc, 0); // 0.30000000000000004 (the exact sum of the two doubles, rounded once)
 */
export function addExact(acc: Float64Array, at: number, x: number): void {
  // Kept small so that V8 inlines it into the summing loops (the rare error is a call).
  let r = x;
  let q: number;
  const a = Math.abs(x);
  if (a >= H3) {
    if (a >= H4) {
      if (a >= MAX_VALUE) tooLarge(x);
      q = r + M4 - M4;
      acc[at + 4]! += q;
      r -= q;
    }
    q = r + M3 - M3;
    acc[at + 3]! += q;
    r -= q;
  }
  if (a >= H2 && a < U2) {
    q = r + M2 - M2;
    acc[at + 2]! += q;
    r -= q;
  }
  if (a >= H1 && a < U1) {
    q = r + M1 - M1;
    acc[at + 1]! += q;
    r -= q;
  }
  if (a < U0) acc[at]! += r + M0 - M0;
}

/**
 * Adds `values[i]` exactly to the sum at `acc[targets[i]..]`, for i < count: per-cell sums
 * (one {@link addExact} per row, in a loop V8 keeps tight).
 *
 * @throws RangeError when a value's magnitude reaches 2^95.
 * @example
 * addExactScattered(sums, Int32Array.of(0, 5, 0), Float64Array.of(1, 2, 3), 3); // sum at 0 gets 4, at 5 gets 2
 */
export function addExactScattered(acc: Float64Array, targets: Int32Array, values: Float64Array, count: number): void {
  for (let i = 0; i < count; i++) addExact(acc, targets[i]!, values[i]!);
}

/**
 * Adds Σ a[i]·b[i] over i < count exactly (each product rounded, then summed exactly) to the
 * sum at `acc[at..]`.
 *
 * @throws RangeError when a product's magnitude reaches 2^95.
 * @example
 * addExactDot(products, 0, y, y, y.length); // Σ y²
 */
export function addExactDot(acc: Float64Array, at: number, a: Float64Array, b: Float64Array, count: number): void {
  const limbs = new Float64Array(LIMBS);
  for (let i = 0; i < count; i++) addExact(limbs, 0, a[i]! * b[i]!);
  for (let k = 0; k < LIMBS; k++) acc[at + k]! += limbs[k]!;
}

/**
 * The three product sums of one numeric column v with the target y, Σy², Σv·y and Σv², added
 * exactly to `acc[at..]`, `acc[at + LIMBS..]` and `acc[at + 2·LIMBS..]` in one pass over the
 * rows (the statistics' hottest loop: every row of a trip design).
 *
 * @throws RangeError when a product's magnitude reaches 2^95.
 * @example
 * addExactProducts(products, 0, y, distance, y.length); // Σy², Σd·y, Σd²
 */
export function addExactProducts(acc: Float64Array, at: number, y: Float64Array, v: Float64Array, count: number): void {
  const limbs = new Float64Array(3 * LIMBS);
  for (let i = 0; i < count; i++) {
    const yi = y[i]!;
    const vi = v[i]!;
    addExact(limbs, 0, yi * yi);
    addExact(limbs, LIMBS, vi * yi);
    addExact(limbs, 2 * LIMBS, vi * vi);
  }
  for (let k = 0; k < 3 * LIMBS; k++) acc[at + k]! += limbs[k]!;
}

function tooLarge(x: number): never {
  throw new RangeError(`exactSum: ${x} is too large to add exactly (at most 2^95)`);
}

/**
 * Carries each limb's overflow into the next, leaving the canonical form (equal sums, equal
 * limbs). Call it at least every {@link EXACT_ADDS_BEFORE_NORMALIZE} additions to a sum, and
 * before reading or comparing one.
 *
 * @throws RangeError when the sum reaches 2^96.
 * @example
 * normalizeExact(acc, 0);
 */
export function normalizeExact(acc: Float64Array, at: number): void {
  for (let k = 0; k < LIMBS - 1; k++) {
    const next = GRIDS[k + 1]!;
    // Exact: dividing by a power of two, adding 0.5 (at most 53 significant bits), flooring.
    const carry = Math.floor(acc[at + k]! / next + 0.5) * next;
    acc[at + k]! -= carry;
    acc[at + k + 1]! += carry;
  }
  if (!(Math.abs(acc[at + LIMBS - 1]!) < MAX_TOP)) {
    throw new RangeError('exactSum: a sum reached 2^96, too large to keep exactly');
  }
}

/**
 * The sum as a double (within about one unit in the last place of the exact sum). The same
 * limbs always give the same double; call {@link normalizeExact} first.
 *
 * @example
 * exactValue(acc, 0);
 */
export function exactValue(acc: Float64Array, at: number): number {
  // Two-sum from the smallest limb up, keeping the rounding errors apart.
  let s = acc[at]!;
  let e = 0;
  for (let k = 1; k < LIMBS; k++) {
    const b = acc[at + k]!;
    const t = s + b;
    const bb = t - s;
    e += s - (t - bb) + (b - bb);
    s = t;
  }
  return s + e;
}

/**
 * Adds the exact sum `src[from..from+5)` to `dst[at..at+5)`, limb by limb (exact). Both should be
 * normalized, and `dst` normalized again before it takes another 2^21 values.
 *
 * @example
 * addExactTo(total, 0, part, 0);
 */
export function addExactTo(dst: Float64Array, at: number, src: Float64Array, from: number): void {
  for (let k = 0; k < LIMBS; k++) dst[at + k]! += src[from + k]!;
}
