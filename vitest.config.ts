import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // train() records every run: the suite's runs go to a temporary store (TAXI_RUNS_DIR), not runs/.
    globalSetup: ['test/setup/runsStore.ts'],
    // Several suites generate parquet files and start local HTTP servers; keep the 2-core machine calm.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
