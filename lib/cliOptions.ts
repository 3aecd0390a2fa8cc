/**
 * Option values the command lines share (lib/cli.ts and lib/mlopsCli.ts), checked the same way
 * with the same message. Internal (not re-exported): the library's own checks name their
 * module instead (datasets.ts's `checkDataset`).
 */
import { DATASETS, type Dataset } from './datasets.js';
import { OptionError } from './errors.js';

/**
 * A dataset named on a command line (`--color`, `--dataset`).
 *
 * @throws OptionError (exit code 2) naming the option, the four datasets and the value given.
 * @example
 * parseDatasetOption('--color', 'fhv'); // 'fhv'
 * parseDatasetOption('--color', 'red'); // throws: taxi-duration: --color must be one of yellow, green, fhv, fhvhv (the dataset), got 'red'
 */
export function parseDatasetOption(option: string, value: string): Dataset {
  if (!(DATASETS as readonly string[]).includes(value)) {
    throw new OptionError(`taxi-duration: ${option} must be one of ${DATASETS.join(', ')} (the dataset), got '${value}'`);
  }
  return value as Dataset;
}
