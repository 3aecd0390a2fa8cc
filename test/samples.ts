/** Deterministic samples shared by the density, plots and display tests. */

/** Deterministic pseudo-random numbers (mulberry32), so samples are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Trip-duration-like sample: a log-normal around 12 minutes, clipped to the course's 1–60. */
export function durations(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    out[i] = Math.min(60, Math.max(1, Math.exp(Math.log(12) + 0.6 * z)));
  }
  return out;
}

/** Trapezoid integral of y over x. */
export function integral(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 1; i < x.length; i++) s += ((y[i]! + y[i - 1]!) / 2) * (x[i]! - x[i - 1]!);
  return s;
}

