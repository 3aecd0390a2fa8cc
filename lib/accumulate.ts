/**
 * Accumulate: the training pass. Row groups are read, cleaned and summed into
 * {@link TripStatistics} (a GROUP BY over zone pairs, exact sums) and a training profile of each
 * group, so a model of any number of months is solved from a few MB of sums and the rows are
 * never held.
 *
 * The statistics go into the sink the caller gives (one per thread, merged later: exact sums
 * merge to the same bits in any order); the profiles come back per row group, for the caller
 * to merge in file order.
 */
import { neededColumns } from './features.js';
import { buildProfile, type TrainingProfile } from './profile.js';
import { TripStatistics } from './statistics.js';
import { cleanRowGroups, type GroupCounts, type PassJob, type PassOptions, type PassSpec } from './tripPass.js';

/** One row group's share of the training pass. */
export interface AccumulatedGroup extends GroupCounts {
  /** Histograms of the kept trips' durations and distances, and their zones (lib/profile.ts). */
  profile: TrainingProfile;
}

/**
 * Empty statistics over the columns a pass's features need (`PU_DO` and the course's set: both
 * zones and the distance; a zones-only set: the zones, as FHV files allow).
 *
 * @example
 * const stats = statisticsFor(spec);
 */
export function statisticsFor(spec: PassSpec): TripStatistics {
  return new TripStatistics({ columns: neededColumns(spec.features) });
}

/**
 * Reads, cleans and sums the job's row groups into `stats`; returns each group's counts and
 * profile, in row group order.
 *
 * @throws Error (`read: ...`) for a file that cannot be read; `statistics: ...` for a zone ID
 *   out of range.
 * @example
 * const stats = statisticsFor(job.spec);
 * const groups = await accumulateRowGroups(job, stats);
 * const eq = stats.normalEquations(job.spec.features);
 */
export async function accumulateRowGroups(job: PassJob, stats: TripStatistics, options: PassOptions = {}): Promise<AccumulatedGroup[]> {
  const out: AccumulatedGroup[] = [];
  for await (const { counts, clean, hasDistance } of cleanRowGroups(job, options)) {
    stats.add(clean.features, clean.duration);
    const profile = buildProfile({
      duration: clean.duration,
      PULocationID: clean.features.PULocationID,
      DOLocationID: clean.features.DOLocationID,
      ...(hasDistance ? { trip_distance: clean.features.trip_distance } : {}),
    });
    out.push({ ...counts, profile });
  }
  return out;
}
