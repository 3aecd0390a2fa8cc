/**
 * The training pipeline's sources: each training and validation source fetched (downloaded,
 * found in the cache, or generated), its footer read, and its dataset checked against the run's,
 * before any row is read, so a bad validation month fails in seconds, not after the training pass.
 *
 * Internal to the pipeline (lib/pipeline.ts re-exports nothing from here).
 */
import { existsSync } from 'node:fs';

import { looksLikeMonth, type Dataset } from './datasets.js';
import { redactUrl } from './errors.js';
import { isGeneratorCreatedBy } from './generated.js';
import { readTripLayout, type TripFileLayout } from './read.js';
import { asideNote, fetchTrips, makeCacheDir, setAsideCorrupt } from './source.js';

/** The parts of the run's options the sources need. */
export interface SourceOptions {
  /** The dataset months are fetched as (the option, else yellow). */
  color: Dataset;
  /** Whether the dataset was given (`--color`), or follows the first training file. */
  colorGiven: boolean;
  cacheDir: string;
  baseUrl?: string | undefined;
  synthetic: boolean;
  syntheticRows: number;
  downloadIdleTimeoutMs?: number | undefined;
  downloadDeadlineMs?: number | undefined;
}

/** A progress report of the sources (the pipeline forwards it as its `prepare` stage). */
export type SourceProgress = (event: { split: 'train' | 'val'; message: string; fraction?: number; done?: boolean }) => void;

/** One source, fetched and its footer read. */
export interface SourceFile {
  split: 'train' | 'val';
  /** As the user gave it. */
  source: string;
  /** As messages and results show it (a URL without credentials or query). */
  shown: string;
  /** The local parquet file. */
  path: string;
  /** True when the file was written by this library's generator (lib/synthetic.ts), whatever its name. */
  generated: boolean;
  /** Its dataset, columns, rows and row groups, from the footer. */
  layout: TripFileLayout;
}


/**
 * How messages name each dataset's trips (`TRIPS.fhv`: 'for-hire vehicle (FHV) trips'), and a run for them.
 *
 * @example
 * `the training data are ${TRIPS.green}`; // 'the training data are green taxi trips'
 */
export const TRIPS: Readonly<Record<Dataset, string>> = { yellow: 'yellow taxi trips', green: 'green taxi trips', fhv: 'for-hire vehicle (FHV) trips', fhvhv: 'high-volume for-hire vehicle (FHVHV) trips' };
const FOR: Readonly<Record<Dataset, string>> = { yellow: 'yellow taxis', green: 'green taxis', fhv: 'for-hire vehicles (FHV)', fhvhv: 'high-volume for-hire vehicles (FHVHV)' };

/**
 * Fetches every source (training first), then reads each footer and checks its dataset: the
 * run's is the option's, else the first training file's (a month's is the dataset it was fetched
 * as), and every file must hold that dataset's trips. Returns the files and the run's dataset.
 *
 * @throws Error (`pipeline: ...`) for a file of another dataset, naming where the run's came
 *   from and the fix; `source: ...` / `read: ...` errors of fetching and footers pass through (a
 *   cached file whose footer cannot be read is set aside first, see {@link setAsideUnreadable}).
 * @example
 * const files = await prepareSources({ train: ['2023-01', '2023-02'], val: ['2023-03'] }, o, (e) => console.log(e.message));
 * files.dataset; // 'yellow'
 */
export async function prepareSources(
  sources: { train: readonly string[]; val: readonly string[] },
  o: SourceOptions,
  progress: SourceProgress,
): Promise<{ train: SourceFile[]; val: SourceFile[]; dataset: Dataset }> {
  const fetched: { split: 'train' | 'val'; source: string; path: string }[] = [];
  for (const split of ['train', 'val'] as const) {
    for (const source of sources[split]) fetched.push({ split, source, path: await fetchSource(split, source, o, progress) });
  }
  const check = new DatasetCheck(o, progress);
  const files: SourceFile[] = [];
  for (const { split, source, path } of fetched) {
    // Only the times are required here: a file without a column the features need is named by the pipeline, with the fix.
    const layout = await readTripLayout(path, { required: ['pickup', 'dropoff'] }).catch((error: unknown) => setAsideUnreadable(source, path, error, o));
    check.check(split, source, layout);
    files.push({ split, source, shown: redactUrl(source), path, generated: o.synthetic || isGeneratorCreatedBy(layout.createdBy), layout });
  }
  return { train: files.filter((f) => f.split === 'train'), val: files.filter((f) => f.split === 'val'), dataset: check.dataset ?? o.color };
}

/**
 * A downloaded or generated file that cannot be read is set aside (`<file>.corrupt`), so the
 * next run fetches it again instead of failing on it; the error then says so. Files given by
 * path are never moved. Always throws.
 *
 * @example
 * const layout = await readTripLayout(path).catch((error: unknown) => setAsideUnreadable(source, path, error, o));
 */
export async function setAsideUnreadable(source: string, path: string, error: unknown, o: Pick<SourceOptions, 'synthetic'>): Promise<never> {
  const fromCache = o.synthetic || looksLikeMonth(source) || /^https?:\/\//i.test(source);
  if (!fromCache || !(error instanceof Error) || !error.message.startsWith('read: ') || !existsSync(path)) throw error;
  const aside = await setAsideCorrupt(path);
  throw new Error(`${error.message}; ${asideNote(aside, redactUrl(source), o.synthetic ? 'generates' : 'downloads')}`, { cause: error });
}

/** The run's dataset, decided by the option or the first training file, and every file checked against it. */
class DatasetCheck {
  dataset: Dataset | undefined;
  #from: 'option' | 'month' | 'file' = 'option';

  constructor(
    private readonly o: SourceOptions,
    private readonly progress: SourceProgress,
  ) {
    if (o.colorGiven) this.dataset = o.color;
  }

  check(split: 'train' | 'val', source: string, layout: TripFileLayout): void {
    const found = layout.dataset;
    const [pickup, dropoff] = layout.timestampColumns;
    if (this.dataset === undefined) {
      this.#from = looksLikeMonth(source) ? 'month' : 'file';
      this.dataset = this.#from === 'month' ? this.o.color : found;
      if (this.#from === 'file' && found !== this.o.color) this.progress({ split, message: `dataset: ${found} (from the file's ${pickup} column)`, done: true });
    }
    const dataset = this.dataset;
    if (found === dataset) return;
    const why =
      this.#from === 'option' ? `the run is for ${FOR[dataset]} (--color ${dataset})`
        : this.#from === 'month' && split === 'train' && looksLikeMonth(source) ? `it was fetched as a ${dataset} month`
          : `the training data are ${TRIPS[dataset]}`;
    throw new Error(
      `pipeline: ${split} ${redactUrl(source)} holds ${TRIPS[found]} (${pickup}, ${dropoff}) but ${why}; ` +
        (this.#from === 'file' && looksLikeMonth(source)
          ? `pass --color ${dataset} (the color option) so that months are fetched as ${dataset}`
          : `pass --color ${found} (the color option) for ${found} data, or give ${dataset} files`),
    );
  }
}

async function fetchSource(split: 'train' | 'val', source: string, o: SourceOptions, progress: SourceProgress): Promise<string> {
  if (o.synthetic) {
    progress({ split, message: `${split}: ${fmtInt(o.syntheticRows)} synthetic rows for ${source} (generated on first use)` });
    const { syntheticMonth } = await import('./synthetic.js');
    await makeCacheDir(o.cacheDir);
    const { path } = await syntheticMonth(o.cacheDir, { month: source, rows: o.syntheticRows, color: o.color });
    progress({ split, message: `${split}: ${path} (synthetic)`, fraction: 1, done: true });
    return path;
  }
  // A terminal bar is the caller's business (the CLI draws one from these events).
  let lastReport = 0;
  const path = await fetchTrips(source, {
    color: o.color,
    cacheDir: o.cacheDir,
    ...(o.baseUrl !== undefined ? { baseUrl: o.baseUrl } : {}),
    ...(o.downloadIdleTimeoutMs !== undefined ? { idleTimeoutMs: o.downloadIdleTimeoutMs } : {}),
    ...(o.downloadDeadlineMs !== undefined ? { deadlineMs: o.downloadDeadlineMs } : {}),
    onProgress: (received, total) => {
      const now = performance.now();
      if (now - lastReport < 100) return; // at most ten reports a second
      lastReport = now;
      const mb = (received / 2 ** 20).toFixed(1);
      progress({ split, message: `download ${split}: ${mb} MB`, ...(Number.isFinite(total) && total > 0 ? { fraction: received / total } : {}) });
    },
  });
  progress({ split, message: `${split}: ${path}`, fraction: 1, done: true });
  return path;
}

/**
 * `2964624` → `2,964,624` (as toLocaleString('en-US'), whose first call costs about 20 ms of ICU set-up).
 *
 * @example
 * fmtInt(2964624); // '2,964,624'
 */
export function fmtInt(n: number): string {
  return Number.isInteger(n) ? String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : n.toLocaleString('en-US');
}
