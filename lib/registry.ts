/**
 * Registry: named aliases (`production`, `staging`, any name) pointing at training runs, with the
 * history of which run held each alias when, and the one function that turns what a user types
 * after `--model` (a path, an alias or a run id) into a model file.
 *
 * Stored beside the runs as `runs/registry.json` (format `taxi-duration/registry`, version 1):
 * ```json
 * {
 *   "format": "taxi-duration/registry", "version": 1,
 *   "aliases": { "production": { "runId": "20260301-120000-3fa9c1", "since": "2026-03-01T12:05:00.000Z", "reason": "…" } },
 *   "history": [ { "at": "2026-03-01T12:05:00.000Z", "alias": "production", "runId": "20260301-120000-3fa9c1",
 *                  "previousRunId": null, "reason": "…", "by": { "pid": 4242, "host": "codespace" } } ]
 * }
 * ```
 * `history` only grows (oldest first); `aliases` is its latest state. A model is served from the
 * run's own copy (`runs/<id>/artifacts/model.json`), checked against the SHA-256 the run
 * recorded, so a promoted model cannot change behind the alias. Promotions are serialised by a
 * lock file (`registry.json.lock`, holding the pid; a lock whose process is gone is taken over).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

import { writeFileAtomic } from './output.js';
import { loadModel, type LoadedModel } from './modelFile.js';
import { artifactPath, defaultRunsDir, findRun, isRunId, listRuns, processAlive, processStartTicks, type Run, type RunProcess, type RunsStoreOptions } from './runs.js';

/**
 * The `format` field of `registry.json`.
 *
 * @example
 * JSON.parse(readFileSync('runs/registry.json', 'utf8')).format === REGISTRY_FORMAT; // true
 */
export const REGISTRY_FORMAT = 'taxi-duration/registry';

/** Which run an alias points at now. */
export interface AliasEntry {
  runId: string;
  /** When it started pointing there, ISO 8601. */
  since: string;
  reason: string | null;
}

/** One change of an alias, as kept in the history. */
export interface AliasChange {
  at: string;
  alias: string;
  runId: string;
  /** The run the alias pointed at before, or null for a new alias. */
  previousRunId: string | null;
  reason: string | null;
  /** The process that made the change. */
  by: { pid: number; host: string } | null;
}

/** The contents of `registry.json`. */
export interface Registry {
  format: typeof REGISTRY_FORMAT;
  version: 1;
  aliases: Record<string, AliasEntry>;
  history: AliasChange[];
}

const ALIAS = /^[a-z][a-z0-9_-]{0,39}$/;

/**
 * Checks an alias name: lowercase letters, digits, `-` and `_`, starting with a letter, at most
 * 40 characters; `latest` is taken (it names the newest run).
 *
 * @throws Error (`registry: ...`) naming the rule broken.
 * @example
 * checkAlias('production'); // 'production'
 */
export function checkAlias(name: string): string {
  if (!ALIAS.test(name)) {
    throw new Error(`registry: alias ${JSON.stringify(name)} must be lowercase letters, digits, '-' or '_', start with a letter and have at most 40 characters (e.g. production, staging)`);
  }
  if (name === 'latest') throw new Error("registry: 'latest' names the newest training run; choose another alias");
  return name;
}

/**
 * The registry as stored; an empty one when the store has none yet.
 *
 * @throws Error (`registry: ...`) when registry.json exists but is not a registry.
 * @example
 * (await readRegistry()).aliases.production?.runId;
 */
export async function readRegistry(options: RunsStoreOptions = {}): Promise<Registry> {
  const file = registryFile(options);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { format: REGISTRY_FORMAT, version: 1, aliases: {}, history: [] };
    throw new Error(`registry: cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: Partial<Registry>;
  try {
    parsed = JSON.parse(text) as Partial<Registry>;
  } catch (error) {
    throw new Error(`registry: ${file} is not valid JSON (${(error as Error).message}); restore it from a backup or its history`, { cause: error });
  }
  if (parsed.format !== REGISTRY_FORMAT || parsed.version !== 1 || typeof parsed.aliases !== 'object' || !Array.isArray(parsed.history)) {
    throw new Error(`registry: ${file} is not a taxi-duration registry of version 1`);
  }
  return parsed as Registry;
}

/** Options of {@link promote}. */
export interface PromoteOptions extends RunsStoreOptions {
  /** Why, kept in the history (e.g. `retrain 2026…: RMSE 7.9 < 9.1 on 2024-07`). */
  reason?: string;
}

/**
 * Points `alias` at a training run and appends the change to the history.
 *
 * The run must have finished and recorded a model that still loads and still has the SHA-256
 * the run recorded. Promoting the run an alias already points at changes nothing and returns
 * null.
 *
 * @throws Error (`registry: ...` or `runs: ...`) for a bad alias, an unknown, unfinished or
 *   model-less run, a changed model file, or a registry held locked by a live process for 10 s.
 * @example
 * await promote('20260301-120000-3fa9c1', 'production', { reason: 'best validation RMSE' });
 */
export async function promote(runRef: string, alias: string, options: PromoteOptions = {}): Promise<AliasChange | null> {
  checkAlias(alias);
  const runsDir = resolve(options.runsDir ?? defaultRunsDir());
  const run = await findRun(runRef, { runsDir });
  if (run.kind !== 'train') throw new Error(`registry: run ${run.id} is a ${run.kind} run; only training runs have a model to promote`);
  if (run.status !== 'finished') {
    throw new Error(`registry: run ${run.id} is ${run.status}${run.statusNote ? ` (${run.statusNote})` : ''}; only a finished run can be promoted`);
  }
  await verifiedModelPath(run); // refuses a model that no longer loads or was changed
  return withLock(runsDir, async () => {
    const registry = await readRegistry({ runsDir });
    const previous = registry.aliases[alias]?.runId ?? null;
    if (previous === run.id) return null;
    const at = new Date().toISOString();
    const reason = options.reason ?? null;
    const change: AliasChange = { at, alias, runId: run.id, previousRunId: previous, reason, by: { pid: process.pid, host: hostname() } };
    registry.aliases[alias] = { runId: run.id, since: at, reason };
    registry.history.push(change);
    try {
      await writeFileAtomic(registryFile({ runsDir }), JSON.stringify(registry, null, 1) + '\n');
    } catch (error) {
      throw new Error(`registry: cannot write ${registryFile({ runsDir })}: ${(error as Error).message}`, { cause: error });
    }
    return change;
  });
}

/**
 * Which run held `alias` when: its changes, oldest first (every alias's when none is given).
 *
 * @example
 * for (const c of await aliasHistory('production')) console.log(c.at, c.runId);
 */
export async function aliasHistory(alias?: string, options: RunsStoreOptions = {}): Promise<AliasChange[]> {
  const { history } = await readRegistry(options);
  return alias === undefined ? history : history.filter((c) => c.alias === alias);
}

/**
 * The aliases pointing at each run id, e.g. `{ '2026…3fa9c1': ['production'] }`.
 *
 * @example
 * (await aliasesByRun())[run.id]?.join(', ');
 */
export async function aliasesByRun(options: RunsStoreOptions = {}): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [alias, entry] of Object.entries((await readRegistry(options)).aliases)) (out[entry.runId] ??= []).push(alias);
  return out;
}

/** What a model reference resolved to. */
export interface ResolvedModelRef {
  /** The model file, absolute. */
  path: string;
  /** How it was named: `path`, `alias` or `run`. */
  kind: 'path' | 'alias' | 'run';
  /** The training run behind it, when it came from the store. */
  run: Run | null;
  /** The alias, when it came through one. */
  alias: string | null;
}

/**
 * Turns what a user gives as `--model` into a model file: a path, an alias (`production`) or a
 * run (`20260301-120000-3fa9c1`, a prefix of 8+ characters, or `latest`).
 *
 * - Anything with a `/` or `\`, or ending in `.json`, is a path (it need not exist yet:
 *   loading says so).
 * - Otherwise an alias of the registry wins, then a run of the store, then a file of that name
 *   in the current folder.
 * - Models from the store are checked against the SHA-256 their run recorded.
 *
 * @throws Error (`registry: ...`) when the name is none of these, listing the aliases there are.
 * @example
 * const { path } = await resolveModelRef('production');
 * const { vectorizer, model } = await loadModel(path);
 */
export async function resolveModelRef(ref: string, options: RunsStoreOptions = {}): Promise<ResolvedModelRef> {
  if (ref.trim() === '') throw new Error('registry: the model reference is empty; give a model file, an alias (production) or a run id');
  if (/[\\/]/.test(ref) || ref.endsWith('.json')) return { path: resolve(ref), kind: 'path', run: null, alias: null };
  const runsDir = resolve(options.runsDir ?? defaultRunsDir());
  const registry = await readRegistry({ runsDir });
  const entry = Object.hasOwn(registry.aliases, ref) ? registry.aliases[ref] : undefined;
  if (entry !== undefined) {
    const run = await findRun(entry.runId, { runsDir });
    return { path: await verifiedModelPath(run), kind: 'alias', run, alias: ref };
  }
  if (isRunId(ref) || ref === 'latest' || /^\d{8}-[\d-]*[0-9a-f]*$/.test(ref)) {
    const run = await findRun(ref, { runsDir });
    return { path: await verifiedModelPath(run), kind: 'run', run, alias: null };
  }
  if (existsSync(ref)) return { path: resolve(ref), kind: 'path', run: null, alias: null };
  const known = Object.keys(registry.aliases);
  throw new Error(
    `registry: ${JSON.stringify(ref)} is not a model file, an alias${known.length > 0 ? ` (known: ${known.join(', ')})` : ` (${runsDir} has none yet; promote a run first)`} or a run id`,
  );
}

/**
 * {@link resolveModelRef} then `loadModel`: a model by path, alias or run.
 *
 * @example
 * const { vectorizer, model, ref } = await loadModelRef('production');
 */
export async function loadModelRef(ref: string, options: RunsStoreOptions = {}): Promise<LoadedModel & { ref: ResolvedModelRef }> {
  const resolved = await resolveModelRef(ref, options);
  return { ...(await loadModel(resolved.path)), ref: resolved };
}

/**
 * The training run whose model file has the same bytes as `path` (a published
 * `models/lin_reg.json` is a copy of its run's), or undefined.
 *
 * @example
 * (await findRunOfModel('models/lin_reg.json'))?.id;
 */
export async function findRunOfModel(path: string, options: RunsStoreOptions = {}): Promise<Run | undefined> {
  let sha256: string;
  try {
    sha256 = createHash('sha256').update(await readFile(path)).digest('hex');
  } catch {
    return undefined;
  }
  const runs = await listRuns({ ...options, kind: 'train' });
  return runs.reverse().find((r) => r.status === 'finished' && r.artifacts.model?.sha256 === sha256);
}

/** The run's model file, after checking it is the one the run recorded. */
async function verifiedModelPath(run: Run): Promise<string> {
  const path = artifactPath(run, 'model');
  const expected = run.artifacts.model!.sha256;
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new Error(`registry: the model of run ${run.id} is gone (${path}): ${(error as Error).message}`, { cause: error });
  }
  if (createHash('sha256').update(bytes).digest('hex') !== expected) {
    throw new Error(`registry: ${path} is not the model run ${run.id} recorded (its SHA-256 differs); the file was changed after the run`);
  }
  return path;
}

function registryFile(options: RunsStoreOptions): string {
  return join(resolve(options.runsDir ?? defaultRunsDir()), 'registry.json');
}

/** Runs `work` holding the registry's lock file; waits up to 10 s for a live holder, takes over a dead one's. */
async function withLock<T>(runsDir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(runsDir, 'registry.json.lock');
  const me: RunProcess = { pid: process.pid, host: hostname(), startTicks: processStartTicks(process.pid) };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`registry: cannot lock ${lock} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); is ${runsDir} writable?`, { cause: error });
      }
    }
    let holder: RunProcess | undefined;
    try {
      holder = JSON.parse(await readFile(lock, 'utf8')) as RunProcess;
    } catch {
      holder = undefined; // being written, or removed meanwhile: look again
    }
    if (holder !== undefined && processAlive(holder) === false) {
      await rm(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`registry: ${lock} is held by process ${holder?.pid ?? '?'} on ${holder?.host ?? '?'}; wait for it, or delete the file if that process is gone`);
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}
