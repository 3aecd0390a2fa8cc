/**
 * Generated months for the monitoring and retraining tests, written into a cache folder under
 * TLC's file names, so `fetchTrips('2024-05', { cacheDir })` finds them without a network, as
 * it finds a month downloaded earlier. The generator's footer still marks them synthetic.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { writeSyntheticTrips, type SyntheticDrift } from '../../lib/index.js';

/** Writes `yellow_tripdata_<month>.parquet` for each month into `cacheDir`, drifting as told. */
export async function writeMonths(cacheDir: string, months: readonly string[], drift?: SyntheticDrift, rows = 20_000): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  for (const month of months) {
    await writeSyntheticTrips(join(cacheDir, `yellow_tripdata_${month}.parquet`), {
      month,
      rows,
      seed: Number(month.replace('-', '')),
      ...(drift !== undefined ? { drift } : {}),
    });
  }
}
