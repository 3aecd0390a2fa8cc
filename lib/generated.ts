/**
 * Generated data: how a parquet file says that lib/synthetic.ts wrote it. Results on generated
 * months must never pass for real ones, whatever the file is called, so the training pipeline,
 * monitoring and the runs store all ask the file itself, through this one check.
 *
 * Kept apart from lib/synthetic.ts so that asking costs a footer read, not loading the
 * generator and its parquet writer.
 */
import { parquetCreatedBy } from './read.js';

/**
 * The `created_by` that lib/synthetic.ts writes into every footer it writes.
 *
 * @example
 * (await parquetCreatedBy(path))?.startsWith(GENERATOR_CREATED_BY); // true for a generated month
 */
export const GENERATOR_CREATED_BY = 'taxi-duration synthetic (TLC-shaped)';

/** What every version of the generator starts its `created_by` with. */
const GENERATOR_PREFIX = 'taxi-duration synthetic';

/**
 * Whether lib/synthetic.ts wrote the parquet file at `path` (its footer's `created_by` says so).
 * A file whose footer cannot be read counts as not generated: callers ask after reading the
 * file, so a failure here is no news.
 *
 * @example
 * if (await isGeneratedFile('data/yellow_tripdata_2024-01.parquet')) console.log('SYNTHETIC DATA');
 */
export async function isGeneratedFile(path: string): Promise<boolean> {
  return isGeneratorCreatedBy(await parquetCreatedBy(path).catch(() => undefined));
}

/**
 * Whether a footer's `created_by` is lib/synthetic.ts's, for callers that read the footer anyway.
 *
 * @example
 * isGeneratorCreatedBy((await readTripLayout(path)).createdBy); // true for a generated month
 */
export function isGeneratorCreatedBy(createdBy: string | undefined): boolean {
  // The prefix, not the whole string: a later generator may say more after it.
  return (createdBy ?? '').startsWith(GENERATOR_PREFIX);
}
