/**
 * Runs: the project's own experiment tracking. Every training, monitoring and retraining run
 * is one folder of plain JSON and files, so nothing but the file system is needed (no MLflow
 * server can be installed here), and a later exporter can map it onto MLflow.
 *
 * Layout of a runs store (`runs/` at the project root by default; `TAXI_RUNS_DIR` or an
 * option moves it):
 * ```
 * runs/
 *   20260301-120000-3fa9c1/          one run; the id sorts by start time (UTC) then 6 random hex
 *     run.json                       the record (below)
 *     artifacts/                     files the run produced, its own copies:
 *       model.json                     the model file (a train run), as saveModel wrote it
 *       predicted_vs_actual.html       the plot (a train run)
 *       monitor.json, monitor.html     the report (a monitor run)
 *   registry.json                    aliases (production, staging, …) and their history (lib/registry.ts)
 *   .cache/                          derived data, safe to delete: file hashes, training profiles
 * ```
 * `run.json` (format `taxi-duration/run`, version 1):
 * ```json
 * {
 *   "format": "taxi-duration/run", "version": 1,
 *   "id": "20260301-120000-3fa9c1", "kind": "train", "status": "finished",
 *   "startedAt": "2026-03-01T12:00:00.000Z", "endedAt": "2026-03-01T12:00:02.100Z",
 *   "process": { "pid": 4242, "host": "codespace", "startTicks": "123456" },
 *   "parentRunId": null,
 *   "params": { "train": "2024-01", "val": "2024-02", "color": "yellow", "minDuration": 1, … },
 *   "data": [ { "role": "train", "source": "2024-01", "path": "/…/yellow_tripdata_2024-01.parquet",
 *               "bytes": 49961641, "sha256": "…", "modifiedAt": "…", "generated": false,
 *               "rowsRead": 2964624, "rowsKept": 2898906 }, … ],
 *   "metrics": { "rmseTrain": 7.65, "rmseVal": 7.81 },
 *   "series": { "rmse": [ { "step": 0, "label": "2024-03", "value": 7.9 }, … ] },
 *   "seconds": { "read": 0.49, …, "total": 1.74 },
 *   "artifacts": { "model": { "path": "artifacts/model.json", "bytes": 30211, "sha256": "…" } },
 *   "code": { "gitCommit": "8cc0449…", "gitDirty": false, "libraryVersion": "0.1.0", "node": "v20.20.0" },
 *   "synthetic": false, "tags": {}, "details": { … }, "error": null
 * }
 * ```
 * - `status` is `running` until the run ends, then `finished` or `failed` (with `error`). A run
 *   whose process died without saying so (kill -9, power cut) still says `running` on disk;
 *   {@link readRun} and {@link listRuns} report it as `failed` when its pid on this host is gone
 *   (or now belongs to another process: `startTicks` is the process start time from /proc).
 * - Every write is atomic (temporary file, fsync, rename); a run folder appears whole (it is
 *   built under a temporary name and renamed), so a reader never sees half a record.
 * - `series` holds per-step values (a monitor run's months), `metrics` single values.
 * - Data files are hashed with SHA-256 of the whole file, cached by path, size, mtime, ctime and
 *   inode in `.cache/file-hashes.json` (see lib/fileHash.ts).
 *
 * MLflow mapping, for an exporter: a run folder is an MLflow run (`run_name` = `id`, tag
 * `taxi.kind` = `kind`); `startedAt`/`endedAt` are `start_time`/`end_time`; `status`
 * `finished`/`failed`/`running` is `FINISHED`/`FAILED`/`RUNNING`; `params` flatten to
 * dotted keys as params (values as strings); `metrics` are metrics at step 0 and `series`
 * metrics with `step`; `data` entries become dataset inputs (digest = sha256, source = path);
 * `code.gitCommit` is the tag `mlflow.source.git.commit`; `parentRunId` is the tag
 * `mlflow.parentRunId`; `artifacts/` is the run's artifact folder; the registry's aliases map
 * to registered-model aliases, each promoted run a model version.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';

import { redactUrl } from './errors.js';
import { hashFile } from './fileHash.js';
import { writeFileAtomic } from './output.js';
import { codeVersion, projectRoot, type CodeVersion } from './project.js';

/**
 * The `format` field of `run.json`.
 *
 * @example
 * JSON.parse(readFileSync('runs/<id>/run.json', 'utf8')).format === RUN_FORMAT; // true
 */
export const RUN_FORMAT = 'taxi-duration/run';
/**
 * The `run.json` version this library writes; newer ones are refused when read.
 *
 * @example
 * (await readRun('runs', id)).version <= RUN_FORMAT_VERSION; // true
 */
export const RUN_FORMAT_VERSION = 1;

/** What a run did. */
export type RunKind = 'train' | 'monitor' | 'retrain';
/** Where a run is: `running` (or died: see {@link Run.status}), `finished`, `failed`. */
export type RunStatus = 'running' | 'finished' | 'failed';

/** A data file a run read. */
export interface RunData {
  /** What it was for: `train`, `val`, a monitored month (`month`), `training-profile`, … */
  role: string;
  /** What was asked for: a month, a path or a URL (credentials and query removed). */
  source: string;
  /** The local file read, absolute; null when it was never fetched (the run failed first). */
  path: string | null;
  /** Size and SHA-256 of that file; null when not hashed. */
  bytes: number | null;
  sha256: string | null;
  /** The file's modification time, ISO 8601. */
  modifiedAt: string | null;
  /** True when the file was written by this library's generator (lib/synthetic.ts). */
  generated: boolean;
  /** Rows in the file and rows used after cleaning, when known. */
  rowsRead?: number;
  rowsKept?: number;
}

/** A file a run keeps in its `artifacts/` folder. */
export interface RunArtifact {
  /** Path relative to the run folder, e.g. `artifacts/model.json`. */
  path: string;
  bytes: number;
  sha256: string;
}

/** One value of a per-step metric (a monitor run's month). */
export interface RunMetricPoint {
  step: number;
  /** What the step is, e.g. the month `2024-03`. */
  label: string;
  value: number;
}

/** The process that runs (or ran) a run. */
export interface RunProcess {
  pid: number;
  host: string;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat), to tell a reused pid; null off Linux. */
  startTicks: string | null;
}

/** The contents of `run.json`. */
export interface RunRecord {
  format: typeof RUN_FORMAT;
  version: number;
  id: string;
  kind: RunKind;
  /** As written; a reader's {@link Run.status} may say `failed` for a dead `running` one. */
  status: RunStatus;
  startedAt: string;
  endedAt: string | null;
  process: RunProcess;
  /** The run this one is a step of (a retrain's monitor and train runs), or null. */
  parentRunId: string | null;
  /** What the run was asked to do (JSON values). */
  params: Record<string, unknown>;
  data: RunData[];
  metrics: Record<string, number>;
  series: Record<string, RunMetricPoint[]>;
  /** Seconds per stage and `total`. */
  seconds: Record<string, number>;
  artifacts: Record<string, RunArtifact>;
  code: CodeVersion;
  /** True when any data the run read was generated. */
  synthetic: boolean;
  /** Short labels (string values), e.g. `{ "note": "baseline" }`. */
  tags: Record<string, string>;
  /** What is particular to the kind: a retrain's steps and decision, a train run's outputs. */
  details: Record<string, unknown>;
  /** Why the run failed; null otherwise. */
  error: { message: string } | null;
}

/** A run as read from the store: its record, where it lives, and its status as of now. */
export interface Run extends Omit<RunRecord, 'status'> {
  /** `failed` also for a record still saying `running` whose process is gone. */
  status: RunStatus;
  /** Why `status` differs from the record's, when it does (e.g. `process 4242 ended without finishing the run`). */
  statusNote: string | null;
  /** The run's folder, absolute. */
  dir: string;
}

/** How to find the store; every function takes these. */
export interface RunsStoreOptions {
  /** The runs folder. Default {@link defaultRunsDir}(). */
  runsDir?: string;
}

/**
 * The runs folder: env `TAXI_RUNS_DIR` if set, else `runs/` at the project root (the current
 * folder outside the repository), so the command, the notebooks and scripts share one store.
 *
 * @example
 * defaultRunsDir(); // '/work/main/runs'
 */
export function defaultRunsDir(): string {
  const fromEnv = process.env.TAXI_RUNS_DIR;
  if (fromEnv) return resolve(fromEnv);
  return join(projectRoot() ?? process.cwd(), 'runs');
}

const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{6}$/;

/**
 * Whether a string has the shape of a run id (`20260301-120000-3fa9c1`).
 *
 * @example
 * isRunId('20260301-120000-3fa9c1'); // true
 */
export function isRunId(value: string): boolean {
  return RUN_ID.test(value);
}

/** What {@link startRun} needs. */
export interface StartRunOptions extends RunsStoreOptions {
  kind: RunKind;
  params?: Record<string, unknown>;
  parentRunId?: string | null;
  tags?: Record<string, string>;
}

/**
 * A run being recorded: change its fields, add artifacts, then {@link ActiveRun.finish} or
 * {@link ActiveRun.fail}. Until then the folder says `running` with this process's pid.
 *
 * @example
 * const run = await startRun({ kind: 'monitor' });
 * run.record.metrics.rmse = 7.9;
 * await run.writeArtifact('report', 'monitor.json', JSON.stringify(report));
 * await run.finish();
 */
export class ActiveRun {
  /** The record as it will be written. */
  readonly record: RunRecord;
  /** The run's folder, absolute. */
  readonly dir: string;
  /** The store's folder, absolute. */
  readonly runsDir: string;
  #ended = false;

  /** Use {@link startRun}; this only wraps a record already on disk. */
  constructor(runsDir: string, record: RunRecord) {
    this.runsDir = runsDir;
    this.record = record;
    this.dir = join(runsDir, record.id);
  }

  /** The run's id. */
  get id(): string {
    return this.record.id;
  }

  /**
   * Hashes a data file the run read (cached, see lib/fileHash.ts) and adds it to `data`.
   *
   * @example
   * await run.addData({ role: 'train', source: '2024-01', path, generated: false, rowsRead, rowsKept });
   */
  async addData(entry: Omit<RunData, 'bytes' | 'sha256' | 'modifiedAt'>): Promise<RunData> {
    const digest = entry.path === null ? null : await hashFile(entry.path, { cacheFile: hashCacheFile(this.runsDir) });
    const data: RunData = {
      ...entry,
      source: redactUrl(entry.source),
      path: digest?.path ?? entry.path,
      bytes: digest?.bytes ?? null,
      sha256: digest?.sha256 ?? null,
      modifiedAt: digest?.modifiedAt ?? null,
    };
    this.record.data.push(data);
    if (data.generated) this.record.synthetic = true;
    return data;
  }

  /**
   * Copies a file into the run's `artifacts/` folder (atomically) and lists it under `name`.
   * The run keeps its own copy, so it stays reproducible when the original is overwritten.
   *
   * @example
   * await run.addArtifact('model', 'models/lin_reg.json', 'model.json');
   */
  async addArtifact(name: string, from: string, fileName: string): Promise<RunArtifact> {
    let bytes: Buffer;
    try {
      bytes = await readFile(from);
    } catch (error) {
      throw new Error(`runs: cannot copy ${from} into run ${this.id}: ${(error as Error).message}`, { cause: error });
    }
    return this.writeArtifact(name, fileName, bytes);
  }

  /**
   * Writes content as an artifact of the run (atomically) and lists it under `name`.
   *
   * @example
   * await run.writeArtifact('report', 'monitor.json', JSON.stringify(report));
   */
  async writeArtifact(name: string, fileName: string, content: string | Uint8Array): Promise<RunArtifact> {
    if (!/^[\w.-]+$/.test(fileName) || fileName.startsWith('.')) throw new Error(`runs: artifact file name ${JSON.stringify(fileName)} must be a plain file name`);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const relative = `artifacts/${fileName}`;
    try {
      await writeFileAtomic(join(this.dir, relative), bytes);
    } catch (error) {
      throw new Error(`runs: cannot write ${relative} of run ${this.id}: ${(error as Error).message}`, { cause: error });
    }
    const artifact: RunArtifact = { path: relative, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    this.record.artifacts[name] = artifact;
    return artifact;
  }

  /**
   * Writes the record as it stands (still `running`): progress a reader can see.
   *
   * @example
   * run.record.details.step = 'monitor'; await run.save();
   */
  async save(): Promise<void> {
    if (this.#ended) throw new Error(`runs: run ${this.id} has ended; it cannot change any more`);
    await writeRecord(this.dir, this.record);
  }

  /**
   * Marks the run `finished` and writes it: the last write of a successful run.
   *
   * @example
   * run.record.metrics.rmseVal = 7.8; await run.finish();
   */
  async finish(): Promise<void> {
    await this.#end('finished', null);
  }

  /**
   * Marks the run `failed` with the error's first line and writes it. Never throws: a run that
   * cannot even be marked failed is reported failed by readers once this process ends.
   * A `finished` run can still be failed, when what came after its end failed (train() finishes
   * its run before publishing the outputs the run names; a failed publish fails the run).
   *
   * @example
   * catch (error) { await run.fail(error); throw error; }
   */
  async fail(error: unknown): Promise<void> {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    await this.#end('failed', { message }).catch(() => undefined);
  }

  async #end(status: RunStatus, error: { message: string } | null): Promise<void> {
    if (this.#ended && !(status === 'failed' && this.record.status === 'finished')) throw new Error(`runs: run ${this.id} has already ended`);
    this.record.status = status;
    this.record.error = error;
    this.record.endedAt = new Date().toISOString();
    this.record.seconds.total ??= (Date.parse(this.record.endedAt) - Date.parse(this.record.startedAt)) / 1000;
    await writeRecord(this.dir, this.record);
    this.#ended = true;
  }
}

/**
 * Starts a run: creates its folder (whole, under a temporary name then renamed) with a
 * `run.json` saying `running` and this process's pid. Fails early, before any work, when the
 * store cannot be written.
 *
 * @throws Error (`runs: ...`) naming the folder when it cannot be created or written.
 * @example
 * const run = await startRun({ kind: 'train', params: { train: '2024-01' } });
 * try { ...; await run.finish(); } catch (e) { await run.fail(e); throw e; }
 */
export async function startRun(options: StartRunOptions): Promise<ActiveRun> {
  const runsDir = resolve(options.runsDir ?? defaultRunsDir());
  const started = new Date();
  const record: RunRecord = {
    format: RUN_FORMAT,
    version: RUN_FORMAT_VERSION,
    id: '',
    kind: options.kind,
    status: 'running',
    startedAt: started.toISOString(),
    endedAt: null,
    process: { pid: process.pid, host: hostname(), startTicks: processStartTicks(process.pid) },
    parentRunId: options.parentRunId ?? null,
    params: redactParams(options.params ?? {}),
    data: [],
    metrics: {},
    series: {},
    seconds: {},
    artifacts: {},
    code: codeVersion(),
    synthetic: false,
    tags: { ...options.tags },
    details: {},
    error: null,
  };
  for (let attempt = 0; ; attempt++) {
    record.id = newRunId(started);
    const staging = join(runsDir, `.new-${record.id}`);
    try {
      await mkdir(staging, { recursive: true });
      await writeRecord(staging, record);
      await rename(staging, join(runsDir, record.id));
      return new ActiveRun(runsDir, record);
    } catch (error) {
      await rm(staging, { recursive: true, force: true }).catch(() => undefined);
      const code = (error as NodeJS.ErrnoException).code;
      // Two runs started in the same second drew the same 6 hex digits: draw again.
      if ((code === 'EEXIST' || code === 'ENOTEMPTY') && attempt < 5) continue;
      throw new Error(`runs: cannot record a run in ${runsDir} (${code ?? (error as Error).message}); make the folder writable or choose another with TAXI_RUNS_DIR`, {
        cause: error,
      });
    }
  }
}

/**
 * Runs `work` as a recorded run: started before it, `finished` after it, `failed` (and the
 * error rethrown) when it throws.
 *
 * @example
 * const result = await recordRun({ kind: 'monitor', params }, async (run) => {
 *   run.record.metrics.rmse = 7.9;
 *   return 'done';
 * });
 */
export async function recordRun<T>(options: StartRunOptions, work: (run: ActiveRun) => Promise<T>): Promise<T> {
  const run = await startRun(options);
  let result: T;
  try {
    result = await work(run);
  } catch (error) {
    await run.fail(error);
    throw error;
  }
  await run.finish();
  return result;
}

/**
 * Reads one run by id, with its status as of now (a dead `running` run reads as `failed`).
 *
 * @throws Error (`runs: ...`) when there is no such run or its record is unreadable.
 * @example
 * const run = await readRun('20260301-120000-3fa9c1');
 * run.metrics.rmseVal;
 */
export async function readRun(id: string, options: RunsStoreOptions = {}): Promise<Run> {
  const runsDir = resolve(options.runsDir ?? defaultRunsDir());
  if (!isRunId(id)) throw new Error(`runs: ${JSON.stringify(id)} is not a run id (like 20260301-120000-3fa9c1)`);
  return readRunFolder(join(runsDir, id));
}

/** Options of {@link listRuns}. */
export interface ListRunsOptions extends RunsStoreOptions {
  /** Only runs of this kind. */
  kind?: RunKind;
  /** Told about folders that look like runs but cannot be read (the list goes on without them). */
  onProblem?: (message: string) => void;
}

/**
 * Every run in the store, oldest first (by start time). A store that does not exist yet has
 * no runs.
 *
 * @example
 * const runs = await listRuns({ kind: 'train' });
 * runs.at(-1)?.metrics.rmseVal;
 */
export async function listRuns(options: ListRunsOptions = {}): Promise<Run[]> {
  const runsDir = resolve(options.runsDir ?? defaultRunsDir());
  let names: string[];
  try {
    names = await readdir(runsDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`runs: cannot list ${runsDir}: ${(error as Error).message}`, { cause: error });
  }
  const runs: Run[] = [];
  for (const name of names.filter(isRunId).sort()) {
    try {
      const run = await readRunFolder(join(runsDir, name));
      if (options.kind === undefined || run.kind === options.kind) runs.push(run);
    } catch (error) {
      options.onProblem?.((error as Error).message);
    }
  }
  // Ids sort by the second a run started; within a second, by start time to the millisecond.
  return runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
}

/**
 * Finds one run from what a person types: a full id, a unique prefix of one (at least 8
 * characters, e.g. `20260301-1200`), or `latest` (the newest finished train run).
 *
 * @throws Error (`runs: ...`) when nothing or more than one run matches, saying which.
 * @example
 * const run = await findRun('latest');
 */
export async function findRun(ref: string, options: RunsStoreOptions = {}): Promise<Run> {
  const runsDir = resolve(options.runsDir ?? defaultRunsDir());
  if (isRunId(ref)) return readRun(ref, { runsDir });
  const runs = await listRuns({ runsDir });
  if (ref === 'latest') {
    const latest = runs.filter((r) => r.kind === 'train' && r.status === 'finished').at(-1);
    if (latest === undefined) throw new Error(`runs: no finished training run in ${runsDir}; train one first (taxi-duration --synthetic)`);
    return latest;
  }
  if (ref.length < 8 || !/^[\d-]+[0-9a-f]*$/.test(ref)) {
    throw new Error(`runs: ${JSON.stringify(ref)} is not a run id (like 20260301-120000-3fa9c1), a prefix of 8+ characters of one, or 'latest'`);
  }
  const matches = runs.filter((r) => r.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new Error(`runs: no run ${JSON.stringify(ref)} in ${runsDir}; list them with: taxi-duration runs`);
  throw new Error(`runs: ${JSON.stringify(ref)} matches ${matches.length} runs (${matches.slice(0, 3).map((r) => r.id).join(', ')}, …); give more of the id`);
}

/**
 * The absolute path of one of a run's artifacts.
 *
 * @throws Error (`runs: ...`) when the run has no such artifact.
 * @example
 * artifactPath(await findRun('latest'), 'model'); // '/…/runs/<id>/artifacts/model.json'
 */
export function artifactPath(run: Pick<Run, 'id' | 'dir' | 'artifacts'>, name: string): string {
  const artifact = run.artifacts[name];
  if (artifact === undefined) {
    const have = Object.keys(run.artifacts);
    throw new Error(`runs: run ${run.id} has no ${name} artifact (it has ${have.length > 0 ? have.join(', ') : 'none'})`);
  }
  return join(run.dir, artifact.path);
}

/**
 * A table of runs, one row per run (oldest first), as `showTable` (lib/plots.ts) and danfojs take
 * it: `showTable(runsTable(runs))`, or `new DataFrame(t.values, { columns: t.columns, index: t.index })`.
 * Cells are strings, numbers or null.
 *
 * Columns: `kind`, `status`, `started` (UTC), `seconds`, `data` (train → val months, or the
 * months monitored), `rmse_train`, `rmse_val`, `synthetic`, `aliases` (from `aliases`, e.g.
 * `aliasesByRun()` of lib/registry.ts), `note` (why it failed, a monitor's flagged months, a
 * retrain's decision). The index is the run id.
 *
 * @example
 * const t = runsTable(await listRuns(), { aliases: await aliasesByRun() });
 * t.columns; // ['kind', 'status', 'started', ...]
 */
export function runsTable(runs: readonly Run[], options: { aliases?: Readonly<Record<string, readonly string[]>> } = {}): RunsTable {
  const columns = ['kind', 'status', 'started', 'seconds', 'data', 'rmse_train', 'rmse_val', 'synthetic', 'aliases', 'note'];
  const values = runs.map((run): (string | number | null)[] => {
    const roles = (role: string) => run.data.filter((d) => d.role === role).map((d) => d.source);
    const months = roles('month');
    const data =
      run.kind === 'train'
        ? `${String(run.params.train ?? '')} → ${String(run.params.val ?? '')}`
        : run.kind === 'monitor'
          ? months.length > 2 ? `${months[0]}..${months.at(-1)} (${months.length})` : months.join(', ')
          : String(run.params.month ?? '');
    const details = run.details as { flaggedMonths?: string[]; decision?: string };
    const note =
      run.error?.message ??
      run.statusNote ??
      (run.kind === 'monitor' && Array.isArray(details.flaggedMonths) ? (details.flaggedMonths.length > 0 ? `flagged: ${details.flaggedMonths.join(', ')}` : 'within thresholds') : null) ??
      (typeof details.decision === 'string' ? details.decision : null);
    return [
      run.kind,
      run.status,
      run.startedAt.slice(0, 19).replace('T', ' '),
      typeof run.seconds.total === 'number' ? Math.round(run.seconds.total * 100) / 100 : null,
      data,
      run.metrics.rmseTrain ?? null,
      run.metrics.rmseVal ?? null,
      run.synthetic ? 'yes' : '',
      (options.aliases?.[run.id] ?? []).join(', '),
      note,
    ];
  });
  return { columns, index: runs.map((r) => r.id), values };
}

/** A table in the shape lib/plots.ts's `tableHtml`/`showTable` and danfojs take. */
export interface RunsTable {
  columns: string[];
  /** Row labels (run ids, or field names for {@link compareRuns}). */
  index: string[];
  values: (string | number | null)[][];
}

/**
 * Runs side by side, one column per run and one row per field that any of them has:
 * `params.*`, `metrics.*`, each data file's source, rows and SHA-256 (first 12 digits),
 * `code.*`, `synthetic`, `seconds.total`. `differs[i]` says whether row i differs between runs.
 *
 * @example
 * const t = compareRuns([await findRun(a), await findRun(b)]);
 * t.index.filter((_, i) => t.differs[i]); // the fields that changed
 */
export function compareRuns(runs: readonly Run[]): RunsTable & { differs: boolean[] } {
  const flat = runs.map((run) => {
    const fields = new Map<string, string | number | null>();
    const put = (key: string, value: unknown) => {
      if (value === undefined) return;
      fields.set(key, value === null || typeof value === 'number' || typeof value === 'string' ? value : JSON.stringify(value));
    };
    put('kind', run.kind);
    put('status', run.status);
    for (const [k, v] of Object.entries(run.params)) put(`params.${k}`, v);
    for (const [k, v] of Object.entries(run.metrics)) put(`metrics.${k}`, v);
    for (const d of run.data) {
      const key = d.role === 'month' ? `data.${d.source}` : `data.${d.role}`;
      put(`${key}.source`, d.source);
      put(`${key}.rowsKept`, d.rowsKept);
      put(`${key}.sha256`, d.sha256?.slice(0, 12) ?? null);
    }
    put('code.gitCommit', run.code.gitCommit?.slice(0, 12) ?? null);
    put('code.gitDirty', run.code.gitDirty === null ? null : String(run.code.gitDirty));
    put('code.libraryVersion', run.code.libraryVersion);
    put('synthetic', String(run.synthetic));
    put('seconds.total', run.seconds.total);
    return fields;
  });
  const index: string[] = [];
  for (const fields of flat) for (const key of fields.keys()) if (!index.includes(key)) index.push(key);
  const values = index.map((key) => flat.map((fields) => fields.get(key) ?? null));
  const differs = values.map((row) => row.some((v) => v !== row[0]));
  return { columns: runs.map((r) => r.id), index, values, differs };
}

/**
 * Where the store keeps derived data that can always be recomputed (hashes, profiles).
 *
 * @example
 * join(runsCacheDir('runs'), 'profiles');
 */
export function runsCacheDir(runsDir: string): string {
  return join(resolve(runsDir), '.cache');
}

function redactParams(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'function' || value === undefined) continue;
    if (typeof value === 'string') out[key] = redactUrl(value);
    else if (Array.isArray(value)) out[key] = value.map((v) => (typeof v === 'string' ? redactUrl(v) : v));
    else out[key] = value;
  }
  return out;
}

function hashCacheFile(runsDir: string): string {
  return join(runsCacheDir(runsDir), 'file-hashes.json');
}

async function writeRecord(dir: string, record: RunRecord): Promise<void> {
  await writeFileAtomic(join(dir, 'run.json'), JSON.stringify(record, null, 1) + '\n');
}

async function readRunFolder(dir: string): Promise<Run> {
  let record: RunRecord;
  try {
    record = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunRecord;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such run' : (error as Error).message;
    throw new Error(`runs: cannot read run ${dir}: ${why}`, { cause: error });
  }
  if (record.format !== RUN_FORMAT || typeof record.version !== 'number' || typeof record.id !== 'string') {
    throw new Error(`runs: ${join(dir, 'run.json')} is not a run record (format ${JSON.stringify(record.format)})`);
  }
  if (record.id !== basename(dir)) {
    throw new Error(`runs: ${dir} holds the record of run ${record.id}; a run folder must be named by its run's id`);
  }
  if (record.version > RUN_FORMAT_VERSION) {
    throw new Error(`runs: ${join(dir, 'run.json')} is version ${record.version}, newer than this library reads (${RUN_FORMAT_VERSION}); upgrade taxi-duration`);
  }
  let status = record.status;
  let statusNote: string | null = null;
  if (status === 'running') {
    const alive = processAlive(record.process);
    if (alive === false) {
      status = 'failed';
      statusNote = `process ${record.process.pid} ended without finishing the run (killed or crashed)`;
    } else if (alive === undefined) {
      statusNote = `running on host ${record.process.host}; cannot check from here`;
    }
  }
  return { ...record, status, statusNote, dir };
}

/**
 * Whether the process a record names still runs: true, false, or undefined when it cannot be
 * told (the record was written on another host). A pid now used by another process (its start
 * time differs) counts as gone.
 *
 * @example
 * processAlive(run.process) === false; // the run died without finishing
 */
export function processAlive(p: RunProcess): boolean | undefined {
  if (p.host !== hostname()) return undefined;
  try {
    process.kill(p.pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (p.startTicks === null) return true;
  const now = processStartTicks(p.pid);
  return now === null || now === p.startTicks;
}

/**
 * Field 22 of /proc/<pid>/stat (the process's start time in ticks since boot), or null where
 * there is no /proc: with the pid, it names a process even after its pid is reused.
 *
 * @example
 * const me: RunProcess = { pid: process.pid, host: hostname(), startTicks: processStartTicks(process.pid) };
 */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function newRunId(at: Date): string {
  const iso = at.toISOString(); // 2026-03-01T12:00:00.000Z
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${randomBytes(3).toString('hex')}`;
}

