/**
 * Vitest global setup: every training run a test makes is recorded (train() tracks by default),
 * so the suite gets its own runs store in a temporary folder, removed afterwards, instead of
 * filling the project's runs/. Tests that check the store pass their own folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'taxi-test-runs-'));
  // Set before the test workers start, so they (and the CLI processes tests spawn) inherit it.
  process.env.TAXI_RUNS_DIR = dir;
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
