/**
 * Stage clock: wall-clock seconds per stage of a run, and the total.
 *
 * A stage may be timed several times (one per source, say); its seconds add up. Stages run one
 * after the other on the calling thread, so they add up to at most the total; work on other
 * threads overlaps them and is counted by its callers separately.
 */

/**
 * Seconds per stage, started when the run started.
 *
 * @example
 * const clock = new StageClock(['fetch', 'fit'] as const);
 * const path = await clock.time('fetch', () => fetchTrips('2024-01'));
 * clock.finish().total; // seconds since the clock was made
 */
export class StageClock<S extends string> {
  /** Seconds per stage so far, and `total` once {@link finish} was called (0 before). */
  readonly seconds: Record<S | 'total', number>;
  readonly #started: number;

  /** A clock with every stage at 0; `started` is the run's start (`performance.now()`), default now. */
  constructor(stages: readonly S[], started: number = performance.now()) {
    this.seconds = Object.fromEntries([...stages, 'total'].map((s) => [s, 0])) as Record<S | 'total', number>;
    this.#started = started;
  }

  /**
   * Runs `work` and adds its seconds to `stage`, whether it succeeds or throws.
   *
   * @example
   * const model = await clock.time('fit', () => new LinearRegression().fit(X, y));
   */
  async time<T>(stage: S, work: () => T | Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await work();
    } finally {
      this.seconds[stage] += (performance.now() - t) / 1000;
    }
  }

  /**
   * Sets `total` to the seconds since the start and returns the seconds.
   *
   * @example
   * result.seconds = clock.finish();
   */
  finish(): Record<S | 'total', number> {
    this.seconds.total = (performance.now() - this.#started) / 1000;
    return this.seconds;
  }
}
