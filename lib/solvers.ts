/**
 * Solvers: least squares (minimum-norm), ridge and lasso on {@link NormalEquations}, giving
 * scikit-learn's answers at full size in little time and memory.
 *
 * Least squares and ridge: block elimination of the one-hot structure.
 * - With an intercept, the equations are augmented with a column of ones (centring stays
 *   implicit: eliminating the intercept is exactly centring). Ridge adds α to the diagonal of
 *   every column but the intercept, as scikit-learn's objective ‖y − Xw − b‖² + α‖w‖² does.
 * - The columns are scaled to a unit diagonal. A set D of one-hot columns that never meet each
 *   other (for `PU_DO`, all 30,000 pair columns; for the course's zones, one zone group) then
 *   has the identity as its block, and eliminating D first costs Σ_{j∈D} (entries of column j)²:
 *   what is left is a small dense Schur complement over the other columns R (the other zone
 *   group, trip_distance, the intercept: at most about 530 columns).
 * - The Schur complement is factored by pivoted Cholesky (LAPACK's dpstrf), which also finds
 *   its rank: pivots below 1e-11 of a column's own scale count as zero. A rank-deficient
 *   system (one-hot groups always are: each group sums to the intercept) has many
 *   least-squares solutions; scikit-learn's centred LSQR converges to the one of minimum norm,
 *   so we take a basic solution and project out the null space (a few vectors, built back
 *   through the elimination) from the coefficients, leaving the intercept free.
 * - Why this and not the alternatives: the previous solver, a dense XᵀX with pivoted Cholesky,
 *   is fine at p ≈ 530 (the course's zones) but needs p² doubles, 11 GB at the 37,000 pair
 *   columns of a full month; iterative solvers stop at a tolerance, short of the exact answer
 *   when trip_distance has outliers (scikit-learn's LSQR at tol=1e-14 stays 2e-8 away on the
 *   parity's outliers design, test/reference). Measured here on a full generated month: the
 *   elimination and factorization take tens of milliseconds for either feature set.
 *
 * Lasso: cyclic coordinate descent on the Gram statistics, as scikit-learn's `precompute=True`
 * path (`enet_coordinate_descent_gram`), with its objective `1/(2n)·‖y − Xw − b‖² + α‖w‖₁`, its
 * stopping rule (the duality gap below `tol·‖y − ȳ‖²`, checked when the largest coefficient
 * change falls below `tol` of the largest coefficient) and its gap-safe screening. The Gram is
 * the structured XᵀX: updating coordinate j touches only the entries of column j (a one-hot
 * pair column: itself and trip_distance), and centring stays implicit: (X_cᵀX_c w)_k is
 * (XᵀXw)_k − s_k·(sᵀw)/n, kept up to date with the scalar sᵀw. A sweep over 30,000 columns costs
 * about 100,000 operations.
 */
import { createRequire } from 'node:module';
import { CompensatedSum, type NormalEquations } from './normalEquations.js';

/** Options of {@link solveLeastSquares}. */
export interface LeastSquaresOptions {
  /** Ridge penalty α ≥ 0 (0: ordinary least squares, minimum-norm). */
  alpha: number;
  /** Fit an (unpenalized) intercept. */
  fitIntercept: boolean;
}

/** A least-squares or ridge solution. */
export interface LeastSquaresSolution {
  coef: Float64Array;
  intercept: number;
  /** Rank of the (centred) design, as scikit-learn's `rank_`. */
  rank: number;
}

/** Options of {@link solveLasso} (scikit-learn's names). */
export interface LassoSolverOptions {
  alpha: number;
  fitIntercept: boolean;
  maxIter: number;
  tol: number;
}

/** A lasso solution with the solver's account. */
export interface LassoSolution {
  coef: Float64Array;
  intercept: number;
  /** Coordinate descent sweeps run (scikit-learn's `n_iter_`). */
  nIter: number;
  /** The duality gap at the end (scikit-learn's `dual_gap_`, on the scale of ½‖y − Xw‖² + nα‖w‖₁). */
  dualGap: number;
  /** Whether the gap fell below `tol·‖y − ȳ‖²` within `maxIter` sweeps. */
  converged: boolean;
}

/**
 * Pivots below this (on the unit-diagonal scaled system) count as zero: the rank cut.
 * Rounding leaves about 1e-13 on truly dependent columns; a one-hot column with c rows that
 * differs from a combination of others in a single row keeps at least 1/c, far above 1e-11 for
 * any c below 1e10.
 */
const RANK_TOLERANCE = 1e-11;

/**
 * A column whose centred square sum is below this fraction of its raw one is constant: its
 * coefficient is 0 (as scikit-learn's centring makes it).
 */
const CONSTANT_TOLERANCE = 1e-26;

/**
 * Which columns take part: those with a positive centred square sum well above rounding of
 * their raw scale. Returns the centred diagonal too.
 */
function activeColumns(eq: NormalEquations, fitIntercept: boolean): { active: Uint8Array; centred: Float64Array } {
  const p = eq.features;
  const n = eq.rows;
  const active = new Uint8Array(p);
  const centred = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const g = eq.diagonal[j]!;
    const s = eq.columnSums[j]!;
    const c = eq.shifts[j]!;
    const d = fitIntercept ? g - (s * s) / n : g;
    const raw = g + 2 * c * s + n * c * c;
    centred[j] = d;
    if (g > 0 && d > 0 && d > raw * CONSTANT_TOLERANCE) active[j] = 1;
  }
  return { active, centred };
}

/**
 * The intercept that goes with `coef`: ȳ − x̄ᵀw in the original (unshifted) coordinates, summed
 * with compensation.
 */
function interceptFor(eq: NormalEquations, coef: Float64Array): number {
  const n = eq.rows;
  const sum = new CompensatedSum();
  sum.add(eq.yShift);
  sum.add(eq.ySum / n);
  for (let j = 0; j < eq.features; j++) {
    const w = coef[j]!;
    if (w === 0) continue;
    sum.add(-w * eq.shifts[j]!);
    sum.add(-w * (eq.columnSums[j]! / n));
  }
  return sum.value();
}

/**
 * Ordinary least squares (minimum-norm) or ridge on structured normal equations; see the module
 * doc for the method.
 *
 * @throws Error (`regression: ...`) for a negative or non-finite α, or equations built with
 *   shifts but fitted without an intercept.
 * @example
 * const { coef, intercept, rank } = solveLeastSquares(eq, { alpha: 0, fitIntercept: true });
 */
export function solveLeastSquares(eq: NormalEquations, options: LeastSquaresOptions): LeastSquaresSolution {
  const { alpha, fitIntercept } = options;
  if (!(alpha >= 0) || !Number.isFinite(alpha)) throw new Error(`regression: alpha must be a finite number ≥ 0, got ${alpha}`);
  if (eq.rows === 0) throw new Error('regression: X has no rows; cannot fit a model to nothing');
  const p = eq.features;
  if (!fitIntercept && (eq.yShift !== 0 || eq.shifts.some((c) => c !== 0))) {
    throw new Error('regression: these statistics were summed about the means, which needs fitIntercept; sum them without shifts');
  }
  const { active } = activeColumns(eq, fitIntercept);
  const { diagonal, indptr, indices, values, denseRows, denseIndex, columnSums, xty } = eq;
  const coef = new Float64Array(p);

  // D: one-hot columns that never meet each other, chosen greedily by fewest neighbours.
  const isSparse = (j: number): boolean => denseIndex[j]! < 0;
  const degree = (j: number): number => {
    let d = 0;
    for (let k = indptr[j]!; k < indptr[j + 1]!; k++) if (active[indices[k]!]) d++;
    return d;
  };
  const candidates: number[] = [];
  for (let j = 0; j < p; j++) if (active[j] && isSparse(j)) candidates.push(j);
  const degrees = new Int32Array(p);
  for (const j of candidates) degrees[j] = degree(j);
  candidates.sort((a, b) => degrees[a]! - degrees[b]! || a - b);
  const inD = new Uint8Array(p);
  const blocked = new Uint8Array(p);
  for (const j of candidates) {
    if (blocked[j]) continue;
    inD[j] = 1;
    for (let k = indptr[j]!; k < indptr[j + 1]!; k++) blocked[indices[k]!] = 1;
  }
  // R: the other active columns, then the intercept; rIndex maps a column to its place in R.
  const rColumns: number[] = [];
  const rIndex = new Int32Array(p).fill(-1);
  for (let j = 0; j < p; j++) {
    if (active[j] && !inD[j]) {
      rIndex[j] = rColumns.length;
      rColumns.push(j);
    }
  }
  const r = rColumns.length + (fitIntercept ? 1 : 0);
  const interceptAt = fitIntercept ? r - 1 : -1;
  // Scaling to a unit diagonal (of the penalized, augmented system).
  const scale = new Float64Array(p);
  for (let j = 0; j < p; j++) if (active[j]) scale[j] = 1 / Math.sqrt(diagonal[j]! + alpha);
  const interceptScale = 1 / Math.sqrt(eq.rows);
  const f = new Float64Array(p); // scaled right-hand side
  for (let j = 0; j < p; j++) if (active[j]) f[j] = xty[j]! * scale[j]!;

  // S = A_RR − Σ_{j∈D} a_j a_jᵀ and fR = f_R − Σ_{j∈D} a_j f_j (scaled), a_j = A[R, j].
  const S = new Float64Array(r * r);
  const fR = new Float64Array(r);
  for (let a = 0; a < rColumns.length; a++) {
    const j = rColumns[a]!;
    fR[a] = f[j]!;
    S[a * r + a] = 1;
    if (isSparse(j)) {
      for (let k = indptr[j]!; k < indptr[j + 1]!; k++) {
        const b = rIndex[indices[k]!]!;
        if (b > a) S[a * r + b] = values[k]! * scale[j]! * scale[indices[k]!]!;
      }
    } else {
      const row = denseIndex[j]! * p;
      for (let b = a + 1; b < rColumns.length; b++) {
        const jb = rColumns[b]!;
        S[a * r + b] = denseRows[row + jb]! * scale[j]! * scale[jb]!;
      }
    }
    // A sparse column meets a dense one through the dense row (filled from the dense side above
    // when the dense column comes first; here when the sparse one does).
    if (isSparse(j)) {
      for (let m = 0; m < eq.denseColumns.length; m++) {
        const jd = eq.denseColumns[m]!;
        const b = rIndex[jd]!;
        if (b > a) S[a * r + b] = denseRows[m * p + j]! * scale[j]! * scale[jd]!;
      }
    }
    if (fitIntercept) S[a * r + interceptAt] = columnSums[j]! * scale[j]! * interceptScale;
  }
  if (fitIntercept) {
    S[interceptAt * r + interceptAt] = 1;
    fR[interceptAt] = eq.ySum * interceptScale;
  }
  const dColumns: number[] = [];
  const entries = new Int32Array(r);
  const entryValues = new Float64Array(r);
  for (let j = 0; j < p; j++) {
    if (!inD[j]) continue;
    dColumns.push(j);
    const k = columnOfD(eq, j, rIndex, scale, interceptAt, interceptScale, entries, entryValues);
    const fj = f[j]!;
    for (let x = 0; x < k; x++) {
      const a = entries[x]!;
      const va = entryValues[x]!;
      fR[a]! -= va * fj;
      const row = a * r;
      for (let y = 0; y < k; y++) {
        const b = entries[y]!;
        if (b >= a) S[row + b]! -= va * entryValues[y]!;
      }
    }
  }
  // Ridge: the penalty is already on the diagonal through the scaling (1 = (G_jj + α)·scale²).

  const { perm, rank: rankR } = pivotedCholesky(S, r, RANK_TOLERANCE);
  const zR = basicSolution(S, r, rankR, perm, fR); // in R's order (scaled)
  // Back-substitute D: z_j = f_j − a_jᵀ z_R.
  const backSubstitute = (u: Float64Array, rhs: (j: number) => number, out: Float64Array): void => {
    for (const j of dColumns) {
      const k = columnOfD(eq, j, rIndex, scale, interceptAt, interceptScale, entries, entryValues);
      let s = rhs(j);
      for (let x = 0; x < k; x++) s -= entryValues[x]! * u[entries[x]!]!;
      out[j] = s * scale[j]!;
    }
    for (let a = 0; a < rColumns.length; a++) out[rColumns[a]!] = u[a]! * scale[rColumns[a]!]!;
  };
  backSubstitute(zR, (j) => f[j]!, coef);

  // Null space of S, carried back through the elimination: for each non-pivoted t,
  // u = [−R11⁻¹ R12[:, t]; e_t] (pivoted order), then the D part. Project coef onto the
  // complement of the null vectors' coefficient parts (the intercept stays free).
  const k = r - rankR;
  if (k > 0) {
    const N = new Float64Array(k * p);
    const vector = new Float64Array(p);
    for (let t = 0; t < k; t++) {
      vector.fill(0);
      backSubstitute(nullVector(S, r, rankR, perm, t), () => 0, vector);
      N.set(vector, t * p);
    }
    projectOut(coef, N, k, p);
  }
  const interceptRank = fitIntercept ? 1 : 0;
  const rank = dColumns.length + rankR - interceptRank;
  return { coef, intercept: fitIntercept ? interceptFor(eq, coef) : 0, rank };
}

/**
 * Writes the scaled entries of D column j in R (its one-hot neighbours in R, the dense
 * columns, the intercept) into entries/values; returns how many.
 */
function columnOfD(
  eq: NormalEquations,
  j: number,
  rIndex: Int32Array,
  scale: Float64Array,
  interceptAt: number,
  interceptScale: number,
  entries: Int32Array,
  values: Float64Array,
): number {
  const { indptr, indices, denseRows, denseColumns } = eq;
  const p = eq.features;
  const sj = scale[j]!;
  let k = 0;
  for (let e = indptr[j]!; e < indptr[j + 1]!; e++) {
    const b = rIndex[indices[e]!]!;
    if (b < 0) continue;
    entries[k] = b;
    values[k++] = eq.values[e]! * sj * scale[indices[e]!]!;
  }
  for (let m = 0; m < denseColumns.length; m++) {
    const b = rIndex[denseColumns[m]!]!;
    if (b < 0) continue;
    entries[k] = b;
    values[k++] = denseRows[m * p + j]! * sj * scale[denseColumns[m]!]!;
  }
  if (interceptAt >= 0) {
    entries[k] = interceptAt;
    values[k++] = eq.columnSums[j]! * sj * interceptScale;
  }
  return k;
}

/** coef −= N (NNᵀ)⁻¹ N coef, N holding k null vectors as rows of length p. */
function projectOut(coef: Float64Array, N: Float64Array, k: number, p: number): void {
  const { CholeskyDecomposition, Matrix } = mlMatrix();
  const G = new Matrix(k, k);
  const h = new Matrix(k, 1);
  for (let s = 0; s < k; s++) {
    let hs = 0;
    for (let j = 0; j < p; j++) hs += N[s * p + j]! * coef[j]!;
    h.set(s, 0, hs);
    for (let t = s; t < k; t++) {
      let g = 0;
      for (let j = 0; j < p; j++) g += N[s * p + j]! * N[t * p + j]!;
      G.set(s, t, g);
      G.set(t, s, g);
    }
  }
  const w = new CholeskyDecomposition(G).solve(h);
  for (let t = 0; t < k; t++) {
    const wt = w.get(t, 0);
    for (let j = 0; j < p; j++) coef[j]! -= N[t * p + j]! * wt;
  }
}

/**
 * Lasso by cyclic coordinate descent on the normal equations (see the module doc): minimizes
 * `1/(2n)·‖y − Xw − b‖² + α‖w‖₁`, as scikit-learn's `Lasso`.
 *
 * @throws Error (`regression: ...`) for bad options.
 * @example
 * const { coef, intercept, nIter } = solveLasso(eq, { alpha: 0.01, fitIntercept: true, maxIter: 1000, tol: 1e-4 });
 */
export function solveLasso(eq: NormalEquations, options: LassoSolverOptions): LassoSolution {
  const { alpha, fitIntercept, maxIter, tol } = options;
  if (eq.rows === 0) throw new Error('regression: X has no rows; cannot fit a model to nothing');
  if (!fitIntercept && (eq.yShift !== 0 || eq.shifts.some((c) => c !== 0))) {
    throw new Error('regression: these statistics were summed about the means, which needs fitIntercept; sum them without shifts');
  }
  const p = eq.features;
  const n = eq.rows;
  const { active, centred: Qdiag } = activeColumns(eq, fitIntercept);
  const { diagonal, indptr, indices, values, denseRows, denseColumns, denseIndex, columnSums: s } = eq;
  const nd = denseColumns.length;
  const centre = fitIntercept ? 1 / n : 0;
  const q = new Float64Array(p);
  for (let j = 0; j < p; j++) q[j] = eq.xty[j]! - s[j]! * eq.ySum * centre;
  const yNorm2 = eq.yy - eq.ySum * eq.ySum * centre;
  const l1 = alpha * n;
  const w = new Float64Array(p);
  const Gw = new Float64Array(p); // XᵀX w (shifted, uncentred)
  let sigma = 0; // sᵀw
  const H = (j: number): number => Gw[j]! - s[j]! * sigma * centre; // (X_cᵀX_c w)_j

  /** Gw += delta · XᵀX[:, j]; sigma += delta · s_j. */
  const update = (j: number, delta: number): void => {
    const m = denseIndex[j]!;
    if (m >= 0) {
      const row = m * p;
      for (let k = 0; k < p; k++) Gw[k]! += delta * denseRows[row + k]!;
    } else {
      Gw[j]! += delta * diagonal[j]!;
      for (let e = indptr[j]!; e < indptr[j + 1]!; e++) Gw[indices[e]!]! += delta * values[e]!;
      for (let d = 0; d < nd; d++) Gw[denseColumns[d]!]! += delta * denseRows[d * p + j]!;
    }
    sigma += delta * s[j]!;
  };

  const XtA = new Float64Array(p);
  /** scikit-learn's gap_enet_gram (formulation A), on the centred statistics. */
  const gap = (): { gap: number; dualNorm: number } => {
    const qw = new CompensatedSum();
    const wQw = new CompensatedSum();
    let dualNorm = 0;
    let l1Norm = 0;
    for (let j = 0; j < p; j++) {
      if (!active[j]) {
        XtA[j] = 0;
        continue;
      }
      const hj = H(j);
      const wj = w[j]!;
      if (wj !== 0) {
        qw.add(wj * q[j]!);
        wQw.add(wj * hj);
        l1Norm += Math.abs(wj);
      }
      const x = q[j]! - hj;
      XtA[j] = x;
      if (Math.abs(x) > dualNorm) dualNorm = Math.abs(x);
    }
    const qDotW = qw.value();
    const rNorm2 = yNorm2 + wQw.value() - 2 * qDotW;
    const ry = yNorm2 - qDotW;
    const primal = 0.5 * rNorm2 + l1 * l1Norm;
    const sc = dualNorm > l1 ? l1 / dualNorm : 1;
    const dual = -0.5 * sc * sc * rNorm2 + sc * ry;
    return { gap: primal - dual, dualNorm };
  };

  const tolScaled = tol * yNorm2;
  const screening = alpha > 0;
  const excluded = new Uint8Array(p);
  const order: number[] = [];
  const screen = (g: number, dualNorm: number): void => {
    // Gap safe screening (Fercoq et al.), scikit-learn's rule: drop j when it provably ends at 0.
    const radius = Math.sqrt(2 * Math.abs(g)) / l1;
    order.length = 0;
    for (let j = 0; j < p; j++) {
      if (!active[j] || excluded[j]) continue;
      const theta = XtA[j]! / Math.max(l1, dualNorm);
      const dj = (1 - Math.abs(theta)) / Math.sqrt(Qdiag[j]!);
      if (dj <= radius) order.push(j);
      else {
        if (w[j] !== 0) {
          update(j, -w[j]!);
          w[j] = 0;
        }
        excluded[j] = 1;
      }
    }
  };
  for (let j = 0; j < p; j++) if (active[j]) order.push(j);
  let result = gap();
  let converged = result.gap >= 0 && result.gap <= tolScaled;
  let nIter = 0;
  if (!converged) {
    if (screening) screen(result.gap, result.dualNorm);
    for (let iter = 0; iter < maxIter; iter++) {
      nIter = iter + 1;
      let wMax = 0;
      let dwMax = 0;
      for (let o = 0; o < order.length; o++) {
        const j = order[o]!;
        const Qjj = Qdiag[j]!;
        const wj = w[j]!;
        const tmp = q[j]! - H(j) + wj * Qjj;
        const next = Math.abs(tmp) > l1 ? (Math.sign(tmp) * (Math.abs(tmp) - l1)) / Qjj : 0;
        if (next !== wj) {
          update(j, next - wj);
          w[j] = next;
        }
        const dw = Math.abs(next - wj);
        if (dw > dwMax) dwMax = dw;
        if (Math.abs(next) > wMax) wMax = Math.abs(next);
      }
      if (wMax === 0 || dwMax / wMax <= tol || iter === maxIter - 1) {
        result = gap();
        if (result.gap <= tolScaled) {
          converged = true;
          break;
        }
        if (screening) screen(result.gap, result.dualNorm);
      }
    }
  }
  return { coef: w, intercept: fitIntercept ? interceptFor(eq, w) : 0, nIter, dualGap: result.gap, converged };
}

/**
 * The minimum-norm solution of C·x = b for a symmetric positive semi-definite C
 * (p×p, row-major, left unchanged), i.e. pinv(C)·b, and the numerical rank of C:
 * for normal equations summed elsewhere and small enough to hold densely.
 *
 * Columns are scaled to a unit diagonal first; pivots below 1e-11 of that count as
 * zero. `sumSq[j]` (Σ x_j² of the raw column) tells a constant column, whose
 * centred diagonal is only rounding, from a real one: constant columns get 0.
 *
 * @example
 * // x + y = 2 twice: rank 1, minimum-norm solution (1, 1)
 * solveMinimumNorm(Float64Array.of(2, 2, 2, 2), Float64Array.of(4, 4), 2); // { coef: [1, 1], rank: 1 }
 */
export function solveMinimumNorm(C: Float64Array, b: Float64Array, p: number, sumSq?: Float64Array): { coef: Float64Array; rank: number } {
  const coef = new Float64Array(p);
  const active: number[] = [];
  for (let j = 0; j < p; j++) {
    const d = C[j * p + j]!;
    const raw = sumSq ? sumSq[j]! : d;
    if (d > 0 && d > raw * CONSTANT_TOLERANCE) active.push(j);
  }
  const q = active.length;
  if (q === 0) return { coef, rank: 0 };
  const scale = new Float64Array(q);
  active.forEach((j, a) => (scale[a] = 1 / Math.sqrt(C[j * p + j]!)));
  const U = new Float64Array(q * q);
  const rhs = new Float64Array(q);
  for (let a = 0; a < q; a++) {
    const ja = active[a]!;
    rhs[a] = b[ja]! * scale[a]!;
    for (let c = a; c < q; c++) U[a * q + c] = C[ja * p + active[c]!]! * scale[a]! * scale[c]!;
  }
  const { perm, rank } = pivotedCholesky(U, q, RANK_TOLERANCE);
  const z = basicSolution(U, q, rank, perm, rhs);
  for (let a = 0; a < q; a++) coef[active[a]!] = z[a]! * scale[a]!;
  const k = q - rank;
  if (k > 0) {
    const N = new Float64Array(k * p);
    for (let t = 0; t < k; t++) {
      const u = nullVector(U, q, rank, perm, t);
      for (let a = 0; a < q; a++) N[t * p + active[a]!] = u[a]! * scale[a]!;
    }
    projectOut(coef, N, k, p);
  }
  return { coef, rank };
}

let mlMatrixModule: typeof import('ml-matrix') | undefined;

/**
 * ml-matrix, loaded on first use: only a rank-deficient fit needs it (for the small null-space
 * system), and loading it (a CommonJS bundle) costs about 35 ms of every command's start-up.
 */
function mlMatrix(): typeof import('ml-matrix') {
  mlMatrixModule ??= createRequire(import.meta.url)('ml-matrix') as typeof import('ml-matrix');
  return mlMatrixModule;
}

/**
 * In-place pivoted Cholesky (LAPACK's dpstrf, upper form) of the symmetric q×q matrix whose
 * upper triangle is in U: S[perm, perm] = RᵀR with R upper in U's first `rank` rows. Stops when
 * the largest remaining pivot is ≤ tolerance.
 */
function pivotedCholesky(U: Float64Array, q: number, tolerance: number): { perm: Int32Array; rank: number } {
  const perm = Int32Array.from({ length: q }, (_, i) => i);
  for (let k = 0; k < q; k++) {
    let piv = k;
    let best = U[k * q + k]!;
    for (let i = k + 1; i < q; i++) {
      const d = U[i * q + i]!;
      if (d > best) {
        best = d;
        piv = i;
      }
    }
    if (!(best > tolerance)) return { perm, rank: k };
    if (piv !== k) symmetricSwap(U, q, k, piv, perm);
    const rkk = Math.sqrt(best);
    const rowK = k * q;
    U[rowK + k] = rkk;
    for (let j = k + 1; j < q; j++) U[rowK + j]! /= rkk;
    for (let i = k + 1; i < q; i++) {
      const rki = U[rowK + i]!;
      if (rki === 0) continue;
      const rowI = i * q;
      for (let j = i; j < q; j++) U[rowI + j]! -= rki * U[rowK + j]!;
    }
  }
  return { perm, rank: q };
}

/** Swaps indices a < b of the trailing block (from k) in upper storage, and columns a, b of rows < k. */
function symmetricSwap(U: Float64Array, q: number, k: number, b: number, perm: Int32Array): void {
  const a = k;
  const swap = (x: number, y: number): void => {
    const t = U[x]!;
    U[x] = U[y]!;
    U[y] = t;
  };
  for (let r = 0; r < a; r++) swap(r * q + a, r * q + b);
  swap(a * q + a, b * q + b);
  for (let i = a + 1; i < b; i++) swap(a * q + i, i * q + b);
  for (let i = b + 1; i < q; i++) swap(a * q + i, b * q + i);
  const t = perm[a]!;
  perm[a] = perm[b]!;
  perm[b] = t;
}

/**
 * A basic solution of the system factored by pivotedCholesky (S[perm, perm] = RᵀR, rank r):
 * R11ᵀR11 z = rhs[perm[0..r)] with the non-pivoted part 0, returned in the original order.
 */
function basicSolution(U: Float64Array, q: number, r: number, perm: Int32Array, rhs: Float64Array): Float64Array {
  const z = new Float64Array(q);
  for (let a = 0; a < r; a++) z[a] = rhs[perm[a]!]!;
  forwardTransposed(U, q, r, z);
  backward(U, q, r, z);
  const out = new Float64Array(q);
  for (let a = 0; a < r; a++) out[perm[a]!] = z[a]!;
  return out;
}

/**
 * Null vector t of the factored system, in the original order: [−R11⁻¹R12[:, t]; e_t] in pivoted
 * order (S times it is zero up to the rank cut).
 */
function nullVector(U: Float64Array, q: number, r: number, perm: Int32Array, t: number): Float64Array {
  const u = new Float64Array(q);
  for (let a = 0; a < r; a++) u[a] = -U[a * q + r + t]!;
  backward(U, q, r, u);
  u[r + t] = 1;
  const out = new Float64Array(q);
  for (let a = 0; a < q; a++) out[perm[a]!] = u[a]!;
  return out;
}

/** Solves R11ᵀ x = x in place (R11 = U's leading r×r upper triangle). */
function forwardTransposed(U: Float64Array, q: number, r: number, x: Float64Array): void {
  for (let i = 0; i < r; i++) {
    let s = x[i]!;
    for (let l = 0; l < i; l++) s -= U[l * q + i]! * x[l]!;
    x[i] = s / U[i * q + i]!;
  }
}

/** Solves R11 x = x in place. */
function backward(U: Float64Array, q: number, r: number, x: Float64Array): void {
  for (let i = r - 1; i >= 0; i--) {
    let s = x[i]!;
    const row = i * q;
    for (let l = i + 1; l < r; l++) s -= U[row + l]! * x[l]!;
    x[i] = s / U[row + i]!;
  }
}
